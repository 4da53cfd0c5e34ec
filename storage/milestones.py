"""Repository of a tenant's implementation plan: its milestones, replaced as a whole or marked
done and reopened one at a time.

Each function opens its own short transaction like ``storage.repositories.Store``; replacing the
plan happens in one transaction, so an import is all or nothing. Milestones come back as plain
``MilestoneRecord`` data in due-date order; ``dialogs.milestones`` validates plan files and decides
what a status is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select, update

from storage.directory_models import DirectoryRole
from storage.milestone_models import Milestone
from storage.models import utcnow
from storage.repositories import Store, rowcount


@dataclass(frozen=True)
class MilestoneRecord:
    """One milestone as stored; ``unit`` None: the role's holders anywhere are responsible."""

    key: str
    title_nb: str
    title_nn: str
    role: str
    due: date
    unit: str | None = None
    completed: date | None = None


def _record(row: Milestone) -> MilestoneRecord:
    return MilestoneRecord(
        key=row.key,
        title_nb=row.title_nb,
        title_nn=row.title_nn,
        role=row.role_key,
        due=row.due,
        unit=row.unit,
        completed=row.completed,
    )


async def replace_plan(store: Store, tenant_id: str, milestones: Sequence[MilestoneRecord]) -> None:
    """Replace the tenant's whole plan (in file order) in one transaction.

    Raises ``ValueError`` naming roles the tenant does not have; nothing is changed then."""
    async with store.sessions.begin() as session:
        known = set(
            (
                await session.scalars(
                    select(DirectoryRole.key).where(DirectoryRole.tenant_id == tenant_id)
                )
            ).all()
        )
        unknown = sorted({m.role for m in milestones} - known)
        if unknown:
            raise ValueError(f"unknown role(s): {', '.join(unknown)}")
        await session.execute(delete(Milestone).where(Milestone.tenant_id == tenant_id))
        now = utcnow()
        for position, m in enumerate(milestones):
            session.add(
                Milestone(
                    tenant_id=tenant_id,
                    key=m.key,
                    position=position,
                    title_nb=m.title_nb,
                    title_nn=m.title_nn,
                    role_key=m.role,
                    unit=m.unit,
                    due=m.due,
                    completed=m.completed,
                    updated_at=now,
                )
            )


async def list_milestones(store: Store, tenant_id: str) -> list[MilestoneRecord]:
    """The tenant's milestones by due date (the plan's order within one day)."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(Milestone)
            .where(Milestone.tenant_id == tenant_id)
            .order_by(Milestone.due, Milestone.position, Milestone.key)
        )
        return [_record(r) for r in rows.all()]


async def plan_order(store: Store, tenant_id: str) -> list[MilestoneRecord]:
    """The tenant's milestones in the order of the plan file they came from (for an export)."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(Milestone)
            .where(Milestone.tenant_id == tenant_id)
            .order_by(Milestone.position, Milestone.key)
        )
        return [_record(r) for r in rows.all()]


async def get_milestone(store: Store, tenant_id: str, key: str) -> MilestoneRecord | None:
    async with store.sessions() as session:
        row = await session.get(Milestone, (tenant_id, key))
        return None if row is None else _record(row)


async def _set_completed(store: Store, tenant_id: str, key: str, day: date | None) -> bool:
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(Milestone)
            .where(Milestone.tenant_id == tenant_id, Milestone.key == key)
            .values(completed=day, updated_at=utcnow())
        )
    return rowcount(result) == 1


async def mark_done(store: Store, tenant_id: str, key: str, day: date) -> bool:
    """Record ``day`` as the milestone's fullført dato; False when the tenant has no such key."""
    return await _set_completed(store, tenant_id, key, day)


async def reopen(store: Store, tenant_id: str, key: str) -> bool:
    """Clear the milestone's fullført dato; False when the tenant has no such key."""
    return await _set_completed(store, tenant_id, key, None)


async def due_or_overdue(
    store: Store, tenant_id: str, today: date, within_days: int = 0
) -> list[MilestoneRecord]:
    """Open milestones whose due date is at most ``within_days`` after ``today`` (overdue ones
    included), by due date."""
    until = today + timedelta(days=within_days)
    async with store.sessions() as session:
        rows = await session.scalars(
            select(Milestone)
            .where(
                Milestone.tenant_id == tenant_id,
                Milestone.completed.is_(None),
                Milestone.due <= until,
            )
            .order_by(Milestone.due, Milestone.position, Milestone.key)
        )
        return [_record(r) for r in rows.all()]
