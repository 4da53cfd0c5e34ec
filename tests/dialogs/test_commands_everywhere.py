"""Issue #9: every command word typed on every screen of every dialog gets a real answer, nb and nn.

The screens are found, not listed. Starting from the welcome, every command phrase, every FAQ topic
and an årshjul reminder, a walker presses every button and submits every form it is shown (filled
with harmless values) until no new (action, value) is left. On each screen found, every
``commands`` / ``*_commands`` list in ``dialogs/content/{nb,nn}/*.yaml`` is typed, each by one of its
phrases (turning from screen to screen, so every phrase is typed on several screens), plus a few
words people type that are no command ("avslutt", "språk"). Each answer must be a reply with text,
no unfilled ``{placeholder}``, never the "old button / content changed" notice (nothing is old
here), and inside the guide it keeps the "Akutt fare?" exit. A new step, topic, button or command
word is covered without touching this file.

The walker's user is the BTS-koordinator of a Slack tenant with an årshjul (so the admin form and
the reminder buttons are screens too). Rather than replaying the presses that led to a screen, the
test puts the stored dialog state back before each typed word: the state is all the router keeps
about where a user is. Runs on SQLite only: the storage side of these turns is covered per backend
elsewhere, and the cross product is a few thousand turns.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialogs.app import build_router
from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.tasks import ensure_tenant_setup, replace_arshjul
from dialogs.content import Content
from dialogs.faq import dialog as faq
from dialogs.feedback import SEPARATOR
from dialogs.guide.model import load_guides
from dialogs.messages import Button, Form, Reply, Turn
from dialogs.router import Router
from storage import directory
from storage.conversations import load_state, save_state
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.dialogs.test_arshjul_chat import ARSHJUL, HOLDERS, TENANT, add_row, render

CONTENT = Content.load()
WALKER = "UCOORD"  # holds BTS-koordinator in HOLDERS: an admin with reminders
PLATFORM = "slack"
NOT_COMMANDS = ("avslutt", "språk", "lang", "nynorsk", "bokmål", "tilbake tilbake")
ACUTE_ACTIONS = {"guide:acute", "help:acute"}
ACUTE_NODE = "akutt"
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_VOTE_ACTIONS = ("feedback:up", "feedback:down")


def command_lists(content: Content) -> dict[str, list[str]]:
    """Each ``commands`` / ``*_commands`` list by its key, with its phrases in every language."""
    lists: dict[str, dict[str, None]] = {}
    for flat in content.by_lang.values():
        for key, value in flat.items():
            name = key.rsplit(".", 1)[-1]
            if (name == "commands" or name.endswith("_commands")) and isinstance(value, list):
                lists.setdefault(key, {}).update((str(v), None) for v in value)
    return {key: list(phrases) for key, phrases in lists.items()}


COMMANDS = command_lists(CONTENT)
PHRASES = list(dict.fromkeys(p for phrases in COMMANDS.values() for p in phrases))


def typed_on_screen(number: int) -> list[str]:
    """What is typed on the ``number``-th screen: every command, each by one of its phrases, the
    phrase turning with the screen, so each phrase is typed on many screens and every command on
    every screen (a phrase of one list means the same everywhere, so all of them on every screen
    only repeated the same turn; the walk took over ten minutes)."""
    return [phrases[number % len(phrases)] for phrases in COMMANDS.values()] + list(NOT_COMMANDS)


def stale_notices() -> set[str]:
    """The texts that say "this button/message is old": wrong when nothing is old."""
    notices = {CONTENT.message(lang, "help.stale_button").text for lang in CONTENT.by_lang}
    guides = load_guides()
    notices |= {guides.get(lang).ui.stale.strip() for lang in guides.by_lang}
    return notices


STALE = stale_notices()


@dataclass
class Screen:
    """A place a user can be: how it was reached, the stored dialog state there, what was shown."""

    path: str
    state: tuple[str, str, dict[str, Any]]
    reply: Reply


def opens_acute(button: Button) -> bool:
    """The "Akutt fare?" button, or the first screen's "yes, maybe acute" choice."""
    return button.action in ACUTE_ACTIONS or (button.action, button.value) == (
        "guide:goto",
        ACUTE_NODE,
    )


