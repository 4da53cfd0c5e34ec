"""Spots personal data in free text before anything else sees it: the PII guard.

``find_personal_data`` reports which kinds of identifying data a text holds — a valid Norwegian
fødselsnummer or D-nummer (checked with python-stdnum, so a random 11-digit number is not one), a
Norwegian phone number, an e-mail address, or a likely full name ("Ola Nordmann", "O. Nordmann",
"sofie ahmadi", "Emma 7 år"). It only tells the kinds, never the matched values, so callers cannot
log or echo them by accident. This module must not store, log or return the text it inspects.

Disguises are undone first: invisible format characters (zero-width spaces, soft hyphens) are
dropped, digits of any script become 0-9, Cyrillic and Greek look-alike letters become Latin, and for
numbers the letter O between digits becomes 0 and "/", "_" or several separators between digits count
as one. Every text is read to the end, in time linear in its length (no pattern can backtrack).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import pairwise
from pathlib import Path

from stdnum.no import fodselsnummer

from dialogs.normalize import word_set

FIRST_NAMES_FILE = Path(__file__).with_name("data") / "first_names.txt"

# Letters of other scripts that look like Latin ones ("Оla" with a Cyrillic О, "example.nо").
_HOMOGLYPHS = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "І": "I", "Ї": "I", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "Ԛ": "Q",
    "Ԝ": "W", "Һ": "H", "Ӏ": "I",
    "а": "a", "е": "e", "ё": "e", "і": "i", "ї": "i", "ј": "j", "к": "k", "о": "o", "р": "p",
    "с": "c", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "α": "a", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "υ": "u", "χ": "x", "ϲ": "c",
    "ϳ": "j",
}  # fmt: skip
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SEP = r"[\s./_-]"
# Several separators between two digits ("93 - 45", "24 / 12") count as one.
_SEPARATOR_RUN = re.compile(r"(?<=[0-9])[\s./_-]{2,3}(?=[0-9])")
# A token of digits and O/o (the letter); letters on either side make it a word ("Ola", "100ok").
_DIGITS_AND_O = re.compile(r"(?<![^\W\d_])[0-9Oo]++(?![^\W\d_])")

# 11 digits, optionally written "DDMMYY NNNNN" / "DD/MM/YY-NNNNN" or with one separator anywhere.
_ELEVEN_DIGITS = re.compile(rf"(?<![0-9+])[0-9](?:{_SEP}?[0-9]){{10}}(?![0-9])")
# 8 digits starting 2-9, optionally after +47 / 0047: together, or grouped 2-2-2-2, 3-2-3, 3-3-2,
# 2-3-3 or 4-4 with the same separator throughout ("20.00-21.30" is a time, not a number).
_PHONE = re.compile(
    rf"(?<![0-9+])(?P<prefix>(?:\+|00)\s?47{_SEP}?)?"
    r"(?P<number>[2-9][0-9]{7}"
    rf"|[2-9][0-9](?P<a>{_SEP})[0-9]{{2}}(?P=a)[0-9]{{2}}(?P=a)[0-9]{{2}}"
    rf"|[2-9][0-9]{{2}}(?P<b>{_SEP})[0-9]{{2}}(?P=b)[0-9]{{3}}"
    rf"|[2-9][0-9]{{2}}(?P<c>{_SEP})[0-9]{{3}}(?P=c)[0-9]{{2}}"
    rf"|[2-9][0-9](?P<d>{_SEP})[0-9]{{3}}(?P=d)[0-9]{{3}}"
    rf"|[2-9][0-9]{{3}}{_SEP}[0-9]{{4}})(?![0-9])"
)
# Digit groups split by single spaces: "93 4567 89" is a phone number however it is grouped.
_SPACED_DIGITS = re.compile(r"(?<![0-9])(?P<plus>\+\s?)?[0-9]++(?: [0-9]++)*+")
_YEARS = re.compile(r"(?:19|20)[0-9]{2}[\s./_-](?:19|20)[0-9]{2}")
# The local part starts where no address character stands before it, and no part gives back
# letters: one pass over the text, however it is built.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)*\.[a-zA-Z]{2,}")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# "O. Nordmann", "K.Hansen": an initial and a capitalised word.
_INITIAL = re.compile(r"(?<![\w.])[A-ZÆØÅ]\.\s?(?P<last>[^\W\d_]++(?:-[^\W\d_]++)*+)")
# "Emma 7 år", "emma (7 år)", "Emma, 7-åring".
_NAME_AGE = re.compile(
    r"(?<![^\W\d_])(?P<first>[^\W\d_]++)\s?[,(]?\s?[0-9]{1,2}\s?-?\s?"
    r"(?:år|aar|års|åring|aaring|years?|yrs?)(?![^\W\d_])",
    re.IGNORECASE,
)


# Frequent surnames in Norway, and endings that make a lower-case word look like a surname.
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
    ahmadi mohammadi hosseini husseini rahimi karimi rezaei hashemi sultani haidari nazari azizi
    jafari ahmadzai noori hassan hussein ibrahim abdi osman yusuf warsame farah jama mohamud
    ahmad mohammad muhammad abdullah rahman iqbal malik akhtar aslam tran pham hoang yilmaz
    kaya demir celik nowak kowalski wisniewski lewandowski kaminski zielinski petrovic
    jovanovic nikolic silva santos garcia rodriguez
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
    "haugen",
    "haug",
    "nes",
    "næs",
    "strand",
    "moen",
    "lien",
    "gård",
    "gaard",
    "seth",
    "mann",
    # Endings no Norwegian word has: Persian, Slavic, Turkish and Armenian surnames.
    "zadeh",
    "ović",
    "ovic",
    "ević",
    "evic",
    "owski",
    "ewski",
    "enko",
    "oglu",
    "oğlu",
    "yan",
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


@cache
def _translation() -> dict[int, str | None]:
    """Drop format characters, digits of every script to 0-9, look-alike letters to Latin."""
    table: dict[int, str | None] = {}
    for code in range(0x80, 0x10000):
        char = chr(code)
        if unicodedata.category(char) == "Cf":
            table[code] = None
        elif char.isdecimal():
            table[code] = str(unicodedata.digit(char))
    table.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
    return table


def _astral(match: re.Match[str]) -> str:
    char = match.group()
    if unicodedata.category(char) == "Cf":
        return ""
    return str(unicodedata.digit(char)) if char.isdecimal() else char


def _undisguise(text: str) -> str:
    """The text as it reads: NFKC, no format characters, 0-9 digits, Latin look-alikes."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text).translate(_translation())
    return _ASTRAL.sub(_astral, text)


