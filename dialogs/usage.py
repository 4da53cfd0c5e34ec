"""Counts what the guide and the FAQ are used for, anonymously, for the leaders' monthly digest:
a FAQ answer by its topic, a guide level opened, and a question answered "ukjent" by the topic it
was nearest to. Only a number per tenant, month, kind and key is kept — never who asked, when
exactly, or what they wrote. A counter that cannot be written costs the user nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from storage import directory, usage
from storage.models import utcnow
from storage.repositories import Store
from storage.usage_models import LEVEL, TOPIC, UNKNOWN_NEAR

log = logging.getLogger(__name__)

__all__ = ["LEVEL", "TOPIC", "UNKNOWN_NEAR", "count", "nearest_topic"]


async def count(
    store: Store, tenant_id: str, kind: str, key: str, now: datetime | None = None
) -> None:
    try:
        config = await directory.get_settings(store, tenant_id)
        zone = ZoneInfo(config.timezone if config is not None else "Europe/Oslo")
        month = (now or utcnow()).astimezone(zone).strftime("%Y-%m")
        await usage.count_use(store, tenant_id, month, kind, key)
    except Exception as exc:  # a lost count is better than a lost answer
        log.warning("use not counted", extra={"kind": kind, "error_type": type(exc).__name__})


def nearest_topic(scores: Mapping[str, float], unknown: str) -> str:
    """The topic an unanswered question was closest to (``unknown`` when nothing scored)."""
    candidates = {t: s for t, s in scores.items() if t != unknown}
    if not candidates or max(candidates.values()) <= 0:
        return unknown
    return max(candidates, key=lambda t: candidates[t])
