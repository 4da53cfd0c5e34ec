"""``reminders preview`` and ``arshjul export --ics`` on Strand's årshjul in 2027, as an operator runs
them: the table's header, why a date moved, what to do about a role nobody holds, and a calendar
named after the kommune with role names people read."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from icalendar import Calendar

from tests.support.server import clean_env

ROLES_CSV = (
    "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
    "bts-kontakt,Skolen,slack,U2,Kari Kontakt,\n"
)
# A task due Tuesday 30 March 2027 with a send four days before: langfredag, moved to Wednesday.
LANGFREDAG = """
name: {nb: Test, nn: Test}
tasks:
  - key: etter-paske
    title: {nb: Etter påske, nn: Etter påske}
    text: {nb: Husk., nn: Hugs.}
    roles: [bts-kontakt]
    recurrence: {every: once, date: 2027-03-30}
    lead_days: [4]
"""


def bts(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    kommuner = tmp_path / "kommuner"
    kommuner.mkdir(exist_ok=True)
    (kommuner / "local.yaml").write_text("kommune: Strand kommune\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "data", KOMMUNE_DIR=str(kommuner)),
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_preview_of_strand_says_why_dates_moved_and_how_to_fix_a_missing_holder(
    tmp_path: Path,
) -> None:
    ok(bts(tmp_path, "arshjul", "use", "strand"))
    (tmp_path / "roles.csv").write_text(ROLES_CSV, encoding="utf-8")
    ok(bts(tmp_path, "roles", "import", "roles.csv", "--yes"))
    out = ok(bts(tmp_path, "reminders", "preview", "--from", "2027-03-01", "--to", "2027-03-31"))
    lines = out.splitlines()
    assert lines[0].split() == ["Sendes", "Type", "Oppgave", "Rolle", "Mottaker", "Frist"]
    seminar = [line for line in lines if "oppvekstseminar" in line and line[:4] == "2027"]
    # 14 days before Wednesday 24 March, the day the seminar moved to from skjærtorsdag
    assert any(line.startswith("2027-03-10 09:00  lead-14") for line in seminar)
    assert all("2027-03-24 – fristen flyttet fra skjærtorsdag 25.3.2027" in s for s in seminar)
    assert all("BTS-koordinator" in s and "(ingen har rollen)" in s for s in seminar)
    assert "bts-koordinator" not in out.replace("--tenant", "")  # the readable name, not the key
    [hint] = [line for line in lines if line.startswith("(ingen har rollen):")]
    assert "BTS-koordinator" in hint and "oppvekstseminar" in hint
    assert "/bts rolle" in hint and "bts-bot roles import --tenant local" in hint

    nn = ok(bts(tmp_path, "reminders", "preview", "--from", "2027-11-01", "--to", "2027-11-30",
                "--lang", "nn"))  # fmt: skip
    assert nn.splitlines()[0].startswith("Blir send")
    network = [s for s in nn.splitlines() if "bts-nettverk-2" in s and s.startswith("2027")]
    assert network and all(
        "2027-11-19 – fristen flytt frå laurdag 20.11.2027" in s for s in network
    )


def test_preview_says_when_only_the_send_moved(tmp_path: Path) -> None:
    (tmp_path / "arshjul.yaml").write_text(LANGFREDAG, encoding="utf-8")
    ok(bts(tmp_path, "arshjul", "import", "arshjul.yaml", "--yes"))
    (tmp_path / "roles.csv").write_text(ROLES_CSV, encoding="utf-8")
    ok(bts(tmp_path, "roles", "import", "roles.csv", "--yes"))
    out = ok(bts(tmp_path, "reminders", "preview", "--from", "2027-03-20", "--to", "2027-03-31"))
    [row] = [line for line in out.splitlines() if "etter-paske" in line]
    assert row.startswith("2027-03-24 09:00  lead-4")
    assert row.endswith("2027-03-30 – sendes flyttet fra langfredag")


def test_ics_is_named_after_the_kommune_and_shows_the_moved_day(tmp_path: Path) -> None:
    ok(bts(tmp_path, "arshjul", "use", "strand"))
    cal = Calendar.from_ical(
        ok(bts(tmp_path, "arshjul", "export", "--ics", "--from", "2027-01-01"))
    )
    assert str(cal.get("x-wr-calname")) == "Strand kommune – årshjul BTS"
    assert str(cal.get("name")) == "Strand kommune – årshjul BTS"
    seminar = [e for e in cal.walk("VEVENT") if str(e.get("uid")).startswith("oppvekstseminar-")]
    assert [e.decoded("dtstart") for e in seminar] == [date(2027, 3, 24)]
    assert str(seminar[0].get("uid")) == "oppvekstseminar-2027-03-25@local.bts-bot"
    description = str(seminar[0].get("description"))
    assert "Ansvar: BTS-koordinator" in description and "bts-koordinator" not in description
    assert "skjærtorsdag" in description
    saturday = [
        e for e in cal.walk("VEVENT") if str(e.get("uid")).endswith("2027-11-20@local.bts-bot")
    ]
    assert [e.decoded("dtstart") for e in saturday] == [date(2027, 11, 19)]
