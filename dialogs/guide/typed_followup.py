"""Reads a personal reminder typed as free text — «minn meg på evaluering om 14 dager» — as a label
and a number of days.

The words (how people ask, number words, "dager"/"uker", "neste uke") come from the content files
(``followups.request`` in ``content/<lang>/followups.yaml``), every language at once, because people
write nynorsk in a bokmål chat and the other way round. Matching works on ``normalize``d words (no
æøå, no case, no punctuation); the label keeps the words as they were typed. Nothing here stores
anything: the guide dialog checks the label and saves it like one from the reminder form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.content import Content
from dialogs.normalize import normalize

_TOKEN = re.compile(r"\S+")
# A request is a short sentence (the label holds 60 characters): longer text is a question.
MAX_CHARS = 200
_EDGE_PUNCTUATION = " \t.,;:!?«»\"'()"


@dataclass(frozen=True)
class TypedFollowup:
    """What was asked for: the label as typed, and in how many days (None when no time was
    given, or one the words do not know)."""

    label: str
    days: int | None


@dataclass(frozen=True)
class RequestWords:
    """The phrases of one or more languages, normalised, as word tuples."""

    prefixes: tuple[tuple[str, ...], ...]  # "minn meg på", longest first
    before_time: frozenset[str]  # "om", "etter": the word that starts "om 14 dager"
    numbers: Mapping[str, int]  # "to" → 2 (digits are read as they are)
    units: Mapping[str, int]  # "dager" → 1, "uker" → 7
    fixed: tuple[tuple[tuple[str, ...], int], ...]  # "neste uke" → 7, longest first
    connectors: frozenset[str]  # "på", "om", "at": dropped at the label's edges
    max_days: int

    @classmethod
    def from_content(cls, content: Content) -> RequestWords:
        keys = ("prefixes", "before_time", "numbers", "units", "fixed", "connectors", "max_days")
        return cls.merge(
            {key: content.get(lang, f"followups.request.{key}") for key in keys}
            for lang in content.by_lang
        )

    @classmethod
    def merge(cls, nodes: Iterable[Mapping[str, Any]]) -> RequestWords:
        prefixes: set[tuple[str, ...]] = set()
        before: set[str] = set()
        numbers: dict[str, int] = {}
        units: dict[str, int] = {}
        fixed: dict[tuple[str, ...], int] = {}
        connectors: set[str] = set()
        max_days = 0
        for node in nodes:
            prefixes |= {_words(p) for p in node["prefixes"]}
            before |= {normalize(w) for w in node["before_time"]}
            numbers |= {normalize(str(k)): int(v) for k, v in node["numbers"]}
            units |= {normalize(str(k)): int(v) for k, v in node["units"]}
            fixed |= {_words(str(k)): int(v) for k, v in node["fixed"]}
            connectors |= {normalize(w) for w in node["connectors"]}
            max_days = max(max_days, int(node["max_days"]))
        return cls(
            prefixes=tuple(sorted((p for p in prefixes if p), key=len, reverse=True)),
            before_time=frozenset(before),
            numbers=numbers,
            units=units,
            fixed=tuple(sorted(fixed.items(), key=lambda item: len(item[0]), reverse=True)),
            connectors=frozenset(connectors),
            max_days=max_days,
        )


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(normalize(phrase).split())


def parse(text: str, words: RequestWords) -> TypedFollowup | None:
    """The request in ``text``, or None when the text does not start by asking for a reminder."""
    if len(text) > MAX_CHARS:
        return None
    typed = _TOKEN.findall(text)
    folded = [normalize(token) for token in typed]
    # A token that is only punctuation folds to "": drop it from both, keeping them aligned.
    pairs = [(t, f) for t, f in zip(typed, folded, strict=True) if f]
    typed, folded = [t for t, _ in pairs], [f for _, f in pairs]
    start = next(
        (len(p) for p in words.prefixes if tuple(folded[: len(p)]) == p),
        None,
    )
    if start is None:
        return None
    # «minn meg om 3 uker på …»: the request's "om" starts the time too.
    shared = folded[start - 1] in words.before_time
    found = _time(folded, start - 1 if shared else start, words)
    days, cut = (found[0], (found[1], found[2])) if found else (None, (len(typed), len(typed)))
    cut = (max(cut[0], start), max(cut[1], start))
    label_words = typed[start : cut[0]] + typed[cut[1] :]
    label_folded = folded[start : cut[0]] + folded[cut[1] :]
    while label_folded and label_folded[0] in words.connectors:
        label_words, label_folded = label_words[1:], label_folded[1:]
    while label_folded and label_folded[-1] in words.connectors:
        label_words, label_folded = label_words[:-1], label_folded[:-1]
    label = " ".join(label_words).strip(_EDGE_PUNCTUATION)
    if days is not None and not 1 <= days <= words.max_days:
        days = None
    return TypedFollowup(label, days)


def _time(folded: list[str], start: int, words: RequestWords) -> tuple[int, int, int] | None:
    """(days, first word, end) of the time expression after ``start``: the last one typed."""
    best: tuple[int, int, int] | None = None
    for at in range(start, len(folded)):
        fixed = next((f for f in words.fixed if tuple(folded[at : at + len(f[0])]) == f[0]), None)
        if fixed is not None:
            best = (fixed[1], at, at + len(fixed[0]))
        elif folded[at] in words.before_time and at + 2 < len(folded):
            amount = _number(folded[at + 1], words)
            unit = words.units.get(folded[at + 2])
            if amount is not None and unit is not None:
                best = (amount * unit, at, at + 3)
    return best


def _number(word: str, words: RequestWords) -> int | None:
    if word.isdigit() and len(word) <= 3:
        return int(word)
    return words.numbers.get(word)
