"""Repositories: the only place that reads and writes the tables in ``storage.models``.

Every method opens its own short transaction, so callers never hold a connection across a network
call to Slack or Teams. Upserts use the dialect's ``ON CONFLICT`` so they are atomic on both SQLite and
PostgreSQL, also when several server processes share one database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import session_factory
from storage.models import (
    ConversationRef,
    ConversationState,
    ProcessedEvent,
    Tenant,
    User,
    utcnow,
)


@dataclass
class DialogState:
    """A user's position in a dialog, as loaded; pass it back to ``save_state`` unchanged but for
    ``dialog``, ``step`` and ``data``."""

    tenant_id: str
    platform_user_id: str
    dialog: str = ""
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class UserInfo:
    """What the router needs to know about the user behind a turn."""

    language: str | None
    first_contact: bool


SEEN_PRECISION = timedelta(hours=1)  # how exactly ``users.last_seen_at`` is kept


def _aware(value: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they are stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows touched by an INSERT/UPDATE/DELETE (DML results are cursor results)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


class Store:
    """Async repositories over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    def insert(self, table: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # tenants and users -------------------------------------------------------------------------

    async def ensure_tenant(
        self, tenant_id: str, platform: str, external_id: str, name: str = ""
    ) -> None:
        """Create the tenant row if it does not exist yet."""
        stmt = (
            self.insert(Tenant)
            .values(
                id=tenant_id,
                platform=platform,
                external_id=external_id,
                name=name,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        async with self.sessions.begin() as session:
            await session.execute(stmt)

    async def list_tenants(self) -> list[Tenant]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Tenant).order_by(Tenant.id))).all())

    async def touch_user(self, tenant_id: str, platform: str, platform_user_id: str) -> UserInfo:
        """Record that the user was seen; tell whether this is our first contact with them."""
        async with self.engine.begin() as connection:
            return await self._touch(connection, tenant_id, platform, platform_user_id)

    async def _touch(
        self, connection: AsyncConnection, tenant_id: str, platform: str, platform_user_id: str
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
        if await self._insert_user(connection, tenant_id, platform, platform_user_id):
            return UserInfo(language=None, first_contact=True)
        # Another process inserted the same user between our two statements.
        language = await connection.scalar(select(User.language).where(*where))
        return UserInfo(language=language, first_contact=False)

    async def _insert_user(
        self, connection: AsyncConnection, tenant_id: str, platform: str, platform_user_id: str
    ) -> bool:
        """Insert the user unless known; True when this call created them (first contact)."""
        now = utcnow()
        inserted = await connection.execute(
            self.insert(User)
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

    async def open_turn(
        self, tenant_id: str, platform: str, platform_user_id: str
    ) -> tuple[UserInfo, DialogState]:
        """What every turn starts with: the user (recorded as seen) and their dialog state.

        A known user costs one SELECT (user and state joined); ``last_seen_at`` is only written
        when it is older than ``SEEN_PRECISION``, so most turns start without a write.
        """
        state = ConversationState
        query = (
            select(
                User.language,
                User.last_seen_at,
                state.dialog,
                state.step,
                state.data,
                state.version,
            )
            .outerjoin(
                state,
                (state.tenant_id == User.tenant_id)
                & (state.platform_user_id == User.platform_user_id),
            )
            .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
        )
        async with self.engine.connect() as connection:
            found = (await connection.execute(query)).first()
        if found is None:  # first contact: nobody new has a dialog state yet
            async with self.engine.begin() as connection:
                inserted = await self._insert_user(
                    connection, tenant_id, platform, platform_user_id
                )
            if inserted:
                return UserInfo(None, first_contact=True), DialogState(tenant_id, platform_user_id)
            # Another process inserted the same user a moment ago: read what is there now.
            info = await self.touch_user(tenant_id, platform, platform_user_id)
            return info, await self.load_state(tenant_id, platform_user_id)
        language, last_seen, *state_row = found
        now = utcnow()
        if last_seen is None or _aware(last_seen) < now - SEEN_PRECISION:
            async with self.engine.begin() as connection:
                await connection.execute(
                    update(User)
                    .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
                    .values(last_seen_at=now)
                )
        has_state = state_row[3] is not None  # version is never NULL in a stored state
        return (
            UserInfo(language=language, first_contact=False),
            self._state(tenant_id, platform_user_id, state_row if has_state else None),
        )

    async def set_user_language(self, tenant_id: str, platform_user_id: str, language: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(User)
                .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
                .values(language=language)
            )

    # conversation state ------------------------------------------------------------------------

    @staticmethod
    def _state_query(tenant_id: str, platform_user_id: str) -> Any:
        return select(
            ConversationState.dialog,
            ConversationState.step,
            ConversationState.data,
            ConversationState.version,
        ).where(
            ConversationState.tenant_id == tenant_id,
            ConversationState.platform_user_id == platform_user_id,
        )

    @staticmethod
    def _state(tenant_id: str, platform_user_id: str, row: Any) -> DialogState:
        if row is None:
            return DialogState(tenant_id, platform_user_id)
        dialog, step, data, version = row
        return DialogState(tenant_id, platform_user_id, dialog, step, dict(data or {}), version)

    async def load_state(self, tenant_id: str, platform_user_id: str) -> DialogState:
        async with self.engine.connect() as connection:
            row = (await connection.execute(self._state_query(tenant_id, platform_user_id))).first()
        return self._state(tenant_id, platform_user_id, row)

    async def save_state(self, state: DialogState) -> bool:
        """Compare-and-swap on ``version``: False when another process saved first."""
        now = utcnow()
        async with self.engine.begin() as session:
            if state.version == 0:
                stmt = (
                    self.insert(ConversationState)
                    .values(
                        tenant_id=state.tenant_id,
                        platform_user_id=state.platform_user_id,
                        dialog=state.dialog,
                        step=state.step,
                        data=state.data,
                        version=1,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["tenant_id", "platform_user_id"])
                )
                saved = rowcount(await session.execute(stmt)) == 1
            else:
                result = await session.execute(
                    update(ConversationState)
                    .where(
                        ConversationState.tenant_id == state.tenant_id,
                        ConversationState.platform_user_id == state.platform_user_id,
                        ConversationState.version == state.version,
                    )
                    .values(
                        dialog=state.dialog,
                        step=state.step,
                        data=state.data,
                        version=state.version + 1,
                        updated_at=now,
                    )
                )
                saved = rowcount(result) == 1
        if saved:
            state.version += 1
        return saved

    # conversation references -------------------------------------------------------------------

    async def save_reference(
        self, tenant_id: str, platform: str, kind: str, key: str, reference: dict[str, Any]
    ) -> None:
        """Insert or refresh the address of a user or channel for proactive sends."""
        stmt = self.insert(ConversationRef).values(
            tenant_id=tenant_id,
            platform=platform,
            kind=kind,
            key=key,
            reference=reference,
            updated_at=utcnow(),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "platform", "kind", "key"],
            set_={"reference": stmt.excluded.reference, "updated_at": stmt.excluded.updated_at},
        )
        async with self.engine.begin() as session:
            await session.execute(stmt)

    async def get_reference(
        self, tenant_id: str, platform: str, kind: str, key: str
    ) -> dict[str, Any] | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(ConversationRef.reference).where(
                    ConversationRef.tenant_id == tenant_id,
                    ConversationRef.platform == platform,
                    ConversationRef.kind == kind,
                    ConversationRef.key == key,
                )
            )

    async def list_references(self, tenant_id: str, platform: str) -> list[ConversationRef]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ConversationRef)
                .where(ConversationRef.tenant_id == tenant_id, ConversationRef.platform == platform)
                .order_by(ConversationRef.id)
            )
            return list(rows.all())

    # processed events --------------------------------------------------------------------------

    async def claim_event(self, event_key: str, platform: str, ttl: timedelta) -> bool:
        """True the first time ``event_key`` is seen (across restarts and processes), else False."""
        now = utcnow()
        stmt = (
            self.insert(ProcessedEvent)
            .values(event_key=event_key, platform=platform, received_at=now, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["event_key"])
        )
        async with self.sessions.begin() as session:
            return rowcount(await session.execute(stmt)) == 1

    async def purge_expired_events(self, now: datetime | None = None) -> int:
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.expires_at < (now or utcnow()))
            )
        return rowcount(result)
