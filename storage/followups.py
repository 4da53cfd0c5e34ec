"""Repository for personal follow-up reminders: add, list, find due ones, mark them delivered.

The guide dialog adds rows; the reminder machinery (årshjul issue) reads due rows and marks them
sent. Each function opens its own short transaction like ``storage.repositories.Store``. Nothing here
checks the label for personal data: callers must do that before storing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from storage.followup_models import (
    FOLLOWUP_LABEL_MAX,
    FOLLOWUP_QUEUED,
    PersonalFollowup,
)
from storage.models import utcnow
from storage.repositories import Store

__all__ = [
    "FOLLOWUP_LABEL_MAX",
    "PersonalFollowup",
    "add_personal_followup",
    "due_personal_followups",
    "get_personal_followup",
    "list_personal_followups",
    "set_personal_followup_status",
]


async def add_personal_followup(
    store: Store,
    *,
    tenant_id: str,
    platform: str,
    platform_user_id: str,
    label: str,
    due_at: datetime,
    now: datetime | None = None,
) -> int:
    """Queue a reminder; ``due_at`` must be timezone-aware. Returns the new row's id."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    label = label.strip()
    if not label or len(label) > FOLLOWUP_LABEL_MAX:
        raise ValueError(f"label must be 1–{FOLLOWUP_LABEL_MAX} characters")
    row = PersonalFollowup(
        tenant_id=tenant_id,
        platform=platform,
        platform_user_id=platform_user_id,
        label=label,
        due_at=due_at,
        created_at=now or utcnow(),
        status=FOLLOWUP_QUEUED,
    )
    async with store.sessions.begin() as session:
        session.add(row)
        await session.flush()
        return row.id


async def list_personal_followups(
    store: Store, tenant_id: str, platform_user_id: str, status: str | None = FOLLOWUP_QUEUED
) -> list[PersonalFollowup]:
    """One user's reminders (by default only the queued ones), soonest first."""
    query = select(PersonalFollowup).where(
        PersonalFollowup.tenant_id == tenant_id,
        PersonalFollowup.platform_user_id == platform_user_id,
    )
    if status is not None:
        query = query.where(PersonalFollowup.status == status)
    async with store.sessions() as session:
        rows = await session.scalars(query.order_by(PersonalFollowup.due_at, PersonalFollowup.id))
        return list(rows.all())


async def due_personal_followups(
    store: Store, now: datetime | None = None, limit: int = 100
) -> list[PersonalFollowup]:
    """Queued reminders whose time has come, oldest first (for the reminder machinery)."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(PersonalFollowup)
            .where(
                PersonalFollowup.status == FOLLOWUP_QUEUED,
                PersonalFollowup.due_at <= (now or utcnow()),
            )
            .order_by(PersonalFollowup.due_at, PersonalFollowup.id)
            .limit(limit)
        )
        return list(rows.all())


async def set_personal_followup_status(
    store: Store, followup_id: int, status: str, expected: str = FOLLOWUP_QUEUED
) -> bool:
    """Move a reminder from ``expected`` to ``status``; False when someone else moved it first."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(PersonalFollowup)
            .where(PersonalFollowup.id == followup_id, PersonalFollowup.status == expected)
            .values(status=status)
        )
        return bool(getattr(result, "rowcount", 0))


async def get_personal_followup(store: Store, followup_id: int) -> PersonalFollowup | None:
    async with store.sessions() as session:
        return await session.get(PersonalFollowup, followup_id)
