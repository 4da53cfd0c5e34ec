"""Survey templates as validated data, their YAML form, and the check of one answer.

A template is a short list of questions in bokmål and nynorsk with an anonymity mode. Seven kinds:
``scale`` (1–5 with end labels), ``nps`` (0–10 with end labels), ``yesno``, ``single`` and ``multi``
(choices with stable keys), ``number`` (a whole number within min/max: counts for a report) and
``text`` (short free text; the personal-data guard applies where it is answered). Built-in
templates written from the kommune seeds are in ``content/surveys/<key>.yaml`` (one file carries
both languages, like the årshjul templates); a kommune adds its own in ``<KOMMUNE_DIR>/surveys/``.
Loading reports every problem as ``file:line: message``. This module only reads text: no database,
no platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dialogs.bilingual import Strict, Text
from dialogs.yaml_source import ContentFileError, parse_model, read_text

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "content" / "surveys"
KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
_KEY = re.compile(KEY_PATTERN)

QuestionKind = Literal["scale", "nps", "yesno", "single", "multi", "number", "text"]
#: ``anonymous``: no answer can be joined to a person. ``unit``: one answer per unit, and it shows
#: which unit (and who) reported, as a halvårsrapport does. ``named``: answers carry the name.
Anonymity = Literal["anonymous", "unit", "named"]

#: The range of the two rating kinds.
SCALE_RANGE = {"scale": (1, 5), "nps": (0, 10)}
#: The values a yes/no question stores (what every platform sends for the two buttons).
YES, NO = "yes", "no"
#: A whole number's default bounds: counts in a unit's report.
NUMBER_MIN, NUMBER_MAX = 0, 100_000
TEXT_MAX = 1_000


class SurveyFileError(ContentFileError):
    """A survey file cannot be used; ``errors`` are ``file:line: message`` lines."""


class AnswerError(ValueError):
    """An answer that does not fit its question; ``reason`` is a key of the answer-error texts in
    ``forms.yaml`` (``required``, ``not_a_number``, ``too_small``, ``too_big``, ``not_offered``,
    ``too_long``)."""

    def __init__(self, reason: str, question: str) -> None:
        super().__init__(f"{question}: {reason}")
        self.reason = reason
        self.question = question


class Choice(Strict):
    """One option of a ``single`` or ``multi`` question; ``key`` is what is stored."""

    key: str = Field(pattern=KEY_PATTERN)
    text: Text


Value = int | str | tuple[str, ...]


class Question(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    kind: QuestionKind
    text: Text
    required: bool = True
    help: Text | None = None
    low: Text | None = None
    high: Text | None = None
    options: list[Choice] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None
    max_length: int = Field(default=300, ge=1, le=TEXT_MAX)
    #: Compare with the previous round of the same survey ("økt / gått ned / uendret").
    compare: bool = False

    @model_validator(mode="after")
    def _check(self) -> Question:
        if self.kind in SCALE_RANGE and (self.low is None or self.high is None):
            raise ValueError(f"a {self.kind} question needs end labels: low and high")
        if self.kind not in SCALE_RANGE and (self.low or self.high):
            raise ValueError("low/high are end labels of scale and nps questions only")
        if self.kind in ("single", "multi"):
            if not 2 <= len(self.options) <= 10:
                raise ValueError(f"a {self.kind} question needs 2–10 options")
            keys = [o.key for o in self.options]
            if len(set(keys)) != len(keys):
                raise ValueError("an option key appears twice")
        elif self.options:
            raise ValueError("options belong to single and multi questions only")
        if self.kind != "number" and (self.min is not None or self.max is not None):
            raise ValueError("min/max belong to number questions only")
        if self.kind == "number" and self.bounds[0] > self.bounds[1]:
            raise ValueError("min is above max")
        if self.compare and self.kind not in ("number", "scale", "nps"):
            raise ValueError("compare works for number, scale and nps questions")
        return self

    @property
    def bounds(self) -> tuple[int, int]:
        """The allowed range of a numeric answer."""
        if self.kind in SCALE_RANGE:
            return SCALE_RANGE[self.kind]
        low = NUMBER_MIN if self.min is None else self.min
        return low, NUMBER_MAX if self.max is None else self.max

    @property
    def option_keys(self) -> tuple[str, ...]:
        if self.kind == "yesno":
            return (YES, NO)
        return tuple(o.key for o in self.options)

    def check(self, raw: str | Sequence[str] | None) -> Value | None:
        """The answer as stored (int, option key, tuple of keys or text), or None when an optional
        question is left empty; AnswerError when it does not fit."""
        if (
            raw is None
            or (isinstance(raw, str) and not raw.strip())
            or (not isinstance(raw, str) and not [r for r in raw if r.strip()])
        ):
            if self.required:
                raise AnswerError("required", self.key)
            return None
        if self.kind == "multi":
            picked = [raw] if isinstance(raw, str) else list(raw)
            keys = [k.strip() for part in picked for k in part.split(",") if k.strip()]
            if any(k not in self.option_keys for k in keys):
                raise AnswerError("not_offered", self.key)
            return tuple(k for k in self.option_keys if k in keys)
        if not isinstance(raw, str):
            if len(raw) != 1:
                raise AnswerError("not_offered", self.key)
            raw = raw[0]
        text = raw.strip()
        if self.kind in ("single", "yesno"):
            if text not in self.option_keys:
                raise AnswerError("not_offered", self.key)
            return text
        if self.kind == "text":
            if len(text) > self.max_length:
                raise AnswerError("too_long", self.key)
            return text
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise AnswerError("not_a_number", self.key)
        number = int(text)
        low, high = self.bounds
        if number < low:
            raise AnswerError("too_small", self.key)
        if number > high:
            raise AnswerError("too_big", self.key)
        return number


class SurveyTemplate(Strict):
    """A survey as a kommune runs it: questions, anonymity, whom it is usually for."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Text
    intro: Text
    #: Where it comes from (a kommune's routine), shown to admins.
    source: str = Field(default="", max_length=200)
    anonymity: Anonymity = "anonymous"
    #: The roles it usually goes to (the launch may choose another audience).
    audience: list[str] = Field(default_factory=list)
    #: Days between launch and close when the launch does not say.
    open_days: int = Field(default=14, ge=1, le=120)
    #: The nudges to those who have not answered: this many days after launch and this many
    #: before close (0: that nudge is not sent). Nobody gets two within three days anyway.
    nudge_after_days: int = Field(default=3, ge=0, le=60)
    nudge_before_close_days: int = Field(default=1, ge=0, le=60)
    questions: list[Question] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _check(self) -> SurveyTemplate:
        keys = [q.key for q in self.questions]
        if len(set(keys)) != len(keys):
            raise ValueError("a question key appears twice")
        for role in self.audience:
            if not _KEY.match(role):
                raise ValueError(f"role {role!r} is not a key like 'bts-koordinator'")
        return self

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def check(self, raw: Mapping[str, str | Sequence[str]]) -> dict[str, Value]:
        """Every answer checked; the first misfit raises AnswerError. Unknown keys are ignored
        (a form from an older version of the survey may carry them)."""
        out: dict[str, Value] = {}
        for question in self.questions:
            value = question.check(raw.get(question.key))
            if value is not None:
                out[question.key] = value
        return out


