"""Repository for what became of årshjul tasks, the digest channel and postponed re-sends.

* ``task_progress``: one row per (tenant, task, occurrence, unit) — done, not relevant or open, who
  changed it last and until when it is postponed. Writes are single ``INSERT … ON CONFLICT DO
  UPDATE`` statements, so two clicks (or two processes) never lose or duplicate a row.
* ``digest_targets``: the channel a tenant's coordinator chose for the weekly status digest.
* postponed re-sends: the outbox rows a "Utsett 1 uke" click planned (dedupe key
  ``postponed:<item id>:<n>``), and cancelling one that is still pending ("Angre").

Each function opens its own short transaction like ``storage.repositories.Store``. Only platform
ids, staff display names, task keys and dates: nothing about a child.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from storage.models import utcnow
from storage.outbox_models import (
    DONE,
    NOT_RELEVANT,
    OPEN,
    PENDING,
    SKIPPED,
    DigestTarget,
    OutboxItem,
    OutboxKind,
    TaskProgress,
)
from storage.repositories import Store, rowcount

STATUSES = (OPEN, DONE, NOT_RELEVANT)
POSTPONED_KIND = OutboxKind.POSTPONED


class _Keep:
    """Marker: leave ``postponed_until`` as it is."""


KEEP = _Keep()


@dataclass(frozen=True)
class Progress:
    """The state of one occurrence in one unit ("" = tenant-wide)."""

    task_key: str
    occurrence: date
    unit: str
    status: str
    postponed_until: date | None
    updated_by: str


def _progress(row: TaskProgress) -> Progress:
    return Progress(
        row.task_key, row.occurrence, row.unit, row.status, row.postponed_until, row.updated_by
    )


# task progress -----------------------------------------------------------------------------------


async def set_progress(
    store: Store,
    tenant_id: str,
    task_key: str,
    occurrence: date,
    unit: str | None,
    *,
    status: str | None = None,
    updated_by: str,
    postponed_until: date | _Keep | None = KEEP,
) -> None:
    """Create or change the row of one occurrence in one unit, atomically.

    ``status`` None keeps the current status (``open`` for a new row); ``postponed_until`` KEEP
    keeps the current date (none for a new row)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown progress status {status!r}")
    now = utcnow()
    values = {
        "tenant_id": tenant_id,
        "task_key": task_key,
        "occurrence": occurrence,
        "unit": unit or "",
        "status": status or OPEN,
        "postponed_until": None if isinstance(postponed_until, _Keep) else postponed_until,
        "updated_by": updated_by[:200],
        "updated_at": now,
    }
    stmt = store.insert(TaskProgress).values(**values)
    changes = {"updated_by": stmt.excluded.updated_by, "updated_at": stmt.excluded.updated_at}
    if status is not None:
        changes["status"] = stmt.excluded.status
    if not isinstance(postponed_until, _Keep):
        changes["postponed_until"] = stmt.excluded.postponed_until
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "task_key", "occurrence", "unit"], set_=changes
    )
    async with store.sessions.begin() as session:
        await session.execute(stmt)


async def get_progress(
    store: Store, tenant_id: str, task_key: str, occurrence: date, unit: str | None
) -> Progress | None:
    """The row of exactly this unit ("" / None = tenant-wide), or None."""
    async with store.sessions() as session:
        row = await session.get(TaskProgress, (tenant_id, task_key, occurrence, unit or ""))
    return None if row is None else _progress(row)


async def list_progress(
    store: Store, tenant_id: str, start: date | None = None, end: date | None = None
) -> list[Progress]:
    """Every row of the tenant whose occurrence lies in ``start``–``end`` (both included)."""
    query = select(TaskProgress).where(TaskProgress.tenant_id == tenant_id)
    if start is not None:
        query = query.where(TaskProgress.occurrence >= start)
    if end is not None:
        query = query.where(TaskProgress.occurrence <= end)
    query = query.order_by(TaskProgress.occurrence, TaskProgress.task_key, TaskProgress.unit)
    async with store.sessions() as session:
        return [_progress(r) for r in (await session.scalars(query)).all()]


class ProgressIndex:
    """Progress rows looked up like the dispatcher does: the unit's own row, else a tenant-wide one
    (a tenant-wide "done" closes the occurrence for every unit)."""

    def __init__(self, rows: list[Progress]) -> None:
        self._rows = {(p.task_key, p.occurrence, p.unit): p for p in rows}

    def get(self, task_key: str, occurrence: date, unit: str | None) -> Progress | None:
        own = self._rows.get((task_key, occurrence, unit or ""))
        wide = self._rows.get((task_key, occurrence, ""))
        if own is not None and own.status != OPEN:
            return own
        if wide is not None and wide.status != OPEN:
            return wide
        return own or wide


# digest channel ----------------------------------------------------------------------------------


async def set_digest_target(store: Store, tenant_id: str, platform: str, channel_id: str) -> None:
    """Choose (or move) the channel of the tenant's weekly digest."""
    stmt = store.insert(DigestTarget).values(
        tenant_id=tenant_id, platform=platform, channel_id=channel_id, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id"],
        set_={
            "platform": stmt.excluded.platform,
            "channel_id": stmt.excluded.channel_id,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    async with store.sessions.begin() as session:
        await session.execute(stmt)


async def get_digest_target(store: Store, tenant_id: str) -> tuple[str, str] | None:
    """(platform, channel id) of the digest, or None when nobody chose one."""
    async with store.sessions() as session:
        row = await session.get(DigestTarget, tenant_id)
    return None if row is None else (row.platform, row.channel_id)


# postponed re-sends ------------------------------------------------------------------------------


def postponed_key(item_id: int, n: int) -> str:
    """Dedupe key of the ``n``-th postponement of outbox row ``item_id``."""
    return f"{POSTPONED_KIND}:{item_id}:{n}"


async def postponements(store: Store, item_id: int) -> list[OutboxItem]:
    """The re-sends planned by postponing row ``item_id``, oldest first."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(OutboxItem)
            .where(OutboxItem.dedupe_key.like(f"{POSTPONED_KIND}:{int(item_id)}:%"))
            .order_by(OutboxItem.id)
        )
        return list(rows.all())


async def cancel_pending(store: Store, item_id: int) -> bool:
    """Skip an outbox row that has not been picked up yet; False when it already went (or is
    going) out."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == PENDING)
            .values(status=SKIPPED, last_error="cancelled-by-user")
        )
    return rowcount(result) == 1
