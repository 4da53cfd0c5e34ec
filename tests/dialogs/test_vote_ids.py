"""Issue #9 (point 8): a vote counts only when the server issued its id, and only a hash is kept.

On SQLite and PostgreSQL: a real click counts once and a replay says "allerede svart"; a forged id,
an id with the topic, language or kind changed, an id from another tenant and a button from before
vote ids were signed count nothing and get a friendly "could not count"; ``processed_events`` never
holds the id the client sent; the signing key is one row shared by every process.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from dialogs.app import build_router
from dialogs.feedback import SEPARATOR, Vote
from dialogs.messages import Message, Reply, Turn
from dialogs.router import Router
from storage.db import create_engine
from storage.feedback import FeedbackTotal, list_totals, signing_key
from storage.feedback_models import SigningKey
from storage.models import ProcessedEvent
from storage.repositories import Store

QUESTION = "hva er en stafettlogg?"
NOT_COUNTED = "Denne stemmen kunne jeg ikke telle"
FODSELSNUMMER = "15076500565"  # a synthetic one: the kind of text a client could put in an id
_HASHED = re.compile(r"^feedback:[0-9a-f]{64}$")


def say(text: str, tenant: str = "local") -> Turn:
    return Turn("web", tenant, "u1", "c1", text=text)


def press(action: str, value: str, tenant: str = "local") -> Turn:
    return Turn("web", tenant, "u1", "c1", action=action, value=value)


def vote_value(message: Message) -> str:
    [value] = {b.value for b in message.buttons if b.action.startswith("feedback:")}
    return value


async def shown_vote(router: Router, tenant: str = "local") -> str:
    await router.handle(say("hei", tenant))
    reply = await router.handle(say(QUESTION, tenant))
    return vote_value(reply.messages[0])


def other_char(text: str) -> str:
    """``text`` with its first character changed."""
    return ("B" if text[0] == "A" else "A") + text[1:]


def refused(reply: Reply) -> bool:
    return NOT_COUNTED in reply.plain_text() and not reply.replace


async def event_keys(store: Store) -> list[str]:
    async with store.sessions() as session:
        return list(await session.scalars(select(ProcessedEvent.event_key)))


async def test_a_real_click_counts_once_and_a_replay_is_already_answered(store: Store) -> None:
    router = build_router(store)
    value = await shown_vote(router)
    thanked = await router.handle(press("feedback:up", value))
    assert "Takk for svaret!" in thanked.plain_text() and thanked.replace
    again = await router.handle(press("feedback:down", value))
    assert "allerede svart" in again.plain_text()
    assert await list_totals(store) == [FeedbackTotal("topic", "stafettlogg", "nb", 1, 0)]


async def test_forged_and_altered_ids_count_nothing(store: Store) -> None:
    router = build_router(store)
    real = Vote.parse(await shown_vote(router))
    assert real is not None
    forged = [
        SEPARATOR.join(("topic", "stafettlogg", "nb", FODSELSNUMMER, "A" * 22)),
        SEPARATOR.join(("topic", "samtykke", *real.value.split(SEPARATOR)[2:])),  # other topic
        SEPARATOR.join(("topic", "stafettlogg", "nn", real.nonce, real.mac)),  # other language
        SEPARATOR.join(("level", "n1_beslutt", "nb", real.nonce, real.mac)),  # other kind
        SEPARATOR.join(("topic", "stafettlogg", "nb", real.nonce + "x", real.mac)),
        SEPARATOR.join(("topic", "stafettlogg", "nb", real.nonce, other_char(real.mac))),
        "topic|stafettlogg|nb|abcdefghijkl",  # a button from before vote ids were signed
        "",
    ]
    for value in forged:
        for action in ("feedback:up", "feedback:down"):
            assert refused(await router.handle(press(action, value))), value
    assert await list_totals(store) == []
    assert await event_keys(store) == []
    # The real id still counts: refusing the forgeries did not use it up.
    assert "Takk" in (await router.handle(press("feedback:up", real.value))).plain_text()


async def test_an_id_from_another_tenant_counts_nothing(store: Store) -> None:
    router = build_router(store)
    other = await shown_vote(router, tenant="slack:T1")
    await router.handle(say("hei"))
    assert refused(await router.handle(press("feedback:up", other)))
    assert await list_totals(store) == []


async def test_processed_events_hold_only_a_hash_of_the_id(store: Store) -> None:
    router = build_router(store)
    value = await shown_vote(router)
    await router.handle(press("feedback:up", value))
    await router.handle(press("feedback:up", value))
    fake = SEPARATOR.join(("topic", "stafettlogg", "nb", FODSELSNUMMER, "A" * 22))
    await router.handle(press("feedback:up", fake))
    [key] = [k for k in await event_keys(store) if k.startswith("feedback:")]
    assert _HASHED.match(key), key
    vote = Vote.parse(value)
    assert vote is not None
    for raw in (value, vote.nonce, vote.mac, FODSELSNUMMER):
        assert raw not in key


async def test_the_key_is_one_row_shared_by_every_process(db_url: str) -> None:
    engines = [create_engine(db_url) for _ in range(3)]
    stores = [Store(engine) for engine in engines]
    keys = await asyncio.gather(*(signing_key(s) for s in stores for _ in range(3)))
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    async with stores[0].sessions() as session:
        assert len(list(await session.scalars(select(SigningKey.name)))) == 1
    # A vote shown by one process counts when clicked on another (and after a restart).
    value = await shown_vote(build_router(stores[0]))
    await engines[0].dispose()
    other = build_router(stores[1])
    assert "Takk" in (await other.handle(press("feedback:up", value))).plain_text()
    assert [t.up for t in await list_totals(stores[2])] == [1]
    for engine in engines[1:]:
        await engine.dispose()
