"""``bts-bot survey …`` as an operator runs it: templates, launch (and its refusals), list, close
and results, on the embedded database of a fresh folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.admin.test_cli import bts

FIVE = "users:U1,U2,U3,U4,U5"


def test_templates_list_the_built_in_surveys(tmp_path: Path) -> None:
    result = bts(tmp_path, "survey", "templates", "--json")
    assert result.returncode == 0, result.stderr
    keys = {t["key"] for t in json.loads(result.stdout)}
    assert {"puls", "halvarsrapport", "hadsel-ledere", "sirdal-rapportskjema-2"} <= keys
    text = bts(tmp_path, "survey", "templates").stdout
    assert "halvarsrapport" in text and "unit" in text


def test_a_kommunes_broken_template_is_reported_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "kommuner" / "surveys"
    folder.mkdir(parents=True)
    (folder / "egen.yaml").write_text("key: egen\ntitle: {nb: A, nn: A}\n", encoding="utf-8")
    result = bts(tmp_path, "survey", "templates")
    assert result.returncode == 1 and "egen.yaml:1:" in result.stderr


def test_launch_list_close_and_results(tmp_path: Path) -> None:
    refused = bts(
        tmp_path, "survey", "launch", "puls", "--audience", "users:U1,U2", "--close", "2099-01-01"
    )
    assert refused.returncode == 1 and "at least 5 recipients" in refused.stderr
    for bad, says in (
        (["nope", "--audience", FIVE, "--close", "2099-01-01"], "unknown template"),
        (["puls", "--audience", FIVE, "--close", "1. mars"], "YYYY-MM-DD"),
        (["puls", "--audience", FIVE, "--close", "2001-01-01"], "in the past"),
        (["puls", "--audience", "channel:C1", "--close", "2099-01-01"], "read from Slack"),
    ):
        result = bts(tmp_path, "survey", "launch", *bad)
        assert result.returncode == 1 and says in result.stderr, (bad, result.stderr)
    launched = bts(
        tmp_path, "survey", "launch", "puls", "--audience", FIVE, "--close", "2099-01-01", "--json"
    )
    assert launched.returncode == 0, launched.stderr
    run = json.loads(launched.stdout)
    assert run["recipients"] == 5 and run["new"] is True
    (listed,) = json.loads(bts(tmp_path, "survey", "list", "--json").stdout)
    assert (listed["id"], listed["status"], listed["template"]) == (run["id"], "open", "puls")
    assert listed["closes_at"].startswith("2099-01-01T15:00")  # 16:00 in Oslo
    closed = bts(tmp_path, "survey", "close", run["id"])
    assert closed.returncode == 0 and "0 of 5 answered" in closed.stdout
    results = bts(tmp_path, "survey", "results", run["id"])
    assert (
        results.returncode == 0
        and "0 av 5 svarte" in results.stdout
        and "Færre enn 5" in results.stdout
    )
    out = tmp_path / "puls.csv"
    assert bts(tmp_path, "survey", "results", run["id"], "--csv", str(out)).returncode == 0
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows == [["enhet", "spørsmål", "svar", "antall", "snitt", "sum", "endring"]]
    missing = bts(tmp_path, "survey", "results", "0" * 32)
    assert missing.returncode == 1 and "no survey" in missing.stderr
    other = bts(tmp_path, "survey", "results", run["id"], "--tenant", "slack:T9")
    assert other.returncode == 1  # another tenant's run is not there
