"""The whole handlingsveileder (nivå 0 → 3 → avslutt) walked over each platform's real transport.

One walker presses the guide's own buttons (by action and value, so it is language-neutral); four
drivers carry the presses: the web chat API, Slack (signed events and block_actions against the
fake Slack Web API, answers read back from chat.postMessage / chat.update blocks), Teams (activities
and Action.Submit against the fake Bot Connector, answers read back from the Adaptive Cards), and the
terminal (``bts-bot chat`` with the presses typed as button numbers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.platforms.test_slack import click_payload, dm, send_event, send_payload, to_channel
from tests.platforms.test_slack import start as start_slack
from tests.platforms.test_teams import PERSONAL, message, post, replies_to, submit
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack
from tests.support.server import BotServer, clean_env

LEVEL_TITLES = ("Nivå 0", "Nivå 1", "Nivå 2", "Nivå 3")
NEXT_LEVELS = ("nivaa1", "nivaa2", "nivaa3")
ENDING_WORDS = {"nb": "Dokumenter vurderingen", "nn": "Dokumenter vurderinga"}


@dataclass
class Screen:
    text: str
    buttons: list[tuple[str, str]]  # (action, value) in the order shown


class Driver(Protocol):
    def say(self, text: str) -> Screen: ...

    def press(self, action: str, value: str) -> Screen: ...


def walk_whole_guide(driver: Driver) -> tuple[list[Screen], list[tuple[str, str]]]:
    """Enter with "uro", go level by level to nivå 3 and close; return the screens and presses."""
    driver.say("hei")  # first contact (welcome) out of the way
    screens = [driver.say("uro")]
    presses: list[tuple[str, str]] = []
    pending = list(NEXT_LEVELS)

    def press(action: str, value: str) -> None:
        presses.append((action, value))
        screens.append(driver.press(action, value))

    press("guide:goto", "nivaa0")
    for _ in range(60):
        screen = screens[-1]
        assert ("guide:acute", "") in screen.buttons, f"no acute exit on: {screen.text[:80]}"
        gotos = [value for action, value in screen.buttons if action == "guide:goto"]
        if pending and pending[0] in gotos:
            press("guide:goto", pending.pop(0))
        elif not pending and "avslutt" in gotos:
            press("guide:goto", "avslutt")
            return screens, presses
        else:
            assert gotos, f"stuck on: {screen.text[:120]}"
            press("guide:goto", gotos[0])
    pytest.fail("the walk did not reach the end of nivå 3")


def assert_complete_walk(screens: list[Screen], lang: str) -> None:
    texts = "\n".join(s.text for s in screens)
    for title in LEVEL_TITLES:
        assert title in texts, f"{title} never shown"
    assert ENDING_WORDS[lang] in screens[-1].text
    assert sum("Steg" in s.text for s in screens) >= 16, "every level has its steps"


# web chat ----------------------------------------------------------------------------------------


class WebDriver:
    def __init__(self, server: BotServer, session: str) -> None:
        self.url = server.base_url + "/api/webchat/turn"
        self.session = session

    def _send(self, payload: dict[str, Any]) -> Screen:
        body = json.dumps({"session": self.session, **payload}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=20) as resp:
            reply = json.loads(resp.read())["reply"]
        return Screen(
            "\n".join(m["text"] for m in reply["messages"]),
            [(b["action"], b["value"]) for m in reply["messages"] for b in m["buttons"]],
        )

    def say(self, text: str) -> Screen:
        return self._send({"text": text})

    def press(self, action: str, value: str) -> Screen:
        return self._send({"action": action, "value": value})


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_whole_guide_over_the_web_chat(bot_server: Callable[..., BotServer], lang: str) -> None:
    driver = WebDriver(bot_server(BOT_LANGUAGE=lang), f"walk-{lang}-session")
    screens, _ = walk_whole_guide(driver)
    assert_complete_walk(screens, lang)
    if lang == "nn":
        assert "ikkje her" in screens[-1].text


# Slack -------------------------------------------------------------------------------------------


def _slack_screen(call: Any) -> Screen:
    blocks = call.body["blocks"]
    if isinstance(blocks, str):  # form-encoded Web API calls carry blocks as a JSON string
        blocks = json.loads(blocks)
    texts: list[str] = []
    buttons: list[tuple[str, str]] = []
    for block in blocks:
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "button":
                buttons.append((element["action_id"].rpartition("#")[0], element.get("value", "")))
    return Screen("\n".join(texts).replace("*", ""), buttons)


class SlackDriver:
    user, channel = "UWALK1", "DWALK1"

    def __init__(self, server: BotServer, fake: FakeSlack) -> None:
        self.server, self.fake = server, fake
        self.ts = ""
        self.updates = 0

    def say(self, text: str) -> Screen:
        before = len(self.fake.calls("chat.postMessage", to_channel(self.channel)))
        assert send_event(self.server, dm(self.user, self.channel, text))[0] == 200
        posts = self.fake.wait_for(
            "chat.postMessage", count=before + 1, where=to_channel(self.channel)
        )
        self.ts = f"17000000{len(posts):02d}.000100"  # the fake does not check message ts
        return _slack_screen(posts[-1])

    def press(self, action: str, value: str) -> Screen:
        payload = click_payload(self.fake, f"{action}#0", self.channel, self.user, self.ts)
        payload["actions"][0]["value"] = value
        assert send_payload(self.server, payload)[0] == 200
        self.updates += 1
        update = self.fake.wait_for("chat.update", count=self.updates)[-1]
        assert update.body["ts"] == self.ts, "the clicked message is updated in place"
        return _slack_screen(update)


def test_whole_guide_over_slack(
    bot_server: Callable[..., BotServer], fake_slack: FakeSlack
) -> None:
    driver = SlackDriver(start_slack(bot_server, fake_slack), fake_slack)
    screens, presses = walk_whole_guide(driver)
    assert_complete_walk(screens, "nb")
    assert len(fake_slack.calls("chat.update")) == len(presses)


# Teams -------------------------------------------------------------------------------------------


def _card_screen(card: dict[str, Any]) -> Screen:
    texts = [str(e.get("text", "")) for e in card.get("body", []) if e.get("type") == "TextBlock"]
    # What Teams shows: the body's action sets (a long row is split into several), then the card's.
    sets = [e["actions"] for e in card.get("body", []) if e.get("type") == "ActionSet"]
    buttons = [
        (a["data"]["action"], a["data"].get("value", ""))
        for a in [*(a for s in sets for a in s), *card.get("actions", [])]
        if a.get("type") == "Action.Submit"
    ]
    return Screen("\n".join(texts).replace("**", ""), buttons)


class TeamsDriver:
    def __init__(self, server: BotServer, fake: FakeConnector) -> None:
        self.server, self.fake = server, fake
        self.card_id = ""

    def say(self, text: str) -> Screen:
        note = message(self.fake, text)
        assert post(self.server, note)[0] in (200, 201)
        call = self.fake.wait_for(replies_to(PERSONAL, note["id"]))[-1]
        self.card_id = call.answered_id
        return _card_screen(call.json["attachments"][0]["content"])

    def press(self, action: str, value: str) -> Screen:
        click = submit(self.fake, {"action": action, "value": value}, self.card_id)
        before = len(self.fake.calls(method="PUT"))
        assert post(self.server, click)[0] in (200, 201)
        put = self.fake.wait_for(
            replies_to(PERSONAL, self.card_id), count=before + 1, method="PUT"
        )[-1]
        return _card_screen(put.json["attachments"][0]["content"])


def test_whole_guide_over_teams(
    bot_server: Callable[..., BotServer], fake_connector: FakeConnector
) -> None:
    screens, _ = walk_whole_guide(TeamsDriver(bot_server(), fake_connector))
    assert_complete_walk(screens, "nb")


# terminal ----------------------------------------------------------------------------------------


def test_whole_guide_in_the_terminal(bot_server: Callable[..., BotServer], tmp_path: Path) -> None:
    """The presses the web walk made, typed as button numbers into ``bts-bot chat``."""
    web = WebDriver(bot_server(), "walk-terminal-plan")
    screens, presses = walk_whole_guide(web)
    lines = ["hei", "uro"]
    for screen, pressed in zip(screens, presses, strict=False):
        lines.append(str(screen.buttons.index(pressed) + 1))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "terminal-data"),
    )
    assert result.returncode == 0, result.stderr
    for title in LEVEL_TITLES:
        assert title in result.stdout
    assert ENDING_WORDS["nb"] in result.stdout.rsplit("Nivå 3", 1)[-1]
