"""Repository for the "Var dette nyttig?" counters: count one vote exactly once, read the totals.

A vote carries a random vote id (one per message shown, in its buttons); the id is claimed in
``processed_events`` in the same transaction as the counter is raised, so a second click on the same
message, a platform retry or a stale copy in another client never counts twice. The counter itself is
raised with one ``INSERT … ON CONFLICT DO UPDATE`` (atomic on SQLite and PostgreSQL). No user id is
written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from storage.feedback_models import FeedbackCount
from storage.models import ProcessedEvent, utcnow
from storage.repositories import Store, _rowcount

# How long a message's vote id is remembered; a click on an older message counts again.
VOTE_ID_TTL = timedelta(days=400)
VOTE_EVENT_PREFIX = "feedback:"


@dataclass(frozen=True)
class FeedbackTotal:
    """The counters of one (kind, key, lang); over several tenants when read without one."""

    kind: str
    key: str
    lang: str
    up: int
    down: int


async def record_vote(
    store: Store,
    *,
    vote_id: str,
    platform: str,
    tenant_id: str,
    kind: str,
    key: str,
    lang: str,
    useful: bool,
) -> bool:
    """Count one 👍 (``useful``) or 👎 unless ``vote_id`` was counted already; True when counted."""
    now = utcnow()
    claim = (
        store._insert(ProcessedEvent)
        .values(
            event_key=VOTE_EVENT_PREFIX + vote_id,
            platform=platform,
            received_at=now,
            expires_at=now + VOTE_ID_TTL,
        )
        .on_conflict_do_nothing(index_elements=["event_key"])
    )
    count = store._insert(FeedbackCount).values(
        tenant_id=tenant_id,
        kind=kind,
        key=key,
        lang=lang,
        up=int(useful),
        down=int(not useful),
        updated_at=now,
    )
    count = count.on_conflict_do_update(
        index_elements=["tenant_id", "kind", "key", "lang"],
        set_={
            "up": FeedbackCount.up + count.excluded.up,
            "down": FeedbackCount.down + count.excluded.down,
            "updated_at": count.excluded.updated_at,
        },
    )
    async with store.sessions.begin() as session:
        if _rowcount(await session.execute(claim)) != 1:
            return False
        await session.execute(count)
    return True


async def list_totals(store: Store, tenant_id: str | None = None) -> list[FeedbackTotal]:
    """Counters per (kind, key, lang) of one tenant, or summed over all tenants (None)."""
    query = select(
        FeedbackCount.kind,
        FeedbackCount.key,
        FeedbackCount.lang,
        func.sum(FeedbackCount.up),
        func.sum(FeedbackCount.down),
    ).group_by(FeedbackCount.kind, FeedbackCount.key, FeedbackCount.lang)
    if tenant_id is not None:
        query = query.where(FeedbackCount.tenant_id == tenant_id)
    async with store.sessions() as session:
        rows = (await session.execute(query)).all()
    totals = [FeedbackTotal(k, key, lang, int(up), int(down)) for k, key, lang, up, down in rows]
    return sorted(totals, key=lambda t: (t.kind, t.key, t.lang))