def problems_with(reply: Reply, after: str) -> list[str]:
    """What is wrong with ``reply`` as a real answer (empty when nothing)."""
    found: list[str] = []
    if not reply.messages or not any(m.text.strip() for m in reply.messages):
        found.append(f"{after}: empty reply")
    for message in reply.messages:
        if _PLACEHOLDER.search(message.text):
            found.append(f"{after}: unfilled placeholder in {message.text[:80]!r}")
        if any(notice in message.text for notice in STALE):
            found.append(f"{after}: stale notice although nothing is old")
        in_guide = message.topic.startswith("uro")
        if in_guide and not any(opens_acute(b) for b in message.buttons):
            found.append(f"{after}: guide screen {message.topic} without the acute exit")
    return found


def filled(form: Form) -> dict[str, str]:
    """Harmless values a user could submit: the first choice, the minimum, a short word."""
    values: dict[str, str] = {}
    for field in form.fields:
        if field.kind == "choice" and field.options:
            values[field.name] = field.options[0].value
        elif field.kind in ("number", "scale"):
            values[field.name] = str(field.minimum if field.minimum is not None else 1)
        elif field.kind == "yesno":
            values[field.name] = "no"
        else:
            values[field.name] = "evaluering"
    return values


class Walker:
    """One user of the test tenant, whose stored position can be put back at will."""

    def __init__(self, router: Router, store: Store, user: str) -> None:
        self.router, self.store, self.user = router, store, user

    async def send(self, **kwargs: Any) -> Reply:
        return await self.router.handle(Turn(PLATFORM, TENANT, self.user, "D1", **kwargs))

    async def where(self) -> tuple[str, str, dict[str, Any]]:
        state = await load_state(self.store, TENANT, self.user)
        return state.dialog, state.step, copy.deepcopy(state.data)

    async def put_back(self, where: tuple[str, str, dict[str, Any]]) -> None:
        state = await load_state(self.store, TENANT, self.user)
        state.dialog, state.step, state.data = where[0], where[1], copy.deepcopy(where[2])
        assert await save_state(self.store, state)


def _edge(action: str, value: str) -> tuple[str, str]:
    """The identity of a press: vote buttons carry a fresh id per message, which says nothing."""
    if action in _VOTE_ACTIONS:
        return action, SEPARATOR.join(value.split(SEPARATOR)[:3])  # kind, ref, lang
    return action, value


async def discover_screens(walker: Walker, entries: list[Screen]) -> list[Screen]:
    """Every screen reachable from ``entries`` by pressing buttons and submitting forms."""
    screens: list[Screen] = []
    seen: set[tuple[str, str]] = set()
    queue = list(entries)
    while queue:
        screen = queue.pop(0)
        screens.append(screen)
        moves: list[tuple[str, dict[str, Any]]] = []
        for message in screen.reply.messages:
            for button in message.buttons:
                if button.action == "lang:set":
                    continue  # the language stays the one under test
                moves.append(
                    (
                        f"{button.action}={button.value}",
                        {"action": button.action, "value": button.value},
                    )
                )
            if message.form is not None:
                values = filled(message.form)
                moves.append(
                    (
                        f"{message.form.action} {values}",
                        {"action": message.form.action, "form_values": values},
                    )
                )
        for label, turn in moves:
            key = _edge(turn["action"], turn.get("value", "") or str(turn.get("form_values")))
            if key in seen:
                continue
            seen.add(key)
            await walker.put_back(screen.state)
            reply = await walker.send(**turn)
            path = f"{screen.path} → {label}"
            assert not problems_with(reply, path), problems_with(reply, path)
            queue.append(Screen(path, await walker.where(), reply))
    return screens


