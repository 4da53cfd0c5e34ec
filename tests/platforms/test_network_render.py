"""Every BTS-nettverk message, in nb and nn, as Slack Block Kit and as a Teams Adaptive Card
(checked against the official 1.5 schema): the acute exit among the actions shown (Teams shows at
most six), forms that carry their round back, and a digest of many topics within the limits."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.platforms.slack.render import decode_action_id, render_message
from bot.platforms.teams.render import MAX_ACTIONS, render_card
from dialogs.content import Content
from dialogs.messages import Message
from dialogs.network import screens
from dialogs.network.screens import NetTexts
from storage.network import Checkin, Round
from tests.platforms.test_teams import assert_valid_card

CONTENT = Content.load()
OSLO = ZoneInfo("Europe/Oslo")
TODAY = date(2027, 2, 1)
AT = datetime(2027, 2, 8, 13, 0, tzinfo=OSLO)


def round_(status: str = "voting") -> Round:
    return Round(7, "slack:T1", "bts-nettverk", "bts-nettverk-1", date(2027, 2, 10), True, status,
                 ("Felles fagdag", "Ny mal"), None)  # fmt: skip


def checkins(n: int) -> list[Checkin]:
    return [
        Checkin(i, 7, "slack", f"U{i}", f"Person {i}", f"Enhet {i % 4}", "Gjorde noe " * 20,
                "Lurt", "", f"Tema nummer {i} " + "langt " * 15)
        for i in range(n)
    ]  # fmt: skip


def messages(lang: str) -> dict[str, Message]:
    t = NetTexts(CONTENT, lang)
    many = checkins(40)
    counts = {c.id: c.id % 5 for c in many}
    members = [
        ["slack", "U1", "Kari", "Bekkevegen barnehage"],
        ["slack", "U2", "Ola", "Nord skole"],
    ]
    return {
        "checkin": screens.checkin_message(t, round_("checkin"), AT, TODAY),
        "form": Message(text="x", buttons=(t.acute(),), form=screens.checkin_form(t, 7)),
        "digest": screens.digest_message(t, round_(), many, counts, 40, AT, TODAY, (3, 2)),
        "agenda": screens.agenda_message(t, round_(), many, counts, TODAY),
        "host": screens.host_message(t, round_(), TODAY),
        "summary": screens.summary_message(t, round_(), TODAY),
        "pair": screens.pair_message(t, members, "U1", group=True),
        "followup": screens.pair_followup(t, 3, members, "U1"),
    }


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_network_message_is_a_valid_teams_card_with_the_acute_exit_shown(lang: str) -> None:
    for name, message in messages(lang).items():
        card = render_card(message, lang)
        assert_valid_card(card)
        actions = card.get("actions") or card["body"][-1].get("actions", [])
        assert 0 < len(actions) <= MAX_ACTIONS, name
        assert any(a.get("data", {}).get("action") == "guide:acute" for a in actions[:2]), name


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_network_message_fits_slack(lang: str) -> None:
    for name, message in messages(lang).items():
        rendered = render_message(message, lang)
        blocks = rendered.blocks
        assert len(blocks) <= 50, name
        ids = [
            decode_action_id(str(e.get("action_id", "")))[0]
            for b in blocks
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert "guide:acute" in ids[:2], (name, ids)
        for block in blocks:
            text = block.get("text", {}).get("text", "")
            assert len(text) <= 3000, name
            if block["type"] == "input":
                for option in block["element"].get("options", []):
                    assert len(option["text"]["text"]) <= 75
