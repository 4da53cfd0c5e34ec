"""Repository for the per-tenant directory (settings, roles, units, role holders, admins) and årshjul.

Each function opens its own short transaction like ``storage.repositories.Store``; replacing the role
holders or the årshjul happens in one transaction, so an import is all or nothing; the chat form
adds, changes or removes one holder at a time (``put_holder``, ``remove_holder``). A fresh tenant is
set up with ``setup_tenant`` (idempotent, also when several processes race). The årshjul tasks are
stored as plain ``TaskRecord`` data; ``dialogs.arshjul.tasks`` validates them and loads templates.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.directory_models import (
    ArshjulTask,
    DirectoryRole,
    RoleHolder,
    TenantAdmin,
    TenantSettings,
    Unit,
)
from storage.models import utcnow
from storage.outbox_models import CalendarFeed
from storage.records import BUILTIN_ROLES, COORDINATOR_ROLE, Holder, TaskRecord, acting_for
from storage.repositories import Store, rowcount
from storage.users import ensure_tenant


@dataclass(frozen=True)
class Settings:
    """A tenant's calendar settings."""

    timezone: str
    template: str
    closed_days: tuple[date, ...]


async def setup_tenant(
    store: Store,
    tenant_id: str,
    *,
    template: str,
    roles: Sequence[str],
    tasks: Sequence[TaskRecord],
    timezone: str,
    platform: str,
) -> bool:
    """Create the tenant with its settings, the built-in roles plus ``roles`` and ``tasks``, once.

    Returns True when this call set the tenant up, False when it was set up already."""
    await ensure_tenant(store, tenant_id, platform, tenant_id)
    stmt = (
        store.insert(TenantSettings)
        .values(
            tenant_id=tenant_id,
            timezone=timezone,
            template=template,
            closed_days=[],
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    async with store.sessions.begin() as session:
        if rowcount(await session.execute(stmt)) != 1:
            return False
        for key, (nb, nn) in BUILTIN_ROLES.items():
            session.add(DirectoryRole(tenant_id=tenant_id, key=key, name_nb=nb, name_nn=nn))
        await session.flush()
        await _put_tasks(session, tenant_id, roles, tasks)
    return True


async def get_settings(store: Store, tenant_id: str) -> Settings | None:
    async with store.sessions() as session:
        row = await session.get(TenantSettings, tenant_id)
    if row is None:
        return None
    closed = tuple(sorted(date.fromisoformat(d) for d in row.closed_days or []))
    return Settings(row.timezone, row.template, closed)


async def set_settings(
    store: Store,
    tenant_id: str,
    *,
    timezone: str | None = None,
    closed_days: Sequence[date] | None = None,
) -> None:
    """Change a set-up tenant's time zone and/or its own closed days."""
    async with store.sessions.begin() as session:
        row = await session.get(TenantSettings, tenant_id)
        if row is None:
            raise KeyError(tenant_id)
        if timezone is not None:
            row.timezone = timezone
        if closed_days is not None:
            row.closed_days = sorted({d.isoformat() for d in closed_days})
        row.updated_at = utcnow()


# roles, units, holders ---------------------------------------------------------------------------


async def list_roles(store: Store, tenant_id: str) -> list[DirectoryRole]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(DirectoryRole)
            .where(DirectoryRole.tenant_id == tenant_id)
            .order_by(DirectoryRole.key)
        )
        return list(rows.all())


async def list_units(store: Store, tenant_id: str) -> list[str]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(Unit.name).where(Unit.tenant_id == tenant_id).order_by(Unit.name)
        )
        return list(rows.all())


async def list_holders(store: Store, tenant_id: str) -> list[Holder]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(RoleHolder).where(RoleHolder.tenant_id == tenant_id).order_by(RoleHolder.id)
        )
        return [
            Holder(
                role=r.role_key,
                unit=r.unit,
                platform=r.platform,
                user_id=r.platform_user_id,
                display_name=r.display_name,
                deputy_user_id=r.deputy_user_id,
                absent=r.absent,
            )
            for r in rows.all()
        ]


async def replace_holders(store: Store, tenant_id: str, holders: Sequence[Holder]) -> None:
    """Replace all role holders of the tenant in one transaction (units are created as needed).

    Raises ``ValueError`` naming unknown roles; nothing is changed then."""
    async with store.sessions.begin() as session:
        known = set(
            (
                await session.scalars(
                    select(DirectoryRole.key).where(DirectoryRole.tenant_id == tenant_id)
                )
            ).all()
        )
        unknown = sorted({h.role for h in holders} - known)
        if unknown:
            raise ValueError(f"unknown role(s): {', '.join(unknown)}")
        units = set(
            (await session.scalars(select(Unit.name).where(Unit.tenant_id == tenant_id))).all()
        )
        for name in sorted({h.unit for h in holders if h.unit} - units):
            session.add(Unit(tenant_id=tenant_id, name=name))
        await session.flush()
        await session.execute(delete(RoleHolder).where(RoleHolder.tenant_id == tenant_id))
        for h in holders:
            session.add(_holder_row(tenant_id, h))


