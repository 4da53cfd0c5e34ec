"""``bts-bot plan …`` as an operator runs it on the embedded database of a fresh folder: a built-in
plan, export and import (a round trip), done and reopen, and the refusals of bad input (one line,
exit 1 or 2, never a traceback)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogs.milestones.model import load_builtin, parse_plan
from tests.admin.test_cli import bts


def listed(tmp_path: Path) -> dict[str, dict[str, str | None]]:
    result = bts(tmp_path, "plan", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["key"]: row for row in json.loads(result.stdout)}


def test_use_export_and_import_read_back_the_same_plan(tmp_path: Path) -> None:
    empty = bts(tmp_path, "plan", "list")
    assert empty.returncode == 0 and "no plan yet" in empty.stdout
    used = bts(tmp_path, "plan", "use", "strand")
    assert used.returncode == 0 and "strand plan (17 milestone(s))" in used.stdout, used.stderr
    plan = listed(tmp_path)
    assert len(plan) == 17
    assert plan["pilotering"]["due"] == "2022-02-28" and plan["pilotering"]["status"] == "overdue"
    assert plan["oppstart-ressursteam-barnehage"]["unit"] == "Styrket barnehage"
    exported = bts(tmp_path, "plan", "export")
    assert exported.returncode == 0 and exported.stdout.startswith("# The implementation plan")
    assert parse_plan(exported.stdout).milestones == load_builtin("strand").milestones
    edited = exported.stdout.replace("due: 2022-02-28", "due: 2022-03-15", 1)
    (tmp_path / "plan.yaml").write_text(edited, encoding="utf-8")
    imported = bts(tmp_path, "plan", "import", "plan.yaml")
    assert imported.returncode == 0 and "imported 17 milestone(s)" in imported.stdout
    assert bts(tmp_path, "plan", "export").stdout == edited
    assert listed(tmp_path)["pilotering"]["due"] == "2022-03-15"
    text = bts(tmp_path, "plan", "list").stdout
    assert "2022-03-15  overdue" in text and "pilotering  bts-koordinator  Pilotering" in text


def test_done_and_reopen(tmp_path: Path) -> None:
    assert bts(tmp_path, "plan", "use", "sirdal").returncode == 0
    assert listed(tmp_path)["fase-1-handlingsveiledere"]["completed"] == "2018-11-26"
    done = bts(tmp_path, "plan", "done", "fase-2-implementering", "--date", "2019-05-02")
    assert done.returncode == 0 and "fase-2-implementering: done 2019-05-02" in done.stdout
    row = listed(tmp_path)["fase-2-implementering"]
    assert (row["completed"], row["status"]) == ("2019-05-02", "done")
    reopened = bts(tmp_path, "plan", "reopen", "fase-2-implementering")
    assert reopened.returncode == 0 and "open again, due 2019-06-30" in reopened.stdout
    assert listed(tmp_path)["fase-2-implementering"]["completed"] is None
    assert bts(tmp_path, "plan", "done", "fase-3-stafettlogg").returncode == 0
    today = datetime.now(ZoneInfo("Europe/Oslo")).date().isoformat()
    assert listed(tmp_path)["fase-3-stafettlogg"]["completed"] == today


def test_bad_input_is_one_friendly_line(tmp_path: Path) -> None:
    assert bts(tmp_path, "plan", "use", "sirdal").returncode == 0
    for command in ("done", "reopen"):
        result = bts(tmp_path, "plan", command, "fase-9")
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip() == (
            "bts-bot: no milestone 'fase-9' in the plan of local (see: bts-bot plan list)"
        )
    bad_day = bts(tmp_path, "plan", "done", "fase-2-implementering", "--date", "1. mai")
    assert bad_day.returncode == 2 and "'1. mai' is not a date like 2026-05-31" in bad_day.stderr
    (tmp_path / "plan.yaml").write_text(
        "milestones:\n"
        "  - key: oppstart\n"
        "    title: {nb: Oppstart, nn: Oppstart}\n"
        "    role: bts-koordinator\n"
        "    due: 2026-02-30\n",
        encoding="utf-8",
    )
    broken = bts(tmp_path, "plan", "import", "plan.yaml")
    assert broken.returncode == 1
    assert broken.stderr.splitlines() == [
        "plan.yaml:5: not a valid date: day is out of range for month",
        "nothing was imported",
    ]
    (tmp_path / "plan.yaml").write_text(
        "milestones:\n"
        "  - key: oppstart\n"
        "    title: {nb: Oppstart, nn: Oppstart}\n"
        "    role: prosjektleder\n"
        "    due: 2026-02-28\n",
        encoding="utf-8",
    )
    unknown = bts(tmp_path, "plan", "import", "plan.yaml")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(
        "plan.yaml:4: milestones.0.role: unknown role 'prosjektleder' (known: alle-ansatte,"
    )
    missing = bts(tmp_path, "plan", "import", "nope.yaml")
    assert missing.returncode == 1 and "nope.yaml: cannot read file" in missing.stderr
    for result in (broken, unknown, missing, bad_day):
        assert "Traceback" not in result.stderr
    assert len(listed(tmp_path)) == 5  # nothing was imported: Sirdal's plan is still there
