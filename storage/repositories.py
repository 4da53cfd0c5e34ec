"""The ``Store``: the handle every repository function takes (engine, sessions, dialect-aware insert).

One style for every repository: a module per concern (``storage/users.py``, ``conversations.py``,
``references.py``, ``events.py``, ``outbox.py``, ``directory.py``, …) of free ``async def f(store, …)``
functions. Each opens its own short transaction, so callers never hold a connection across a network
call to Slack or Teams. Upserts use the dialect's ``ON CONFLICT`` so they are atomic on both SQLite and
PostgreSQL, also when several server processes share one database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import session_factory


def aware(value: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they are stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows touched by an INSERT/UPDATE/DELETE (DML results are cursor results)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


class Store:
    """One database: the engine, a session factory and the dialect's ``INSERT … ON CONFLICT``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    def insert(self, table: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
