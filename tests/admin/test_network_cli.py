"""``bts-bot network …`` as an operator runs it on the embedded database of a fresh folder: setup
with its refusals (no channel, unknown role or task, numbers out of range), show, and remove."""

from __future__ import annotations

import json
from pathlib import Path

from tests.admin.test_cli import bts

TENANT = ("--tenant", "slack:T9")


def test_setup_show_and_remove_a_network(tmp_path: Path) -> None:
    assert bts(tmp_path, "arshjul", "use", "strand", *TENANT).returncode == 0
    missing = bts(tmp_path, "network", "show", *TENANT)
    assert missing.returncode == 1 and "no network" in missing.stderr
    for bad, says in (
        ([], "needs --channel"),
        (["--channel", "C1", "--member-role", "rektor"], "unknown role 'rektor'"),
        (["--channel", "C1", "--tasks", "bts-nettverk-1,nope"], "no such årshjul task: nope"),
        (["--channel", "C1", "--checkin-days", "1"], "3–30"),
        (["--channel", "C1", "--pairing-weeks", "27"], "0–26"),
        (["--channel", "C1", "--evaluation-months", "13"], "1–12"),
    ):
        result = bts(tmp_path, "network", "setup", *TENANT, *bad)
        assert result.returncode == 1 and says in result.stderr, (bad, result.stderr)
        assert "Traceback" not in result.stderr
    made = bts(
        tmp_path, "network", "setup", *TENANT, "--channel", "CNETT", "--pairing-weeks", "4",
        "--across-sectors", "yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "meetings bts-nettverk-1, bts-nettverk-2" in made.stdout
    changed = bts(tmp_path, "network", "setup", *TENANT, "--checkin-days", "5")
    assert changed.returncode == 0 and "channel CNETT" in changed.stdout
    shown = json.loads(bts(tmp_path, "network", "show", *TENANT, "--json").stdout)
    assert (shown["channel"], shown["checkin_days"], shown["pairing_weeks"]) == ("CNETT", 5, 4)
    assert shown["pairing_across_sectors"] is True and shown["evaluation_months"] == [1, 2]
    assert bts(tmp_path, "network", "remove", *TENANT).returncode == 0
    assert bts(tmp_path, "network", "remove", *TENANT).returncode == 1
