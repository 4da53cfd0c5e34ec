"""Database fixtures parametrised over both backends, so one contract suite covers SQLite and PostgreSQL.

``db_url`` yields a fresh, migrated database URL (ids ``sqlite`` / ``postgresql``); ``store`` a
``Store`` on it whose engine is disposed after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.db import create_engine
from storage.migrate import upgrade_sync
from storage.repositories import Store
from tests.support.postgres import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database, migrated to the newest schema."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    upgrade_sync(url)
    yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    engine = create_engine(db_url)
    yield Store(engine)
    await engine.dispose()
