"""The free-text classifier behind the FAQ: maps a staff question to a stable topic id with a confidence.

Two passes. First a separate, high-recall acute pass: trigger words and phrases for violence, abuse,
a child afraid to go home and the like, plus concept classes (harm, caregiver, body, injury, fear,
home, intoxication, secrecy …) combined by rules such as ``@harm + @caregiver`` (all data in
``faq.yaml``, typo-tolerant) win over everything, because missing an acute question is the worst
mistake this product can make. Then a topical pass:
the question is folded (case, æøå written as ae/o/a/aa), split into words, stemmed with the Snowball
Norwegian stemmer, spelling-corrected against the vocabulary of the topics with RapidFuzz, and scored
against each topic's example questions and keywords from both nb and nn content. A low score gives
``ukjent``. Everything is local data: no remote service, no model download.

Cost is linear in the text: the acute pass reads up to ``ACUTE_MAX_CHARS`` (more than any platform
lets through) through an index built once per classifier, with typo tolerance only for words up to
``MAX_WORD`` letters; the topical pass reads the first ``TOPICAL_MAX_CHARS`` and may be given a time
budget, after which it answers ``ukjent`` (the acute pass never has one).

This module is pure: it never stores or logs the text it classifies.
"""

from __future__ import annotations

import math
import re
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from dialogs.normalize import word_set

ACUTE = "akutt"
UNKNOWN = "ukjent"
#: Below this confidence the answer is "ukjent": better honest than wrong.
THRESHOLD = 0.3
#: Words allowed between the parts of a multi-word acute trigger ("gruer [seg til å gå] hjem").
MAX_GAP = 4
BONUS = 0.25
#: The acute pass reads this much of a question: more than Slack, Teams or the web chat let through.
ACUTE_MAX_CHARS = 100_000
#: The topical pass reads this much: a question, not a letter; the rest cannot change the topic.
TOPICAL_MAX_CHARS = 1_000
#: Longer than any Norwegian word. A longer token cannot be (part of) a vocabulary term or a
#: one-letter typo of a trigger, so it gets no typo correction, compound splitting or fuzzy search.
MAX_WORD = 64

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "é": "e", "è": "e", "ü": "u", "ä": "a"})
_TOKEN = re.compile(r"[a-z]+|\d+")


# Function words in bokmål, nynorsk and English: they say nothing about the topic.
STOPWORDS = word_set(
    """
    jeg eg du han hun ho vi me dere dykk de dei det den denne dette disse en ei et ein eit eitt og
    i pa til av for fra fraa med om som er var vere vaere har hadde kan skal vil ma bor kunne
    skulle ville a at ikke ikkje ikkj hva kva hvordan korleis hvem kven hvor kvar kor hvilken
    hvilke kva for nar seg sin sitt sine min mitt mine meg deg oss noe noko noen nokon nokre bare
    berre sa saa da so the an is are of do does what how who where when which can should
    my me we you it this that there be so ogsa og ja nei hei hallo takk litt mye mykje veldig
    sant jo vel na no alle alt blir bli vart ble gjor gjer gjore gjere aring aringer ar
    gammel gamal
    """
)


def fold(text: str) -> str:
    """Lower case with æøå folded to plain letters, so "Blåmerker", "blaamerker" and "blamerker" meet."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("aa", "a").translate(_FOLD)


_LEVEL_WORDS = {"niva", "level", "nivaa"}
_NUMBERS = {
    "0": "0", "null": "0", "zero": "0",
    "1": "1", "en": "1", "ett": "1", "ein": "1", "eitt": "1", "one": "1", "forste": "1",
    "2": "2", "to": "2", "two": "2", "andre": "2",
    "3": "3", "tre": "3", "three": "3", "tredje": "3",
}  # fmt: skip


def words(text: str) -> list[str]:
    """The folded words of ``text``; "nivå 2", "niva to", "level 2" and "niva2" all give "niva2"."""
    tokens = _TOKEN.findall(fold(text))
    out: list[str] = []
    for token in tokens:
        if out and out[-1] in _LEVEL_WORDS and token in _NUMBERS:
            out[-1] = "niva" + _NUMBERS[token]
        else:
            out.append(token)
    return out


_local = threading.local()


def _stemmer() -> Any:
    # A Snowball stemmer keeps its working state in the instance: one per thread, because
    # classification may run in worker threads (off the event loop).
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("norwegian")
    return stemmer


@lru_cache(maxsize=16_384)  # bounded: every distinct typed word would otherwise stay forever
def stem(word: str) -> str:
    """Snowball Norwegian stem of one folded word."""
    return str(_stemmer().stemWord(word))


def _close(word: str, target: str) -> bool:
    """``word`` is ``target`` or a one-letter typo of a long target."""
    if word == target:
        return True
    if len(target) >= 10:
        return OSA.distance(word, target, score_cutoff=2) <= 2
    if len(target) >= 7:
        return OSA.distance(word, target, score_cutoff=1) <= 1
    return False


# acute pass ------------------------------------------------------------------------------------


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
            return _close(word, t)
        if self.kind == "prefix":
            if word.startswith(t):
                return True
            return len(t) >= 7 and len(word) >= len(t) and _close(word[: len(t)], t)
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


class _AcuteIndex:
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


def _numbers(phrase: str) -> frozenset[str]:
    return frozenset(w for w in phrase.split() if any(c.isdigit() for c in w))


_PRONOUNS = frozenset({"jeg", "eg", "du", "vi", "me", "man", "dere", "de", "dei"})


def _remove_phrases(tokens: list[str], phrases: Iterable[tuple[str, ...]]) -> list[str]:
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


# topical pass ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """The outcome for one question; ``scores`` holds every topic's raw score (for evaluation)."""

    topic: str
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicSource:
    """Example questions and keywords of one topic, in any language."""

    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


