"""Issue #9, point 1: a long word froze everyone. Huge messages are answered through the router,
their checks run in a worker thread so other users' turns go on meanwhile, and an acute question is
still recognised wherever it stands in a long message. (Before the fix these took seconds to
minutes.) How fast is measured in ``bench/text_cost.py`` as ratios against a short question in the
same run; here a generous ``HANG_GUARD`` only stops a test that would hang for minutes."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.admin.faq_eval import read_labelled
from dialogs.app import build_router
from dialogs.faq import dialog as faq_dialog
from dialogs.faq.dialog import FaqDialog
from dialogs.faq.engine import ACUTE
from dialogs.messages import Reply, Turn
from dialogs.router import Router
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store

TESTS = Path(__file__).resolve().parents[1]
SIZE = 40_000
HANG_GUARD = 60.0  # seconds: not a speed target (that is the benchmark), only "did not hang"


PLAIN = (
    "Vi planlegger et tverrfaglig møte med helsesykepleier, kontaktlærer og PPT neste uke for å "
    "evaluere tiltakene i stafettloggen. Foreldrene har samtykket, og vi lurer på hvordan vi best "
    "kan dokumentere avtalene, fordele ansvaret mellom tjenestene og sette en dato for neste "
    "evaluering. Kommunens handlingsveileder sier at BTS-kontakten kan hjelpe oss med dette. "
)


def _ordinary_words(size: int) -> str:
    """A plain (not acute) paragraph about a BTS meeting, repeated to ``size`` characters."""
    return (PLAIN * (size // len(PLAIN) + 1))[:size]


def _made_up_words(size: int) -> str:
    """Norwegian-looking words no dictionary has, each different: the typo search's worst case."""
    rng = random.Random(4)
    syllables = ["sam", "ar", "beid", "skole", "ving", "tje", "nes", "hel", "se", "plan", "mø"]
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < size:
        words.append("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return " ".join(words)[:size]


def _long_tokens(count: int, length: int) -> str:
    rng = random.Random(9)
    letters = "abcdefghijklmnopqrstuvwxyzæøå"
    return " ".join("".join(rng.choice(letters) for _ in range(length)) for _ in range(count))


HUGE = {
    "one 40,000-letter token": "a" * SIZE,
    "40,000 characters of ordinary words": _ordinary_words(SIZE),
    "40,000 characters of made-up words": _made_up_words(SIZE),
    "a 10,000-character URL": "https://kommune.example.no/sak?token="
    + "".join(
        random.Random(2).choice("abcdefghijklmnopqrstuvwxyz0123456789-_.") for _ in range(9_962)
    ),
    "many long tokens": _long_tokens(80, 500),
    "an address-like run": "kari.nordmann" * 3_000 + "@",
    "digits and separators": "12 3-4/5_6." * 4_000,
    "one 40,000-digit number": "7" * SIZE,
}


@pytest.fixture
async def router(tmp_path: Path) -> AsyncIterator[Router]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cost.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    built = build_router(Store(engine))
    for user in ("u1", "u2"):
        await built.handle(_text(user, "hei"))  # first contact done
    await built.handle(_text("u1", "hva er en stafettlogg"))  # caches warm, as in a running bot
    yield built
    await engine.dispose()


def _text(user: str, text: str) -> Turn:
    return Turn("web", "local", user, "c1", text=text)


async def _answer(router: Router, turn: Turn) -> Reply:
    return await asyncio.wait_for(router.handle(turn), HANG_GUARD)


@pytest.mark.parametrize("name", list(HUGE))
async def test_a_huge_message_is_answered(router: Router, name: str) -> None:
    reply = await _answer(router, _text("u1", HUGE[name]))
    assert reply.messages, "answered"


async def test_other_turns_are_not_held_up_while_a_huge_message_is_handled(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The personal-data check and the classifier of a huge text run off the event loop's thread,
    so the loop keeps serving others; another user's question is answered meanwhile."""
    loop_thread = threading.get_ident()
    threads: list[tuple[str, int]] = []

    def recorded(name: str, func: Any) -> Any:
        def call(text: str, *args: Any, **kwargs: Any) -> Any:
            if len(text) > faq_dialog.OFFLOAD_CHARS:
                threads.append((name, threading.get_ident()))
            return func(text, *args, **kwargs)

        return call

    monkeypatch.setattr(
        faq_dialog, "find_personal_data", recorded("pii", faq_dialog.find_personal_data)
    )
    classifier = FaqDialog.for_content(router.content).classifier
    monkeypatch.setattr(classifier, "classify", recorded("classify", classifier.classify))
    for text in HUGE.values():
        threads.clear()
        huge = asyncio.create_task(router.handle(_text("u1", text)))
        await asyncio.sleep(0)  # the huge turn has started
        other = await _answer(router, _text("u2", "hva er taushetsplikt"))
        assert other.topic == "taushetsplikt"
        await asyncio.wait_for(huge, HANG_GUARD)
        assert {name for name, _ in threads} >= {"pii"}, "the huge text was checked"
        assert all(ident != loop_thread for _, ident in threads), threads


@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_an_acute_question_in_a_long_message_is_still_acute(
    router: Router, where: str
) -> None:
    filler = _ordinary_words(SIZE // 2)
    assert not FaqDialog.for_content(router.content).classifier.acute_trigger(filler + filler), (
        "the premise"
    )
    acute = " pappa slår meg når han er full "
    text = {
        "start": acute + filler + filler,
        "middle": filler + acute + filler,
        "end": filler + filler + acute,
    }[where]
    reply = await _answer(router, _text("u1", text))
    assert reply.topic == ACUTE


async def test_every_acute_question_is_acute_through_the_router(router: Router) -> None:
    acute = [q for q, topic in read_labelled(TESTS / "faq_eval.tsv") if topic == ACUTE]
    assert len(acute) >= 25
    missed = [q for q in acute if (await router.handle(_text("u1", q))).topic != ACUTE]
    assert missed == []
