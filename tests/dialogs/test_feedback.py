""" "Var dette nyttig? 👍 / 👎": counters on both backends (once per message, atomic, no user id),
the buttons on FAQ answers and guide level decisions over the real router, and ``bts-bot stats``
after votes cast in ``bts-bot chat``."""

from __future__ import annotations

import asyncio
import json
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import inspect

from dialogs.app import build_router
from dialogs.content import Content
from dialogs.faq.dialog import FEEDBACK_TOPICS
from dialogs.guide.model import load_guides
from dialogs.messages import Message, Reply, Turn
from dialogs.router import Router
from storage.feedback import FeedbackTotal, list_totals, record_vote
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.admin.test_cli import bts

REPO = Path(__file__).resolve().parents[2]
THANKS = "Takk for svaret!"


def say(text: str, user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", text=text)


def press(action: str, value: str = "", user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", action=action, value=value)


def only(reply: Reply) -> Message:
    assert len(reply.messages) == 1, [m.text[:60] for m in reply.messages]
    return reply.messages[0]


def votes(message: Message) -> dict[str, str]:
    """The vote buttons of a message: action -> value."""
    return {
        b.action: b.value for b in message.buttons if b.action in ("feedback:up", "feedback:down")
    }


async def greeted(store: Store, user: str = "u1") -> Router:
    router = build_router(store)
    await router.handle(say("hei", user))
    return router


# repository ----------------------------------------------------------------------------------------


async def vote(
    store: Store, vote_id: str, key: str = "samtykke", useful: bool = True, **kw: str
) -> bool:
    fields = {"tenant_id": "local", "kind": "topic", "lang": "nb", **kw}
    return await record_vote(
        store, vote_id=vote_id, platform="web", key=key, useful=useful, **fields
    )


async def test_a_vote_id_counts_once_even_when_clicked_concurrently(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    results = await asyncio.gather(*(vote(store, "same-message") for _ in range(12)))
    assert results.count(True) == 1
    assert await list_totals(store, "local") == [FeedbackTotal("topic", "samtykke", "nb", 1, 0)]


async def test_concurrent_votes_on_one_counter_all_count(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    await asyncio.gather(*(vote(store, f"m{i}", useful=i % 3 != 0) for i in range(30)))
    assert await list_totals(store, "local") == [FeedbackTotal("topic", "samtykke", "nb", 20, 10)]


async def test_totals_per_tenant_and_over_all_tenants(store: Store) -> None:
    for tenant in ("local", "slack:T1"):
        await ensure_tenant(store, tenant, "local", tenant)
    await vote(store, "a", tenant_id="local")
    await vote(store, "b", tenant_id="slack:T1", useful=False)
    await vote(store, "c", tenant_id="slack:T1", lang="nn")
    await vote(store, "d", tenant_id="local", kind="level", key="nivaa1")
    assert await list_totals(store) == [
        FeedbackTotal("level", "nivaa1", "nb", 1, 0),
        FeedbackTotal("topic", "samtykke", "nb", 1, 1),
        FeedbackTotal("topic", "samtykke", "nn", 1, 0),
    ]
    assert await list_totals(store, "slack:T1") == [
        FeedbackTotal("topic", "samtykke", "nb", 0, 1),
        FeedbackTotal("topic", "samtykke", "nn", 1, 0),
    ]
    assert await list_totals(store, "teams:nobody") == []


async def test_the_counter_table_has_no_place_for_a_user(store: Store) -> None:
    async with store.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("feedback_counts")}
        )
    assert columns == {"tenant_id", "kind", "key", "lang", "up", "down", "updated_at"}


# FAQ answers over the router -----------------------------------------------------------------------


async def test_answer_vote_thanks_in_place_and_counts_once(store: Store) -> None:
    router = await greeted(store)
    answer = only(await router.handle(say("hva er en stafettlogg?")))
    assert answer.text.endswith("_Var dette nyttig?_")
    assert [b.label for b in answer.buttons][-2:] == ["👍", "👎"]
    buttons = votes(answer)
    assert buttons["feedback:up"] == buttons["feedback:down"], "one vote per message"

    thanked = await router.handle(press("feedback:up", buttons["feedback:up"]))
    message = only(thanked)
    assert thanked.replace, "the clicked message is updated in place"
    assert answer.text.removesuffix("_Var dette nyttig?_") in message.text
    assert THANKS in message.text and not votes(message)
    assert {b.action for b in message.buttons} == {b.action for b in answer.buttons} - {
        "feedback:up",
        "feedback:down",
    }
    again = only(await router.handle(press("feedback:down", buttons["feedback:down"])))
    assert "allerede svart" in again.text
    assert await list_totals(store, "local") == [FeedbackTotal("topic", "stafettlogg", "nb", 1, 0)]

    second = only(await router.handle(say("hva er en stafettlogg?")))
    await router.handle(press("feedback:down", votes(second)["feedback:down"]))
    assert await list_totals(store, "local") == [FeedbackTotal("topic", "stafettlogg", "nb", 1, 1)]


async def test_nynorsk_answer_is_counted_and_thanked_in_nynorsk(store: Store) -> None:
    router = await greeted(store)
    answer = only(await router.handle(say("kva er teieplikt for noko?")))
    assert answer.topic == "taushetsplikt"
    message = only(await router.handle(press("feedback:up", votes(answer)["feedback:up"])))
    assert "Det hjelper oss å gjere svara betre." in message.text
    [total] = await list_totals(store, "local")
    assert (total.key, total.lang, total.up) == ("taushetsplikt", "nn", 1)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("zxqv blorp", "ukjent"),
        ("hva kan du hjelpe meg med", "hjelp"),
        ("barnet har blåmerker", "akutt"),
    ],
)
async def test_no_vote_on_unknown_help_and_acute(store: Store, question: str, topic: str) -> None:
    router = await greeted(store)
    reply = await router.handle(say(question))
    assert reply.topic == topic
    assert topic not in FEEDBACK_TOPICS
    assert all(not votes(m) for m in reply.messages)


