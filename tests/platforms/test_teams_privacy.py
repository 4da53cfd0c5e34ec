"""'slett dataene mine' in a Teams personal chat over real HTTP against the fake Bot Connector:
the confirmation card carries "Ja, slett alt"; pressing it replaces the card with what was
deleted, and the person's stored addresses (their user reference and the personal chat's) are
gone from the database. The next message stores them again, so reminders the person asks for
afterwards can still reach them (the process must not trust its cache of saved references)."""

from __future__ import annotations

from tests.platforms.test_teams import (
    PERSONAL,
    USER_AAD,
    StartServer,
    assert_card_says,
    card_of,
    message,
    post,
    references,
    replies_to,
    start,
    submit,
)
from tests.support.fake_connector import FakeConnector


def _actions(card: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def test_delete_my_data_in_a_personal_chat(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    hello = message(fake_connector, "hei")
    post(server, hello)
    fake_connector.wait_for(replies_to(PERSONAL, hello["id"]), method="POST")
    assert {(k, key) for _, k, key, _ in references(server)} == {
        ("user", USER_AAD), ("channel", PERSONAL),
    }  # fmt: skip

    ask = message(fake_connector, "slett dataene mine")
    assert post(server, ask)[0] == 201
    [confirm] = fake_connector.wait_for(replies_to(PERSONAL, ask["id"]), method="POST")
    assert_card_says(confirm, "**Vil du at jeg skal slette dette?**")
    [yes] = [a for a in _actions(card_of(confirm)) if a.get("title") == "Ja, slett alt"]

    click = submit(fake_connector, yes["data"], reply_to=confirm.answered_id)
    assert post(server, click)[0] == 201
    [done] = fake_connector.wait_for(replies_to(PERSONAL, confirm.answered_id), method="PUT")
    assert_card_says(done, "**Slettet**")
    assert references(server) == [], "the person's addresses are erased"

    again = message(fake_connector, "hei")
    post(server, again)
    fake_connector.wait_for(replies_to(PERSONAL, again["id"]), method="POST")
    assert {(k, key) for _, k, key, _ in references(server)} == {
        ("user", USER_AAD), ("channel", PERSONAL),
    }, "written again on the next message"  # fmt: skip
