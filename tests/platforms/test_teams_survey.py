"""A survey answered in a Teams card, against the real server and the fake Bot Connector over
HTTP: the submit is stored once and the card is replaced by the thank-you (``update_activity``);
a misfit replaces it by the form again with what fitted still filled in and nothing stored; a
second submit replaces the answer, never counts twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.platforms.teams.render import CARD_CONTENT_TYPE
from dialogs.surveys.dialog import A_ANSWER
from dialogs.surveys.model import load_templates
from storage import directory, surveys
from storage.models import utcnow
from storage.surveys import Recipient
from tests.platforms.test_slack_modal import store_of
from tests.platforms.test_teams import (
    PERSONAL,
    TENANT,
    USER_AAD,
    StartServer,
    assert_valid_card,
    card_texts,
    message,
    post,
    replies_to,
    start,
    submit,
)
from tests.support.fake_connector import FakeConnector
from tests.support.server import BotServer

OUR_TENANT = f"teams:{TENANT}"


async def launch(server: BotServer) -> str:
    store = store_of(server)
    try:
        await directory.get_settings(store, OUR_TENANT)  # the tenant row exists (first message)
        now = utcnow()
        template = load_templates()["puls"]
        run, _ = await surveys.launch(
            store, tenant_id=OUR_TENANT, template_key="puls",
            template=template.model_dump(mode="json"), anonymity="anonymous",
            audience={"kind": "all"},
            recipients=[Recipient("teams", USER_AAD, "Lia")]
            + [Recipient("teams", f"aad-{i}", "Lia") for i in range(5)],
            opens_at=now, closes_at=now + timedelta(days=7), min_group=5,
        )  # fmt: skip
        return run.id
    finally:
        await store.engine.dispose()


async def count(server: BotServer, run_id: str) -> int:
    store = store_of(server)
    try:
        return await surveys.answer_count(store, run_id)
    finally:
        await store.engine.dispose()


def test_a_card_submit_is_stored_once_and_the_card_becomes_the_thank_you(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))  # the tenant and the user exist
    fake_connector.wait_for(r"^/v3/conversations/.*/activities", method="POST")
    run_id = asyncio.run(launch(server))

    misfit = {"action": A_ANSWER, "value": run_id, "trygg": "4", "anbefale": "11"}
    assert post(server, submit(fake_connector, misfit, reply_to="card-1"))[0] == 201
    [again] = fake_connector.wait_for(replies_to(PERSONAL, "card-1"), method="PUT")
    card = again.json["attachments"][0]
    assert card["contentType"] == CARD_CONTENT_TYPE
    assert_valid_card(card["content"])
    inputs = {e["id"]: e for e in card["content"]["body"] if e.get("id")}
    assert inputs["trygg"]["value"] == "4" and "value" not in inputs["anbefale"]
    assert any("høyst 10" in t for t in card_texts(card["content"]))
    assert asyncio.run(count(server, run_id)) == 0

    good = {"action": A_ANSWER, "value": run_id, "trygg": "4", "anbefale": "9"}
    assert post(server, submit(fake_connector, good, reply_to="card-1"))[0] == 201
    updates = fake_connector.wait_for(replies_to(PERSONAL, "card-1"), method="PUT", count=2)
    thanks = updates[1].json["attachments"][0]["content"]
    assert_valid_card(thanks)
    assert any("Takk" in t for t in card_texts(thanks))
    assert not [e for e in thanks["body"] if e.get("type", "").startswith("Input.")]
    assert asyncio.run(count(server, run_id)) == 1

    changed = {**good, "trygg": "2"}
    assert post(server, submit(fake_connector, changed, reply_to="card-1"))[0] == 201
    fake_connector.wait_for(replies_to(PERSONAL, "card-1"), method="PUT", count=3)
    assert asyncio.run(count(server, run_id)) == 1  # replaced, never counted twice
