"""Storage contract suite: the same behaviour on SQLite and PostgreSQL (``store``/``db_url`` fixtures)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

import storage.contacts_models
import storage.directory_models
import storage.feedback_models
import storage.followup_models
import storage.outbox_models  # noqa: F401  (their tables are part of the migrated schema)
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Base, ProcessedEvent
from storage.repositories import Store

TABLES = {
    "tenants",
    "users",
    "conversation_state",
    "conversation_refs",
    "processed_events",
    "personal_followups",
    "tenant_settings",
    "roles",
    "units",
    "role_holders",
    "tenant_admins",
    "arshjul_tasks",
    "contact_details",
    "user_units",
    "feedback_counts",
}


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_create_every_table_and_match_the_models(db_url: str) -> None:
    await upgrade(db_url)  # a second upgrade is a no-op
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_table_names) >= TABLES
        assert await conn.run_sync(_schema_diff) == []
    await engine.dispose()


async def test_tenant_creation_is_idempotent(store: Store) -> None:
    await store.ensure_tenant("slack:T1", "slack", "T1", "Hadsel")
    await store.ensure_tenant("slack:T1", "slack", "T1", "Other name")
    tenants = await store.list_tenants()
    assert [(t.id, t.name) for t in tenants] == [("slack:T1", "Hadsel")]


async def test_first_contact_and_language(store: Store) -> None:
    await store.ensure_tenant("local", "local", "local")
    first = await store.touch_user("local", "web", "u1")
    second = await store.touch_user("local", "web", "u1")
    assert first.first_contact and not second.first_contact and second.language is None
    await store.set_user_language("local", "u1", "nn")
    assert (await store.touch_user("local", "web", "u1")).language == "nn"


async def test_state_compare_and_swap(store: Store) -> None:
    await store.ensure_tenant("local", "local", "local")
    state = await store.load_state("local", "u1")
    assert state.version == 0 and state.dialog == ""
    state.dialog, state.step, state.data = "help", "about", {"history": ["menu", "about"]}
    assert await store.save_state(state) and state.version == 1
    stale = await store.load_state("local", "u1")
    fresh = await store.load_state("local", "u1")
    fresh.step = "acute"
    assert await store.save_state(fresh)
    stale.step = "menu"
    assert not await store.save_state(stale), "a stale version must be refused"
    loaded = await store.load_state("local", "u1")
    assert (loaded.step, loaded.data["history"], loaded.version) == ("acute", ["menu", "about"], 2)


async def test_concurrent_saves_of_one_version_have_one_winner(store: Store) -> None:
    await store.ensure_tenant("local", "local", "local")
    base = await store.load_state("local", "u1")
    base.dialog = "help"
    await store.save_state(base)
    copies = [await store.load_state("local", "u1") for _ in range(6)]
    for i, copy in enumerate(copies):
        copy.step = f"s{i}"
    results = await asyncio.gather(*(store.save_state(c) for c in copies))
    assert results.count(True) == 1


async def test_state_survives_a_new_engine(db_url: str, store: Store) -> None:
    await store.ensure_tenant("local", "local", "local")
    state = await store.load_state("local", "u1")
    state.dialog, state.step = "help", "about"
    await store.save_state(state)
    engine = create_engine(db_url)
    restarted = Store(engine)
    assert (await restarted.load_state("local", "u1")).step == "about"
    await engine.dispose()


async def test_references_upsert(store: Store) -> None:
    await store.ensure_tenant("teams:t1", "teams", "t1")
    await store.save_reference("teams:t1", "teams", "user", "a", {"serviceUrl": "https://one"})
    await store.save_reference("teams:t1", "teams", "user", "a", {"serviceUrl": "https://two"})
    await store.save_reference("teams:t1", "teams", "channel", "a", {"serviceUrl": "https://c"})
    assert await store.get_reference("teams:t1", "teams", "user", "a") == {
        "serviceUrl": "https://two"
    }
    assert len(await store.list_references("teams:t1", "teams")) == 2
    assert await store.get_reference("teams:t1", "teams", "user", "missing") is None


async def test_event_claims_are_exactly_once(db_url: str, store: Store) -> None:
    ttl = timedelta(days=2)
    assert await store.claim_event("slack:event:E1", "slack", ttl)
    assert not await store.claim_event("slack:event:E1", "slack", ttl)
    engine = create_engine(db_url)
    restarted = Store(engine)
    assert not await restarted.claim_event("slack:event:E1", "slack", ttl)
    results = await asyncio.gather(
        *(
            (store if i % 2 else restarted).claim_event("slack:event:E2", "slack", ttl)
            for i in range(20)
        )
    )
    assert results.count(True) == 1
    await engine.dispose()


async def test_purge_removes_only_expired_events(store: Store) -> None:
    await store.claim_event("old", "slack", timedelta(seconds=-1))
    await store.claim_event("new", "slack", timedelta(days=1))
    assert await store.purge_expired_events() == 1
    async with store.sessions() as session:
        keys = (await session.scalars(select(ProcessedEvent.event_key))).all()
        stored = await session.get(ProcessedEvent, "new")
    assert list(keys) == ["new"]
    assert stored is not None
    expires = stored.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes; they are stored in UTC
        expires = expires.replace(tzinfo=UTC)
    assert expires > datetime.now(UTC)
