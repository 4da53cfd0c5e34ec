"""Repository of the outbox: enqueue proactive sends once, claim due ones, record what happened.

Life of a row: ``pending`` → (claim, with a lease) ``claimed`` → (right before the platform call)
``sending`` → ``sent`` | ``failed`` | ``unreachable`` | back to ``pending`` for a retry. A process that
dies leaves ``claimed`` rows (never attempted: released when the lease runs out) or ``sending`` rows
(maybe sent: the dispatcher asks the platform before sending again). Claims are one UPDATE … RETURNING
over rows picked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never claim the same
row; SQLite serialises writers, which gives the same guarantee within one database file.

A row goes in as a ``NewItem`` and comes out to its renderer as a ``Notice``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import User, utcnow
from storage.outbox_models import (
    CLAIMED,
    DONE,
    LEAD_PREFIX,
    NOT_RELEVANT,
    PENDING,
    REMINDER_KINDS,
    SENDING,
    SENT,
    SKIPPED,
    OutboxItem,
    OutboxKind,
    TaskProgress,
    row_kind,
)
from storage.repositories import Store, rowcount

# pg_advisory_xact_lock key the claims of due rows take turns on (any constant; "BTSO").
CLAIM_LOCK = 0x4254534F
ENQUEUE_CHUNK = 400  # rows per INSERT (stays far below SQLite's bound-parameter limit)


class UnknownKind(LookupError):
    """A row of a kind this release does not know: there is nothing to render it with."""


@dataclass(frozen=True)
class Notice:
    """One outbox row as its renderer sees it: what to say, in which language, and whether it goes
    out noticeably after its time (``late``)."""

    item_id: int
    tenant_id: str
    kind: OutboxKind
    payload: Mapping[str, Any]
    lang: str
    late: bool = False

    @classmethod
    def of(cls, row: OutboxItem, lang: str, late: bool = False) -> Notice:
        kind = row_kind(row.kind)
        if kind is None:
            raise UnknownKind(f"unknown outbox kind {row.kind!r}")
        return cls(row.id, row.tenant_id, kind, row.payload, lang, late)


@dataclass(frozen=True)
class NewItem:
    """A send to plan; ``dedupe_key`` makes planning it twice harmless.

    ``kind``: an ``OutboxKind``, or ``lead-<days>`` for a reminder ahead of the due date."""

    tenant_id: str
    dedupe_key: str
    kind: str
    platform: str
    target_kind: str
    target_id: str
    send_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


async def enqueue(store: Store, items: Sequence[NewItem]) -> int:
    """Insert rows whose key is new; returns how many were inserted."""
    inserted = 0
    for start in range(0, len(items), ENQUEUE_CHUNK):
        async with store.sessions.begin() as session:
            inserted += await enqueue_in(store, session, items[start : start + ENQUEUE_CHUNK])
    return inserted


async def enqueue_in(store: Store, session: AsyncSession, items: Sequence[NewItem]) -> int:
    """``enqueue`` inside the caller's transaction: the rows exist exactly when what planned
    them does (a survey run and its invitations commit together)."""
    if any(item.send_at.tzinfo is None for item in items):
        raise ValueError("send_at must be timezone-aware")
    kinds = [row_kind(item.kind) for item in items]
    if None in kinds:
        raise ValueError("unknown outbox kind")
    inserted = 0
    now = utcnow()
    for start in range(0, len(items), ENQUEUE_CHUNK):
        rows = [
            {
                "tenant_id": item.tenant_id,
                "dedupe_key": item.dedupe_key,
                "kind": item.kind,
                "platform": item.platform,
                "target_kind": item.target_kind,
                "target_id": item.target_id,
                # The type repeats the kind for the dispatchers of earlier releases, which read it
                # there (during a rolling upgrade both run on one database).
                "payload": {**item.payload, "type": str(kind)},
                "send_at": item.send_at,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": item.send_at,
                "late": False,
                "last_error": "",
                "created_at": now,
            }
            for item, kind in zip(
                items[start : start + ENQUEUE_CHUNK],
                kinds[start : start + ENQUEUE_CHUNK],
                strict=True,
            )
        ]
        stmt = (
            store.insert(OutboxItem)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        inserted += rowcount(await session.execute(stmt))
    return inserted


async def get_item(store: Store, item_id: int) -> OutboxItem | None:
    async with store.sessions() as session:
        return await session.get(OutboxItem, item_id)


async def get_by_key(store: Store, dedupe_key: str) -> OutboxItem | None:
    async with store.sessions() as session:
        return await session.scalar(select(OutboxItem).where(OutboxItem.dedupe_key == dedupe_key))


async def _claim(
    store: Store,
    worker: str,
    lease: timedelta,
    now: datetime,
    limit: int,
    status: str,
    *conditions: Any,
    serialize: bool = False,
) -> list[OutboxItem]:
    """One UPDATE … RETURNING: the picked rows get ``status``, the worker and a lease together."""
    pick = select(OutboxItem.id).where(*conditions).order_by(OutboxItem.send_at, OutboxItem.id)
    pick = pick.limit(limit)
    postgres = store.engine.dialect.name == "postgresql"
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(OutboxItem)
        .where(OutboxItem.id.in_(pick.scalar_subquery()))
        .values(status=status, claimed_by=worker, lease_until=now + lease)
        .returning(OutboxItem)
        .execution_options(synchronize_session=False)
    )
    async with store.sessions.begin() as session:
        if postgres and serialize:
            # Claims take turns (one short statement per batch, so nobody waits long): each then
            # sees the conversations the previous claims took.
            await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
        rows = list((await session.scalars(stmt)).all())
    return sorted(rows, key=lambda r: (r.send_at, r.id))


async def claim_due(
    store: Store,
    worker: str,
    *,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
    target_gap: timedelta = timedelta(seconds=1),
) -> list[OutboxItem]:
    """Claim up to ``limit`` pending rows whose time has come (oldest first) for ``worker``.

    A conversation belongs to one process at a time: a row is not claimed while another worker
    holds a row for the same target (claimed or sending) or sent one there less than
    ``target_gap`` ago, so each process's per-conversation spacing holds across processes too
    (on SQLite there is one process)."""
    now = now or utcnow()
    other = aliased(OutboxItem)
    busy = (
        select(other.id)
        .where(
            other.tenant_id == OutboxItem.tenant_id,
            other.platform == OutboxItem.platform,
            other.target_id == OutboxItem.target_id,
            other.claimed_by.is_not(None),
            other.claimed_by != worker,
            or_(
                other.status.in_((CLAIMED, SENDING)),
                and_(other.status == SENT, other.sent_at > now - target_gap),
            ),
        )
        .exists()
    )
    postgres = store.engine.dialect.name == "postgresql"
    return await _claim(
        store,
        worker,
        lease,
        now,
        limit,
        CLAIMED,
        OutboxItem.status == PENDING,
        OutboxItem.next_attempt_at <= now,
        *((~busy,) if postgres else ()),
        serialize=postgres,
    )


async def release_expired_claims(store: Store, *, now: datetime | None = None) -> int:
    """Give rows claimed by a process that died before trying them back to the queue."""
    now = now or utcnow()
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == CLAIMED, OutboxItem.lease_until < now)
            .values(status=PENDING, claimed_by=None, lease_until=None)
        )
    return rowcount(result)


async def release_claims(store: Store, worker: str) -> int:
    """Give back every row ``worker`` claimed but never tried (at shutdown: another process may
    take them at once instead of after the lease)."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == CLAIMED, OutboxItem.claimed_by == worker)
            .values(status=PENDING, claimed_by=None, lease_until=None)
        )
    return rowcount(result)


