"""The steps of the onboarding of new staff as validated data, and their due dates.

The shipped steps are ``content/onboarding/steps.yaml`` (Strand's five steps, seed 003; one file
carries both languages); a kommune replaces them with ``<KOMMUNE_DIR>/onboarding/steps.yaml`` of the
same shape. Each step has a key, a title and a text in nb and nn, who does it (the new employee or
the unit's BTS-kontakt), a due rule and optionally a link from the kommune file. A due rule is
either N days after the registration or the next given day of the year at least N days after it
(the joint course "the coming autumn"); the day is then moved to a working day (``due_dates``).
Loading reports every problem as ``file:line: message``. This module reads files only: no
database, no platform.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dialogs.arshjul.model import KEY_PATTERN
from dialogs.arshjul.recurrence import next_working_day, previous_working_day
from dialogs.bilingual import Strict, Text
from dialogs.yaml_source import ContentFileError, parse_model, read_text

log = logging.getLogger(__name__)

STEPS_FILE = Path(__file__).resolve().parents[1] / "content" / "onboarding" / "steps.yaml"
#: A kommune's own steps, under its KOMMUNE_DIR.
KOMMUNE_STEPS = Path("onboarding") / "steps.yaml"
STEPS_MAX = 12
TITLE_MAX = 120
TEXT_MAX = 1200
#: The kommune file fields a step's ``link`` names.
LINKS = ("handlingsveileder", "opplaeringsfilm")


class StepsError(ContentFileError):
    """A steps file cannot be used; ``errors`` are ``file:line: message`` lines."""


class Due(Strict):
    """When a step is due: ``days`` after the registration, or the first ``day``.``month`` at
    least ``min_days`` after it."""

    days: int | None = Field(default=None, ge=1, le=400)
    month: int | None = Field(default=None, ge=1, le=12)
    day: int = Field(default=1, ge=1, le=28)
    min_days: int = Field(default=0, ge=0, le=180)

    @model_validator(mode="after")
    def _one_rule(self) -> Due:
        if (self.days is None) == (self.month is None):
            raise ValueError("give either days (after the registration) or month (and day)")
        if self.days is not None and ("day" in self.model_fields_set or self.min_days):
            raise ValueError("day and min_days go with month, not with days")
        return self

    def day_after(self, registered: date) -> date:
        """The due day as the rule gives it, before moving it to a working day."""
        if self.days is not None:
            return registered + timedelta(days=self.days)
        assert self.month is not None
        earliest = registered + timedelta(days=self.min_days)
        candidate = date(earliest.year, self.month, self.day)
        return candidate if candidate >= earliest else date(earliest.year + 1, self.month, self.day)


class Step(Strict):
    """One step of the onboarding."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Text
    text: Text
    #: ``storage.onboarding_models.EMPLOYEE`` or ``CONTACT``.
    who: Literal["ansatt", "bts-kontakt"]
    due: Due
    link: Literal["handlingsveileder", "opplaeringsfilm"] | None = None

    @model_validator(mode="after")
    def _lengths(self) -> Step:
        if max(len(self.title.nb), len(self.title.nn)) > TITLE_MAX:
            raise ValueError(f"a title has at most {TITLE_MAX} characters")
        if max(len(self.text.nb), len(self.text.nn)) > TEXT_MAX:
            raise ValueError(f"a text has at most {TEXT_MAX} characters")
        return self


class Steps(Strict):
    """The whole steps file."""

    steps: list[Step] = Field(min_length=1, max_length=STEPS_MAX)

    @model_validator(mode="after")
    def _unique_keys(self) -> Steps:
        seen: set[str] = set()
        for step in self.steps:
            if step.key in seen:
                raise ValueError(f"step key {step.key!r} appears twice")
            seen.add(step.key)
        return self

    def get(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)


def parse_steps(text: str, name: str = "<steps>") -> Steps:
    """Parse and validate YAML text; raises StepsError with ``file:line: message`` lines."""
    return parse_model(text, name, Steps, StepsError, "a steps file is a mapping with steps")


def load_steps(path: Path) -> Steps:
    return parse_steps(read_text(path, StepsError), str(path))


_cache: dict[Path, tuple[tuple[int, int], Steps | None]] = {}


def steps_for(kommune_dir: Path | None) -> Steps:
    """The kommune's own steps when ``<kommune_dir>/onboarding/steps.yaml`` exists and is valid,
    else the shipped ones (a broken kommune file is logged; ``bts-bot content check`` names the
    line). Re-read when the file changes."""
    path = kommune_dir / KOMMUNE_STEPS if kommune_dir is not None else None
    for candidate in (path, STEPS_FILE):
        if candidate is None:
            continue
        try:
            info = candidate.stat()
        except OSError:
            continue
        stamp = (info.st_mtime_ns, info.st_size)
        cached = _cache.get(candidate)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, load_steps(candidate))
            except StepsError as exc:
                log.error("onboarding steps file rejected: %s", exc, extra={"file": str(candidate)})
                cached = (stamp, None)
            _cache[candidate] = cached
        if cached[1] is not None:
            return cached[1]
    return load_steps(STEPS_FILE)  # raises: the shipped file itself is broken


def check_steps(content_dir: Path, kommune_dir: Path | None = None) -> list[str]:
    """Every problem of the shipped steps file (and a kommune's own); [] when fine."""
    errors: list[str] = []
    paths = [content_dir / "onboarding" / "steps.yaml"]
    if kommune_dir is not None:
        paths.append(kommune_dir / KOMMUNE_STEPS)
    for path in paths:
        if not path.exists():
            continue
        try:
            load_steps(path)
        except StepsError as exc:
            errors += exc.errors
    return errors


def working_due(day: date, registered: date, closed: frozenset[date] = frozenset()) -> date:
    """``day`` moved to the working day before it when it is not one, or to the working day after
    it when the day before would not come after the registration."""
    before = previous_working_day(day, closed)
    return before if before > registered else next_working_day(day, closed)


def due_dates(
    steps: Sequence[Step], registered: date, closed: frozenset[date] = frozenset()
) -> list[tuple[Step, date]]:
    """Each step with its due date for someone registered on ``registered``."""
    return [(s, working_due(s.due.day_after(registered), registered, closed)) for s in steps]
