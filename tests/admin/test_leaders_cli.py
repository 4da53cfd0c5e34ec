"""``bts-bot leaders …`` as an operator runs it on the embedded database of a fresh folder: setup
with its refusals, show (the coming meeting days, none in July), preview and remove."""

from __future__ import annotations

from pathlib import Path

from tests.admin.test_cli import bts

TENANT = ("--tenant", "slack:T9")


def test_setup_show_preview_and_remove_the_leader_digest(tmp_path: Path) -> None:
    assert bts(tmp_path, "arshjul", "use", "salangen", *TENANT).returncode == 0
    assert bts(tmp_path, "leaders", "show", *TENANT).returncode == 1
    first = bts(tmp_path, "leaders", "setup", *TENANT)
    assert first.returncode == 1 and "--channel" in first.stderr
    unknown = bts(tmp_path, "leaders", "setup", *TENANT, "--channel", "CL", "--tasks", "nope")
    assert unknown.returncode == 1 and "no such årshjul task: nope" in unknown.stderr
    made = bts(tmp_path, "leaders", "setup", *TENANT, "--channel", "CL")
    assert made.returncode == 0 and "meetings ledergruppe-bti" in made.stdout
    shown = bts(tmp_path, "leaders", "show", *TENANT, "--from", "2026-12-03").stdout
    days = [line.split()[0] for line in shown.splitlines()[1:]]
    # From 3 December 2026: the first Tuesdays of January to September 2027, but not July.
    assert days == ["2027-01-05", "2027-02-02", "2027-03-02", "2027-04-06", "2027-05-04",
                    "2027-06-01", "2027-08-03", "2027-09-07"]  # fmt: skip
    assert all("T08:00:00" in line for line in shown.splitlines()[1:])
    preview = bts(tmp_path, "leaders", "preview", *TENANT, "--date", "2027-03-02")
    assert preview.returncode == 0
    assert "**BTS i ledergruppa – tirsdag 2. mars 2027**" in preview.stdout
    assert "perioden 3. februar–1. mars" in preview.stdout
    nn = bts(tmp_path, "leaders", "preview", *TENANT, "--date", "2027-03-02", "--lang", "nn")
    assert "BTS i leiargruppa" in nn.stdout
    bad = bts(tmp_path, "leaders", "preview", *TENANT, "--date", "2. mars")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
    assert bts(tmp_path, "leaders", "remove", *TENANT).returncode == 0
    assert bts(tmp_path, "leaders", "remove", *TENANT).returncode == 1