def _holder_row(tenant_id: str, holder: Holder) -> RoleHolder:
    return RoleHolder(
        tenant_id=tenant_id,
        role_key=holder.role,
        unit=holder.unit,
        platform=holder.platform,
        platform_user_id=holder.user_id,
        display_name=holder.display_name,
        deputy_user_id=holder.deputy_user_id,
        absent=holder.absent,
    )


# one role holder at a time (the chat form) --------------------------------------------------------------------------


async def _lock_tenant(session: AsyncSession, store: Store, tenant_id: str) -> bool:
    """Serialise holder edits of one tenant on PostgreSQL (the settings row as a mutex); False when
    the tenant is not set up. SQLite serialises writers anyway."""
    query = select(TenantSettings.tenant_id).where(TenantSettings.tenant_id == tenant_id)
    if store.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.scalar(query)) is not None


async def put_holder(store: Store, tenant_id: str, holder: Holder) -> bool:
    """Add a role holder, or change name, deputy and absence of the same person in the same role
    and unit. Creates the unit when needed. True when added, False when changed.

    Raises ``ValueError`` for a role the tenant does not have, ``KeyError`` for a tenant that is
    not set up."""
    async with store.sessions.begin() as session:
        if not await _lock_tenant(session, store, tenant_id):
            raise KeyError(tenant_id)
        role = await session.get(DirectoryRole, (tenant_id, holder.role))
        if role is None:
            raise ValueError(f"unknown role: {holder.role}")
        if holder.unit and await session.get(Unit, (tenant_id, holder.unit)) is None:
            session.add(Unit(tenant_id=tenant_id, name=holder.unit))
            await session.flush()
        same = _same_holder(tenant_id, holder.role, holder.unit, holder.platform, holder.user_id)
        existing = list((await session.scalars(select(RoleHolder).where(*same))).all())
        for extra in existing[1:]:  # an old duplicate (e.g. from a CSV): keep one row
            await session.delete(extra)
        if existing:
            row = existing[0]
            row.display_name = holder.display_name
            row.deputy_user_id = holder.deputy_user_id
            row.absent = holder.absent
            return False
        session.add(_holder_row(tenant_id, holder))
    return True


async def remove_holder(
    store: Store, tenant_id: str, role: str, unit: str | None, platform: str, user_id: str
) -> bool:
    """Remove one person from one role in one unit (None = tenant-wide); False when they did not
    hold it."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(RoleHolder).where(*_same_holder(tenant_id, role, unit, platform, user_id))
        )
    return rowcount(result) > 0


def _same_holder(
    tenant_id: str, role: str, unit: str | None, platform: str, user_id: str
) -> tuple[ColumnElement[bool], ...]:
    return (
        RoleHolder.tenant_id == tenant_id,
        RoleHolder.role_key == role,
        RoleHolder.unit.is_(None) if unit is None else RoleHolder.unit == unit,
        RoleHolder.platform == platform,
        RoleHolder.platform_user_id == user_id,
    )


# admins -------------------------------------------------------------------------------------------


async def add_admin(store: Store, tenant_id: str, platform: str, user_id: str) -> bool:
    """Name an admin; False when they were one already."""
    stmt = (
        store.insert(TenantAdmin)
        .values(tenant_id=tenant_id, platform=platform, platform_user_id=user_id, added_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id", "platform", "platform_user_id"])
    )
    async with store.sessions.begin() as session:
        return rowcount(await session.execute(stmt)) == 1


async def remove_admin(store: Store, tenant_id: str, platform: str, user_id: str) -> bool:
    """Remove a named admin; False when they were not one."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(TenantAdmin).where(
                TenantAdmin.tenant_id == tenant_id,
                TenantAdmin.platform == platform,
                TenantAdmin.platform_user_id == user_id,
            )
        )
    return rowcount(result) == 1


async def list_admins(store: Store, tenant_id: str) -> list[tuple[str, str]]:
    """Named admins as (platform, user id), sorted."""
    async with store.sessions() as session:
        rows = await session.execute(
            select(TenantAdmin.platform, TenantAdmin.platform_user_id)
            .where(TenantAdmin.tenant_id == tenant_id)
            .order_by(TenantAdmin.platform, TenantAdmin.platform_user_id)
        )
        return [(p, u) for p, u in rows.all()]