@pytest.mark.parametrize(
    "forged",
    [
        "topic|finnes-ikke|nb|abcdefgh",
        "topic|ukjent|nb|abcdefgh",
        "survey|samtykke|nb|abcdefgh",
        "topic|samtykke|de|abcdefgh",
        "topic|samtykke:ekstra|nb|abcdefgh",
        "level|n2_plan|nb|abcdefgh",  # a step that is no decision
        "topic|samtykke|nb",
        "",
    ],
)
async def test_forged_votes_count_nothing(store: Store, forged: str) -> None:
    router = await greeted(store)
    reply = await router.handle(press("feedback:up", forged))
    not_counted = Content.load().message("nb", "feedback.not_counted").text
    assert reply.topic == "ukjent" and reply.messages[0].text == not_counted
    assert await list_totals(store) == []


# guide levels --------------------------------------------------------------------------------------


def decision_steps() -> dict[str, str]:
    """level id -> its decision step id, from the shipped guide."""
    guide = load_guides().get("nb")
    return {
        level_id: next(s for s, step in level.steps.items() if step.is_decision)
        for level_id, level in guide.levels.items()
    }


async def test_every_level_decision_screen_asks_and_counts_per_level(store: Store) -> None:
    router = await greeted(store)
    decisions = decision_steps()
    assert list(decisions) == ["nivaa0", "nivaa1", "nivaa2", "nivaa3"]
    guide = load_guides().get("nb")
    for level_id, step_id in decisions.items():
        first = only(await router.handle(press("guide:goto", guide.first_step(level_id))))
        assert not votes(first), "only the level's decision screen asks"
        screen = only(await router.handle(press("guide:goto", step_id)))
        assert screen.text.endswith("_Var dette nyttig?_"), level_id
        options = [(b.action, b.value) for b in screen.buttons if b.action == "guide:goto"]
        thanked = only(await router.handle(press("feedback:up", votes(screen)["feedback:up"])))
        assert THANKS in thanked.text and not votes(thanked)
        after = [(b.action, b.value) for b in thanked.buttons if b.action == "guide:goto"]
        assert after == options, "the decision can still be made after voting"
        assert ("guide:acute", "") in {(b.action, b.value) for b in thanked.buttons}
    totals = await list_totals(store, "local")
    assert [(t.kind, t.key, t.up) for t in totals] == [
        ("level", level_id, 1) for level_id in decisions
    ]


# stats after votes in the terminal chat --------------------------------------------------------


def test_stats_after_votes_in_the_terminal(tmp_path: Path) -> None:
    bts(tmp_path, "ask", "hei")
    shown = json.loads(bts(tmp_path, "ask", "hva er en stafettlogg?", "--json").stdout)
    actions = [b["action"] for b in shown["buttons"]]
    up, down = actions.index("feedback:up") + 1, actions.index("feedback:down") + 1
    question = "hva er en stafettlogg?"
    chat = bts(tmp_path, "chat", stdin=f"{question}\n{up}\n{question}\n{down}\n{question}\n{up}\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count(THANKS) == 3

    result = bts(tmp_path, "stats", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "tenant": None,
        "reports": 0,
        "rows": [
            {
                "kind": "topic",
                "key": "stafettlogg",
                "up": 2,
                "down": 1,
                "share_useful": 0.667,
                "by_lang": {"nb": {"up": 2, "down": 1}},
            }
        ],
    }
    table = bts(tmp_path, "stats", "--tenant", "local").stdout
    row = next(line for line in table.splitlines() if "stafettlogg" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["topic", "stafettlogg", "2", "1", "67%"]
    assert "Var dette nyttig? (local)" in table
    # A tenant the bot does not know is said so (exit 1), not shown as one without feedback.
    other = bts(tmp_path, "stats", "--tenant", "slack:T0NONE")
    assert other.returncode == 1
    assert "ukjent tenant «slack:T0NONE»" in other.stderr


def test_rich_is_pinned_at_the_installed_version() -> None:
    pins = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    assert pins["rich"] == version("rich")
    assert "rich" in (REPO / "pyproject.toml").read_text()
