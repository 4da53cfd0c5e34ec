"""What the operator sees when the database or the port is not there: one Norwegian line and exit
2, never a traceback (``bot/admin/failures.py``), for ``serve`` and for the admin commands; and
``stats`` for a tenant that does not exist."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.admin.test_cli import bts


def _one_line(result_stderr: str) -> str:
    assert "Traceback" not in result_stderr
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    return lines[0]


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = bts(tmp_path, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"port {port} er allerede i bruk" in line and "--port" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://bts:hemmelig@127.0.0.1:1/bts",
            "får ikke kontakt med PostgreSQL på 127.0.0.1:1",
        ),
        ("postgresql://bts:hemmelig@db.invalid/bts", "ukjent vertsnavn"),
        ("postgresql://bts:hemmelig@db:port/bts", "DATABASE_URL er ugyldig"),
        ("mysql://bts:hemmelig@db/bts", "DATABASE_URL er ugyldig"),
    ],
)
@pytest.mark.parametrize("command", [("roles", "export"), ("serve",)])
def test_an_unusable_database_is_one_line(
    tmp_path: Path, url: str, expected: str, command: tuple[str, ...]
) -> None:
    result = bts(tmp_path, *command, DATABASE_URL=url)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("bts-bot: ") and expected in line
    assert "hemmelig" not in result.stderr + result.stdout, "the password is never printed"


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    result = bts(tmp_path, "db", "upgrade")  # bts() points DATA_DIR at tmp_path/data
    assert result.returncode == 2
    assert "kan ikke åpne SQLite-databasen" in _one_line(result.stderr)


def test_stats_for_an_unknown_tenant_says_so(tmp_path: Path) -> None:
    assert bts(tmp_path, "roles", "export").returncode == 0  # sets up the tenant local
    result = bts(tmp_path, "stats", "--tenant", "slack:TNOPE")
    assert result.returncode == 1
    assert "ukjent tenant «slack:TNOPE»" in result.stderr and "local" in result.stderr
    assert bts(tmp_path, "stats", "--tenant", "local").returncode == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"username": "ingen_slik_bruker"},
            "avviste innloggingen for brukeren «ingen_slik_bruker»",
        ),
        ({"database": "finnes_ikke"}, "databasen «finnes_ikke» finnes ikke på PostgreSQL-serveren"),
    ],
)
def test_a_postgres_server_that_refuses_the_login_or_lacks_the_database_is_one_line(
    tmp_path: Path, postgres_url: str, change: dict[str, str], expected: str
) -> None:
    # The session's real PostgreSQL server, asked for a user or a database it does not have.
    url = make_url(postgres_url).set(password="hemmelig", **change)
    result = bts(tmp_path, "roles", "export", DATABASE_URL=url.render_as_string(False))
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("bts-bot: ") and expected in line
    assert str(Path(url.query["host"])) in line  # where: the socket folder, not "localhost"
    assert "hemmelig" not in result.stderr + result.stdout, "the password is never printed"
