"""The core router and help dialog, on SQLite and PostgreSQL (via the ``store`` fixture)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from dialogs.app import build_router
from dialogs.content import CONTENT_DIR, Content, ContentError
from dialogs.faq import dialog as faq_dialog
from dialogs.messages import Turn
from dialogs.pii import find_personal_data
from dialogs.router import Router
from storage.conversations import load_state
from storage.repositories import Store


def text_turn(text: str, user: str = "u1", tenant: str = "local") -> Turn:
    return Turn("web", tenant, user, "c1", text=text)


def press(action: str, value: str = "", user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", action=action, value=value)


async def greeted_router(store: Store, user: str = "u1") -> Router:
    router = build_router(store)
    await router.handle(text_turn("hei", user))  # first contact done
    return router


async def test_first_contact_gets_welcome_before_the_answer(store: Store) -> None:
    router = build_router(store)
    reply = await router.handle(text_turn("qwertyuiop"))
    assert reply.topic == "ukjent"
    assert "velkommen" in reply.messages[0].text
    assert "forstod jeg ikke" in reply.messages[-1].text
    again = await router.handle(text_turn("qwertyuiop"))
    assert len(again.messages) == 1 and "velkommen" not in again.messages[0].text


async def test_first_help_gets_the_welcome_and_then_the_menu(store: Store) -> None:
    # The welcome tells people to write «hjelp»: someone who starts with it gets the menu too.
    router = build_router(store)
    menu = router.content.message("nb", "help.menu").text
    reply = await router.handle(text_turn("hjelp"))
    assert reply.topic == "hjelp"
    assert [m.text for m in reply.messages][1:] == [menu]
    assert "velkommen" in reply.messages[0].text and "velkommen" not in menu
    assert reply.messages[-1].buttons


@pytest.mark.parametrize("typed", ["hei", "Hallo!", "start"])
async def test_a_first_greeting_is_answered_by_the_welcome_alone(store: Store, typed: str) -> None:
    router = build_router(store)
    first = await router.handle(text_turn(typed))
    assert len(first.messages) == 1 and "velkommen" in first.messages[0].text
    later = await router.handle(text_turn(typed))
    menu = router.content.message("nb", "help.menu").text
    assert len(later.messages) == 1 and later.messages[0].text == menu


@pytest.mark.parametrize(
    "typed", ["hjelp", "HJELP!", "Hjelp?", "/bts hjelp", "<@U0BOT> hjelp", "  meny ", "kva kan du"]
)
async def test_help_phrases_open_the_menu(store: Store, typed: str) -> None:
    router = await greeted_router(store)
    reply = await router.handle(text_turn(typed))
    assert reply.topic == "hjelp"
    assert reply.messages[0].buttons, "help must offer buttons"
    assert not reply.replace


async def test_unknown_text_is_honest_and_offers_help_buttons(store: Store) -> None:
    router = await greeted_router(store)
    reply = await router.handle(text_turn("hvor mange pingviner bor i Bodø"))
    assert reply.topic == "ukjent"
    actions = {b.action for b in reply.messages[0].buttons}
    assert "help:menu" in actions and "guide:acute" in actions


async def test_button_press_updates_in_place(store: Store) -> None:
    router = await greeted_router(store)
    reply = await router.handle(press("help:about"))
    assert reply.topic == "om-bts" and reply.replace
    assert "Nivå 0" in reply.messages[0].text


async def test_unknown_action_gets_stale_notice_and_menu(store: Store) -> None:
    router = await greeted_router(store)
    assert not router.known_action("guide:does-not-exist")
    reply = await router.handle(press("guide:does-not-exist"))
    assert reply.topic == "ukjent" and not reply.replace
    assert reply.messages[-1].buttons


async def test_language_choice_is_stored_and_used(store: Store) -> None:
    router = await greeted_router(store)
    switched = await router.handle(press("lang:set", "nn"))
    assert switched.lang == "nn" and "nynorsk" in switched.messages[0].text
    later = await build_router(store).handle(text_turn("hjelp"))
    assert later.lang == "nn" and "Dette kan eg" in later.messages[0].text
    back = await build_router(store).handle(press("lang:set", "nb"))
    assert back.lang == "nb" and "bokmål" in back.messages[0].text


async def test_language_value_outside_nb_nn_is_ignored(store: Store) -> None:
    router = await greeted_router(store)
    reply = await router.handle(press("lang:set", "en"))
    assert reply.lang == "nb"


async def test_back_survives_a_restart(store: Store) -> None:
    router = await greeted_router(store)
    await router.handle(press("help:about"))
    await router.handle(press("help:menu"))
    restarted = build_router(store)  # a new process on the same database
    reply = await restarted.handle(text_turn("tilbake"))
    assert reply.topic == "om-bts"
    state = await load_state(store, "local", "u1")
    assert state.dialog == "help" and state.step == "about"


async def test_state_is_per_user_and_per_tenant(store: Store) -> None:
    router = await greeted_router(store, "u1")
    await router.handle(text_turn("hei", "u2"))
    await router.handle(press("help:about", user="u1"))
    assert (await load_state(store, "local", "u2")).step != "about"
    assert (await load_state(store, "local", "u1")).step == "about"


async def test_double_click_is_handled_one_at_a_time(store: Store) -> None:
    router = await greeted_router(store)
    await asyncio.gather(*(router.handle(press("help:about")) for _ in range(5)))
    state = await load_state(store, "local", "u1")
    assert state.data["history"].count("about") == 1


async def test_two_processes_never_lose_a_state_update(store: Store) -> None:
    first, second = build_router(store), build_router(store)
    await first.handle(text_turn("hei"))
    screens = ["about", "menu"] * 3
    await asyncio.gather(
        *(
            (first if i % 2 else second).handle(press(f"help:{screen}"))
            for i, screen in enumerate(screens)
        )
    )
    state = await load_state(store, "local", "u1")
    assert state.version >= 2
    assert state.step in ("about", "menu")


def test_content_has_same_keys_in_both_languages() -> None:
    content = Content.load()
    assert set(content.by_lang["nb"]) == set(content.by_lang["nn"])
    assert content.text("nn", "help.language_set.text") != content.text(
        "nb", "help.language_set.text"
    )


def test_content_with_a_button_to_nowhere_refuses_to_load(tmp_path: Path, store: Store) -> None:
    shutil.copytree(CONTENT_DIR, tmp_path, dirs_exist_ok=True)
    for lang in ("nb", "nn"):
        help_file = tmp_path / lang / "help.yaml"
        text = help_file.read_text(encoding="utf-8")
        help_file.write_text(text.replace("action: help:about", "action: help:nowhere"))
    with pytest.raises(ContentError, match="help:nowhere"):
        build_router(store, Content.load(tmp_path))


def test_content_missing_in_one_language_refuses_to_load(tmp_path: Path) -> None:
    for lang in ("nb", "nn"):
        (tmp_path / lang).mkdir()
    (tmp_path / "nb" / "x.yaml").write_text("a:\n  text: hei\n")
    (tmp_path / "nn" / "x.yaml").write_text("b:\n  text: hei\n")
    with pytest.raises(ContentError, match=r"x\.a"):
        Content.load(tmp_path)


async def test_the_pii_guard_runs_once_per_turn(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Free text is checked for personal data once, however many dialogs it passes through."""
    checked: list[str] = []

    def counting(text: str) -> list[str]:
        checked.append(text)
        return find_personal_data(text)

    monkeypatch.setattr(faq_dialog, "find_personal_data", counting)
    router = await greeted_router(store)
    question = "hvordan skriver jeg en bekymringsmelding"
    checked.clear()
    answered = await router.handle(text_turn(question))
    assert answered.topic != faq_dialog.PII_TOPIC and checked == [question]

    await router.handle(press("guide:start"))  # typed text in the guide is handed to the FAQ
    checked.clear()
    handed_over = await router.handle(text_turn(question))
    assert handed_over.topic == answered.topic and checked == [question]

    checked.clear()
    refused = await router.handle(text_turn("ring Kari på 912 34 567"))
    assert refused.topic == faq_dialog.PII_TOPIC and checked == ["ring Kari på 912 34 567"]
