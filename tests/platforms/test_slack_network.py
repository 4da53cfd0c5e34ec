"""The BTS-nettverk in Slack, against the real server and the fake Slack Web API over HTTP: the
check-in DM goes out through the real ``SlackSender``, "Sjekk inn" opens a modal whose submit is
stored; the digest is posted to the network's channel with the vote as Block Kit inputs, and a
vote clicked in the channel updates that message in place with the counts; a pairing opens one
group DM (``conversations.open`` with both users) per pair."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import update

from bot.config import Settings, load_settings
from bot.platforms.senders import close_senders
from bot.platforms.slack.render import decode_action_id
from bot.reminders import build_dispatcher
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.tasks import ensure_tenant_setup, list_tasks, replace_arshjul
from dialogs.network.planner import network_sectors, plan_networks
from storage import directory
from storage import network as net
from storage.db import create_engine
from storage.models import utcnow
from storage.network import DEFAULT_KEY, NetworkSettings
from storage.outbox_models import OutboxItem, OutboxKind
from storage.records import Holder
from storage.repositories import Store
from tests.dialogs.test_network import OSLO, meeting_task, next_meeting
from tests.platforms.test_slack import barrier, block_text, click_payload, send_payload, to_channel
from tests.platforms.test_slack_modal import (
    SURVEY_SECRET,
    StartServer,
    opened_view,
    start,
    submission,
    submit,
)
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.server import BotServer

TENANT = f"slack:{TEAM_ID}"
CHANNEL = "CNETTVERK"


def runtime_for(server: BotServer, fake: FakeSlack) -> Runtime:
    """This test's own dispatcher process on the server's database (the server's is off)."""
    settings = load_settings(data_dir=Path(server.env["DATA_DIR"]), _env_file=None)
    settings = Settings(
        data_dir=settings.data_dir,
        survey_secret=SecretStr(SURVEY_SECRET),
        slack_bot_token=SecretStr("xoxb-test"),
        slack_api_url=fake.api_url,
    )
    store = Store(create_engine(settings.effective_database_url()))
    router = build_router(store, survey_key=survey_key(settings))
    return Runtime(settings=settings, engine=store.engine, store=store, router=router)


async def set_up(
    store: Store, *, pairing_weeks: int = 0, created: datetime | None = None
) -> datetime:
    """A network of three BTS-kontakter in three units; the planning 'now' before its meeting."""
    meeting = next_meeting()
    await ensure_tenant_setup(store, TENANT, timezone="Europe/Oslo", platform="slack")
    await replace_arshjul(store, TENANT, parse_arshjul(meeting_task(meeting)))
    await directory.replace_holders(
        store,
        TENANT,
        [
            Holder("bts-kontakt", "Bekkevegen barnehage", "slack", "UK1", "Kari"),
            Holder("bts-kontakt", "Nord skole", "slack", "UK2", "Ola"),
            Holder("bts-kontakt", "Helsestasjonen", "slack", "UK3", "Siri"),
            Holder("bts-koordinator", None, "slack", "UHOST", "Prosjektleder"),
        ],
    )
    settings = NetworkSettings(
        tenant_id=TENANT, key=DEFAULT_KEY, platform="slack", channel_id=CHANNEL,
        tasks=("bts-nettverk-1",), evaluation_months=(), pairing_weeks=pairing_weeks,
    )  # fmt: skip
    await net.put_network(store, replace(settings, created_at=created) if created else settings)
    return datetime.combine(meeting - timedelta(days=9), datetime.min.time(), OSLO) + timedelta(
        hours=10
    )


async def plan(store: Store, now: datetime) -> None:
    await plan_networks(
        store, TENANT, await list_tasks(store, TENANT), await directory.list_holders(store, TENANT),
        OSLO, frozenset(), now, now - timedelta(hours=12), timedelta(days=7), network_sectors(),
    )  # fmt: skip


async def send_due(runtime: Runtime, kind: OutboxKind) -> None:
    now = utcnow()
    async with runtime.store.sessions.begin() as session:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == kind.value, OutboxItem.status == "pending")
            .values(send_at=now, next_attempt_at=now)
        )
    dispatcher = build_dispatcher(runtime)
    try:
        await dispatcher.run_once()
    finally:
        await close_senders(dispatcher.senders)


def element(message: dict[str, Any], action: str) -> dict[str, Any]:
    return next(
        e
        for block in message["blocks"]
        if block.get("type") == "actions"
        for e in block["elements"]
        if decode_action_id(str(e.get("action_id", "")))[0] == action
    )