async def is_admin(store: Store, tenant_id: str, platform: str, user_id: str) -> bool:
    """A named admin, or a holder of BTS-koordinator (not absent) in the tenant."""
    async with store.sessions() as session:
        named = await session.get(TenantAdmin, (tenant_id, platform, user_id))
        if named is not None:
            return True
        holder = await session.scalar(
            select(RoleHolder.id).where(
                RoleHolder.tenant_id == tenant_id,
                RoleHolder.role_key == COORDINATOR_ROLE,
                RoleHolder.platform == platform,
                RoleHolder.platform_user_id == user_id,
            )
        )
    return holder is not None


# årshjul -----------------------------------------------------------------------------------------


async def _put_tasks(
    session: AsyncSession, tenant_id: str, roles: Sequence[str], tasks: Sequence[TaskRecord]
) -> None:
    known = set(
        (
            await session.scalars(
                select(DirectoryRole.key).where(DirectoryRole.tenant_id == tenant_id)
            )
        ).all()
    )
    for role in roles:
        if role not in known:  # an årshjul may bring its own roles
            session.add(DirectoryRole(tenant_id=tenant_id, key=role, name_nb=role, name_nn=role))
    await session.execute(delete(ArshjulTask).where(ArshjulTask.tenant_id == tenant_id))
    now = utcnow()
    for position, task in enumerate(tasks):
        session.add(
            ArshjulTask(
                tenant_id=tenant_id,
                key=task.key,
                position=position,
                data=task.data,
                updated_at=now,
            )
        )


async def replace_tasks(
    store: Store,
    tenant_id: str,
    *,
    template: str,
    roles: Sequence[str],
    tasks: Sequence[TaskRecord],
) -> None:
    """Replace the tenant's årshjul tasks (adding the ``roles`` it lacks) and record ``template``
    (an empty one keeps the recorded template), in one transaction."""
    async with store.sessions.begin() as session:
        row = await session.get(TenantSettings, tenant_id)
        if row is None:
            raise KeyError(tenant_id)
        if template:
            row.template = template
        row.updated_at = utcnow()
        await _put_tasks(session, tenant_id, roles, tasks)


async def list_task_records(store: Store, tenant_id: str) -> list[TaskRecord]:
    """The tenant's årshjul tasks in årshjul order."""
    async with store.sessions() as session:
        rows = await session.execute(
            select(ArshjulTask.key, ArshjulTask.data)
            .where(ArshjulTask.tenant_id == tenant_id)
            .order_by(ArshjulTask.position, ArshjulTask.key)
        )
        return [TaskRecord(key, data) for key, data in rows.all()]


async def coordinator_recipients(store: Store, tenant_id: str) -> list[tuple[str, str]]:
    """Who hears about problems: BTS-koordinator holders (their deputy while absent) and named
    admins, as unique (platform, user id) pairs in a stable order."""
    holders = [h for h in await list_holders(store, tenant_id) if h.role == COORDINATOR_ROLE]
    return list(dict.fromkeys(acting_for(holders) + await list_admins(store, tenant_id)))


async def holds_role(
    store: Store, tenant_id: str, role: str, unit: str | None, platform: str, user_id: str
) -> bool:
    """True when ``user_id`` holds ``role`` in ``unit`` (None: any unit or tenant-wide), or is the
    deputy of an absent holder of it."""
    query = select(RoleHolder).where(
        RoleHolder.tenant_id == tenant_id,
        RoleHolder.role_key == role,
        RoleHolder.platform == platform,
    )
    if unit is not None:
        query = query.where(RoleHolder.unit == unit)
    async with store.sessions() as session:
        rows = (await session.scalars(query)).all()
    return any(
        r.platform_user_id == user_id or (r.absent and r.deputy_user_id == user_id) for r in rows
    )


# calendar subscription ---------------------------------------------------------------------------


async def feed_token(store: Store, tenant_id: str, *, rotate: bool = False) -> str:
    """The secret token of the tenant's calendar URL, created on first use; ``rotate`` replaces
    it (the old URL stops working)."""
    async with store.sessions.begin() as session:
        row = await session.get(CalendarFeed, tenant_id)
        if row is None:
            row = CalendarFeed(tenant_id=tenant_id, token=secrets.token_urlsafe(24))
            session.add(row)
        elif rotate:
            row.token = secrets.token_urlsafe(24)
        return row.token


async def tenant_of_feed(store: Store, token: str) -> str | None:
    async with store.sessions() as session:
        return await session.scalar(
            select(CalendarFeed.tenant_id).where(CalendarFeed.token == token)
        )
