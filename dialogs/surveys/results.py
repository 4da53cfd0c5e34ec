"""What a closed (or open) survey run shows: per question counts, mean and trend, per unit, with the
minimum group size and complementary suppression applied, the same for chat, exports, CLI and web.

The rules, for an anonymous run with minimum group size N:
* fewer than N answers in all: nothing but the response rate is shown;
* a unit with fewer than N answers is hidden in the breakdown, and then the next smallest units are
  hidden with it until the hidden ones together hold at least N (or all are hidden), so a hidden
  unit can never be worked out as the total minus the units shown;
* free-text comments only when at least N answered, in random order, and never one in which the
  personal-data guard finds something.
A run per unit (a unit's report) or a named one shows every unit: its respondents were told.
Pure: it gets the answers from the caller and stores nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from dialogs.pii import find_personal_data
from dialogs.surveys.model import Question, SurveyTemplate

#: A unit's name when its answers could not keep it (fewer recipients than the minimum).
NO_UNIT = ""
Trend = Literal["up", "down", "same"]
#: A change of a mean smaller than this is "uendret".
SAME_MEAN = 0.05


@dataclass(frozen=True)
class QuestionResult:
    key: str
    kind: str
    answered: int
    #: Option key (or the number, as text) → how many chose it; empty when hidden.
    counts: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    #: Sum of a number question (counts of a unit's report add up to the kommune's).
    total: int | None = None
    comments: tuple[str, ...] = ()
    trend: Trend | None = None
    previous: float | None = None


@dataclass(frozen=True)
class UnitResult:
    unit: str
    answered: int
    hidden: bool
    questions: dict[str, QuestionResult] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    answered: int
    recipients: int
    min_group: int
    #: Nothing but the response rate may be shown (an anonymous run below the minimum).
    hidden: bool
    questions: tuple[QuestionResult, ...]
    units: tuple[UnitResult, ...]

    @property
    def rate(self) -> float:
        return self.answered / self.recipients if self.recipients else 0.0


def _value(question: QuestionResult) -> float | None:
    """What a trend compares: a number question's total, else the mean."""
    return float(question.total) if question.total is not None else question.mean


def _trend(now: float | None, before: float | None, kind: str) -> Trend | None:
    if now is None or before is None:
        return None
    if abs(now - before) < (SAME_MEAN if kind != "number" else 0.5):
        return "same"
    return "up" if now > before else "down"


def _question(
    question: Question,
    values: Sequence[Mapping[str, Any]],
    show_comments: bool,
    rng: random.Random,
) -> QuestionResult:
    given = [v[question.key] for v in values if question.key in v]
    if question.kind == "text":
        if not show_comments:  # the personal-data check is the costly part: not for nothing
            return QuestionResult(question.key, question.kind, len(given))
        texts = [str(t) for t in given if str(t).strip() and not find_personal_data(str(t))]
        rng.shuffle(texts)
        return QuestionResult(question.key, question.kind, len(given), comments=tuple(texts))
    counts: Counter[str] = Counter()
    for value in given:
        for part in value if isinstance(value, list | tuple) else [value]:
            counts[str(part)] += 1
    ordered: dict[str, int]
    if question.kind in ("scale", "nps"):
        low, high = question.bounds
        ordered = {str(n): counts.get(str(n), 0) for n in range(low, high + 1)}
    elif question.option_keys:
        ordered = {k: counts.get(k, 0) for k in question.option_keys}
    else:
        ordered = dict(sorted(counts.items(), key=lambda kv: int(kv[0])))
    numbers = [int(v) for v in given if isinstance(v, int) and not isinstance(v, bool)]
    mean = round(sum(numbers) / len(numbers), 2) if numbers else None
    total = sum(numbers) if question.kind == "number" else None
    return QuestionResult(question.key, question.kind, len(given), ordered, mean, total)


def _with_trend(
    result: QuestionResult, question: Question, old: QuestionResult | None
) -> QuestionResult:
    if not question.compare or old is None:
        return result
    now, then = _value(result), _value(old)
    return replace(result, trend=_trend(now, then, question.kind), previous=then)


def _hidden_units(sizes: Mapping[str, int], min_group: int) -> set[str]:
    """Units below the minimum, plus the next smallest until the hidden ones hold ``min_group``
    together: one hidden unit beside a known total could be computed, two small ones together too."""
    hidden = {u for u, n in sizes.items() if n < min_group}
    if not hidden:
        return hidden
    rest = sorted((n, u) for u, n in sizes.items() if u not in hidden)
    while sum(sizes[u] for u in hidden) < min_group and rest:
        hidden.add(rest.pop(0)[1])
    return hidden


def summarise(
    template: SurveyTemplate,
    answers: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    anonymity: str,
    recipients: int,
    min_group: int,
    previous: Summary | None = None,
    seed: int | None = None,
    comments: bool = True,
) -> Summary:
    """The summary of ``answers`` (pairs of unit and answer values). ``previous`` (the last round of
    the same template) gives each rating and count its trend; without ``comments`` the free
    text is counted but not read (a previous round's comments are never shown)."""
    rng = random.Random(seed)
    rows = list(answers)
    anonymous = anonymity == "anonymous"
    hidden = anonymous and len(rows) < min_group
    values = [v for _, v in rows]
    before = {q.key: q for q in previous.questions} if previous and not previous.hidden else {}
    before_units = {
        u.unit: u.questions for u in (previous.units if previous else ()) if not u.hidden
    }
    questions: list[QuestionResult] = []
    for question in template.questions:
        if hidden:
            questions.append(QuestionResult(question.key, question.kind, 0))
            continue
        result = _question(question, values, show_comments=comments, rng=rng)
        questions.append(_with_trend(result, question, before.get(question.key)))
    by_unit: dict[str, list[Mapping[str, Any]]] = {}
    for unit, value in rows:
        by_unit.setdefault(unit, []).append(value)
    sizes = {u: len(v) for u, v in by_unit.items()}
    secret = set(sizes) if hidden else (_hidden_units(sizes, min_group) if anonymous else set())
    units: list[UnitResult] = []
    for unit in sorted(by_unit, key=lambda u: (u == NO_UNIT, u.lower())):
        if unit in secret:
            units.append(UnitResult(unit, sizes[unit], True))
            continue
        earlier = before_units.get(unit, {})
        per_question = {
            q.key: _with_trend(
                _question(q, by_unit[unit], show_comments=False, rng=rng), q, earlier.get(q.key)
            )
            for q in template.questions
            if q.kind != "text"
        }
        units.append(UnitResult(unit, sizes[unit], False, per_question))
    return Summary(len(rows), recipients, min_group, hidden, tuple(questions), tuple(units))
