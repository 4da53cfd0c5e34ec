"""Time-zone names checked once, for the bot's settings and the kommune files alike."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_timezone(value: str) -> str:
    """Return ``value`` when it names an IANA time zone (e.g. Europe/Oslo), else raise ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value
