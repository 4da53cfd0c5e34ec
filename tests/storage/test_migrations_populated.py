"""Every migration on a database that holds data, on SQLite and PostgreSQL (issue #14 §5).

For each revision R: an empty database is upgraded to R, one representative row goes into every
table that exists at R (read from the database itself, so a table added later is covered without
touching this file; foreign keys get the value of the row they point at), the database is
upgraded to head and every row must still be there; then head is downgraded one step and upgraded
again, and the rows of the tables that survive the downgrade must still be there too. One
PostgreSQL server serves every revision (a fresh database each).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from storage.db import create_engine
from storage.migrate import alembic_config, upgrade_sync
from tests.support.postgres import fresh_postgres_database

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
REVISIONS = [s.revision for s in reversed(list(SCRIPTS.walk_revisions()))]
HEAD = SCRIPTS.get_current_head()
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _value(column: sa.Column[Any], dialect: str) -> Any:
    """A value that fits the column; a foreign key takes the value of what it points at."""
    for fk in column.foreign_keys:
        return _value(fk.column, dialect)
    kind = column.type
    if isinstance(kind, sa.JSON):
        return {"sample": "value"}
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.DateTime):
        return NOW if dialect == "postgresql" else NOW.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.String):
        return f"{column.table.name}.{column.name}"[: kind.length or 200]
    if isinstance(kind, sa.LargeBinary):
        return f"{column.table.name}.{column.name}".encode()
    raise AssertionError(f"no sample value for {column.table.name}.{column.name}: {kind!r}")


def _tables(connection: sa.Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    metadata.remove(metadata.tables["alembic_version"])
    return metadata


def _populate(connection: sa.Connection) -> dict[str, tuple[Any, ...]]:
    """One row per table; the primary key of each row, by table."""
    keys: dict[str, tuple[Any, ...]] = {}
    dialect = connection.dialect.name
    for table in _tables(connection).sorted_tables:
        row = {c.name: _value(c, dialect) for c in table.columns}
        connection.execute(table.insert().values(row))
        keys[table.name] = tuple(_comparable(row[c.name]) for c in table.primary_key.columns)
    return keys


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _still_there(connection: sa.Connection, keys: dict[str, tuple[Any, ...]]) -> list[str]:
    """The tables whose sample row is gone (tables that no longer exist are not asked)."""
    metadata = _tables(connection)
    missing = []
    for name, key in keys.items():
        table = metadata.tables.get(name)
        if table is None:
            continue
        rows = connection.execute(sa.select(*table.primary_key.columns)).all()
        if [tuple(_comparable(v) for v in row) for row in rows] != [key]:
            missing.append(f"{name}: {rows!r} instead of {key!r}")
    return missing


def _run(url: str, work: Any) -> Any:
    """``work(connection)`` in one transaction on the database at ``url``."""

    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _version(url: str) -> str:
    return str(
        _run(url, lambda c: c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_populated_database_upgrades_to_head_and_back_one_step(
    revision: str, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    upgrade_sync(url, revision)
    keys = _run(url, _populate)
    assert keys, f"no tables at {revision}"

    upgrade_sync(url, "head")
    assert _run(url, lambda c: _still_there(c, keys)) == [], f"rows lost from {revision}"

    command.downgrade(alembic_config(url), "-1")
    below_head = set(_run(url, lambda c: _tables(c).tables))
    assert _version(url) == SCRIPTS.get_revision(HEAD).down_revision
    kept = {name: key for name, key in keys.items() if name in below_head}
    assert _run(url, lambda c: _still_there(c, kept)) == [], "rows lost by the downgrade"
    command.upgrade(alembic_config(url), "head")
    assert _run(url, lambda c: _still_there(c, kept)) == [], "rows lost by head-1 and back"
    assert _version(url) == HEAD
