"""Tenants and users: who the bot talks to, their language, when they were last seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Tenant, User, utcnow
from storage.repositories import Store, rowcount


@dataclass(frozen=True)
class UserInfo:
    """What the router needs to know about the user behind a turn."""

    language: str | None
    first_contact: bool


async def ensure_tenant(
    store: Store, tenant_id: str, platform: str, external_id: str, name: str = ""
) -> None:
    """Create the tenant row if it does not exist yet."""
    stmt = (
        store.insert(Tenant)
        .values(
            id=tenant_id,
            platform=platform,
            external_id=external_id,
            name=name,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    async with store.sessions.begin() as session:
        await session.execute(stmt)


async def list_tenants(store: Store) -> list[Tenant]:
    async with store.sessions() as session:
        return list((await session.scalars(select(Tenant).order_by(Tenant.id))).all())


async def touch_user(
    store: Store, tenant_id: str, platform: str, platform_user_id: str
) -> UserInfo:
    """Record that the user was seen; tell whether this is our first contact with them."""
    async with store.engine.begin() as connection:
        return await _touch(store, connection, tenant_id, platform, platform_user_id)


async def _touch(
    store: Store, connection: AsyncConnection, tenant_id: str, platform: str, platform_user_id: str
) -> UserInfo:
    # Core statements on a plain connection: this runs on every turn, and the ORM session's
    # bookkeeping cost more than the SQL. Known users (the common case) take one UPDATE.
    now = utcnow()
    where = (User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
    seen = await connection.execute(
        update(User).where(*where).values(last_seen_at=now).returning(User.language)
    )
    found = seen.first()
    if found is not None:
        return UserInfo(language=found[0], first_contact=False)
    if await insert_user(store, connection, tenant_id, platform, platform_user_id):
        return UserInfo(language=None, first_contact=True)
    # Another process inserted the same user between our two statements.
    language = await connection.scalar(select(User.language).where(*where))
    return UserInfo(language=language, first_contact=False)


async def insert_user(
    store: Store, connection: AsyncConnection, tenant_id: str, platform: str, platform_user_id: str
) -> bool:
    """Insert the user unless known; True when this call created them (first contact)."""
    now = utcnow()
    inserted = await connection.execute(
        store.insert(User)
        .values(
            tenant_id=tenant_id,
            platform=platform,
            platform_user_id=platform_user_id,
            created_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "platform_user_id"])
    )
    return rowcount(inserted) == 1


async def set_user_language(
    store: Store, tenant_id: str, platform_user_id: str, language: str
) -> None:
    async with store.sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
            .values(language=language)
        )
