"""Reminders from the årshjul, end to end over real HTTP: planned by the running server, sent as a
Slack DM through the fake Slack Web API (and closed with "Ferdig"), or as a Teams card to the stored
conversation through the fake Bot Connector, with the unreachable reported to the coordinator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from storage.db import create_engine
from storage.progress import get_progress
from storage.repositories import Store
from tests.platforms import test_teams as teams
from tests.platforms.test_slack import SECRET, block_text, click_payload, send_payload, to_channel
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.server import BotServer, clean_env

TENANT = f"slack:{TEAM_ID}"
OSLO = ZoneInfo("Europe/Oslo")


def cli(tmp_path: Path, tenant: str, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--tenant", tenant],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "botdata"),
    )
    assert result.returncode == 0, result.stderr


def one_task_due_now(tmp_path: Path, key: str, title: str, text: str) -> None:
    """An årshjul (arshjul.yaml) of one task for the BTS-kontakter, due today and sent a minute ago.

    Today may be a weekend or holiday: the send then moved back to the last working day, which the
    servers below accept through a long grace window."""
    now = datetime.now(OSLO)
    send_time = max(now - timedelta(minutes=2), now.replace(hour=0, minute=0))
    arshjul = {
        "name": {"nb": "Test", "nn": "Test"},
        "tasks": [
            {
                "key": key,
                "title": {"nb": title, "nn": title},
                "text": {"nb": text, "nn": text},
                "roles": ["bts-kontakt"],
                "recurrence": {"every": "once", "date": now.date().isoformat()},
                "lead_days": [0],
                "send_time": f"{send_time:%H:%M}",
            }
        ],
    }
    (tmp_path / "arshjul.yaml").write_text(yaml.safe_dump(arshjul, allow_unicode=True), "utf-8")


def test_reminder_dm_and_ferdig_button(
    tmp_path: Path, fake_slack: FakeSlack, bot_server: Callable[..., BotServer]
) -> None:
    now = datetime.now(OSLO)
    one_task_due_now(tmp_path, "rapport", "Halvårsrapport fra enheten", "Send rapporten.")
    (tmp_path / "roles.csv").write_text(
        "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
        "bts-kontakt,Solsiden barnehage,slack,UHOLDER,Hanne Holder,\n",
        encoding="utf-8",
    )
    cli(tmp_path, TENANT, "arshjul", "import", str(tmp_path / "arshjul.yaml"), "--yes")
    cli(tmp_path, TENANT, "roles", "import", str(tmp_path / "roles.csv"), "--yes")
    server = bot_server(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DISPATCH_INTERVAL_SECONDS="0.3",
        OUTBOX_GRACE_HOURS="200",
    )
    fake_slack.wait_for("conversations.open")
    (post,) = fake_slack.wait_for("chat.postMessage", where=to_channel("DHOLDER"))
    assert "Halvårsrapport fra enheten" in block_text(post)
    assert post.body["metadata"]["event_type"] == "bts_outbox"
    buttons = [
        element
        for block in post.body["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
    done = next(b for b in buttons if b["action_id"].startswith("arshjul:done"))
    assert {b["action_id"].split("#")[0] for b in buttons} >= {
        "arshjul:done",
        "arshjul:postpone",
        "arshjul:not-relevant",
    }
    ts = str(fake_slack.posted("DHOLDER")[0]["ts"])
    payload = click_payload(fake_slack, done["action_id"], "DHOLDER", "UHOLDER", ts)
    payload["actions"][0]["value"] = done["value"]
    status, _ = send_payload(server, payload)
    assert status == 200
    (update,) = fake_slack.wait_for("chat.update")
    assert update.body["ts"] == ts

    async def progress() -> str | None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'botdata' / 'bts-bot.sqlite3'}")
        try:
            found = await get_progress(
                Store(engine), TENANT, "rapport", now.date(), "Solsiden barnehage"
            )
            return None if found is None else found.status
        finally:
            await engine.dispose()

    assert asyncio.run(progress()) == "done"


def test_teams_reminder_goes_to_the_stored_conversation_and_the_unreachable_are_reported(
    tmp_path: Path, fake_connector: FakeConnector, bot_server: Callable[..., BotServer]
) -> None:
    tenant = f"teams:{teams.TENANT}"
    server = bot_server(
        DISPATCH_INTERVAL_SECONDS="0.3", PLAN_INTERVAL_SECONDS="1", OUTBOX_GRACE_HOURS="200"
    )
    # Kari installs the bot: her conversation reference is stored (and she is welcomed).
    assert teams.post(server, teams.install(fake_connector))[0] == 201
    fake_connector.wait_for(teams.replies_to(teams.PERSONAL), method="POST")
    one_task_due_now(
        tmp_path, "nettverk", "Innsjekk før BTS-nettverket", "Skriv gjort, lurt, lært."
    )
    (tmp_path / "roles.csv").write_text(
        "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
        f"bts-kontakt,Skolen,teams,{teams.USER_AAD},Kari Nordmann,\n"
        "bts-kontakt,Barnehagen,teams,aad-never-installed,Per Uten Teams,\n"
        f"bts-koordinator,,teams,{teams.USER_AAD},Kari Nordmann,\n",
        encoding="utf-8",
    )
    cli(tmp_path, tenant, "arshjul", "import", str(tmp_path / "arshjul.yaml"), "--yes")
    cli(tmp_path, tenant, "roles", "import", str(tmp_path / "roles.csv"), "--yes")

    def cards() -> list[str]:
        return [
            " ".join(teams.card_texts(teams.card_of(call)))
            for call in fake_connector.calls(teams.replies_to(teams.PERSONAL), method="POST")
            if call.json.get("attachments")
        ]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = cards()
        if any("Innsjekk før BTS-nettverket" in t for t in texts) and any(
            "Per Uten Teams" in t for t in texts
        ):
            break
        time.sleep(0.3)
    texts = cards()
    assert sum("Innsjekk før BTS-nettverket" in t and "Per Uten Teams" not in t for t in texts) == 1
    (report,) = [t for t in texts if "Per Uten Teams" in t]
    assert "BTS-koordinator" in report and "Innsjekk før BTS-nettverket" in report
    for call in fake_connector.calls(teams.replies_to(teams.PERSONAL), method="POST"):
        if call.json.get("attachments"):
            teams.assert_valid_card(teams.card_of(call))
