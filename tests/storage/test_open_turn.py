"""``storage.conversations.open_turn``: first contact, the joined dialog state, and ``last_seen_at`` kept to the hour."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from storage.conversations import SEEN_PRECISION, open_turn, save_state
from storage.models import User, utcnow
from storage.repositories import Store
from storage.users import ensure_tenant, set_user_language


async def last_seen(store: Store, user: str) -> object:
    async with store.sessions() as session:
        return await session.scalar(select(User.last_seen_at).where(User.platform_user_id == user))


async def test_first_contact_then_known_with_state(store: Store) -> None:
    await ensure_tenant(store, "t", "local", "t")
    info, state = await open_turn(store, "t", "local", "U1")
    assert info.first_contact and state.version == 0 and state.dialog == ""
    info, state = await open_turn(store, "t", "local", "U1")
    assert not info.first_contact and info.language is None and state.version == 0
    state.dialog, state.step, state.data = "guide", "n0_define", {"history": ["a"]}
    assert await save_state(store, state)
    await set_user_language(store, "t", "U1", "nn")
    info, again = await open_turn(store, "t", "local", "U1")
    assert info.language == "nn" and not info.first_contact
    assert (again.dialog, again.step, again.data, again.version) == (
        "guide",
        "n0_define",
        {"history": ["a"]},
        1,
    )


async def test_last_seen_is_written_only_when_an_hour_old(store: Store) -> None:
    await ensure_tenant(store, "t", "local", "t")
    await open_turn(store, "t", "local", "U2")
    first = await last_seen(store, "U2")
    await open_turn(store, "t", "local", "U2")
    assert await last_seen(store, "U2") == first  # a turn a moment later writes nothing
    old = utcnow() - SEEN_PRECISION - timedelta(minutes=1)
    async with store.sessions.begin() as session:
        await session.execute(
            update(User).where(User.platform_user_id == "U2").values(last_seen_at=old)
        )
    await open_turn(store, "t", "local", "U2")
    assert await last_seen(store, "U2") != first
