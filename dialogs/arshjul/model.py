"""The årshjul (yearly wheel) of a tenant as validated data, and its YAML form.

An årshjul is a list of tasks: title and text in nb and nn, the roles (and optionally the unit) that
own it, a recurrence, lead times in days, a local send time, a link and what "done" means. Built-in
templates made from the seeds live in ``content/arshjul_templates/<name>.yaml`` (not under
``content/nb`` or ``content/nn``: one file carries both languages). Loading reports every problem as
``file:line: message`` using the YAML node marks. This module only reads and writes text: no
database, no platform.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from dialogs.bilingual import Strict as _Strict
from dialogs.bilingual import Text
from dialogs.yaml_source import ContentFileError, parse_model, read_text

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "content" / "arshjul_templates"
TEMPLATES = ("hadsel", "strand", "sirdal", "salangen")
DEFAULT_TEMPLATE = "hadsel"
KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
_KEY = re.compile(KEY_PATTERN)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ArshjulError(ContentFileError):
    """An årshjul file cannot be used; ``errors`` are ``file:line: message`` lines."""


_DAY_MONTH = re.compile(r"^(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)$")


class Recurrence(_Strict):
    """When a task falls due.

    * ``yearly``: ``month`` + ``day`` (31 in a short month means its last day); or ``days``, a
      list of days as the seeds write them (``["26.10", "7.12"]``); or ``weeks`` (ISO weeks, "uke 10,
      15") + ``weekday``. ``interval: 2`` with ``start`` (a date in the first year) is every second year.
    * ``monthly``: ``day`` N, or the ``nth`` (1–4, or -1 for the last) ``weekday`` of every month.
    * ``weekly``: ``weekday``; ``interval: N`` with ``start`` (the first one) is every N weeks.
    * ``half-yearly``: ``month`` (1–6) + ``day``, and the same day six months later.
    * ``once``: ``date``.

    ``skip_months`` (e.g. ``[7]``) leaves those months out of any kind that repeats.
    """

    every: Literal["yearly", "monthly", "weekly", "half-yearly", "once"]
    month: int | None = Field(default=None, ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)
    nth: int | None = Field(default=None, ge=-1, le=4)
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None
    date: dt.date | None = None
    days: list[str] | None = Field(default=None, min_length=1, max_length=60)
    weeks: list[int] | None = Field(default=None, min_length=1, max_length=53)
    interval: int = Field(default=1, ge=1, le=52)
    start: dt.date | None = None
    skip_months: list[int] = Field(default_factory=list, max_length=11)

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> Recurrence:
        given = {
            name
            for name in ("month", "day", "nth", "weekday", "date", "days", "weeks")
            if getattr(self, name) is not None
        }
        if self.every == "monthly" and self.day is None:
            allowed, required = {"nth", "weekday"}, {"nth", "weekday"}
        elif self.every == "yearly" and self.days is not None:
            allowed, required = {"days"}, {"days"}
        elif self.every == "yearly" and self.weeks is not None:
            allowed, required = {"weeks", "weekday"}, {"weeks", "weekday"}
        else:
            allowed, required = {
                "yearly": ({"month", "day"}, {"month", "day"}),
                "monthly": ({"day"}, {"day"}),
                "weekly": ({"weekday"}, {"weekday"}),
                "half-yearly": ({"month", "day"}, {"month", "day"}),
                "once": ({"date"}, {"date"}),
            }[self.every]
        if missing := sorted(required - given):
            raise ValueError(f"'{self.every}' needs {', '.join(missing)}")
        if extra := sorted(given - allowed):
            raise ValueError(f"'{self.every}' does not take {', '.join(extra)}")
        if self.nth == 0:
            raise ValueError("nth must be 1–4 or -1 (last)")
        if self.every == "half-yearly" and self.month is not None and self.month > 6:
            raise ValueError("half-yearly: month is the first of the two (1–6)")
        if self.interval > 1 and self.every not in ("yearly", "weekly"):
            raise ValueError("interval is for yearly (every N years) and weekly (every N weeks)")
        if self.interval > 1 and self.start is None:
            raise ValueError("an interval needs start: the date of the first occurrence")
        if (
            self.every == "weekly"
            and self.start is not None
            and self.weekday is not None
            and self.start.weekday() != WEEKDAYS.index(self.weekday)
        ):
            raise ValueError(f"start {self.start} is not a {self.weekday}")
        if any(not 1 <= w <= 53 for w in self.weeks or []):
            raise ValueError("weeks are ISO week numbers 1–53")
        if any(not 1 <= m <= 12 for m in self.skip_months):
            raise ValueError("skip_months are month numbers 1–12")
        if self.skip_months and self.every == "once":
            raise ValueError("'once' does not take skip_months")
        for text in self.days or []:
            self._day_month(text)  # raises for a day that is not a date
        return self

    @staticmethod
    def _day_month(text: str) -> tuple[int, int]:
        found = _DAY_MONTH.match(text.strip())
        if found is None:
            raise ValueError(f"{text!r} is not a day like '26.10'")
        day, month = int(found["day"]), int(found["month"])
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise ValueError(f"{text!r} is not a day of the year")
        dt.date(2024, month, min(day, 29) if month == 2 else day)  # 31.04 raises
        return day, month

    def days_of_year(self) -> list[tuple[int, int]]:
        """(day, month) of every day in ``days``."""
        return [self._day_month(t) for t in self.days or []]


class Task(_Strict):
    """One item of the årshjul."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Text
    text: Text
    roles: list[str] = Field(min_length=1)
    unit: str | None = Field(default=None, min_length=1, max_length=200)
    recurrence: Recurrence
    lead_days: list[int] = Field(default_factory=lambda: [14, 3, 0])
    send_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    link: str | None = Field(default=None, pattern=r"^https?://\S+$")
    done: Literal["click", "survey", "report"] = "click"
    done_link: str | None = Field(default=None, pattern=r"^https?://\S+$")
    #: A survey template (``content/surveys/<key>.yaml``) launched when the first reminder of an
    #: occurrence goes out, open until the due date; the reminder then carries its button.
    survey: str | None = Field(default=None, pattern=KEY_PATTERN)

    @model_validator(mode="after")
    def _check(self) -> Task:
        for role in self.roles:
            if not _KEY.match(role):
                raise ValueError(f"role {role!r} is not a key like 'bts-koordinator'")
        if len(set(self.roles)) != len(self.roles):
            raise ValueError("a role is listed twice")
        if any(d < 0 or d > 90 for d in self.lead_days) or not self.lead_days:
            raise ValueError("lead_days must be 1+ numbers of days 0–90")
        if len(set(self.lead_days)) != len(self.lead_days):
            raise ValueError("a lead time is listed twice")
        if (
            self.done in ("survey", "report")
            and self.done_link is None
            and self.link is None
            and self.survey is None
        ):
            raise ValueError(f"done '{self.done}' needs a survey, done_link or link")
        return self

    @property
    def send_hour_minute(self) -> tuple[int, int]:
        hour, minute = self.send_time.split(":")
        return int(hour), int(minute)


class Arshjul(_Strict):
    """A whole årshjul: the template it came from and its tasks."""

    template: str = Field(default="", max_length=40)
    name: Text
    tasks: list[Task]

    @model_validator(mode="after")
    def _unique_keys(self) -> Arshjul:
        seen: set[str] = set()
        for task in self.tasks:
            if task.key in seen:
                raise ValueError(f"task key {task.key!r} appears twice")
            seen.add(task.key)
        return self

    def roles(self) -> list[str]:
        """Every role the tasks name, in first-use order."""
        out: list[str] = []
        for task in self.tasks:
            out += [r for r in task.roles if r not in out]
        return out


def parse_arshjul(text: str, name: str = "<arshjul>") -> Arshjul:
    """Parse and validate YAML text; raise ArshjulError with ``file:line: message`` lines."""
    return parse_model(
        text, name, Arshjul, ArshjulError, "an årshjul file is a mapping with name and tasks"
    )


def load_arshjul(path: Path) -> Arshjul:
    return parse_arshjul(read_text(path, ArshjulError), str(path))


def load_template(name: str) -> Arshjul:
    if name not in TEMPLATES:
        raise ArshjulError([f"unknown template {name!r} (known: {', '.join(TEMPLATES)})"])
    return load_arshjul(TEMPLATES_DIR / f"{name}.yaml")


def task_to_data(task: Task) -> dict[str, Any]:
    """A task as plain JSON-able data (no None fields, as in the YAML files)."""
    data: dict[str, Any] = task.model_dump(mode="json", exclude_none=True)
    data["recurrence"] = task.recurrence.model_dump(mode="json", exclude_defaults=True)
    return data


def dump_arshjul(arshjul: Arshjul) -> str:
    """YAML text that ``parse_arshjul`` reads back to an equal Arshjul."""
    data: dict[str, Any] = {
        "template": arshjul.template,
        "name": arshjul.name.model_dump(),
        "tasks": [task_to_data(t) for t in arshjul.tasks],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
