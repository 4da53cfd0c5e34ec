"""Dialog state per user, saved with compare-and-swap; and ``open_turn``, what every turn starts with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from storage.models import ConversationState, User, utcnow
from storage.repositories import Store, aware, rowcount
from storage.users import UserInfo, insert_user, touch_user

SEEN_PRECISION = timedelta(hours=1)  # how exactly ``users.last_seen_at`` is kept


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


def _state(tenant_id: str, platform_user_id: str, row: Any) -> DialogState:
    if row is None:
        return DialogState(tenant_id, platform_user_id)
    dialog, step, data, version = row
    return DialogState(tenant_id, platform_user_id, dialog, step, dict(data or {}), version)


async def load_state(store: Store, tenant_id: str, platform_user_id: str) -> DialogState:
    async with store.engine.connect() as connection:
        row = (await connection.execute(_state_query(tenant_id, platform_user_id))).first()
    return _state(tenant_id, platform_user_id, row)


async def save_state(store: Store, state: DialogState) -> bool:
    """Compare-and-swap on ``version``: False when another process saved first."""
    now = utcnow()
    async with store.engine.begin() as session:
        if state.version == 0:
            stmt = (
                store.insert(ConversationState)
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


async def open_turn(
    store: Store, tenant_id: str, platform: str, platform_user_id: str
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
            (state.tenant_id == User.tenant_id) & (state.platform_user_id == User.platform_user_id),
        )
        .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
    )
    async with store.engine.connect() as connection:
        found = (await connection.execute(query)).first()
    if found is None:  # first contact: nobody new has a dialog state yet
        async with store.engine.begin() as connection:
            inserted = await insert_user(store, connection, tenant_id, platform, platform_user_id)
        if inserted:
            return UserInfo(None, first_contact=True), DialogState(tenant_id, platform_user_id)
        # Another process inserted the same user a moment ago: read what is there now.
        info = await touch_user(store, tenant_id, platform, platform_user_id)
        return info, await load_state(store, tenant_id, platform_user_id)
    language, last_seen, *state_row = found
    now = utcnow()
    if last_seen is None or aware(last_seen) < now - SEEN_PRECISION:
        async with store.engine.begin() as connection:
            await connection.execute(
                update(User)
                .where(User.tenant_id == tenant_id, User.platform_user_id == platform_user_id)
                .values(last_seen_at=now)
            )
    has_state = state_row[3] is not None  # version is never NULL in a stored state
    return (
        UserInfo(language=language, first_contact=False),
        _state(tenant_id, platform_user_id, state_row if has_state else None),
    )
