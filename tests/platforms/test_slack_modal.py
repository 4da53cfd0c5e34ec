"""A survey answered in a Slack modal, against the real server and the fake Slack over HTTP:
"Svar nå" opens the modal (``views.open`` with the click's trigger id) with the acute exit above
the questions; a submit with personal data in the free text gets Slack's field errors in the very
HTTP response (the modal stays open, nothing stored); a good submit is stored once and the modal
shows the thank-you; a replayed submit counts nothing twice and a changed one replaces the answer;
the acute exit inside the modal is pushed on top of it; an expired trigger falls back to the
inline form in the DM; over Socket Mode the verdict rides on the envelope's ack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.platforms.slack.adapter import start_socket_mode
from bot.platforms.slack.modal import form_view, modal_message
from bot.runtime import Runtime
from dialogs.messages import Turn
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.launch import Audience
from dialogs.surveys.model import load_templates
from storage import directory, surveys
from storage.db import create_engine
from storage.models import utcnow
from storage.records import Holder
from storage.repositories import Store
from tests.platforms.test_slack import (
    SECRET,
    barrier,
    block_text,
    click_payload,
    send_payload,
    to_channel,
)
from tests.support.fake_slack import SOCKET_ACK, SOCKET_CONNECT, TEAM_ID, FakeSlack
from tests.support.server import BotServer

TENANT = f"slack:{TEAM_ID}"
SURVEY_SECRET = "modal test secret"
StartServer = Callable[..., BotServer]


def start(bot_server: StartServer, fake: FakeSlack) -> BotServer:
    return bot_server(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        SURVEY_SECRET=SURVEY_SECRET,
        REMINDERS_ENABLED="false",
    )


def store_of(server: BotServer) -> Store:
    settings = load_settings(data_dir=Path(server.env["DATA_DIR"]), _env_file=None)
    return Store(create_engine(settings.effective_database_url()))


async def launch_pulse(server: BotServer) -> str:
    """A pulse to five leaders (U1–U5) in the server's own database; the run id."""
    store = store_of(server)
    try:
        return await launch_into(store)
    finally:
        await store.engine.dispose()


async def launch_into(store: Store) -> str:
    """A pulse to five leaders (U1–U5); the run id."""
    await directory.setup_tenant(
        store, TENANT, template="hadsel", roles=[], tasks=[], timezone="Europe/Oslo",
        platform="slack",
    )  # fmt: skip
    for i in range(1, 6):
        await directory.put_holder(
            store, TENANT, Holder("virksomhetsleder", f"Enhet {i}", "slack", f"U{i}")
        )
    now = utcnow()
    run, _ = await survey_launch.launch(
        store,
        tenant_id=TENANT,
        template=load_templates()["puls"],
        audience=Audience.parse("role:virksomhetsleder"),
        closes_at=now + timedelta(days=7),
        now=now,
        min_group=5,
    )
    return run.id


async def answers_of(server: BotServer, run_id: str) -> list[surveys.Answer]:
    store = store_of(server)
    try:
        return await surveys.answers(store, TENANT, run_id)
    finally:
        await store.engine.dispose()


def open_click(fake: FakeSlack, run_id: str, user: str, trigger: str) -> dict[str, Any]:
    payload = click_payload(fake, "survey:open#1", f"D{user}", user, "1700000000.000100")
    payload["trigger_id"] = trigger
    payload["actions"][0]["value"] = run_id
    return payload


