"""Spots personal data in free text before anything else sees it: the PII guard.

``find_personal_data`` reports which kinds of identifying data a text holds — a valid Norwegian
fødselsnummer or D-nummer (checked with python-stdnum, so a random 11-digit number is not one), a
Norwegian phone number, an e-mail address, or a likely full name ("Ola Nordmann"). It only tells the
kinds, never the matched values, so callers cannot log or echo them by accident. This module must not
store, log or return the text it inspects.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import pairwise
from pathlib import Path

from stdnum.no import fodselsnummer

FIRST_NAMES_FILE = Path(__file__).with_name("data") / "first_names.txt"

# 11 digits, optionally written "DDMMYY NNNNN" / "DDMMYY-NNNNN" or with single spaces anywhere.
_ELEVEN_DIGITS = re.compile(r"(?<![\d+])\d(?:[ .-]?\d){10}(?!\d)")
# 8 digits starting 2-9, optionally after +47 / 0047, written together, 2-2-2-2 or 3-2-3.
_PHONE = re.compile(
    r"(?<![\d+])(?P<prefix>(?:\+|00)\s?47[\s-]?)?"
    r"(?P<number>[2-9]\d{7}|[2-9]\d(?:[\s.-]\d\d){3}|[2-9]\d\d[\s.-]\d\d[\s.-]\d{3}"
    r"|[2-9]\d{3}[\s.-]\d{4})(?!\d)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a text block, as a set."""
    return frozenset(text.split())


# Frequent Norwegian surnames, and endings that make a lower-case word look like a surname.
_SURNAMES = word_set(
    """
    hansen johansen olsen larsen andersen pedersen nilsen kristiansen jensen karlsen johnsen
    pettersen eriksen berg haugen hagen johannessen andreassen jacobsen dahl jørgensen henriksen
    lund halvorsen sørensen jakobsen moen gundersen iversen strand solberg svendsen eide knutsen
    martinsen paulsen bakken kristoffersen mathisen lie amundsen nguyen rasmussen ali lunde
    solheim berge moe nygård bakke kristensen fredriksen holm lien hauge christensen andresen
    nielsen knudsen evensen sæther aas myhre hanssen ahmed haugland thomassen sivertsen simonsen
    danielsen berntsen sandvik rønning arnesen antonsen næss vik haug ellingsen thorsen edvardsen
    birkeland isaksen gulbrandsen ruud aasen strøm myklebust tangen ødegård eliassen helland bøe
    jenssen aune mikkelsen tveit brekke abrahamsen madsen nordmann hussain khan mohamed
    """
)
_SURNAME_ENDINGS = (
    "sen",
    "ssen",
    "son",
    "stad",
    "rud",
    "vik",
    "dal",
    "dahl",
    "heim",
    "land",
    "berg",
    "bakken",
    "haug",
    "haugen",
    "nes",
    "næs",
    "strand",
    "moen",
    "lien",
    "gård",
    "gaard",
    "seth",
    "mann",
)
_MIN_SURNAME_BY_ENDING = 6


@cache
def _first_names() -> tuple[frozenset[str], frozenset[str]]:
    """(all first names, the ones that are also everyday words) from the data file."""
    names: set[str] = set()
    ambiguous: set[str] = set()
    for line in FIRST_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip().lower()
        if not line or line.startswith("#"):
            continue
        if line.endswith("*"):
            line = line[:-1]
            ambiguous.add(line)
        names.add(line)
    return frozenset(names), frozenset(ambiguous)


def _looks_like_surname(word: str) -> bool:
    lowered = word.lower()
    parts = lowered.split("-")
    if any(part in _SURNAMES for part in parts):
        return True
    return any(
        len(part) >= _MIN_SURNAME_BY_ENDING and part.endswith(_SURNAME_ENDINGS) for part in parts
    )


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def _has_full_name(text: str) -> bool:
    """A known first name followed by a surname-like word."""
    names, ambiguous = _first_names()
    words = _WORD.findall(text)
    for first, last in pairwise(words):
        name = first.lower()
        if name not in names or len(last) < 2:
            continue
        surname_like = _looks_like_surname(last)
        if _is_capitalised(first) and _is_capitalised(last):
            # "Ola Nordmann", "Kari Nordmann-Hansen"; a name that is also a word ("Per", "Liv")
            # needs a real surname after it.
            if name not in ambiguous or surname_like:
                return True
        elif name not in ambiguous and surname_like:
            # "ola nordmann", "kari hansen" typed in lower case.
            return True
    return False


def _has_fodselsnummer(text: str) -> bool:
    for match in _ELEVEN_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if fodselsnummer.is_valid(digits):
            return True
    return False


def _has_phone(text: str) -> bool:
    for match in _PHONE.finditer(text):
        number = match.group("number")
        # "2023 2024" is a school year, not a phone number, unless +47 says otherwise.
        if re.fullmatch(r"\d{4}[\s.-]\d{4}", number) and not match.group("prefix"):
            continue
        return True
    return False


def find_personal_data(text: str) -> list[str]:
    """The kinds of personal data in ``text`` ("fodselsnummer", "phone", "email", "name"); [] if clean."""
    text = unicodedata.normalize("NFKC", text)
    kinds: list[str] = []
    if _has_fodselsnummer(text):
        kinds.append("fodselsnummer")
    if _has_phone(text):
        kinds.append("phone")
    if _EMAIL.search(text):
        kinds.append("email")
    if _has_full_name(_EMAIL.sub(" ", text)):
        kinds.append("name")
    return kinds