async def check_in_round(server: BotServer, fake: FakeSlack) -> None:
    runtime = runtime_for(server, fake)
    try:
        await plan(runtime.store, await set_up(runtime.store))
        await send_due(runtime, OutboxKind.NETWORK_CHECKIN)
    finally:
        await runtime.store.engine.dispose()


def test_a_check_in_round_and_its_digest_with_the_vote_in_slack(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    asyncio.run(check_in_round(server, fake_slack))
    (dm,) = fake_slack.posted("DK1")
    assert "gjort, lurt, lært" in block_text_of(dm)
    first_actions = next(b for b in dm["blocks"] if b["type"] == "actions")["elements"]
    assert decode_action_id(first_actions[0]["action_id"])[0] == "guide:acute"
    checkin = element(dm, "network:checkin")

    # "Sjekk inn" opens the modal; its submit is stored (and the thank-you shows in the modal).
    click = click_payload(fake_slack, checkin["action_id"], "DK1", "UK1", dm["ts"])
    click["actions"][0]["value"] = checkin["value"]
    click["trigger_id"] = "T-NET-1"
    assert send_payload(server, click)[0] == 200
    view = opened_view(fake_slack)
    values = {"done": "Undringssamtaler i to avdelinger", "topic": "Samtykke fra foreldre"}
    status, answer = submit(server, submission(view, "UK1", values))
    assert status == 200 and answer["response_action"] == "update"
    assert "Takk" in json.dumps(answer["view"], ensure_ascii=False)

    # The digest in the channel, with the topic as a checkbox to vote on.
    async def digest() -> None:
        runtime = runtime_for(server, fake_slack)
        try:
            await send_due(runtime, OutboxKind.NETWORK_DIGEST)
        finally:
            await runtime.store.engine.dispose()

    asyncio.run(digest())
    (posted,) = fake_slack.posted(CHANNEL)
    text = block_text_of(posted)
    assert "Bekkevegen barnehage" in text and "Undringssamtaler i to avdelinger" in text
    assert "1 av 3 har sjekket inn" in text
    box = next(b for b in posted["blocks"] if b["type"] == "input")
    option = box["element"]["options"][0]
    assert option["text"]["text"] == "Samtykke fra foreldre"
    vote = element(posted, "network:vote")
    click = click_payload(fake_slack, vote["action_id"], CHANNEL, "UK2", posted["ts"])
    click["actions"][0]["value"] = vote["value"]
    click["channel"]["name"] = "bts-nettverk"
    click["state"] = {
        "values": {
            box["block_id"]: {
                box["element"]["action_id"]: {
                    "type": box["element"]["type"],
                    "selected_options": [option],
                }
            }
        }
    }
    assert send_payload(server, click)[0] == 200
    (updated,) = fake_slack.wait_for("chat.update", where=to_channel(CHANNEL))
    assert updated.body["ts"] == posted["ts"]
    assert "Samtykke fra foreldre (1 stemme)" in block_text(updated)
    barrier(server, fake_slack)
    assert len(fake_slack.posted(CHANNEL)) == 1  # the vote answered in place, not as a new post


def block_text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def test_a_pairing_opens_one_group_dm_per_pair(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)

    async def pairing() -> None:
        runtime = runtime_for(server, fake_slack)
        try:
            created = datetime.combine(date(2027, 1, 4), datetime.min.time(), OSLO)  # a Monday
            await set_up(runtime.store, pairing_weeks=2, created=created)
            # Planned on this week's Monday at 08:00 (its 09:00 send is within a day).
            await plan(runtime.store, created + timedelta(hours=8))
            await send_due(runtime, OutboxKind.NETWORK_PAIR)
        finally:
            await runtime.store.engine.dispose()

    asyncio.run(pairing())
    opened = [c for c in fake_slack.calls("conversations.open") if "," in str(c.body.get("users"))]
    assert len(opened) == 1  # three people in three units: one trio
    users = sorted(str(opened[0].body["users"]).split(","))
    assert users == ["UK1", "UK2", "UK3"]
    (message,) = fake_slack.posted("G" + "-".join(users))
    text = block_text_of(message)
    assert "Parsamtale i BTS-nettverket" in text
    assert "Kari (Bekkevegen barnehage)" in text and "Siri (Helsestasjonen)" in text