def _zero_for_o(match: re.Match[str]) -> str:
    token = match.group()
    if token.isalpha():
        return token
    return token.replace("O", "0").replace("o", "0")


def _one_separator(match: re.Match[str]) -> str:
    # "24. 12. 2025" stays a date ("24.12.2025"); only spaces alone become one space.
    marks = match.group().split()
    return marks[0][0] if marks else " "


def _digits_view(text: str) -> str:
    """Numbers as typed digits: "17O918" → "170918", "24 / 12" → "24 12"."""
    return _SEPARATOR_RUN.sub(_one_separator, _DIGITS_AND_O.sub(_zero_for_o, text))


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


def _has_initial_and_surname(text: str) -> bool:
    """ "O. Nordmann": an initial before a capitalised word that looks like a surname."""
    return any(
        _is_capitalised(m.group("last")) and _looks_like_surname(m.group("last"))
        for m in _INITIAL.finditer(text)
    )


def _has_name_and_age(text: str) -> bool:
    """ "Emma 7 år": a first name that is no everyday word, then an age."""
    names, ambiguous = _first_names()
    for match in _NAME_AGE.finditer(text):
        name = match.group("first").lower()
        if name in names and name not in ambiguous:
            return True
    return False


def _has_fodselsnummer(digits: str) -> bool:
    for match in _ELEVEN_DIGITS.finditer(digits):
        number = re.sub(r"[^0-9]", "", match.group())
        if fodselsnummer.is_valid(number):
            return True
    return False


def _is_school_year(number: str, prefix: str | None) -> bool:
    # "2023 2024" is a school year, not a phone number, unless +47 says otherwise.
    return not prefix and _YEARS.fullmatch(number) is not None


def _has_phone(digits: str) -> bool:
    for match in _PHONE.finditer(digits):
        if not _is_school_year(match.group("number"), match.group("prefix")):
            return True
    for match in _SPACED_DIGITS.finditer(digits):
        groups = match.group().lstrip("+").split()
        if len(groups) < 2 or min(len(g) for g in groups) < 2:
            continue  # one number, or single digits ("trinn 5 6 7"): not a way to write one
        number = "".join(groups)
        if number.startswith("0047"):
            number = number[4:]
        elif match.group("plus") and number.startswith("47"):
            number = number[2:]
        elif _is_school_year(" ".join(groups), None):
            continue
        if len(number) == 8 and number[0] in "23456789":
            return True
    return False


def find_personal_data(text: str) -> list[str]:
    """The kinds of personal data in ``text`` ("fodselsnummer", "phone", "email", "name"); [] if clean."""
    text = _undisguise(text)
    digits = _digits_view(text)
    kinds: list[str] = []
    if _has_fodselsnummer(digits):
        kinds.append("fodselsnummer")
    if _has_phone(digits):
        kinds.append("phone")
    if _EMAIL.search(text):
        kinds.append("email")
    without_email = _EMAIL.sub(" ", text)
    if (
        _has_full_name(without_email)
        or _has_initial_and_surname(without_email)
        or _has_name_and_age(without_email)
    ):
        kinds.append("name")
    return kinds