async def skip_pending(store: Store, tenant_id: str, platform: str, reason: str) -> int:
    """Mark every not yet claimed row of ``tenant_id`` on ``platform`` skipped (the app was
    uninstalled there: nothing can reach it, and a report per row would reach nobody either)."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.tenant_id == tenant_id,
                OutboxItem.platform == platform,
                OutboxItem.status == PENDING,
            )
            .values(status=SKIPPED, last_error=reason[:200])
        )
    return rowcount(result)


async def claim_in_doubt(
    store: Store,
    worker: str,
    *,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
) -> list[OutboxItem]:
    """Claim ``sending`` rows whose sender's lease ran out: it may or may not have sent them."""
    now = now or utcnow()
    return await _claim(
        store,
        worker,
        lease,
        now,
        limit,
        SENDING,
        OutboxItem.status == SENDING,
        OutboxItem.lease_until < now,
    )


async def mark_sending(
    store: Store,
    item_id: int,
    worker: str,
    *,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
) -> bool:
    """Record that the platform call is about to happen, with a fresh lease for the call itself.

    False when the claim was lost or its lease ran out meanwhile (another process may have taken the
    row back): then the caller must not send."""
    now = now or utcnow()
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == item_id,
                OutboxItem.claimed_by == worker,
                OutboxItem.status.in_((CLAIMED, SENDING)),
                OutboxItem.lease_until > now,
            )
            .values(status=SENDING, attempts=OutboxItem.attempts + 1, lease_until=now + lease)
        )
    return rowcount(result) == 1


