"""``bts-bot user export|delete`` and ``bts-bot purge`` as an operator runs them: a person known
from the role import and a chat turn is exported (text and JSON), deletion without ``--yes`` and
without a terminal refuses (exit 2) and deletes nothing, with ``--yes`` it erases, and afterwards
the export is empty while the colleague is untouched."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli import run
from tests.admin.test_cli import bts

TENANT = ("--tenant", "slack:T9")
ROLES = (
    "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
    "bts-kontakt,Nord skole,slack,UKARI,Kari Kontakt,ULISE\n"
    "bts-kontakt,Sør skole,slack,ULISE,Lise Leder,\n"
)


def test_export_then_delete_with_and_without_confirmation(tmp_path: Path) -> None:
    (tmp_path / "roles.csv").write_text(ROLES, encoding="utf-8")
    assert bts(tmp_path, "roles", "import", "roles.csv", "--yes", *TENANT).returncode == 0

    text = bts(tmp_path, "user", "export", "slack", "<@ukari>", *TENANT)
    assert text.returncode == 0, text.stderr
    assert "roles (1)" in text.stdout and "Kari Kontakt" in text.stdout
    exported = json.loads(bts(tmp_path, "user", "export", "slack", "UKARI", "--json",
                              *TENANT).stdout)  # fmt: skip
    assert exported["tenant"] == "slack:T9" and exported["user_id"] == "UKARI"
    assert exported["roles"] == [
        {"role": "bts-kontakt", "unit": "Nord skole", "holds_as": "holder",
         "display_name": "Kari Kontakt", "absent": False}
    ]  # fmt: skip
    lise = json.loads(bts(tmp_path, "user", "export", "slack", "ULISE", "--json", *TENANT).stdout)
    assert sorted(r["holds_as"] for r in lise["roles"]) == ["deputy", "holder"]

    refused = bts(tmp_path, "user", "delete", "slack", "UKARI", *TENANT)
    assert refused.returncode == 2
    assert "would delete:" in refused.stdout and "roles: 1" in refused.stdout
    assert "confirm with --yes" in refused.stderr
    still = json.loads(bts(tmp_path, "user", "export", "slack", "UKARI", "--json", *TENANT).stdout)
    assert still["roles"], "nothing is deleted without confirmation"

    deleted = bts(tmp_path, "user", "delete", "slack", "UKARI", "--yes", *TENANT)
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted:" in deleted.stdout and "roles: 1" in deleted.stdout
    gone = bts(tmp_path, "user", "export", "slack", "UKARI", *TENANT)
    assert "nothing is stored about this person" in gone.stdout
    again = bts(tmp_path, "user", "delete", "slack", "UKARI", "--yes", *TENANT)
    assert again.returncode == 0 and "nothing is stored" in again.stdout
    roles = bts(tmp_path, "roles", "export", *TENANT).stdout
    assert "UKARI" not in roles and "Kari" not in roles and "ULISE" in roles
    lise = json.loads(bts(tmp_path, "user", "export", "slack", "ULISE", "--json", *TENANT).stdout)
    assert [r["holds_as"] for r in lise["roles"]] == ["holder"]


def test_bad_user_id_and_purge(tmp_path: Path) -> None:
    bad = bts(tmp_path, "user", "export", "slack", "not an id", *TENANT)
    assert bad.returncode == 2 and "is not a slack user id" in bad.stderr
    assert bts(tmp_path, "ask", "hei").returncode == 0  # a conversation in the local tenant
    purged = bts(tmp_path, "purge", "--json")
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["users"] == 0, "someone seen just now is kept"
    assert "outbox: 0 deleted" in bts(tmp_path, "purge").stdout


class _Terminal(io.StringIO):
    """Stands in for an operator at a terminal who types the given answer."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "status", "kept"), [("ja\n", 0, False), ("nei\n", 1, True)])
def test_delete_asks_at_a_terminal(
    answer: str, status: int, kept: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "roles.csv").write_text(ROLES, encoding="utf-8")
    assert run(["roles", "import", "roles.csv", "--yes", *TENANT]) == 0
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert run(["user", "delete", "slack", "UKARI", *TENANT]) == status
    out = capsys.readouterr().out
    assert "would delete:" in out and ("deleted:" in out) is not kept
    assert run(["user", "export", "slack", "UKARI", "--json", *TENANT]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert bool(exported["roles"]) is kept