def parse_template(text: str, name: str = "<survey>") -> SurveyTemplate:
    """Parse and validate YAML text; raise SurveyFileError with ``file:line: message`` lines."""
    shape = "a survey file is a mapping with key, title and questions"
    return parse_model(text, name, SurveyTemplate, SurveyFileError, shape)


def load_template(path: Path) -> SurveyTemplate:
    return parse_template(read_text(path, SurveyFileError), str(path))


def load_templates(
    folders: Iterable[Path | None] = (), builtin: Path | None = BUILTIN_DIR
) -> dict[str, SurveyTemplate]:
    """The built-in templates, then each folder's ``*.yaml`` (a kommune's own; a key it reuses
    replaces the built-in one). Every broken file is reported in one SurveyFileError."""
    found: dict[str, SurveyTemplate] = {}
    errors: list[str] = []
    for folder in (builtin, *folders):
        if folder is None or not folder.is_dir():
            continue
        local: dict[str, Path] = {}
        for path in sorted(folder.glob("*.yaml")):
            try:
                template = load_template(path)
            except SurveyFileError as exc:
                errors += exc.errors
                continue
            if template.key in local:
                errors.append(
                    f"{path}:1: key {template.key!r} is also used by {local[template.key]}"
                )
                continue
            local[template.key] = path
            found[template.key] = template
    if errors:
        raise SurveyFileError(errors)
    return found
