"""Årshjul: templates, YAML round-trip, the CLI commands and the directory repositories (both backends)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from dialogs.arshjul.model import (
    TEMPLATES,
    ArshjulError,
    dump_arshjul,
    load_template,
    parse_arshjul,
)
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup, get_arshjul, list_tasks, replace_arshjul
from storage import directory
from storage.repositories import Store
from tests.platforms.test_webchat import all_text, greeted, turn
from tests.support.server import BotServer, clean_env


def bts(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "data"),
    )


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_load_and_round_trip(name: str) -> None:
    arshjul = load_template(name)
    assert arshjul.template == name and arshjul.tasks
    assert parse_arshjul(dump_arshjul(arshjul)) == arshjul


def test_bad_yaml_names_the_line() -> None:
    text = "name: {nb: X, nn: X}\ntasks:\n  - key: a\n    title: {nb: T, nn: T}\n    text: {nb: T, nn: T}\n    roles: [bts-koordinator]\n    recurrence: {every: yearly, month: 13, day: 1}\n"
    with pytest.raises(ArshjulError) as err:
        parse_arshjul(text, "x.yaml")
    assert any(line.startswith("x.yaml:7:") for line in err.value.errors), err.value.errors


def test_preview_on_a_fresh_install_shows_hadsel_autumn(tmp_path: Path) -> None:
    result = bts(
        tmp_path, "reminders", "preview", "--from", "2026-08-01", "--to", "2026-09-30", "--json"
    )
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert {i["task"] for i in items} == {
        "aug-arbeidsgruppe",
        "aug-undersokelse-ledere",
        "sep-undersokelse-ansatte",
    }
    first = items[0]
    assert first == {**first, "task": "aug-arbeidsgruppe", "due": "2026-08-25", "kind": "lead-14"}
    assert first["send_at"] == "2026-08-11T09:00:00+02:00"
    assert {i["role"] for i in items} >= {"bts-koordinator", "arbeidsgruppe", "virksomhetsleder"}
    assert all(date.fromisoformat(i["send_at"][:10]) <= date(2026, 9, 30) for i in items)


def test_ics_export_parses(tmp_path: Path) -> None:
    result = bts(tmp_path, "arshjul", "export", "--ics", "--from", "2026-08-01")
    assert result.returncode == 0, result.stderr
    cal = Calendar.from_ical(result.stdout)
    events = cal.walk("VEVENT")
    assert len(events) >= 9  # 7 yearly + halvårsrapport twice
    starts = {e.decoded("dtstart") for e in events}
    assert (
        date(2026, 8, 25) in starts and date(2026, 12, 15) in starts and date(2027, 6, 15) in starts
    )
    assert all(date(2026, 8, 1) <= s <= date(2027, 7, 31) for s in starts)


def test_ics_export_in_nynorsk(tmp_path: Path) -> None:
    result = bts(tmp_path, "arshjul", "export", "--ics", "--from", "2026-08-01", "--lang", "nn")
    assert result.returncode == 0, result.stderr
    cal = Calendar.from_ical(result.stdout)
    summaries = {str(e.get("summary")) for e in cal.walk("VEVENT")}
    assert "Spørjeundersøking til leiarar" in summaries
    assert "Spørreundersøkelse til ledere" not in summaries
    assert all("Ansvar: " in str(e.get("description")) for e in cal.walk("VEVENT"))
    assert str(cal.get("x-wr-calname")) == "Hadsel – årshjul for evaluering av BTS/BTI"


def test_yaml_export_import_round_trip_via_cli(tmp_path: Path) -> None:
    exported = bts(tmp_path, "arshjul", "export")
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "a.yaml").write_text(dump_arshjul(load_template("sirdal")))
    assert bts(tmp_path, "arshjul", "import", "a.yaml", "--yes").returncode == 0
    again = bts(tmp_path, "arshjul", "export")
    assert parse_arshjul(again.stdout) == load_template("sirdal")
    (tmp_path / "bad.yaml").write_text("name: {nb: X}\ntasks: []\n")
    bad = bts(tmp_path, "arshjul", "import", "bad.yaml", "--yes")
    assert bad.returncode == 1 and "bad.yaml:1:" in bad.stderr
    assert parse_arshjul(bts(tmp_path, "arshjul", "export").stdout) == load_template("sirdal")


def test_roles_import_is_all_or_nothing(tmp_path: Path) -> None:
    header = "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
    (tmp_path / "bad.csv").write_text(
        header
        + "bts-koordinator,,slack,U1,Kari,U2\n"
        + "rektor,Skolen,slack,U3,Per,\n"
        + "virksomhetsleder,Skolen,fax,U4,Ola,\n"
    )
    bad = bts(tmp_path, "roles", "import", "bad.csv", "--yes")
    assert bad.returncode == 1
    assert "row 3: unknown role 'rektor'" in bad.stderr and "row 4: plattform" in bad.stderr
    assert "row 2" not in bad.stderr
    assert bts(tmp_path, "roles", "export").stdout == header
    good = header + "bts-koordinator,,slack,U1,Kari,U2\nvirksomhetsleder,Skolen,slack,U3,Per,\n"
    (tmp_path / "good.csv").write_text(good)
    assert bts(tmp_path, "roles", "import", "good.csv", "--yes").returncode == 0
    assert bts(tmp_path, "roles", "export").stdout == good
    preview = bts(
        tmp_path, "reminders", "preview", "--from", "2026-09-16", "--to", "2026-09-16", "--json"
    )
    recipients = {(i["role"], json.dumps(i["recipient"])) for i in json.loads(preview.stdout)}
    assert ("virksomhetsleder", json.dumps({"platform": "slack", "user_id": "U3"})) in recipients


def test_admin_add_list_remove(tmp_path: Path) -> None:
    assert bts(tmp_path, "admin", "add", "slack", "U9").stdout.strip() == "admin added"
    assert bts(tmp_path, "admin", "add", "slack", "U9").stdout.strip() == "already an admin"
    assert bts(tmp_path, "admin", "list").stdout == "slack\tU9\tadmin\n"
    assert bts(tmp_path, "admin", "remove", "slack", "U9").returncode == 0
    assert bts(tmp_path, "admin", "list").stdout == ""
    assert bts(tmp_path, "admin", "list", "--tenant", "slack:T1").returncode == 0


# repositories on SQLite and PostgreSQL -----------------------------------------------------------


async def test_tenant_setup_is_idempotent(store: Store) -> None:
    assert await ensure_tenant_setup(store, "local")
    assert not await ensure_tenant_setup(store, "local", template="strand")
    settings = await directory.get_settings(store, "local")
    assert settings == directory.Settings("Europe/Oslo", "hadsel", ())
    assert await list_tasks(store, "local") == load_template("hadsel").tasks
    await directory.set_settings(
        store, "local", timezone="Europe/Berlin", closed_days=[date(2026, 10, 5)]
    )
    settings = await directory.get_settings(store, "local")
    assert settings == directory.Settings("Europe/Berlin", "hadsel", (date(2026, 10, 5),))


async def test_replace_arshjul_and_holders(store: Store) -> None:
    await ensure_tenant_setup(store, "t1")
    await replace_arshjul(store, "t1", load_template("salangen"))
    assert (await get_arshjul(store, "t1")) == load_template("salangen")
    assert "ledergruppe" in {r.key for r in await directory.list_roles(store, "t1")}
    holders = [
        Holder("bts-koordinator", None, "slack", "U1", "Kari", "U2"),
        Holder("virksomhetsleder", "Skolen", "teams", "T1", "Per", None, True),
    ]
    await directory.replace_holders(store, "t1", holders)
    assert await directory.list_holders(store, "t1") == holders
    assert await directory.list_units(store, "t1") == ["Skolen"]
    with pytest.raises(ValueError, match="rektor"):
        await directory.replace_holders(store, "t1", [Holder("rektor", None, "slack", "U5")])
    assert await directory.list_holders(store, "t1") == holders


async def test_admins_and_coordinators(store: Store) -> None:
    await ensure_tenant_setup(store, "t1")
    await directory.replace_holders(store, "t1", [Holder("bts-koordinator", None, "slack", "U1")])
    assert await directory.add_admin(store, "t1", "slack", "U7")
    assert not await directory.add_admin(store, "t1", "slack", "U7")
    assert await directory.list_admins(store, "t1") == [("slack", "U7")]
    assert await directory.is_admin(store, "t1", "slack", "U7")
    assert await directory.is_admin(store, "t1", "slack", "U1")
    assert not await directory.is_admin(store, "t1", "slack", "U8")
    assert await directory.remove_admin(store, "t1", "slack", "U7")
    assert not await directory.is_admin(store, "t1", "slack", "U7")


def shown_in_chat(server: BotServer) -> str:
    """The calendar link the web chat shows under "Abonner i kalenderen"."""
    reply = turn(server, greeted(server), action="arshjul:calendar")
    found = re.search(r"https?://\S+?\.ics", all_text(reply))
    assert found, all_text(reply)
    return found.group(0)


def test_calendar_subscription_url_serves_ics_and_can_be_rotated(
    tmp_path: Path, bot_server: Callable[..., BotServer]
) -> None:
    server = bot_server(REMINDERS_ENABLED="false")
    env = clean_env(tmp_path / "botdata", PUBLIC_URL=server.base_url)

    def feed(*extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "arshjul", "feed", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    url = feed()
    assert url.startswith(server.base_url + "/arshjul/") and url.endswith(".ics")
    assert feed() == url  # stable until rotated
    # The web chat's "Abonner i kalenderen" button shows the same link (under the server's own
    # PUBLIC_URL, the default here).
    assert urlsplit(shown_in_chat(server)).path == urlsplit(url).path
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/calendar")
        cal = Calendar.from_ical(resp.read())
    assert any("Halvårsrapport" in str(e.get("summary")) for e in cal.walk("VEVENT"))
    new = feed("--rotate")
    assert new != url
    assert urlsplit(shown_in_chat(server)).path == urlsplit(new).path
    for dead in (url, server.base_url + "/arshjul/not-a-real-token-at-all.ics"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(dead, timeout=10)
        assert err.value.code == 404
    with urllib.request.urlopen(new, timeout=10) as resp:
        assert resp.status == 200


def test_reminders_run_and_status_on_a_fresh_install(tmp_path: Path) -> None:
    ran = bts(tmp_path, "reminders", "run")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {}  # nobody holds a role yet: nothing to send
    status = bts(tmp_path, "reminders", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == {"counts": {}, "problems": []}
    plain = bts(tmp_path, "reminders", "status")
    assert plain.returncode == 0 and "the outbox is empty" in plain.stdout


def test_pick_a_template_and_set_time_zone_and_closed_days(tmp_path: Path) -> None:
    used = bts(tmp_path, "arshjul", "use", "sirdal")
    assert used.returncode == 0 and "sirdal" in used.stdout, used.stderr
    exported = bts(tmp_path, "arshjul", "export")
    assert parse_arshjul(exported.stdout) == load_template("sirdal")
    assert bts(tmp_path, "arshjul", "use", "nowhere").returncode == 2

    shown = bts(
        tmp_path,
        "settings",
        "--timezone",
        "Europe/Oslo",
        "--closed-days",
        "2026-12-23..2026-12-24, 2027-01-04",
    )
    assert shown.returncode == 0, shown.stderr
    assert "template     sirdal" in shown.stdout
    assert "2026-12-23, 2026-12-24, 2027-01-04" in shown.stdout
    added = bts(tmp_path, "settings", "--add-closed", "2027-01-05")
    assert "2026-12-23, 2026-12-24, 2027-01-04, 2027-01-05" in added.stdout
    for bad in (
        ["--timezone", "Mars/Olympus"],
        ["--closed-days", "2026-13-01"],
        ["--add-closed", "2027-01-10..2027-01-01"],
    ):
        refused = bts(tmp_path, "settings", *bad)
        assert refused.returncode == 2 and "nothing was changed" in refused.stderr
    assert "2027-01-05" in bts(tmp_path, "settings").stdout

    # Sirdal's unit report falls on Tuesday 15 December; with the 14th and 15th closed, it is due
    # on Friday the 11th and the due-day reminder goes out then at 09:00 local
    bts(tmp_path, "settings", "--add-closed", "2026-12-14..2026-12-15")
    preview = bts(
        tmp_path, "reminders", "preview", "--from", "2026-12-01", "--to", "2026-12-31", "--json"
    )
    sends = {
        (i["send_at"], i["due"])
        for i in json.loads(preview.stdout)
        if i["occurrence"] == "2026-12-15" and i["lead_days"] == 0
    }
    assert sends == {("2026-12-11T09:00:00+01:00", "2026-12-11")}
