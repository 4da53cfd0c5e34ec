"""Issue #11, point 2: the acute exit as each client really shows it, first on every screen.

Teams shows at most six actions of an action set and drops the rest; Slack takes at most 25
elements per actions block and 50 blocks per message. On every screen a user can reach (the walk of
``test_commands_everywhere``, nb and nn) the rendered Teams card and Slack blocks must stay within
those limits and lose no button, and "Akutt fare?" is the first button of the message model and in
the first action container each client shows (Teams: the first action set, after a form's submit
at most; Slack: the first actions block). The guide's, the help menu's and the feedback form's
screens must all carry it (the guide's first screen opens with its "yes, it may be acute" choice),
and so must the answer to every free-text topic, nb and nn.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.platforms.slack.render import decode_action_id, render_message
from bot.platforms.teams.render import MAX_ACTIONS, render_card
from dialogs.faq.dialog import TOPICS
from dialogs.messages import Message
from tests.dialogs.test_commands_everywhere import (
    WALKER,
    Walker,
    _router,
    discover_screens,
    entry_screens,
)
from tests.platforms.test_teams import assert_valid_card

SLACK_ACTIONS_PER_BLOCK = 25
SLACK_BLOCKS = 50
ACUTE = "guide:acute"
#: Screens that must offer the acute exit (topics; the guide's start with its own acute choice):
#: the help and feedback screens and every FAQ answer but the acute answer itself.
MUST_CARRY = ("hjelp", "om-bts", "ukjent", "tilbakemelding", *(t for t in TOPICS if t != "akutt"))
GUIDE_TOPIC = "uro"


def must_carry(message: Message) -> bool:
    """Guide screens (but the acute path itself) and the help and feedback screens with buttons."""
    if not message.buttons and message.form is None:
        return False  # a notice shown above the screen that has the buttons
    guide = message.topic == GUIDE_TOPIC or message.topic.startswith(GUIDE_TOPIC + ":")
    return guide or message.topic in MUST_CARRY


def acute_first(message: Message) -> bool:
    """The model's first button is the acute exit (or, on the guide's start, its acute choice)."""
    if not message.buttons:
        return False
    first = message.buttons[0]
    return first.action == ACUTE or (first.action, first.value) == ("guide:goto", "akutt")


def action_sets(card: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every action container of a card, in the order Teams shows them (body first)."""
    sets = [el["actions"] for el in card["body"] if el.get("type") == "ActionSet"]
    if card.get("actions"):
        sets.append(card["actions"])
    return sets


def card_problems(message: Message, lang: str, where: str) -> list[str]:
    card = render_card(message, lang)
    assert_valid_card(card)
    sets = action_sets(card)
    problems = [
        f"{where}: an action set of {len(s)} (Teams shows {MAX_ACTIONS})"
        for s in sets
        if len(s) > MAX_ACTIONS
    ]
    shown = [a for s in sets for a in s[:MAX_ACTIONS]]
    expected = len(message.buttons) + len(message.links) + (message.form is not None)
    if len(shown) != expected:
        problems.append(f"{where}: {expected} actions, Teams shows {len(shown)}")
    if any(b.action == ACUTE for b in message.buttons):
        if not any(a.get("data", {}).get("action") == ACUTE for a in shown):
            problems.append(f"{where}: Teams does not show the acute exit")
        if not any(a.get("data", {}).get("action") == ACUTE for a in sets[0]):
            problems.append(f"{where}: the acute exit is not in Teams' first action set")
    return problems


def slack_problems(message: Message, lang: str, where: str) -> list[str]:
    blocks = list(render_message(message, lang).blocks)
    problems = [f"{where}: {len(blocks)} Slack blocks"] if len(blocks) > SLACK_BLOCKS else []
    problems += [
        f"{where}: a Slack actions block of {len(b['elements'])}"
        for b in blocks
        if b["type"] == "actions" and len(b["elements"]) > SLACK_ACTIONS_PER_BLOCK
    ]
    if any(b.action == ACUTE for b in message.buttons):
        first = next(b for b in blocks if b["type"] == "actions")
        actions = [decode_action_id(e["action_id"])[0] for e in first["elements"]]
        if ACUTE not in actions:
            problems.append(f"{where}: the acute exit is not in Slack's first actions block")
    return problems


