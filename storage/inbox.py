"""Repository of the inbox: store an incoming event once, claim it with a lease, record its fate.

Life of a row: ``pending`` → (claim) ``claimed`` → (turn handled, reply planned, body erased: one
UPDATE) ``sending`` → ``done`` | ``failed``. A process that dies leaves ``claimed`` rows (the turn's
changes were not committed: handled again once the lease ends) or ``sending`` rows (the reply may have
gone out: the worker asks the platform before sending it again). Claims are one UPDATE … RETURNING
over rows picked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, as in ``storage.outbox``; the insert
at the ack is one statement on a plain connection (no ORM session) because it is on the ack's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update

from storage.inbox_models import CLAIMED, DONE, FAILED, PENDING, SENDING, InboxItem
from storage.models import utcnow
from storage.repositories import Store, rowcount

KEEP_KEYS = timedelta(days=2)  # a redelivery later than this would be answered again


@dataclass(frozen=True)
class Incoming:
    """An event to store; ``event_key`` makes storing it twice harmless."""

    event_key: str
    platform: str
    tenant_id: str
    order_key: str
    body: dict[str, Any]


async def receive(store: Store, item: Incoming, now: datetime | None = None) -> bool:
    """Store the event unless its key is known; True when it is new (and must be handled)."""
    return item.event_key in await receive_many(store, [item], now)


async def receive_many(
    store: Store, items: Sequence[Incoming], now: datetime | None = None
) -> set[str]:
    """Store several events in one transaction; the keys that were new (the rest were known)."""
    now = now or utcnow()
    rows = [
        {
            "event_key": item.event_key,
            "platform": item.platform,
            "tenant_id": item.tenant_id,
            "order_key": item.order_key,
            "body": item.body,
            "reply": None,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
            "expires_at": now + KEEP_KEYS,
            "last_error": "",
        }
        for item in items
    ]
    # One constant statement executed for many parameter sets: compiled once, and SQLAlchemy's
    # "insertmanyvalues" still sends it as multi-row INSERTs (with RETURNING) on both backends.
    stmt = (
        store.insert(InboxItem)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(InboxItem.event_key)
    )
    async with store.engine.begin() as connection:
        return set((await connection.execute(stmt, rows)).scalars())


async def claim(
    store: Store,
    worker: str,
    *,
    platform: str,
    lease: timedelta,
    limit: int = 50,
    now: datetime | None = None,
) -> list[InboxItem]:
    """Claim due rows: new ones, and ones whose worker's lease ran out (it died or stalled)."""
    now = now or utcnow()
    due = or_(
        (InboxItem.status == PENDING) & (InboxItem.next_attempt_at <= now),
        InboxItem.status.in_((CLAIMED, SENDING)) & (InboxItem.lease_until < now),
    )
    pick = (
        select(InboxItem.id)
        .where(InboxItem.platform == platform, due)
        .order_by(InboxItem.id)
        .limit(limit)
    )
    if store.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # A row that was ``sending`` stays ``sending`` (its reply may be out); others become claimed.
    stmt = (
        update(InboxItem)
        .where(InboxItem.id.in_(pick.scalar_subquery()))
        .values(
            status=case((InboxItem.status == SENDING, SENDING), else_=CLAIMED),
            claimed_by=worker,
            lease_until=now + lease,
            attempts=InboxItem.attempts + 1,
        )
        .returning(InboxItem)
        .execution_options(synchronize_session=False)
    )
    async with store.sessions.begin() as session:
        rows = list((await session.scalars(stmt)).all())
    return sorted(rows, key=lambda r: r.id)


async def plan_reply(
    store: Store, item_id: int, worker: str, reply: dict[str, Any], now: datetime | None = None
) -> bool:
    """The turn is handled: keep what to send, erase the request body. False if the claim is lost."""
    now = now or utcnow()
    async with store.engine.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(
                InboxItem.id == item_id,
                InboxItem.claimed_by == worker,
                InboxItem.status == CLAIMED,
            )
            .values(status=SENDING, reply=reply, body=None)
        )
    return rowcount(result) == 1


def _forgotten(now: datetime) -> dict[str, Any]:
    """What a closed row keeps of who and when: nothing but the day. The dedupe key and the expiry
    are all a redelivery needs, and a row that named its user and second would let a dump line
    turns up with what they wrote elsewhere (an anonymous survey answer, say)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"body": None, "reply": None, "lease_until": None, "order_key": "", "received_at": day}


async def finish(store: Store, item_id: int, worker: str, status: str, error: str = "") -> bool:
    """Close a row (``done`` or ``failed``): body, reply, user and time are erased, the key stays."""
    if status not in (DONE, FAILED):
        raise ValueError(f"not a final status: {status}")
    async with store.engine.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id, InboxItem.claimed_by == worker)
            .values(status=status, last_error=error[:80], **_forgotten(utcnow()))
        )
    return rowcount(result) == 1


async def finish_many(store: Store, item_ids: Sequence[int], worker: str) -> int:
    """Close many answered rows as ``done`` in one statement (the worker batches them)."""
    if not item_ids:
        return 0
    async with store.engine.begin() as connection:
        result = await connection.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(list(item_ids)), InboxItem.claimed_by == worker)
            .values(status=DONE, last_error="", **_forgotten(utcnow()))
        )
    return rowcount(result)


async def retry_later(store: Store, item_id: int, worker: str, at: datetime, error: str) -> bool:
    """Give a claimed row back for another try at ``at`` (keeps its status and reply)."""
    async with store.engine.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id, InboxItem.claimed_by == worker)
            .values(
                status=case((InboxItem.status == SENDING, SENDING), else_=PENDING),
                next_attempt_at=at,
                lease_until=at,
                claimed_by=None,
                last_error=error[:80],
            )
        )
    return rowcount(result) == 1


async def release(store: Store, worker: str, now: datetime | None = None) -> int:
    """At shutdown: hand every row this worker still holds to the next worker at once."""
    now = now or utcnow()
    async with store.engine.begin() as session:
        claimed = await session.execute(
            update(InboxItem)
            .where(InboxItem.claimed_by == worker, InboxItem.status == CLAIMED)
            .values(status=PENDING, claimed_by=None, lease_until=None, next_attempt_at=now)
        )
        sending = await session.execute(
            update(InboxItem)
            .where(InboxItem.claimed_by == worker, InboxItem.status == SENDING)
            .values(claimed_by=None, lease_until=now)
        )
    return rowcount(claimed) + rowcount(sending)


async def purge(store: Store, now: datetime | None = None) -> int:
    """Forget the keys of finished rows past their keep time."""
    async with store.engine.begin() as session:
        result = await session.execute(
            delete(InboxItem).where(
                InboxItem.status.in_((DONE, FAILED)), InboxItem.expires_at < (now or utcnow())
            )
        )
    return rowcount(result)


async def status_counts(store: Store, platform: str | None = None) -> dict[str, int]:
    query = select(InboxItem.status, func.count()).group_by(InboxItem.status)
    if platform is not None:
        query = query.where(InboxItem.platform == platform)
    async with store.sessions() as session:
        return {status: int(n) for status, n in (await session.execute(query)).all()}
