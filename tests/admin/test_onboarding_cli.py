"""``bts-bot onboarding …`` as an operator runs it on the embedded database of a fresh folder: start
(idempotent, the steps with their due dates), list (text and JSON), done up to completion, cancel,
and the refusals of bad input (one line, exit 1 or 2, never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.admin.test_cli import bts

TENANT = ("--tenant", "slack:T9")
ROLES = (
    "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
    "bts-koordinator,,slack,UCOORD,Kari Koordinator,\n"
    "virksomhetsleder,Nord skole,slack,ULEDER,Lise Leder,\n"
    "bts-kontakt,Nord skole,slack,UKONTAKT,Siri Kontakt,\n"
    "bts-kontakt,Bekkevegen barnehage,slack,UBHGK,Berit Barnehage,\n"
)
KEYS = ["bts-modellen", "stafettholder", "opplaeringsfilm", "oppfolging", "felles-kurs"]


def listed(tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    result = bts(tmp_path, "onboarding", "list", "--json", *TENANT, *extra)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_start_list_done_and_cancel(tmp_path: Path) -> None:
    no_units = bts(tmp_path, "onboarding", "start", "slack", "UNORA", "--unit", "Nord skole",
                   *TENANT)  # fmt: skip
    assert no_units.returncode == 1 and "has no units yet" in no_units.stderr
    (tmp_path / "roles.csv").write_text(ROLES, encoding="utf-8")
    assert bts(tmp_path, "roles", "import", "roles.csv", "--yes", *TENANT).returncode == 0
    empty = bts(tmp_path, "onboarding", "list", *TENANT)
    assert empty.returncode == 0 and "no onboardings in progress" in empty.stdout

    started = bts(tmp_path, "onboarding", "start", "slack", "<@unora>", "--unit", "Nord skole",
                  "--name", "Nora Ny", *TENANT)  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("onboarding 1: Nora Ny in Nord skole, 5 steps")
    assert "  bts-modellen  (bts-kontakt)" in started.stdout
    again = bts(tmp_path, "onboarding", "start", "slack", "UNORA", "--unit", "Nord skole",
                *TENANT)  # fmt: skip
    assert again.returncode == 0 and "Nora Ny already has onboarding 1" in again.stdout

    (row,) = listed(tmp_path)
    assert (row["id"], row["user_id"], row["name"], row["unit"], row["status"]) == (
        1, "UNORA", "Nora Ny", "Nord skole", "open",
    )  # fmt: skip
    assert [s["key"] for s in row["steps"]] == KEYS
    assert [s["owner"] for s in row["steps"]][:3] == ["bts-kontakt", "bts-kontakt", "ansatt"]
    assert all(s["done"] is None and s["due"] > row["registered"] for s in row["steps"])
    text = bts(tmp_path, "onboarding", "list", *TENANT).stdout
    assert "1  open" in text and "Nora Ny (slack:UNORA)  0/5 steps" in text

    first = bts(tmp_path, "onboarding", "done", "1", "stafettholder", *TENANT)
    assert first.returncode == 0 and "onboarding 1: stafettholder done" in first.stdout
    twice = bts(tmp_path, "onboarding", "done", "1", "stafettholder", *TENANT)
    assert twice.returncode == 0 and "stafettholder already done" in twice.stdout
    for key in KEYS:
        if key != "stafettholder":
            last = bts(tmp_path, "onboarding", "done", "1", key, *TENANT)
            assert last.returncode == 0, last.stderr
    assert "onboarding 1 is complete; the unit's leader and the employee are told" in last.stdout
    assert listed(tmp_path) == []
    (row,) = listed(tmp_path, "--all")
    assert row["status"] == "completed" and all(s["done"] for s in row["steps"])
    closed = bts(tmp_path, "onboarding", "done", "1", "felles-kurs", *TENANT)
    assert closed.returncode == 1 and "onboarding 1 is completed" in closed.stderr
    status = bts(tmp_path, "reminders", "status", "--json", *TENANT)
    assert status.returncode == 0

    second = bts(tmp_path, "onboarding", "start", "slack", "UOLA", "--unit",
                 "Bekkevegen barnehage", *TENANT)  # fmt: skip
    assert second.returncode == 0 and second.stdout.startswith("onboarding 2: UOLA in")
    assert bts(tmp_path, "onboarding", "cancel", "2", *TENANT).returncode == 0
    cancelled = bts(tmp_path, "onboarding", "cancel", "2", *TENANT)
    assert cancelled.returncode == 1 and "onboarding 2 is cancelled already" in cancelled.stderr
    assert [r["status"] for r in listed(tmp_path, "--all")] == ["completed", "cancelled"]


def test_bad_input_is_one_friendly_line(tmp_path: Path) -> None:
    (tmp_path / "roles.csv").write_text(ROLES, encoding="utf-8")
    assert bts(tmp_path, "roles", "import", "roles.csv", "--yes", *TENANT).returncode == 0
    start = ("onboarding", "start", "slack")
    for args, code, says in (
        ((*start, "UNORA", "--unit", "Sør skole"), 1,
         "unknown unit 'Sør skole' (known: Bekkevegen barnehage, Nord skole)"),
        ((*start, "nora", "--unit", "Nord skole"), 1, "'nora' is not a slack user id"),
        ((*start, "UNORA", "--unit", "Nord skole", "--name", "Nora 98765432"), 1,
         "--name takes only the employee's name"),
        ((*start, "UNORA"), 2, "--unit"),
        (("onboarding", "start", "fax", "UNORA", "--unit", "Nord skole"), 2, "invalid choice"),
        (("onboarding", "done", "7", "bts-modellen"), 1, "no onboarding 7 in slack:T9"),
        (("onboarding", "done", "x", "bts-modellen"), 2, "'x' is not an onboarding id"),
        (("onboarding", "cancel", "7"), 1, "no onboarding 7"),
    ):  # fmt: skip
        result = bts(tmp_path, *args, *TENANT)
        assert result.returncode == code and says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert bts(tmp_path, *start, "UNORA", "--unit", "Nord skole", *TENANT).returncode == 0
    unknown = bts(tmp_path, "onboarding", "done", "1", "kaffe", *TENANT)
    assert unknown.returncode == 1 and "has no step 'kaffe' (steps: bts-modellen," in unknown.stderr
