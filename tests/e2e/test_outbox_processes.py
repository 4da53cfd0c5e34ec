"""Exactly once with real processes: kill -9 at random moments, and two servers on one PostgreSQL.

Each scenario plans rows straight into the database, runs real ``bts-bot serve`` processes whose
dispatcher sends them to the fake Slack Web API over HTTP, and then counts what Slack received per
outbox key (the message metadata): every row exactly once, none lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from bot.platforms.slack.sender import outbox_key
from dialogs.arshjul.tasks import ensure_tenant_setup
from storage import outbox
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import utcnow
from storage.outbox import NewItem
from storage.outbox_models import CLAIMED, SENDING, SENT, OutboxItem
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.postgres import fresh_postgres_database
from tests.support.server import BotServer

TENANT = f"slack:{TEAM_ID}"


def server_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": fake.api_url,
        "DISPATCH_INTERVAL_SECONDS": "0.3",
        "OUTBOX_LEASE_SECONDS": "5",
        "SLACK_SEND_RATE": "20",
        "SLACK_CHANNEL_RATE": "5",
        "SLACK_LOOKUP_RATE": "100",
        **extra,
    }


async def _with_store(url: str, work: Callable[[Store], object]) -> object:
    await upgrade(url)
    engine = create_engine(url)
    try:
        result = work(Store(engine))
        return await result if asyncio.iscoroutine(result) else result
    finally:
        await engine.dispose()


def plan_rows(url: str, count: int) -> list[str]:
    """``count`` due notices, one per channel; returns their dedupe keys."""
    keys = [f"report:test:{n}" for n in range(count)]

    async def work(store: Store) -> None:
        await ensure_tenant(store, TENANT, "slack", TEAM_ID)
        await ensure_tenant_setup(store, TENANT, platform="slack")
        now = utcnow() - timedelta(seconds=5)
        await outbox.enqueue(
            store,
            [
                NewItem(
                    TENANT,
                    key,
                    "report",
                    "slack",
                    "channel",
                    f"C{n:04d}",
                    now,
                    {
                        "type": "report",
                        "problem": "unreachable",
                        "task": None,
                        "occurrence": None,
                        "role": None,
                        "unit": None,
                        "who": f"U{n}",
                    },
                )
                for n, key in enumerate(keys)
            ],
        )

    asyncio.run(_with_store(url, work))
    return keys


def rows(url: str) -> list[tuple[str, str, str | None]]:
    async def work(store: Store) -> list[tuple[str, str, str | None]]:
        return [
            (r.dedupe_key, r.status, r.claimed_by)
            for r in await outbox.list_items(store, TENANT, kind="report")
        ]

    return asyncio.run(_with_store(url, work))  # type: ignore[return-value]


def received(fake: FakeSlack) -> Counter[str]:
    return Counter(
        str(m["metadata"]["event_payload"]["key"])
        for m in fake.posted()
        if m.get("metadata", {}).get("event_type") == "bts_outbox"
    )


def wait_until_sent(url: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(status == SENT for _, status, _ in rows(url)) == count:
            return
        time.sleep(0.3)


def expected_keys(url: str) -> Counter[str]:
    """What Slack should have received: each row's metadata key once."""
    return Counter(outbox_key(OutboxItem(dedupe_key=key)) for key, _, _ in rows(url))


def test_kill_9_at_random_moments_loses_nothing_and_sends_nothing_twice(
    tmp_path, fake_slack: FakeSlack, bot_server: Callable[..., BotServer]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'botdata' / 'bts-bot.sqlite3'}"
    count = 80
    plan_rows(url, count)
    rng = random.Random(20261123)
    kills = crashed_mid_work = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        server = bot_server(**server_env(fake_slack))
        time.sleep(rng.uniform(0.2, 1.2))
        server.stop(kill=True)
        kills += 1
        states = Counter(status for _, status, _ in rows(url))
        crashed_mid_work += states[CLAIMED] + states[SENDING]
        if states[SENT] == count:
            break
    server = bot_server(**server_env(fake_slack))
    wait_until_sent(url, count, timeout=120)
    server.stop()
    assert kills >= 2 and crashed_mid_work > 0, (kills, crashed_mid_work)
    assert Counter(status for _, status, _ in rows(url)) == {SENT: count}
    got = received(fake_slack)
    assert got == expected_keys(url), "every row exactly once"
    assert max(got.values()) == 1


def test_two_servers_on_one_postgresql_share_the_work_and_never_both_send(
    postgres_url: str, fake_slack: FakeSlack, bot_server: Callable[..., BotServer]
) -> None:
    url = fresh_postgres_database(postgres_url)
    count = 150
    env = server_env(fake_slack, DATABASE_URL=url)
    first, second = bot_server(**env), bot_server(**env)
    plan_rows(url, count)  # planned while both are polling
    wait_until_sent(url, count, timeout=120)
    time.sleep(1.0)  # a few more polls: nothing may follow
    first.stop()
    second.stop()
    final = rows(url)
    assert Counter(status for _, status, _ in final) == {SENT: count}
    assert len({worker for _, _, worker in final}) == 2, "both processes took a share"
    got = received(fake_slack)
    assert got == expected_keys(url) and max(got.values()) == 1
