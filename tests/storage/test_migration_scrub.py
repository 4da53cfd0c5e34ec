"""Migration 0009 removes display names from Teams references stored before names were dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import ConversationRef
from storage.references import save_reference
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.support.postgres import fresh_postgres_database

OLD_REFERENCE = {
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "user": {"id": "29:abc", "name": "Kari Nordmann", "aadObjectId": "0000"},
    "bot": {"id": "28:bot", "name": "BTS-bot"},
    "conversation": {"id": "a:1", "name": "Sak Ola Hansen 12 år", "tenantId": "t1"},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_url"))


async def test_names_stored_by_an_older_release_are_removed(url: str) -> None:
    await upgrade(url, "0008")
    engine = create_engine(url)
    store = Store(engine)
    await ensure_tenant(store, "teams:t1", "teams", "t1")
    await ensure_tenant(store, "slack:T1", "slack", "T1")
    await save_reference(store, "teams:t1", "teams", "user", "29:abc", OLD_REFERENCE)
    await save_reference(store, "slack:T1", "slack", "user", "U1", {"channel": "D1"})
    await engine.dispose()

    await upgrade(url)
    engine = create_engine(url)
    async with Store(engine).sessions() as session:
        rows = {r.platform: r.reference for r in (await session.scalars(select(ConversationRef)))}
    await engine.dispose()
    teams = rows["teams"]
    assert "Kari" not in str(teams) and "Ola" not in str(teams) and "BTS-bot" not in str(teams)
    assert teams["user"] == {"id": "29:abc", "name": "", "aadObjectId": "0000"}
    assert teams["conversation"] == {"id": "a:1", "tenantId": "t1"}
    assert teams["serviceUrl"] == OLD_REFERENCE["serviceUrl"]
    assert rows["slack"] == {"channel": "D1"}
