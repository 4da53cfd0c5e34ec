"""Repository for the "Var dette nyttig?" counters: count one vote exactly once, read the totals,
and keep the key that vote ids are signed with.

A vote carries a vote id (one per message shown, in its buttons, signed by ``dialogs.feedback``); the
id's SHA-256 is claimed in ``processed_events`` in the same transaction as the counter is raised, so
a second click on the same message, a platform retry or a stale copy in another client never counts
twice. The raw id comes from the client and is never stored. The counter itself is raised with one
``INSERT … ON CONFLICT DO UPDATE`` (atomic on SQLite and PostgreSQL). No user id is written anywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from storage.feedback_models import FeedbackCount, SigningKey
from storage.models import ProcessedEvent, utcnow
from storage.repositories import Store, rowcount

# How long a message's vote id is remembered; a click on an older message counts again.
VOTE_ID_TTL = timedelta(days=400)
VOTE_EVENT_PREFIX = "feedback:"
VOTE_KEY_NAME = "feedback-votes"
KEY_BYTES = 32


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
        store.insert(ProcessedEvent)
        .values(
            event_key=vote_event_key(vote_id),
            platform=platform,
            received_at=now,
            expires_at=now + VOTE_ID_TTL,
        )
        .on_conflict_do_nothing(index_elements=["event_key"])
    )
    count = store.insert(FeedbackCount).values(
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
        if rowcount(await session.execute(claim)) != 1:
            return False
        await session.execute(count)
    return True


def vote_event_key(vote_id: str) -> str:
    """The ``processed_events`` key of a vote id: a hash, so the client's text is never stored."""
    return VOTE_EVENT_PREFIX + hashlib.sha256(vote_id.encode("utf-8")).hexdigest()


async def signing_key(store: Store, name: str = VOTE_KEY_NAME) -> bytes:
    """The secret called ``name``, created at random on first use; every process gets the same one
    (the first insert wins, the others read it)."""
    create = (
        store.insert(SigningKey)
        .values(name=name, secret=secrets.token_hex(KEY_BYTES), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    async with store.sessions.begin() as session:
        await session.execute(create)
        secret = await session.scalar(select(SigningKey.secret).where(SigningKey.name == name))
    assert secret is not None
    return bytes.fromhex(secret)


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
