"""Words of a question as the FAQ classifier sees them: folded, split, stemmed, typo-tolerant.

Folding writes æøå as plain letters (so "Blåmerker", "blaamerker" and "blamerker" meet), ``words``
joins "nivå 2" / "level to" into one token, ``stem`` is the Snowball Norwegian stemmer (one per
thread) and ``close`` allows a one-letter typo in a long word. Pure functions: nothing is stored.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]
from rapidfuzz.distance import OSA

from dialogs.normalize import word_set

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


def close(word: str, target: str) -> bool:
    """``word`` is ``target`` or a one-letter typo of a long target."""
    if word == target:
        return True
    if len(target) >= 10:
        return OSA.distance(word, target, score_cutoff=2) <= 2
    if len(target) >= 7:
        return OSA.distance(word, target, score_cutoff=1) <= 1
    return False