async def mark_sending_many(
    store: Store,
    item_ids: Sequence[int],
    worker: str,
    *,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
) -> set[int]:
    """``mark_sending`` for several rows in one statement; the ids that are still ours (only those
    may be sent)."""
    if not item_ids:
        return set()
    now = now or utcnow()
    stmt = (
        update(OutboxItem)
        .where(
            OutboxItem.id.in_(item_ids),
            OutboxItem.claimed_by == worker,
            OutboxItem.status.in_((CLAIMED, SENDING)),
            OutboxItem.lease_until > now,
        )
        .values(status=SENDING, attempts=OutboxItem.attempts + 1, lease_until=now + lease)
        .returning(OutboxItem.id)
        .execution_options(synchronize_session=False)
    )
    async with store.sessions.begin() as session:
        return set((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class Sent:
    """A row the platform took: when, its message id, whether it went out late."""

    item_id: int
    sent_at: datetime
    message_id: str | None = None
    late: bool = False


_SENT_MANY = (
    update(OutboxItem.__table__)  # type: ignore[arg-type]
    .where(
        OutboxItem.__table__.c.id == bindparam("b_id"),
        OutboxItem.__table__.c.claimed_by == bindparam("b_worker"),
        OutboxItem.__table__.c.status == SENDING,
    )
    .values(
        status=SENT,
        last_error="",
        lease_until=None,
        sent_at=bindparam("b_sent_at"),
        platform_message_id=func.coalesce(
            bindparam("b_message_id"), OutboxItem.__table__.c.platform_message_id
        ),
        late=bindparam("b_late"),
    )
)


async def finish_sent_many(store: Store, worker: str, sent: Sequence[Sent]) -> None:
    """Record several sends in one transaction: one prepared UPDATE executed for every row (a
    ``sending`` row still held by ``worker`` becomes ``sent``). Until this commits the rows stay
    ``sending``, so a crash before it leaves them in doubt, never pending: the next dispatcher asks
    the platform before it sends any of them again."""
    if not sent:
        return
    params = [
        {
            "b_id": s.item_id,
            "b_worker": worker,
            "b_sent_at": s.sent_at,
            "b_message_id": s.message_id[:120] if s.message_id is not None else None,
            "b_late": s.late,
        }
        for s in sent
    ]
    async with store.sessions.begin() as session:
        await session.execute(_SENT_MANY, params)


async def finish(
    store: Store,
    item_id: int,
    worker: str,
    status: str,
    *,
    error: str = "",
    message_id: str | None = None,
    late: bool | None = None,
    now: datetime | None = None,
) -> bool:
    """Move a claimed row to a final ``status``; False when another worker holds it now."""
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:200],
        "lease_until": None,
    }
    if message_id is not None:
        values["platform_message_id"] = message_id[:120]
    if late is not None:
        values["late"] = late
    if status == "sent":
        values["sent_at"] = now or utcnow()
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
            .values(**values)
        )
    return rowcount(result) == 1


