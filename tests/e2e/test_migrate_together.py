"""Replicas that start together on one empty PostgreSQL database (issue #14): each runs the
migrations at start, as ``serve`` does. Without a lock they ran the same migrations at once and all
but one failed on a table another had just created; with PostgreSQL's advisory lock one migrates,
the others wait for it and find nothing left to do, and every process succeeds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import alembic_config
from tests.support.postgres import fresh_postgres_database
from tests.support.server import clean_env

PROCESSES = 4


def test_processes_migrating_one_empty_database_at_once_all_succeed(
    postgres_url: str, tmp_path: Path
) -> None:
    from alembic.script import ScriptDirectory

    url = fresh_postgres_database(postgres_url)
    started = []
    for n in range(PROCESSES):
        data = tmp_path / f"replica{n}"
        data.mkdir()
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "db", "upgrade"],
                cwd=data,
                env=clean_env(data, DATABASE_URL=url),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outcomes = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in started]
    assert [code for code, _ in outcomes] == [0] * PROCESSES, outcomes

    async def versions() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return [str(row[0]) for row in rows]
        finally:
            await engine.dispose()

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert asyncio.run(versions()) == [head]
