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
from storage.conversations import load_state, save_state
from storage.db import create_engine
from storage.events import claim_event, purge_expired_events
from storage.migrate import upgrade
from storage.models import Base, ProcessedEvent
from storage.references import get_reference, list_references, save_reference
from storage.repositories import Store
from storage.users import ensure_tenant, list_tenants, set_user_language, touch_user

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
    "survey_runs",
    "survey_recipients",
    "survey_answered",
    "survey_answers",
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
    await ensure_tenant(store, "slack:T1", "slack", "T1", "Hadsel")
    await ensure_tenant(store, "slack:T1", "slack", "T1", "Other name")
    tenants = await list_tenants(store)
    assert [(t.id, t.name) for t in tenants] == [("slack:T1", "Hadsel")]


async def test_first_contact_and_language(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    first = await touch_user(store, "local", "web", "u1")
    second = await touch_user(store, "local", "web", "u1")
    assert first.first_contact and not second.first_contact and second.language is None
    await set_user_language(store, "local", "u1", "nn")
    assert (await touch_user(store, "local", "web", "u1")).language == "nn"


async def test_state_compare_and_swap(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    state = await load_state(store, "local", "u1")
    assert state.version == 0 and state.dialog == ""
    state.dialog, state.step, state.data = "help", "about", {"history": ["menu", "about"]}
    assert await save_state(store, state) and state.version == 1
    stale = await load_state(store, "local", "u1")
    fresh = await load_state(store, "local", "u1")
    fresh.step = "acute"
    assert await save_state(store, fresh)
    stale.step = "menu"
    assert not await save_state(store, stale), "a stale version must be refused"
    loaded = await load_state(store, "local", "u1")
    assert (loaded.step, loaded.data["history"], loaded.version) == ("acute", ["menu", "about"], 2)


async def test_concurrent_saves_of_one_version_have_one_winner(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    base = await load_state(store, "local", "u1")
    base.dialog = "help"
    await save_state(store, base)
    copies = [await load_state(store, "local", "u1") for _ in range(6)]
    for i, copy in enumerate(copies):
        copy.step = f"s{i}"
    results = await asyncio.gather(*(save_state(store, c) for c in copies))
    assert results.count(True) == 1


async def test_state_survives_a_new_engine(db_url: str, store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    state = await load_state(store, "local", "u1")
    state.dialog, state.step = "help", "about"
    await save_state(store, state)
    engine = create_engine(db_url)
    restarted = Store(engine)
    assert (await load_state(restarted, "local", "u1")).step == "about"
    await engine.dispose()


async def test_references_upsert(store: Store) -> None:
    await ensure_tenant(store, "teams:t1", "teams", "t1")
    await save_reference(store, "teams:t1", "teams", "user", "a", {"serviceUrl": "https://one"})
    await save_reference(store, "teams:t1", "teams", "user", "a", {"serviceUrl": "https://two"})
    await save_reference(store, "teams:t1", "teams", "channel", "a", {"serviceUrl": "https://c"})
    assert await get_reference(store, "teams:t1", "teams", "user", "a") == {
        "serviceUrl": "https://two"
    }
    assert len(await list_references(store, "teams:t1", "teams")) == 2
    assert await get_reference(store, "teams:t1", "teams", "user", "missing") is None


async def test_event_claims_are_exactly_once(db_url: str, store: Store) -> None:
    ttl = timedelta(days=2)
    assert await claim_event(store, "slack:event:E1", "slack", ttl)
    assert not await claim_event(store, "slack:event:E1", "slack", ttl)
    engine = create_engine(db_url)
    restarted = Store(engine)
    assert not await claim_event(restarted, "slack:event:E1", "slack", ttl)
    results = await asyncio.gather(
        *(
            claim_event(store if i % 2 else restarted, "slack:event:E2", "slack", ttl)
            for i in range(20)
        )
    )
    assert results.count(True) == 1
    await engine.dispose()


async def test_purge_removes_only_expired_events(store: Store) -> None:
    await claim_event(store, "old", "slack", timedelta(seconds=-1))
    await claim_event(store, "new", "slack", timedelta(days=1))
    assert await purge_expired_events(store) == 1
    async with store.sessions() as session:
        keys = (await session.scalars(select(ProcessedEvent.event_key))).all()
        stored = await session.get(ProcessedEvent, "new")
    assert list(keys) == ["new"]
    assert stored is not None
    expires = stored.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes; they are stored in UTC
        expires = expires.replace(tzinfo=UTC)
    assert expires > datetime.now(UTC)
