"""Normalises typed text for matching: case, punctuation, ``/bts`` prefixes, æøå written as ae/o/aa.

Used for command words only; it never changes what is shown to the user. ``word_set`` reads the
word lists written as text blocks in code (stop words, surnames, nynorsk markers).
"""

from __future__ import annotations

import re
import unicodedata

_ASCII_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "é": "e", "ü": "u"})
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower-case, strip punctuation and a leading ``/bts`` or mention, fold æøå, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"^<@[^>]+>\s*", "", text)  # Slack mention
    text = re.sub(r"^/?bts\b\s*", "", text)
    text = text.replace("aa", "a").translate(_ASCII_FOLD)
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a text block, as a set."""
    return frozenset(text.split())
