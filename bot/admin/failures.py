"""The one line a command prints instead of a traceback when its surroundings are wrong.

A bad ``DATABASE_URL``, a PostgreSQL server that does not answer, refuses the login or lacks the
database, an SQLite file that cannot be opened, and a port another program holds are the
operator's to fix, not bugs: each becomes one Norwegian line from ``bot/admin/messages.yaml`` (exit
2 in ``bot.admin.command``). Anything else is a bug and keeps its traceback. Nothing printed here
holds a password: places are named by host, port, database and path only.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.admin.messages import say


def database_url_problem(url: str) -> str | None:
    """The line for a ``DATABASE_URL`` (already in its SQLAlchemy form) that cannot work, or None."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError) as exc:
        reason = say(
            "failure.reason.url_unparsable"
            if isinstance(exc, ArgumentError)
            else "failure.reason.port_not_a_number"
        )
        return say("failure.database_url", reason=reason)
    if port is not None and not 0 < port < 65536:
        return say("failure.database_url", reason=say("failure.reason.no_such_port", port=port))
    if parsed.get_backend_name() == "sqlite" and (parsed.host or not parsed.database):
        return say("failure.database_url", reason=say("failure.reason.sqlite_path"))
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the driver errors SQLAlchemy wraps."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]


def _where(url: URL) -> str:
    socket_dir = url.query.get("host")  # ?host=/run/postgresql: a Unix socket, no TCP host
    if not url.host and isinstance(socket_dir, str) and socket_dir.startswith("/"):
        return f"{socket_dir} (port {url.port or 5432})"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def explain(exc: BaseException, database_url: str, host: str = "", port: int = 0) -> str | None:
    """The line for ``exc`` when it is one of the failures above, else None."""
    url = make_url(database_url)
    postgres = url.get_backend_name() == "postgresql"
    for found in _chain(exc):
        if isinstance(found, OSError) and found.errno == errno.EADDRINUSE:
            return say("failure.port_in_use", port=port, host=host or "0.0.0.0")
        if isinstance(found, OSError) and found.errno == errno.EADDRNOTAVAIL:
            return say("failure.bind_failed", host=host, port=port, reason=found.strerror)
        if postgres:
            line = _postgres(found, url)
            if line:
                return line
        else:
            line = _sqlite(found, Path(url.database or ""))
            if line:
                return line
    return None


def _postgres(found: BaseException, url: URL) -> str | None:
    import asyncpg

    if isinstance(found, asyncpg.InvalidCatalogNameError):
        return say("failure.postgres_no_database", database=url.database or "", where=_where(url))
    if isinstance(
        found, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return say("failure.postgres_login", where=_where(url), user=url.username or "")
    if isinstance(found, socket.gaierror):
        return say(
            "failure.postgres_unreachable",
            where=_where(url),
            reason=say("failure.reason.unknown_host"),
        )
    if isinstance(found, ConnectionError | TimeoutError | asyncpg.CannotConnectNowError) or (
        isinstance(found, OSError)
        and found.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)
    ):
        reason = say(
            "failure.reason.timeout"
            if isinstance(found, TimeoutError)
            else "failure.reason.refused"
        )
        return say("failure.postgres_unreachable", where=_where(url), reason=reason)
    return None


def _sqlite(found: BaseException, path: Path) -> str | None:
    if isinstance(found, sqlite3.OperationalError) and "unable to open" in str(found):
        return say(
            "failure.sqlite_unavailable", path=path, reason=say("failure.reason.cannot_open")
        )
    if isinstance(found, OSError) and found.filename is not None:
        # only the database file or a folder above it: other files are the command's own
        name = Path(str(found.filename))
        if name == path or name in path.parents:
            return say("failure.sqlite_unavailable", path=path, reason=found.strerror or "")
    return None
