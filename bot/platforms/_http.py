"""Checks of raw request bodies that every platform endpoint shares, before anything parses deeply.

A body Slack or Teams would never send must end as a 4xx with a short reason, never as a 5xx: an
unknown charset, bytes that are not text, JSON nested deeper than any real payload (the parsers and
the SDKs behind them recurse and would hit ``RecursionError``), ``NaN``/``Infinity`` (not JSON;
PostgreSQL refuses them), NUL characters (PostgreSQL text
refuses them) and lone UTF-16 surrogates (they cannot be encoded to UTF-8 for the database). Every
check is linear in the body's length and runs in C where it can.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from aiohttp import web

MAX_JSON_DEPTH = 64  # real Slack and Bot Framework payloads nest well under 20 levels

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no backtracking
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_PAIRED_ESCAPES = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def json_error(status: int, message: str) -> web.Response:
    """A ``{"error", "status"}`` JSON answer: how every endpoint explains a refusal."""
    return web.json_response({"error": message, "status": status}, status=status)


class BadInput(Exception):
    """A request body we refuse; ``status`` is the 4xx to answer, ``reason`` the short message."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_text(raw: bytes, charset: str | None) -> str:
    """The body as text in its declared charset (UTF-8 when none); 415/400 when it cannot be."""
    name = charset or "utf-8"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise BadInput(415, "unknown charset") from None
    if codec.name not in ("utf-8", "ascii", "iso8859-1", "cp1252", "latin-1"):
        raise BadInput(415, "charset must be UTF-8")
    try:
        text = raw.decode(codec.name)
    except UnicodeDecodeError:
        raise BadInput(400, "body is not valid text in its charset") from None
    check_text(text)
    return text


def check_value(value: Any) -> None:
    """``check_text`` over an already parsed value (e.g. a Socket Mode envelope's payload)."""
    # ensure_ascii=False keeps lone surrogates as they are (so encoding them fails) and writes NUL
    # as the escape that check_text looks for.
    check_text(json.dumps(value, ensure_ascii=False, default=str))


def check_text(text: str) -> None:
    """Refuse NUL and lone surrogates anywhere in the text (raw or as JSON escapes)."""
    if "\x00" in text or "\\u0000" in text:
        raise BadInput(400, "NUL characters are not allowed")
    if _SURROGATE_ESCAPE.search(text) and _SURROGATE_ESCAPE.search(_PAIRED_ESCAPES.sub("", text)):
        raise BadInput(400, "unpaired UTF-16 surrogate in the body")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(400, "unpaired UTF-16 surrogate in the body") from None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def loads(text: str) -> Any:
    """``json.loads`` that refuses NUL, lone surrogates and over-deep nesting with ``BadInput``."""
    check_text(text)
    return loads_checked(text)


def loads_checked(text: str) -> Any:
    """``loads`` for text that has passed ``check_text`` already (``decode_text`` does that)."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadInput(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadInput(400, "body is not valid JSON") from None


def _no_constant(name: str) -> Any:
    # NaN and Infinity are Python's extension, not JSON: PostgreSQL's json type refuses them.
    raise ValueError(f"{name} is not JSON")


def loads_bytes(raw: bytes, charset: str | None = None) -> Any:
    """Decode then ``loads``: the one call an endpoint needs for a JSON body."""
    return loads_checked(decode_text(raw, charset))