def submission(view: dict[str, Any], user: str, values: dict[str, Any]) -> dict[str, Any]:
    """The view_submission Slack sends for ``view`` with these element values."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        block_id = block["block_id"]
        element = block["element"]
        name = block_id.removeprefix("field:")
        if name not in values:
            state[block_id] = {element["action_id"]: {"type": element["type"]}}
            continue
        given = values[name]
        if element["type"] in ("radio_buttons", "static_select"):
            entry = {"type": element["type"], "selected_option": {"value": given}}
        else:
            entry = {"type": element["type"], "value": given}
        state[block_id] = {element["action_id"]: entry}
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "trigger_id": f"{time.time():.6f}.submit",
        "view": {**view, "state": {"values": state}},
    }


def submit(server: BotServer, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, text = send_payload(server, payload)
    return status, (json.loads(text) if text.strip() else {})


def opened_view(fake: FakeSlack, count: int = 1) -> dict[str, Any]:
    call = fake.wait_for("views.open", count=count)[-1]
    view = call.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    return next(
        v
        for v in reversed(fake.views.values())
        if v.get("private_metadata") == view["private_metadata"]
    )


@pytest.fixture
def server(bot_server: StartServer, fake_slack: FakeSlack) -> BotServer:
    return start(bot_server, fake_slack)


def test_svar_na_opens_a_modal_with_the_acute_exit_above_the_questions(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    run_id = asyncio.run(launch_pulse(server))
    assert send_payload(server, open_click(fake_slack, run_id, "U1", "T-OPEN-1"))[0] == 200
    call = fake_slack.wait_for("views.open")[0]
    assert call.body["trigger_id"] == "T-OPEN-1"
    view = opened_view(fake_slack)
    assert view["callback_id"] == "bts_form"
    assert json.loads(view["private_metadata"])["v"] == run_id
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"]
    kinds = [b["type"] for b in view["blocks"]]
    first_actions, first_input = kinds.index("actions"), kinds.index("input")
    assert first_actions < first_input  # the acute exit is seen before any question
    acute = view["blocks"][first_actions]["elements"][0]
    assert acute["action_id"].startswith("guide:acute")
    barrier(server, fake_slack)
    assert not fake_slack.calls("chat.postMessage", to_channel("DU1"))  # no inline copy


def test_a_modal_submit_is_checked_stored_once_and_thanked_in_the_modal(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    run_id = asyncio.run(launch_pulse(server))
    send_payload(server, open_click(fake_slack, run_id, "U2", "T-OPEN-2"))
    view = opened_view(fake_slack)

    personal = {"trygg": "4", "anbefale": "9", "hjelpe-mest": "Ring meg på 91234567"}
    status, answer = submit(server, submission(view, "U2", personal))
    assert status == 200
    assert answer["response_action"] == "errors"  # the modal stays open, with what was typed
    assert list(answer["errors"]) == ["field:hjelpe-mest"]
    assert "91234567" not in json.dumps(answer)
    assert asyncio.run(answers_of(server, run_id)) == []

    good = {"trygg": "4", "anbefale": "9", "hjelpe-mest": "Mer tid til samarbeid"}
    first = submission(view, "U2", good)
    status, answer = submit(server, first)
    assert status == 200 and answer["response_action"] == "update"
    thanks = json.dumps(answer["view"], ensure_ascii=False)
    assert "Takk" in thanks and "submit" not in answer["view"]
    assert len(asyncio.run(answers_of(server, run_id))) == 1

    assert submit(server, first) == (200, {})  # the same submit again: a replay, dropped
    changed = submission({**view, "hash": view["hash"] + "-2"}, "U2", {**good, "trygg": "2"})
    status, answer = submit(server, changed)
    assert answer["response_action"] == "update"
    (stored,) = asyncio.run(answers_of(server, run_id))  # replaced, never counted twice
    assert stored.values["trygg"] == 2


def test_the_acute_exit_inside_the_modal_is_pushed_on_top_of_it(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    run_id = asyncio.run(launch_pulse(server))
    send_payload(server, open_click(fake_slack, run_id, "U3", "T-OPEN-3"))
    view = opened_view(fake_slack)
    acute_id = next(b["elements"][0]["action_id"] for b in view["blocks"] if b["type"] == "actions")
    click = click_payload(fake_slack, acute_id, "", "U3", "")
    click["container"] = {"type": "view", "view_id": view["id"]}
    click["view"] = view
    click["trigger_id"] = "T-ACUTE-3"
    del click["channel"], click["message"], click["response_url"]
    assert send_payload(server, click)[0] == 200
    pushed = fake_slack.wait_for("views.push")[0]
    assert pushed.body["trigger_id"] == "T-ACUTE-3"
    text = json.dumps(pushed.body["view"], ensure_ascii=False)
    assert "barnevernvakt" in text.lower() or "politi" in text.lower()


def test_an_expired_trigger_falls_back_to_the_form_in_the_dm(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    run_id = asyncio.run(launch_pulse(server))
    fake_slack.expired_triggers.add("T-LATE")
    send_payload(server, open_click(fake_slack, run_id, "U4", "T-LATE"))
    # The invitation is replaced in place by the inline form, as without modals.
    (update,) = fake_slack.wait_for("chat.update", where=to_channel("DU4"))
    kinds = [b["type"] for b in update.body["blocks"]]
    assert "input" in kinds
    assert "guide:acute" in block_text(update)


async def test_over_socket_mode_the_verdict_rides_on_the_envelopes_ack(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_api_url=fake_slack.api_url,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        survey_secret=SURVEY_SECRET,
        reminders_enabled=False,
        _env_file=None,
    )
    runtime = await Runtime.start(settings)
    handler = await start_socket_mode(runtime)
    try:
        await asyncio.to_thread(fake_slack.wait_for, SOCKET_CONNECT)
        run_id = await launch_into(runtime.store)
        opened = await runtime.router.handle(
            Turn("slack", TENANT, "U5", "DU5", action="survey:open", value=run_id)
        )
        message = modal_message(opened)
        assert message is not None
        view = {**form_view(message, "nb", "DU5"), "id": "VSOCK", "hash": "h1"}
        personal = {"trygg": "3", "anbefale": "8", "hjelpe-mest": "Ring 91234567"}
        fake_slack.socket_send(
            {
                "envelope_id": "env-view",
                "type": "interactive",
                "accepts_response_payload": True,
                "payload": submission(view, "U5", personal),
            }
        )
        (ack,) = await asyncio.to_thread(
            fake_slack.wait_for,
            SOCKET_ACK,
            where=lambda c: c.body.get("envelope_id") == "env-view",
        )
        assert ack.body["payload"]["response_action"] == "errors"
        assert list(ack.body["payload"]["errors"]) == ["field:hjelpe-mest"]
    finally:
        await handler.close_async()
        await runtime.close()
