"""Issue #9: typed "tilbake" does what a user expects in each dialog, in the core and over the
terminal chat and the web chat (where the crash showed as a traceback and an HTTP 500).

Inside the guide it goes back one guide step (the guide's own back), in the help screens one help
screen, and anywhere else (or with nothing to go back to) it shows the menu.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dialogs.app import build_router
from dialogs.messages import Reply, Turn
from dialogs.router import Router
from storage.repositories import Store
from tests.platforms.test_webchat import greeted, turn
from tests.support.server import BotServer, clean_env

#: The report in issue #9, typed.
REPORTED = ("hva gjør jeg ved uro?", "nivå 0", "neste", "tilbake")
FIRST_STEP = "uro:n0_undring"


class Chat:
    def __init__(self, router: Router, user: str = "u1") -> None:
        self.router, self.user = router, user

    async def say(self, text: str) -> Reply:
        return await self.router.handle(Turn("web", "local", self.user, "c1", text=text))

    async def press(self, action: str, value: str = "") -> Reply:
        return await self.router.handle(
            Turn("web", "local", self.user, "c1", action=action, value=value)
        )


@pytest.fixture
async def chat(store: Store) -> Chat:
    chat = Chat(build_router(store))
    await chat.say("hei")  # first contact done
    return chat


async def test_back_in_the_guide_goes_one_guide_step_back(chat: Chat) -> None:
    replies = [await chat.say(text) for text in REPORTED]
    assert [r.topic for r in replies[1:]] == ["uro:n0_undring", "uro:n0_konkretiser", FIRST_STEP]
    assert (await chat.say("tilbake")).topic == "uro"  # the guide's first screen
    assert (await chat.say("neste")).topic != "hjelp", "still inside the guide"


@pytest.mark.parametrize("word", ["tilbake", "attende", "forrige", "back"])
async def test_back_words_in_nynorsk_inside_the_guide(chat: Chat, word: str) -> None:
    await chat.press("lang:set", "nn")
    await chat.say("uro")
    await chat.say("nivå 1")
    await chat.say("neste")
    reply = await chat.say(word)
    assert reply.topic.startswith("uro:n1_") and reply.lang == "nn"
    assert any(b.action == "guide:acute" for b in reply.messages[0].buttons)


async def test_back_in_help_goes_one_help_screen_back(chat: Chat) -> None:
    await chat.say("hjelp")
    await chat.say("hva er bts")
    assert (await chat.say("tilbake")).topic == "hjelp"
    assert (await chat.say("tilbake")).topic == "hjelp"  # the welcome, then nothing older
    assert (await chat.say("tilbake")).topic == "hjelp"


async def test_help_opened_inside_the_guide_does_not_take_over_its_steps(chat: Chat) -> None:
    """The help screens once inherited the guide's history and then looked up ``help.<step>``."""
    await chat.say("uro")
    await chat.say("nivå 2")
    await chat.say("hjelp")
    about = await chat.say("om bts")
    assert about.topic == "om-bts"
    assert (await chat.say("tilbake")).topic == "hjelp"
    assert (await chat.say("tilbake")).topic == "hjelp"


async def test_back_from_the_acute_path_opened_on_the_reminder_form(chat: Chat) -> None:
    """Was "Den knappen hører til en gammel melding": the form is no node the guide can render."""
    step = await chat.press("guide:goto", "n1_evaluer")
    followup = next(b for b in step.messages[0].buttons if b.action == "guide:followup")
    form = await chat.press(followup.action, followup.value)
    assert form.messages[0].form is not None
    assert (await chat.press("guide:acute")).topic == "akutt"
    back = await chat.say("tilbake")
    assert back.messages[0].form is not None, "back on the reminder form"
    assert (await chat.press("guide:back")).topic == "uro:n1_evaluer"


async def test_back_after_an_faq_answer_and_as_the_first_word(store: Store) -> None:
    router = build_router(store)
    first = await Chat(router, "new").say("tilbake")
    assert "velkommen" in first.messages[0].text and first.topic == "hjelp"
    chat = Chat(router, "u2")
    await chat.say("hei")
    await chat.say("hva er en stafettlogg?")
    assert (await chat.say("tilbake")).topic == "hjelp"


def test_back_in_the_guide_in_the_terminal_chat(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="\n".join(("hei", *REPORTED, "tilbake")) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(tmp_path / "terminal-data"),
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    last = result.stdout.rsplit("Steg 2", 1)[-1]
    assert "Steg 1" in last and "Veileder ved uro" in last


def test_back_in_the_guide_over_the_web_chat(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    session = greeted(server)
    topics = [turn(server, session, text=text)["topic"] for text in REPORTED]  # asserts HTTP 200
    assert topics[-1] == FIRST_STEP