async def retry_later(store: Store, item_id: int, worker: str, at: datetime, error: str) -> bool:
    """Put a claimed row back in the queue for another attempt at ``at``."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker)
            .values(
                status=PENDING,
                next_attempt_at=at,
                claimed_by=None,
                lease_until=None,
                last_error=error[:200],
            )
        )
    return rowcount(result) == 1


async def status_counts(store: Store, tenant_id: str | None = None) -> dict[str, int]:
    """How many rows are in each status (for the CLI and tests)."""
    query = select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
    if tenant_id is not None:
        query = query.where(OutboxItem.tenant_id == tenant_id)
    async with store.sessions() as session:
        return {status: int(n) for status, n in (await session.execute(query)).all()}


async def list_items(
    store: Store,
    tenant_id: str | None = None,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[OutboxItem]:
    query = select(OutboxItem)
    if tenant_id is not None:
        query = query.where(OutboxItem.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(OutboxItem.kind == kind)
    if status is not None:
        query = query.where(OutboxItem.status == status)
    async with store.sessions() as session:
        rows = await session.scalars(query.order_by(OutboxItem.send_at, OutboxItem.id).limit(limit))
        return list(rows.all())


async def occurrence_closed(
    store: Store, tenant_id: str, task_key: str, occurrence: date, unit: str | None
) -> bool:
    """True when the occurrence is marked done or not relevant for ``unit`` (or tenant-wide)."""
    async with store.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(TaskProgress)
            .where(
                TaskProgress.tenant_id == tenant_id,
                TaskProgress.task_key == task_key,
                TaskProgress.occurrence == occurrence,
                TaskProgress.unit.in_({unit or "", ""}),
                TaskProgress.status.in_((DONE, NOT_RELEVANT)),
            )
        )
    return bool(found)


async def reminded_occurrences(
    store: Store, tenant_id: str, since: datetime
) -> set[tuple[str, date, str | None]]:
    """(task, occurrence, unit) of the reminders actually sent since ``since``."""
    reminder = or_(
        OutboxItem.kind.in_(sorted(REMINDER_KINDS)), OutboxItem.kind.like(f"{LEAD_PREFIX}%")
    )
    async with store.sessions() as session:
        rows = await session.scalars(
            select(OutboxItem.payload).where(
                OutboxItem.tenant_id == tenant_id,
                OutboxItem.status == SENT,
                OutboxItem.send_at >= since,
                reminder,
            )
        )
        return {(p["task"], date.fromisoformat(p["occurrence"]), p["unit"]) for p in rows.all()}


async def user_languages(
    store: Store, tenant_id: str, platform_user_ids: Sequence[str]
) -> dict[str, str]:
    """``user_language`` for many users of one tenant in one query (those who chose)."""
    if not platform_user_ids:
        return {}
    async with store.sessions() as session:
        rows = await session.execute(
            select(User.platform_user_id, User.language).where(
                User.tenant_id == tenant_id, User.platform_user_id.in_(set(platform_user_ids))
            )
        )
        return {user: lang for user, lang in rows.all() if lang}


async def user_language(store: Store, tenant_id: str, platform_user_id: str) -> str | None:
    """The user's chosen nb/nn, or None when they never chose (or never wrote to the bot)."""
    async with store.sessions() as session:
        return await session.scalar(
            select(User.language).where(
                User.tenant_id == tenant_id, User.platform_user_id == platform_user_id
            )
        )
