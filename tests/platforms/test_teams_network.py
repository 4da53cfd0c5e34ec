"""The BTS-nettverk in Teams, against the real server and the fake Bot Connector over HTTP: a
member's check-in submitted from a card is stored and the card becomes the thank-you; a vote
submitted from the digest card in the network's channel replaces that card (``update_activity``)
with the counts, a valid Adaptive Card with the acute exit among its actions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.platforms.teams.render import MAX_ACTIONS
from dialogs.arshjul.tasks import ensure_tenant_setup
from storage import directory
from storage import network as net
from storage.models import utcnow
from storage.network import DEFAULT_KEY, NetworkSettings
from storage.records import Holder
from tests.platforms.test_slack_modal import store_of
from tests.platforms.test_teams import (
    CHANNEL,
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


async def a_round(server: BotServer, status: str) -> int:
    """A network of Kari and two others in Teams, its next round at ``status``; the round id."""
    store = store_of(server)
    try:
        await ensure_tenant_setup(store, OUR_TENANT, timezone="Europe/Oslo", platform="teams")
        await directory.replace_holders(
            store, OUR_TENANT,
            [Holder("bts-kontakt", "Lia barnehage", "teams", USER_AAD, "Kari"),
             Holder("bts-kontakt", "Nord skole", "teams", "aad-2", "Ola"),
             Holder("bts-kontakt", "Helsestasjonen", "teams", "aad-3", "Siri")],
        )  # fmt: skip
        await net.put_network(store, NetworkSettings(OUR_TENANT, DEFAULT_KEY, "teams", CHANNEL))
        meeting = (utcnow() + timedelta(days=5)).date()
        round_ = await net.ensure_round(store, OUR_TENANT, DEFAULT_KEY, "x", meeting, False)
        for user, topic in (("aad-2", "Samtykke fra foreldre"), ("aad-3", "Stafettlogg")):
            await net.put_checkin(
                store, round_.id, platform="teams", user_id=user, display_name=user,
                unit="Nord skole", done="Noe gjort", smart="", learned="", topic=topic,
            )  # fmt: skip
        if status != net.CHECKIN:
            await net.advance(store, round_.id, status)
        return round_.id
    finally:
        await store.engine.dispose()


async def checkin_of_kari(server: BotServer, round_id: int) -> str:
    store = store_of(server)
    try:
        found = await net.checkin_of(store, round_id, "teams", USER_AAD)
        return found.done if found else ""
    finally:
        await store.engine.dispose()


def test_a_check_in_from_a_teams_card_is_stored(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))  # the tenant and the user exist
    fake_connector.wait_for(r"^/v3/conversations/.*/activities", method="POST")
    round_id = asyncio.run(a_round(server, net.CHECKIN))
    values = {"action": "network:checkin-save", "value": str(round_id),
              "done": "Undringssamtaler i to avdelinger", "topic": "Nye foreldremøter"}  # fmt: skip
    assert post(server, submit(fake_connector, values, reply_to="card-checkin"))[0] == 201
    [thanks] = fake_connector.wait_for(replies_to(PERSONAL, "card-checkin"), method="PUT")
    card = thanks.json["attachments"][0]["content"]
    assert_valid_card(card)
    assert any("Takk" in t for t in card_texts(card))
    assert asyncio.run(checkin_of_kari(server, round_id)) == "Undringssamtaler i to avdelinger"


def test_a_vote_in_the_channel_replaces_the_digest_card_with_the_counts(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))
    fake_connector.wait_for(r"^/v3/conversations/.*/activities", method="POST")
    round_id = asyncio.run(a_round(server, net.VOTING))

    async def topic_ids() -> dict[str, int]:
        store = store_of(server)
        try:
            return {c.topic: c.id for c in await net.checkins(store, round_id)}
        finally:
            await store.engine.dispose()

    ids = asyncio.run(topic_ids())
    vote = {"action": "network:vote", "value": str(round_id),
            "topics": f"{ids['Stafettlogg']}"}  # fmt: skip
    sent = submit(
        fake_connector, vote, reply_to="card-digest", conversation=CHANNEL,
        conversation_type="channel",
    )  # fmt: skip
    assert post(server, sent)[0] == 201
    [updated] = fake_connector.wait_for(replies_to(CHANNEL, "card-digest"), method="PUT")
    card = updated.json["attachments"][0]["content"]
    assert_valid_card(card)
    text = "\n".join(card_texts(card))
    assert "Stafettlogg (1 stemme)" in text and "Samtykke fra foreldre (ingen stemmer)" in text
    actions = card.get("actions") or card["body"][-1].get("actions", [])
    assert len(actions) <= MAX_ACTIONS
    assert any(a.get("data", {}).get("action") == "guide:acute" for a in actions[:2])