def model_problems(message: Message, where: str) -> list[str]:
    carries = any(b.action == ACUTE for b in message.buttons)
    if carries and message.buttons[0].action != ACUTE:
        return [f"{where}: the acute exit is not the first button ({message.topic})"]
    if must_carry(message) and not acute_first(message):
        return [f"{where}: {message.topic} has no acute exit first"]
    return []


def all_problems(message: Message, lang: str, where: str) -> list[str]:
    """What the model, a Teams card and Slack blocks of one message get wrong."""
    return (
        model_problems(message, where)
        + card_problems(message, lang, where)
        + slack_problems(message, lang, where)
    )


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_every_screen_shows_the_acute_exit_within_the_clients_limits(
    tmp_path: Path, lang: str
) -> None:
    router, store = await _router(tmp_path)
    walker = Walker(router, store, WALKER)
    screens = await discover_screens(walker, await entry_screens(walker, lang))
    problems: list[str] = []
    with_acute = 0
    for screen in screens:
        for i, message in enumerate(screen.reply.messages):
            where = f"{screen.path} [{i}]"
            with_acute += any(b.action == ACUTE for b in message.buttons)
            problems += all_problems(message, lang, where)
    await store.engine.dispose()
    topics = {m.topic for screen in screens for m in screen.reply.messages}
    assert with_acute > 50, "the walk reached the guide's screens"
    assert {"uro:n1_beslutt:mer", "tilbakemelding", "hjelp"} <= topics, "and the new ones"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_the_model_puts_the_acute_exit_first_whoever_builds_the_message() -> None:
    from dataclasses import replace

    from dialogs.messages import Button

    built = Message("x", buttons=(Button("Meny", "help:menu"), Button("Akutt fare?", ACUTE)))
    assert [b.action for b in built.buttons] == [ACUTE, "help:menu"]
    more = replace(built, buttons=(*built.buttons, Button("👍", "feedback:up")))
    assert [b.action for b in more.buttons] == [ACUTE, "help:menu", "feedback:up"]
    plain = Message("x", buttons=(Button("B", "b"), Button("A", "a")))
    assert [b.action for b in plain.buttons] == ["b", "a"], "no other button moves"


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_every_faq_answer_offers_the_acute_exit_first(tmp_path: Path, lang: str) -> None:
    router, store = await _router(tmp_path)
    walker = Walker(router, store, WALKER)
    await walker.send(action="lang:set", value=lang)
    problems: list[str] = []
    for topic in TOPICS:
        if topic == "akutt":
            continue
        reply = await walker.send(action="faq:topic", value=topic)
        assert reply.messages, topic
        for message in reply.messages:
            where = f"faq {topic} ({message.topic})"
            problems += all_problems(message, lang, where)
        assert any(acute_first(m) for m in reply.messages), topic
    await store.engine.dispose()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_the_acute_answer_with_another_topic_offered_stays_within_the_limits(
    tmp_path: Path, lang: str
) -> None:
    """The net's acute answer carries the likeliest other topic second; any topic may be it."""
    from dialogs.faq.dialog import also_offered

    router, store = await _router(tmp_path)
    walker = Walker(router, store, WALKER)
    await walker.send(action="lang:set", value=lang)
    acute = await walker.send(action="faq:topic", value="akutt")
    await store.engine.dispose()
    ctx: Any = SimpleNamespace(lang=lang, content=router.content)  # what also_offered reads
    problems: list[str] = []
    for topic in TOPICS:
        if topic in ("akutt", "ukjent"):
            continue
        reply = also_offered(ctx, acute, topic)
        message = reply.messages[0]
        where = f"akutt + {topic}"
        assert message.buttons[0].action == ACUTE, where
        assert (message.buttons[1].action, message.buttons[1].value) == ("faq:topic", topic)
        problems += all_problems(message, lang, where)
    assert not problems, "\n".join(problems)
