"""``GET /metrics`` over real HTTP against a real ``bts-bot serve``: the counters move when the web
chat and Slack are used, a 429 from the (fake) Slack is counted, the outbox gauges follow the rows
in the database, FAQ answers are counted per topic, and ``METRICS_TOKEN`` locks the endpoint.
Plus the scrape query on both databases, and the promise that no label carries an id or text.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.http.metrics import platform_of
from storage import outbox, outbox_health
from storage.db import create_engine
from storage.outbox import NewItem
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.platforms.test_slack import send_event, to_channel
from tests.platforms.test_slack import start as start_with_slack
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.fake_slack import dm_event as dm
from tests.support.server import BotServer, free_port

StartServer = Callable[..., BotServer]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: BotServer, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(server.base_url + "/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(server: BotServer, token: str | None = None) -> Samples:
    status, text = scrape(server, token)
    assert status == 200, text
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for_value(server: BotServer, name: str, expected: float, **labels: str) -> Samples:
    """Scrape until ``name{labels}`` reaches ``expected`` (the reply is sent after the ack)."""
    deadline = time.monotonic() + 20
    while True:
        found = samples(server)
        if value(found, name, **labels) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def webchat_turn(server: BotServer, text: str) -> dict[str, object]:
    body = json.dumps({"session": "tmetrics0001", "text": text}).encode()
    request = urllib.request.Request(
        server.base_url + "/api/webchat/turn",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        return dict(json.loads(response.read()))


def test_webchat_and_slack_requests_and_sends_are_counted(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start_with_slack(bot_server, fake_slack)
    before = samples(server)
    assert value(before, "bts_http_requests_total", platform="webchat", status="2xx") == 0
    assert value(before, "bts_platform_sends_total", platform="slack") == 0
    assert value(before, "bts_metrics_database_up") == 1

    webchat_turn(server, "hva sier taushetsplikten om å dele bekymring?")
    assert send_event(server, dm("UMETRICS1", "DMETRICS1", "hjelp"))[0] == 200
    fake_slack.wait_for("chat.postMessage", where=to_channel("DMETRICS1"))
    posts = len(fake_slack.calls("chat.postMessage"))
    after = wait_for_value(server, "bts_platform_sends_total", posts, platform="slack")

    assert value(after, "bts_http_requests_total", platform="webchat", status="2xx") == 1
    assert value(after, "bts_http_requests_total", platform="slack", status="2xx") == 1
    assert value(after, "bts_http_request_duration_seconds_count", platform="webchat") == 1
    assert value(after, "bts_http_request_duration_seconds_count", platform="slack") == 1
    assert value(after, "bts_platform_sends_total", platform="slack") == posts
    assert value(after, "bts_platform_rate_limited_total", platform="slack") == 0
    # the FAQ answer of the web chat question, by topic only
    faq = {k[1]: v for k, v in after.items() if k[0] == "bts_faq_answers_total"}
    assert faq == {(("topic", "taushetsplikt"),): 1}, faq
    # a 4xx is counted in its own class
    request = urllib.request.Request(
        server.base_url + "/api/webchat/turn", data=b"{", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 415  # no Content-Type
    again = samples(server)
    assert value(again, "bts_http_requests_total", platform="webchat", status="4xx") == 1


def test_a_429_from_slack_is_counted_and_the_reply_still_arrives(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start_with_slack(bot_server, fake_slack)
    fake_slack.fail_next("chat.postMessage", count=1, status=429, retry_after=1)
    assert send_event(server, dm("UMETRICS2", "DMETRICS2", "hjelp"))[0] == 200
    fake_slack.wait_for("chat.postMessage", count=2, where=to_channel("DMETRICS2"))
    found = wait_for_value(server, "bts_platform_rate_limited_total", 1, platform="slack")
    assert value(found, "bts_platform_rate_limited_total", platform="slack") == 1
    assert value(found, "bts_platform_rate_limited_total", platform="teams") == 0


def _row(n: int, at: datetime) -> NewItem:
    return NewItem(
        tenant_id="slack:TMETRICS",
        dedupe_key=f"reminder:metrics:{n}",
        kind="reminder",
        platform="slack",
        target_kind="user",
        target_id=f"U{n}",
        send_at=at,
        payload={"task": "metrics", "n": n},
    )


async def _plan_rows(database: Path, rows: list[NewItem]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        store = Store(engine)
        await ensure_tenant(store, "slack:TMETRICS", "slack", "TMETRICS")
        await outbox.enqueue(store, rows)
    finally:
        await engine.dispose()


def test_outbox_gauges_follow_the_rows_in_the_database(
    bot_server: StartServer, tmp_path: Path
) -> None:
    server = bot_server(REMINDERS_ENABLED="false")  # no dispatcher: the rows stay pending
    found = samples(server)
    assert value(found, "bts_outbox_rows", status="pending") == 0
    assert value(found, "bts_outbox_oldest_due_pending_seconds") == 0

    now = datetime.now(UTC)
    rows = [_row(1, now - timedelta(hours=2)), _row(2, now - timedelta(minutes=5))]
    rows.append(_row(3, now + timedelta(days=3)))  # planned ahead: pending, not yet due
    asyncio.run(_plan_rows(tmp_path / "botdata" / "bts-bot.sqlite3", rows))

    found = samples(server)
    assert value(found, "bts_outbox_rows", status="pending") == 3
    assert value(found, "bts_outbox_rows", status="sent") == 0
    oldest = value(found, "bts_outbox_oldest_due_pending_seconds")
    assert 2 * 3600 <= oldest < 2 * 3600 + 120, oldest


def test_metrics_token_is_required_when_set(bot_server: StartServer) -> None:
    token = "metrics-token-0123456789"
    server = bot_server(METRICS_TOKEN=token)
    status, text = scrape(server)
    assert status == 401
    assert "bts_" not in text
    assert scrape(server, "wrong-token")[0] == 401
    assert scrape(server, token[:-1])[0] == 401
    status, text = scrape(server, token)
    assert status == 200
    assert "bts_http_requests_total" in text
    assert token not in server.log_text()


def test_metrics_are_open_without_a_token(bot_server: StartServer) -> None:
    server = bot_server()
    status, text = scrape(server)
    assert status == 200
    assert "# TYPE bts_outbox_rows gauge" in text


def test_no_label_carries_an_id_or_text(bot_server: StartServer, fake_slack: FakeSlack) -> None:
    server = start_with_slack(bot_server, fake_slack)
    webchat_turn(server, "hvem er bts-kontakt på Sortland skole?")
    assert send_event(server, dm("UPRIVATE9", "DPRIVATE9", "hjelp"))[0] == 200
    fake_slack.wait_for("chat.postMessage", where=to_channel("DPRIVATE9"))
    status, text = scrape(server)
    assert status == 200
    for secret in ("UPRIVATE9", "DPRIVATE9", "Sortland", "tmetrics", TEAM_ID, "xoxb"):
        assert secret not in text, secret
    allowed = {"platform", "status", "topic", "le"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) <= allowed, sample


def test_requests_are_sorted_into_platforms_by_path() -> None:
    assert platform_of("/slack/events") == "slack"
    assert platform_of("/api/messages") == "teams"
    assert platform_of("/") == "webchat"
    assert platform_of("/api/webchat/turn") == "webchat"
    assert platform_of("/static/app.js") == "webchat"
    assert platform_of("/healthz") == "other"
    assert platform_of("/api/messages/x") == "other"


async def test_scrape_query_on_both_databases(store: Store) -> None:
    await ensure_tenant(store, "slack:TMETRICS", "slack", "TMETRICS")
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    await outbox.enqueue(
        store, [_row(1, now - timedelta(minutes=30)), _row(2, now + timedelta(hours=1))]
    )
    counts, oldest, topics = await outbox_health.scrape(store, now)
    assert counts == {"pending": 2}
    assert oldest == now - timedelta(minutes=30)
    assert topics == {}
    counts, oldest, _ = await outbox_health.scrape(store, now - timedelta(hours=1))
    assert oldest is None  # nothing due yet


async def test_a_database_that_does_not_answer_gives_up_quickly_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot import metrics as metrics_module

    async def hanging(_store: Store, _now: datetime) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(metrics_module, "DATABASE_TIMEOUT", 0.2)
    monkeypatch.setattr(metrics_module.outbox_health, "scrape", hanging)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    try:
        metrics = metrics_module.BotMetrics()
        metrics.database.snapshot = metrics_module.DatabaseSnapshot(True, {"pending": 7})
        started = time.monotonic()
        await metrics.database.refresh(Store(engine))
        assert time.monotonic() - started < 2
    finally:
        await engine.dispose()
    assert metrics.registry.get_sample_value("bts_metrics_database_up") == 0
    # no stale numbers from the last good scrape
    assert metrics.registry.get_sample_value("bts_outbox_rows", {"status": "pending"}) is None


async def test_an_unreachable_database_is_reported_not_raised() -> None:
    from bot.metrics import BotMetrics

    engine = create_engine(f"postgresql+asyncpg://bts:x@127.0.0.1:{free_port()}/bts")
    try:
        metrics = BotMetrics()
        await metrics.database.refresh(Store(engine))
    finally:
        await engine.dispose()
    assert metrics.registry.get_sample_value("bts_metrics_database_up") == 0