class FaqClassifier:
    """Classifies questions against topics built from content data."""

    def __init__(
        self,
        topics: Mapping[str, TopicSource],
        acute_triggers: Iterable[str],
        acute_exceptions: Iterable[str] = (),
        threshold: float = THRESHOLD,
    ) -> None:
        self.threshold = threshold
        self.triggers = parse_acute(acute_triggers)
        self._acute = _AcuteIndex(self.triggers)
        self.exceptions = tuple(
            phrase
            for phrase in (
                tuple(words(e)) for e in sorted(set(acute_exceptions), key=len, reverse=True)
            )
            if phrase
        )
        self.topics = sorted(t for t in topics if t not in (UNKNOWN,))
        self._examples: dict[str, list[frozenset[str]]] = {}
        self._keywords: dict[str, list[frozenset[str]]] = {}
        self._phrases: dict[str, list[str]] = {}
        # A near-copy of an example must have the same numbers ("nivå 2" is no copy of "nivå 3").
        self._phrases_by_numbers: dict[str, dict[frozenset[str], list[str]]] = {}
        vocab_topics: dict[str, set[str]] = {}
        for topic in self.topics:
            source = topics[topic]
            examples = [frozenset(self._raw_stems(e)) for e in source.examples]
            keywords = [frozenset(self._raw_stems(k)) for k in source.keywords]
            self._examples[topic] = [e for e in examples if e]
            self._phrases[topic] = [" ".join(words(e)) for e in source.examples]
            by_numbers = self._phrases_by_numbers[topic] = {}
            for phrase in self._phrases[topic]:
                by_numbers.setdefault(_numbers(phrase), []).append(phrase)
            self._keywords[topic] = [k for k in keywords if k]
            for group in (*self._examples[topic], *self._keywords[topic]):
                for term in group:
                    vocab_topics.setdefault(term, set()).add(topic)
        count = max(1, len(self.topics))
        self.idf = {
            term: math.log(1 + count / len(owners)) for term, owners in vocab_topics.items()
        }
        self._vocab = sorted(self.idf)
        self._unknown_weight = 0.6 * (sum(self.idf.values()) / max(1, len(self.idf)))

    # text → canonical terms ---------------------------------------------------------------

    @staticmethod
    def _raw_stems(text: str) -> list[str]:
        return [stem(w) for w in words(text) if w not in STOPWORDS]

    def _known(self, word: str) -> str | None:
        if len(word) > MAX_WORD:
            return None
        term = stem(word)
        return term if term in self.idf else None

    def _correct(self, word: str) -> str | None:
        """The vocabulary term a misspelt word most likely means, or None."""
        if len(word) > MAX_WORD:
            return None
        term = stem(word)
        if term in self.idf:
            return term
        if len(term) < 4 or word.isdigit():
            return None
        cutoff = 86 if len(term) < 6 else 84 if len(term) < 9 else 82
        match = process.extractOne(term, self._vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
        return str(match[0]) if match else None

    def _split_compound(self, word: str) -> list[str]:
        """Split an unknown compound into two known parts ("nettverksmotet" → nettverk + mot)."""
        if len(word) > MAX_WORD:
            return []
        for i in range(len(word) - 3, 2, -1):
            left, right = word[:i], word[i:]
            right_term = self._known(right)
            if right_term is None:
                continue
            for candidate in (left, left[:-1] if left.endswith(("s", "e")) else ""):
                left_term = self._known(candidate) if len(candidate) >= 3 else None
                if left_term:
                    return [left_term, right_term]
        return []

    def terms(self, text: str, deadline: float | None = None) -> list[str | None]:
        """Canonical vocabulary terms of a question; None stands for a word we do not know.

        Raises ``TimeoutError`` once ``time.monotonic()`` passes ``deadline``.
        """
        return self._terms(words(text), deadline)

    def _terms(self, folded: list[str], deadline: float | None) -> list[str | None]:
        tokens = [w for w in folded if w not in STOPWORDS]
        out: list[str | None] = []
        i = 0
        while i < len(tokens):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("topical pass over its time budget")
            word = tokens[i]
            # "bekymrings melding", "undrings samtale": two typed words that are one term.
            if i + 1 < len(tokens):
                joined = self._known(word + tokens[i + 1])
                if joined:
                    out.append(joined)
                    i += 2
                    continue
            term = self._correct(word)
            if term is None and len(word) >= 8:
                parts = self._split_compound(word)
                if parts:
                    out.extend(parts)
                    i += 1
                    continue
            out.append(term)
            i += 1
        return out

    # scoring ------------------------------------------------------------------------------

    def _weight(self, term: str | None) -> float:
        return self.idf.get(term, self._unknown_weight) if term else self._unknown_weight

    def _score(self, query: list[str | None]) -> dict[str, float]:
        known = {t for t in query if t}
        query_weight = sum(self._weight(t) for t in dict.fromkeys(query)) or 1.0
        if None in query:
            # Each unknown word counts once per occurrence.
            query_weight = sum(self._weight(t) for t in dict.fromkeys(known)) + sum(
                self._unknown_weight for t in query if t is None
            )
        scores: dict[str, float] = {}
        for topic in self.topics:
            best = 0.0
            for example in self._examples[topic]:
                shared = sum(self.idf[t] for t in example & known)
                if shared:
                    example_weight = sum(self.idf[t] for t in example)
                    best = max(best, shared / math.sqrt(query_weight * example_weight))
            keyword_terms: set[str] = set()
            for keyword in self._keywords[topic]:
                if keyword <= known:
                    keyword_terms |= keyword
            coverage = sum(self.idf[t] for t in keyword_terms) / query_weight
            scores[topic] = 0.55 * best + 0.45 * min(1.0, coverage) + BONUS * bool(keyword_terms)
        return scores

    # public -------------------------------------------------------------------------------

    def acute_trigger(self, text: str) -> str | None:
        """The acute trigger the text hits, or None."""
        return self._acute_trigger(words(text[:ACUTE_MAX_CHARS]))

    def _acute_trigger(self, folded: list[str]) -> str | None:
        return self._acute.first_match(_remove_phrases(folded, self.exceptions))

    def classify(self, text: str, time_budget: float | None = None) -> Classification:
        """Topic and confidence in [0, 1] for one question.

        The acute pass always runs to the end. The topical pass gives up with ``ukjent`` after
        ``time_budget`` seconds, if given.
        """
        deadline = None if time_budget is None else time.monotonic() + time_budget
        if len(text) <= TOPICAL_MAX_CHARS:
            folded = words(text)
            if self._acute_trigger(folded):
                return Classification(ACUTE, 1.0)
        else:
            if self.acute_trigger(text):
                return Classification(ACUTE, 1.0)
            folded = words(text[:TOPICAL_MAX_CHARS])
        try:
            return self._topical(folded, deadline)
        except TimeoutError:
            return Classification(UNKNOWN, 0.0)

    def _topical(self, folded: list[str], deadline: float | None) -> Classification:
        query = self._terms(folded, deadline)
        phrase = " ".join(folded)
        if not any(query):
            # Only function words ("kva kan du gjere for meg"): compare whole phrases instead.
            scores = {
                topic: _best(phrase, phrases, fuzz.token_set_ratio, 90)
                for topic, phrases in self._phrases.items()
            }
        else:
            scores = self._score(query)
            numbers = _numbers(phrase)
            for topic, by_numbers in self._phrases_by_numbers.items():
                # A near-copy of an example question is as good as it gets.
                close = _best(phrase, by_numbers.get(numbers, ()), fuzz.ratio, 85)
                if close:
                    scores[topic] = max(scores[topic], close + 0.3)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        (top, top_score), second_score = ranked[0], ranked[1][1] if len(ranked) > 1 else 0.0
        margin = (top_score - second_score) / top_score if top_score else 0.0
        confidence = min(1.0, top_score / 1.25) * (0.75 + 0.25 * margin)
        confidence = round(confidence, 3)
        if confidence < self.threshold:
            return Classification(UNKNOWN, confidence, scores)
        return Classification(top, confidence, scores)


def _best(phrase: str, choices: Sequence[str], scorer: Any, cutoff: float) -> float:
    """The best ``scorer`` score / 100 of ``phrase`` against ``choices`` if at least ``cutoff``, else 0."""
    match = process.extractOne(phrase, choices, scorer=scorer, score_cutoff=cutoff)
    return float(match[1]) / 100 if match else 0.0
