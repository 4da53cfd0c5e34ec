"""A reminder from the årshjul, end to end over real HTTP: planned by the running server, sent as a
Slack DM to the role holder through the fake Slack Web API, and closed with the "Ferdig" button."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from storage.db import create_engine
from storage.progress import get_progress
from storage.repositories import Store
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.server import BotServer, clean_env
from tests.test_slack import SECRET, block_text, click_payload, send_payload, to_channel

TENANT = f"slack:{TEAM_ID}"
OSLO = ZoneInfo("Europe/Oslo")


def cli(tmp_path: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--tenant", TENANT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "botdata"),
    )
    assert result.returncode == 0, result.stderr


def test_reminder_dm_and_ferdig_button(
    tmp_path: Path, fake_slack: FakeSlack, bot_server: Callable[..., BotServer]
) -> None:
    now = datetime.now(OSLO)
    send_time = max(now - timedelta(minutes=2), now.replace(hour=0, minute=0))
    (tmp_path / "arshjul.yaml").write_text(
        "name: {nb: Test, nn: Test}\n"
        "tasks:\n"
        "  - key: rapport\n"
        "    title: {nb: Halvårsrapport fra enheten, nn: Halvårsrapport frå eininga}\n"
        "    text: {nb: Send rapporten til koordinatoren., nn: Send rapporten til koordinatoren.}\n"
        "    roles: [bts-kontakt]\n"
        f"    recurrence: {{every: once, date: {now.date().isoformat()}}}\n"
        "    lead_days: [0]\n"
        f"    send_time: '{send_time:%H:%M}'\n",
        encoding="utf-8",
    )
    (tmp_path / "roles.csv").write_text(
        "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
        "bts-kontakt,Solsiden barnehage,slack,UHOLDER,Hanne Holder,\n",
        encoding="utf-8",
    )
    cli(tmp_path, "arshjul", "import", str(tmp_path / "arshjul.yaml"))
    cli(tmp_path, "roles", "import", str(tmp_path / "roles.csv"))
    server = bot_server(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DISPATCH_INTERVAL_SECONDS="0.3",
        # today may be a weekend or holiday: the send then moved back to the last working day
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
