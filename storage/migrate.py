"""Apply Alembic migrations programmatically (``bts-bot db upgrade`` and at ``serve`` start).

Alembic's async env calls ``asyncio.run``; from inside a running loop we therefore run it in a worker
thread with its own loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: newest)."""
    await asyncio.to_thread(upgrade_sync, url, revision)
