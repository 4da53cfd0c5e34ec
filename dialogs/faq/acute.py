"""The acute pass of the FAQ classifier: trigger words, phrases and concept rules, read in one pass.

Triggers and rules come from ``faq.yaml`` (``acute_triggers``, ``acute_exceptions``): a trigger is a
sequence of alternatives (exact words, ``prefix*``, ``*suffix``, ``*contains*``, number ranges) with
at most ``MAX_GAP`` words between its parts, and a rule such as ``@harm + @caregiver`` combines
concept classes. ``AcuteIndex`` looks every word of a question up once, so the cost is linear in the
text however many triggers there are; harmless fixed phrases are removed first
(``remove_phrases``). Pure: it never stores or logs the text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from dialogs.faq.words import MAX_WORD, close, fold

#: Words allowed between the parts of a multi-word acute trigger ("gruer [seg til å gå] hjem").
MAX_GAP = 4


@dataclass(frozen=True)
class _Alternative:
    kind: str  # "exact" | "prefix" | "suffix" | "contains" | "range"
    text: str

    def matches(self, word: str) -> bool:
        t = self.text
        if self.kind == "range":
            low, _, high = t.partition("-")
            return _in_range(word, int(low), int(high))
        if self.kind == "exact":
            return close(word, t)
        if self.kind == "prefix":
            if word.startswith(t):
                return True
            return len(t) >= 7 and len(word) >= len(t) and close(word[: len(t)], t)
        if self.kind == "suffix":
            return word.endswith(t)
        if t in word:
            return True
        if len(t) < 7 or len(word) < len(t) - 1:
            return False
        # A typo inside a compound: "barnemishanddling", "seksualovergerp".
        return any(
            OSA.distance(word[i : i + n], t, score_cutoff=1) <= 1
            for n in (len(t) - 1, len(t), len(t) + 1)
            for i in range(0, max(1, len(word) - n + 1))
        )


def _in_range(word: str, low: int, high: int) -> bool:
    """``word`` is a number from ``low`` to ``high``; thousands of digits are not (nor parsed)."""
    if not word.isdigit():
        return False
    digits = word.lstrip("0") or "0"
    return len(digits) <= len(str(high)) and low <= int(digits) <= high


_RANGE = re.compile(r"#(\d+)-(\d+)")


def _parse_alternative(raw: str) -> _Alternative:
    folded = fold(raw)
    if _RANGE.fullmatch(folded):
        return _Alternative("range", folded[1:])
    if folded.startswith("*") and folded.endswith("*"):
        return _Alternative("contains", folded.strip("*"))
    if folded.endswith("*"):
        return _Alternative("prefix", folded.rstrip("*"))
    if folded.startswith("*"):
        return _Alternative("suffix", folded.lstrip("*"))
    return _Alternative("exact", folded)


@dataclass(frozen=True)
class AcuteTrigger:
    """One trigger: a sequence of slots, each a set of alternatives (``redd pappa|mamma``)."""

    source: str
    slots: tuple[tuple[_Alternative, ...], ...]

    @classmethod
    def parse(
        cls, raw: str, concepts: Mapping[str, tuple[_Alternative, ...]] | None = None
    ) -> AcuteTrigger:
        """Parse one slot sequence; ``@name`` in a slot stands for every word of that concept."""

        def slot(part: str) -> tuple[_Alternative, ...]:
            out: list[_Alternative] = []
            for alt in part.split("|"):
                if alt.startswith("@"):
                    out.extend((concepts or {}).get(fold(alt[1:]), ()))
                elif alt:
                    out.append(_parse_alternative(alt))
            return tuple(out)

        return cls(raw, tuple(slot(part) for part in raw.split()))

    def matches(self, tokens: Sequence[str]) -> bool:
        def from_slot(slot: int, start: int, first: bool) -> bool:
            if slot == len(self.slots):
                return True
            end = len(tokens) if first else min(len(tokens), start + MAX_GAP + 1)
            for i in range(start, end):
                if any(alt.matches(tokens[i]) for alt in self.slots[slot]) and from_slot(
                    slot + 1, i + 1, False
                ):
                    return True
            return False

        return bool(self.slots) and from_slot(0, 0, True)


@dataclass(frozen=True)
class AcuteRule:
    """Parts that must all occur somewhere in the question (``@harm + @caregiver``), any order."""

    source: str
    parts: tuple[AcuteTrigger, ...]

    def matches(self, tokens: Sequence[str]) -> bool:
        return bool(self.parts) and all(part.matches(tokens) for part in self.parts)


_CONCEPT = re.compile(r"^@([a-z_]+)\s*:(.*)$")


def parse_acute(raw: Iterable[str]) -> tuple[AcuteRule, ...]:
    """Concept classes and rules from the ``acute_triggers`` data.

    ``@name: w1 w2* *w3*`` defines (or, from another language file, extends) a concept class;
    ``a b|c`` is a phrase; ``x + y + z`` needs every part somewhere in the question, where a part
    is a phrase or a concept (``@harm + @caregiver``); ``#10-15`` is a number in that range.
    """
    entries = [e.strip() for e in raw if e.strip()]
    concepts: dict[str, list[_Alternative]] = {}
    rules: list[str] = []
    for entry in entries:
        definition = _CONCEPT.match(entry)
        if definition:
            name, body = definition.groups()
            concepts.setdefault(name, []).extend(_parse_alternative(w) for w in body.split())
        else:
            rules.append(entry)
    frozen = {name: tuple(dict.fromkeys(alts)) for name, alts in concepts.items()}
    return tuple(
        AcuteRule(
            rule, tuple(AcuteTrigger.parse(part.strip(), frozen) for part in rule.split(" + "))
        )
        for rule in rules
    )


_Slots = frozenset[int]
_NO_SLOTS: _Slots = frozenset()


class AcuteIndex:
    """The acute rules compiled for speed; answers exactly as ``AcuteRule.matches`` in order.

    Every distinct slot (set of alternatives) gets a number. A token is looked up once (and
    cached) to find the slots it fills: exact words, prefixes and suffixes by dictionary, typos
    by RapidFuzz over the few targets of a fitting length, "contains" by substring. A rule then
    only walks the positions where its slots were hit.
    """

    def __init__(self, rules: Sequence[AcuteRule]) -> None:
        slot_ids: dict[tuple[_Alternative, ...], int] = {}
        self.rules: list[tuple[str, tuple[tuple[int, ...], ...]]] = []
        for rule in rules:
            parts = tuple(
                tuple(slot_ids.setdefault(slot, len(slot_ids)) for slot in part.slots)
                for part in rule.parts
            )
            if parts and all(parts):  # an empty rule or phrase never matches
                self.rules.append((rule.source, parts))
        by_alt: dict[_Alternative, set[int]] = defaultdict(set)
        for slot, number in slot_ids.items():
            for alt in slot:
                by_alt[alt].add(number)
        self._exact: dict[str, _Slots] = {}
        self._prefix: dict[int, dict[str, _Slots]] = defaultdict(dict)
        self._suffix: dict[int, dict[str, _Slots]] = defaultdict(dict)
        self._contains: list[tuple[str, _Slots]] = []
        self._ranges: list[tuple[int, int, _Slots]] = []
        for alt, numbers in by_alt.items():
            slots, t = frozenset(numbers), alt.text
            if alt.kind == "exact":
                self._exact[t] = slots
            elif alt.kind == "prefix":
                self._prefix[len(t)][t] = slots
            elif alt.kind == "suffix":
                self._suffix[len(t)][t] = slots
            elif alt.kind == "contains":
                self._contains.append((t, slots))
            else:
                low, _, high = t.partition("-")
                self._ranges.append((int(low), int(high), slots))
        # Typo-tolerant targets (see ``_close``): one letter off from 7 letters, two from 10.
        self._typo_exact = [
            (1, [t for t in self._exact if 7 <= len(t) < 10]),
            (2, [t for t in self._exact if len(t) >= 10]),
        ]
        self._typo_prefix = {
            length: (2 if length >= 10 else 1, list(targets))
            for length, targets in self._prefix.items()
            if length >= 7
        }
        self.slots_of = lru_cache(maxsize=8_192)(self._slots_of)

    def _slots_of(self, word: str) -> _Slots:
        """Every slot the token fills."""
        found: set[int] = set()
        hit = self._exact.get(word)
        if hit:
            found |= hit
        fuzzy = len(word) <= MAX_WORD
        if fuzzy:
            for cutoff, long_words in self._typo_exact:
                for target, _, _ in process.extract(
                    word, long_words, scorer=OSA.distance, score_cutoff=cutoff, limit=None
                ):
                    found |= self._exact[target]
        for length, prefixes in self._prefix.items():
            if len(word) < length:
                continue
            head = word[:length]
            if length not in self._typo_prefix:
                found |= prefixes.get(head, _NO_SLOTS)
                continue
            cutoff, choices = self._typo_prefix[length]
            for target, _, _ in process.extract(
                head, choices, scorer=OSA.distance, score_cutoff=cutoff, limit=None
            ):
                found |= prefixes[target]
        for length, suffixes in self._suffix.items():
            hit = suffixes.get(word[-length:]) if len(word) >= length else None
            if hit:
                found |= hit
        for target, slots in self._contains:
            if not slots <= found and _contains(word, target, fuzzy):
                found |= slots
        for low, high, slots in self._ranges:
            if _in_range(word, low, high):
                found |= slots
        return frozenset(found)

    def first_match(self, tokens: Sequence[str]) -> str | None:
        """The source of the first rule the tokens satisfy, or None."""
        hits: dict[int, list[int]] = defaultdict(list)
        for position, token in enumerate(tokens):
            # Long tokens stay out of the cache: they are rare and would make it big.
            slots = self.slots_of(token) if len(token) <= MAX_WORD else self._slots_of(token)
            for number in slots:
                hits[number].append(position)
        for source, parts in self.rules:
            if all(_in_sequence(part, hits) for part in parts):
                return source
        return None


def _contains(word: str, target: str, fuzzy: bool) -> bool:
    """``_Alternative("contains", target).matches(word)``, without trying hopeless windows."""
    if target in word:
        return True
    n = len(target)
    if not fuzzy or n < 7 or len(word) < n - 1:
        return False
    # One edit touches at most two neighbouring letters, so one of three pieces of the target
    # (each at least two letters) is intact in any window that matches.
    third = n // 3
    pieces = (target[:third], target[third : 2 * third], target[2 * third :])
    if not any(piece in word for piece in pieces):
        return False
    return _Alternative("contains", target).matches(word)


def _in_sequence(slots: tuple[int, ...], hits: Mapping[int, list[int]]) -> bool:
    """The slots are hit in order, each within ``MAX_GAP`` words after the one before."""
    reached = hits.get(slots[0])
    for number in slots[1:]:
        if not reached:
            return False
        before = set(reached)
        reached = [
            j
            for j in hits.get(number, ())
            if any(j - gap in before for gap in range(1, MAX_GAP + 2))
        ]
    return bool(reached)


_PRONOUNS = frozenset({"jeg", "eg", "du", "vi", "me", "man", "dere", "de", "dei"})


def remove_phrases(tokens: list[str], phrases: Iterable[tuple[str, ...]]) -> list[str]:
    """Drop harmless fixed phrases ("slå opp", also "slår jeg opp") before the acute pass."""
    out = list(tokens)
    for phrase in phrases:
        n = len(phrase)
        i = 0
        while i + n <= len(out):
            if out[i] != phrase[0]:  # every window below starts with out[i]
                i += 1
                continue
            window = out[i : i + n]
            if n >= 2 and out[i] == phrase[0] and i + n < len(out) and out[i + 1] in _PRONOUNS:
                window = [out[i], *out[i + 2 : i + n + 1]]
            if tuple(window) == phrase:
                del out[i]  # the trigger word itself; the rest is harmless
            else:
                i += 1
    return out
