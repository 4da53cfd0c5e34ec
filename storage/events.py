"""Processed events: ids seen once (Teams activities, one-off welcomes), kept until they expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from storage.models import ProcessedEvent, utcnow
from storage.repositories import Store, rowcount


async def claim_event(store: Store, event_key: str, platform: str, ttl: timedelta) -> bool:
    """True the first time ``event_key`` is seen (across restarts and processes), else False."""
    now = utcnow()
    stmt = (
        store.insert(ProcessedEvent)
        .values(event_key=event_key, platform=platform, received_at=now, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["event_key"])
    )
    async with store.sessions.begin() as session:
        return rowcount(await session.execute(stmt)) == 1


async def purge_expired_events(store: Store, now: datetime | None = None) -> int:
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.expires_at < (now or utcnow()))
        )
    return rowcount(result)
