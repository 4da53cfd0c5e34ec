"""The terminal commands as a user runs them: ``bts-bot ask``, ``chat``, ``db upgrade`` and bad config."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.server import clean_env


def bts(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "data", **env),
    )


def test_ask_json_gives_topic_and_answer(tmp_path: Path) -> None:
    bts(tmp_path, "ask", "hei")  # first contact (welcome) out of the way
    result = bts(tmp_path, "ask", "Hva er BTS?", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    payload = json.loads(lines[0])
    assert payload["topic"] == "om-bts"
    assert "Nivå 0" in payload["answer"] and "**" not in payload["answer"]
    assert payload["lang"] == "nb"


def test_ask_unknown_is_honest(tmp_path: Path) -> None:
    result = bts(tmp_path, "ask", "zxqv blorp", "--json")
    payload = json.loads(result.stdout)
    assert payload["topic"] == "ukjent"
    assert "forstod jeg ikke" in payload["answer"]


def test_ask_plain_prints_text_and_numbered_buttons(tmp_path: Path) -> None:
    bts(tmp_path, "ask", "hei")
    result = bts(tmp_path, "ask", "hjelp")
    assert "Dette kan jeg hjelpe deg med" in result.stdout
    assert "[1] Akutt fare?" in result.stdout  # the acute exit first (issue #11)
    assert "[2] Veileder ved uro" in result.stdout
    assert "[3] Hva er BTI/BTS?" in result.stdout


def test_chat_with_piped_input_presses_buttons_by_number(tmp_path: Path) -> None:
    bts(tmp_path, "ask", "hei")
    # menu -> [3] about -> [2] back to menu -> "9" is no button: the range is named -> quit
    result = bts(tmp_path, "chat", stdin="hjelp\n3\n2\n9\navslutt\nhjelp\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Nivå 0" in out
    assert out.count("Dette kan jeg hjelpe deg med") == 2  # nothing after "avslutt"
    assert "velg 1–5" in out and "forstod jeg ikke" not in out


def test_chat_language_switch_by_button(tmp_path: Path) -> None:
    bts(tmp_path, "ask", "hei")
    result = bts(tmp_path, "chat", stdin="hjelp\n5\n")
    assert "Greitt, no skriv eg nynorsk." in result.stdout
    assert "Dette kan eg hjelpe deg med no" in result.stdout


def test_db_upgrade_creates_the_tables(tmp_path: Path) -> None:
    result = bts(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "bts-bot.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"tenants", "users", "conversation_state", "conversation_refs"} <= tables
    assert "processed_events" in tables


def test_bad_config_is_one_clear_line_and_nonzero_exit(tmp_path: Path) -> None:
    result = bts(tmp_path, "ask", "hjelp", PORT="not-a-port")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PORT" in result.stderr and "configuration error" in result.stderr


def test_unknown_timezone_and_database_url_are_refused(tmp_path: Path) -> None:
    tz = bts(tmp_path, "ask", "hjelp", BOT_TIMEZONE="Europe/Atlantis")
    assert tz.returncode == 2 and "BOT_TIMEZONE" in tz.stderr
    db = bts(tmp_path, "ask", "hjelp", DATABASE_URL="mysql://x/y")
    assert db.returncode == 2 and "DATABASE_URL" in db.stderr


def test_secrets_never_printed_on_config_error(tmp_path: Path) -> None:
    result = bts(
        tmp_path,
        "ask",
        "hjelp",
        PORT="nope",
        SLACK_BOT_TOKEN="xoxb-very-secret-123",
        MICROSOFT_APP_PASSWORD="pw-very-secret-456",
    )
    assert "very-secret" not in result.stderr + result.stdout


def test_serve_with_teams_app_id_but_no_password_is_one_line(tmp_path: Path) -> None:
    result = bts(tmp_path, "serve", MICROSOFT_APP_ID="11111111-2222-3333-4444-555555555555")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("bts-bot: configuration error")
    assert "Traceback" not in result.stderr


def test_every_command_names_the_function_that_runs_it() -> None:
    from bot.cli import _parser

    def leaves(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, object]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [(path, parser.get_default("func"))]
        return [
            leaf
            for name, child in subs[0].choices.items()
            for leaf in leaves(child, f"{path} {name}".strip())
        ]

    found = leaves(_parser(), "")
    assert len(found) > 20  # the walk reached the leaves
    assert [path for path, func in found if not callable(func)] == []