async def _router(tmp_path: Path) -> tuple[Router, Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'walk.sqlite3'}"
    await upgrade(url)
    store = Store(create_engine(url))
    await ensure_tenant(store, TENANT, PLATFORM, "T1")
    await ensure_tenant_setup(store, TENANT, platform=PLATFORM)
    await replace_arshjul(store, TENANT, parse_arshjul(ARSHJUL))
    await directory.replace_holders(store, TENANT, HOLDERS)
    return build_router(store, kommune_dir=tmp_path), store


async def entry_screens(walker: Walker, lang: str) -> list[Screen]:
    """Where a walk can begin: the welcome, each command, each FAQ topic, a reminder."""
    entries: list[Screen] = []

    async def enter(path: str, **turn: Any) -> None:
        reply = await walker.send(**turn)
        assert not problems_with(reply, path), problems_with(reply, path)
        entries.append(Screen(path, await walker.where(), reply))

    await enter("welcome", text="hei")
    if lang != "nb":
        await enter(f"lang:set={lang}", action="lang:set", value=lang)
    for phrase in PHRASES:
        await enter(repr(phrase), text=phrase)
    for topic in faq.TOPICS:
        await enter(f"faq:topic={topic}", action=faq.TOPIC_ACTION, value=topic)
    payload: dict[str, Any] = {
        "type": "reminder",
        "task": "kartlegging",
        "occurrence": "2027-01-11",
        "lead_days": 0,
        "role": "bts-koordinator",
        "unit": None,
        "deputy": False,
    }
    item_id = await add_row(
        walker.store,
        user=WALKER,
        task="kartlegging",
        occurrence="2027-01-11",
        unit=None,
        role="bts-koordinator",
        lead=0,
        kind="lead-0",
        payload=payload,
    )
    reminder = await render(walker.store, payload, lang, item_id)
    entries.append(Screen("reminder", await walker.where(), reminder))
    return entries


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_every_command_on_every_screen_gets_a_real_answer(tmp_path: Path, lang: str) -> None:
    router, store = await _router(tmp_path)
    walker = Walker(router, store, WALKER)
    screens = await discover_screens(walker, await entry_screens(walker, lang))
    topics = {m.topic for s in screens for m in s.reply.messages}
    guide = load_guides().get(lang)
    for _level, step_id, _step in guide.iter_steps():
        assert f"uro:{step_id}" in topics, f"the walk never reached guide step {step_id}"
    problems: list[str] = []
    typed_on: set[str] = set()
    typed: set[str] = set()
    for screen in screens:
        # Typed text is answered from the stored state alone, so screens that leave the same
        # state behind (an FAQ answer and the screen it was asked from) answer alike.
        where = json.dumps(screen.state, sort_keys=True)
        if where in typed_on:
            continue
        typed_on.add(where)
        for phrase in typed_on_screen(len(typed_on)):
            typed.add(phrase)
            await walker.put_back(screen.state)
            try:
                reply = await walker.send(text=phrase)
            except Exception as exc:  # report every failing pair, not only the first
                problems.append(f"{screen.path} → {phrase!r}: {type(exc).__name__}: {exc}")
                continue
            problems += problems_with(reply, f"{screen.path} → {phrase!r}")
    await store.engine.dispose()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    assert set(PHRASES) <= typed, f"never typed: {sorted(set(PHRASES) - typed)}"


async def test_every_command_as_the_very_first_message(tmp_path: Path) -> None:
    """Someone new gets the welcome with the answer, whatever command they start with."""
    router, store = await _router(tmp_path)
    problems: list[str] = []
    for number, phrase in enumerate((*PHRASES, *NOT_COMMANDS)):
        walker = Walker(router, store, f"UNEW{number}")
        reply = await walker.send(text=phrase)
        problems += problems_with(reply, f"first contact → {phrase!r}")
        if "velkommen" not in reply.messages[0].text:
            problems.append(f"first contact → {phrase!r}: no welcome")
    installed = await Walker(router, store, "UINSTALL").send()
    problems += problems_with(installed, "install event")
    await store.engine.dispose()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
