"""Outbox senders: Slack and Teams over real HTTP against the fakes, and the rate limiter.

Slack: DMs open the conversation and carry our key in message metadata, a 429's Retry-After holds
back the whole tenant's sends, persisting 429s end as RetryLater, Slack errors sort into
unreachable / rejected / retry, and the channel history tells whether a crashed send arrived.
Teams: proactive sends from a stored reference, 429s from the Bot Connector retried, no reference
reported as unreachable. Spacing is checked on the arrival times the fakes record (lower bounds,
so a slow machine cannot make them fail); limiter unit tests run on an injected clock.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import load_settings
from bot.delivery.ratelimit import Limits, Rate, RateLimiter
from bot.delivery.senders import Rejected, RetryLater, SendRates, Unreachable
from bot.platforms.senders import build_senders, close_senders
from bot.platforms.slack.sender import METADATA_EVENT, SlackSender, outbox_key
from bot.platforms.teams.adapter import TeamsChannel
from bot.platforms.teams.intake import describe
from bot.platforms.teams.sender import ProactiveChannel, TeamsSender
from bot.runtime import Runtime
from dialogs.messages import Button, Message, Reply
from storage.outbox_models import OutboxItem
from storage.references import get_reference, save_reference
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack

SLACK_TENANT = "slack:T0001"
TEAMS_GUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
TEAMS_TENANT = f"teams:{TEAMS_GUID}"
TEAMS_USER_AAD = "6c1f3a2b-0000-4000-8000-00000000aa01"
PERSONAL = "a:1personal-chat-with-kari"
EPSILON = 0.002  # timer and clock resolution

_ids = iter(range(1, 1_000_000))


def item(
    target_id: str = "U100",
    *,
    tenant_id: str = SLACK_TENANT,
    platform: str = "slack",
    target_kind: str = "user",
    attempts: int = 0,
    key: str | None = None,
) -> OutboxItem:
    """An outbox row as the dispatcher hands it to a sender (after its claim)."""
    row_id = next(_ids)
    now = datetime.now(UTC)
    return OutboxItem(
        id=row_id,
        tenant_id=tenant_id,
        dedupe_key=key or f"reminder:test-task:2026-03-02:{target_id}:{row_id}",
        kind="reminder",
        platform=platform,
        target_kind=target_kind,
        target_id=target_id,
        payload={"type": "reminder", "task": "test-task", "occurrence": "2026-03-02"},
        send_at=now - timedelta(seconds=5),
        status="sending",
        attempts=attempts,
        next_attempt_at=now - timedelta(seconds=5),
        late=False,
        last_error="",
    )


def reply(*texts: str) -> Reply:
    messages = tuple(
        Message(text=t, buttons=(Button(label="Ferdig", action="arshjul:done", value="1"),))
        for t in texts or ("Påminnelse: evaluer tiltaket",)
    )
    return Reply(messages=messages)


SlackFactory = Callable[..., SlackSender]


@pytest.fixture
async def slack_sender() -> AsyncIterator[SlackFactory]:
    """Makes Slack senders for the fake and closes their connections after the test."""
    made: list[SlackSender] = []

    def make(fake: FakeSlack, rates: SendRates | None = None, **kwargs: Any) -> SlackSender:
        # Generous default rates: these tests are about behaviour, not about waiting.
        rates = rates or SendRates(slack_send=200, slack_channel=100, slack_lookup=200)
        sender = SlackSender("xoxb-test", fake.api_url, rates.limits(), **kwargs)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.close()


def unused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def our_messages(fake: FakeSlack, row: OutboxItem) -> list[dict[str, Any]]:
    key = outbox_key(row)
    return [
        m for m in fake.posted() if m.get("metadata", {}).get("event_payload", {}).get("key") == key
    ]


# Slack -------------------------------------------------------------------------------------------


async def test_slack_dm_opens_the_conversation_once_and_posts_with_our_metadata(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    sender = slack_sender(fake_slack)
    first, second = item("U100"), item("U100")

    ts = await sender.send(first, reply("Påminnelse: **evaluer** tiltaket"))
    await sender.send(second, reply())

    opens = fake_slack.calls("conversations.open")
    assert [c.body["users"] for c in opens] == ["U100"]  # the DM channel is cached
    posts = fake_slack.calls("chat.postMessage")
    assert [p.body["channel"] for p in posts] == ["D100", "D100"]
    assert posts[0].body["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"key": outbox_key(first), "part": 0, "parts": 1},
    }
    assert first.dedupe_key not in str(posts[0].body)  # only a hash of the key leaves the bot
    assert posts[0].body["blocks"][0]["text"]["text"].startswith("Påminnelse: *evaluer*")
    assert any(b["type"] == "actions" for b in posts[0].body["blocks"])
    assert ts == fake_slack.posted("D100")[0]["ts"]


async def test_slack_channel_target_posts_without_opening_a_dm(
    fake_slack: FakeSlack, slack_sender: SlackFactory
) -> None:
    sender = slack_sender(fake_slack)
    await sender.send(item("C777", target_kind="channel"), reply("Ukens status"))
    assert fake_slack.calls("conversations.open") == []
    assert [p.body["channel"] for p in fake_slack.calls("chat.postMessage")] == ["C777"]


async def test_slack_dm_channel_comes_from_and_goes_to_the_stored_reference(
    fake_slack: FakeSlack,
    store: Store,
    slack_sender: SlackFactory,
) -> None:
    await ensure_tenant(store, SLACK_TENANT, "slack", "T0001")
    await save_reference(
        store, SLACK_TENANT, "slack", "user", "U200", {"channel": "DKNOWN", "user_id": "U200"}
    )
    sender = slack_sender(fake_slack, store=store)
    await sender.send(item("U200"), reply())
    await sender.send(item("U300"), reply())

    assert [c.body["users"] for c in fake_slack.calls("conversations.open")] == ["U300"]
    assert [p.body["channel"] for p in fake_slack.calls("chat.postMessage")] == ["DKNOWN", "D300"]
    saved = await get_reference(store, SLACK_TENANT, "slack", "user", "U300")
    assert saved == {"channel": "D300", "team_id": "T0001", "user_id": "U300"}
    # A new process (empty cache) finds it without asking Slack again.
    await slack_sender(fake_slack, store=store).send(item("U300"), reply())
    assert len(fake_slack.calls("conversations.open")) == 1


async def test_slack_429_waits_for_retry_after_then_sends_once(
    fake_slack: FakeSlack, slack_sender: SlackFactory
) -> None:
    fake_slack.fail_next("chat.postMessage", count=1, retry_after=1)
    sender = slack_sender(fake_slack)
    row = item("U100")

    await sender.send(row, reply())

    refused, accepted = fake_slack.calls("chat.postMessage")
    assert accepted.at - refused.at >= 1.0 - EPSILON
    assert len(our_messages(fake_slack, row)) == 1
    assert fake_slack.calls("chat.postMessage")[-1] is accepted


async def test_slack_429_pauses_sends_to_every_channel_of_the_tenant(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    fake_slack.fail_next("chat.postMessage", count=1, retry_after=2)
    sender = slack_sender(fake_slack)
    limiter = sender.limits.bucket("slack:chat.postMessage", SLACK_TENANT)

    first = asyncio.create_task(sender.send(item("C1", target_kind="channel"), reply()))
    for _ in range(1000):  # until the sender has seen the 429 (bounded, not a timing assertion)
        if limiter.pauses:
            break
        await asyncio.sleep(0.005)
    assert limiter.pauses == 1
    await sender.send(item("C2", target_kind="channel"), reply())
    await first

    posts = fake_slack.calls("chat.postMessage")
    refused = posts[0]
    other_channel = next(p for p in posts[1:] if p.body["channel"] == "C2")
    assert other_channel.at - refused.at >= 2.0 - EPSILON
    assert sorted(p.body["channel"] for p in posts[1:]) == ["C1", "C2"]


async def test_slack_persisting_429_ends_in_retry_later_after_bounded_tries(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    fake_slack.fail_next("chat.postMessage", count=10, retry_after=0)
    sender = slack_sender(fake_slack, max_rate_retries=2)

    with pytest.raises(RetryLater) as caught:
        await sender.send(item("U100"), reply())

    assert caught.value.code == "ratelimited"
    assert caught.value.retry_after == 0
    assert len(fake_slack.calls("chat.postMessage")) == 3
    assert fake_slack.posted() == []


async def test_slack_answers_a_fake_rate_limit_and_the_sender_rides_it_out(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    """The fake's own limit (3 per second) against a sender configured too fast (50/s)."""
    fake_slack.limit_per_second["chat.postMessage"] = 3
    sender = slack_sender(fake_slack, SendRates(slack_send=50, slack_channel=50, slack_lookup=50))
    rows = [item(f"C{i}", target_kind="channel") for i in range(6)]

    await asyncio.gather(*(sender.send(r, reply()) for r in rows))

    assert fake_slack.rate_limited >= 1
    assert all(len(our_messages(fake_slack, r)) == 1 for r in rows)  # none lost, none twice


@pytest.mark.parametrize(
    ("setup", "target", "kind", "expected", "code"),
    [
        ("unknown-user", "UGONE", "user", Unreachable, "user_not_found"),
        ("channel-error:is_archived", "CARCH", "channel", Unreachable, "is_archived"),
        ("channel-error:not_in_channel", "CPRIV", "channel", Unreachable, "not_in_channel"),
        ("fail:200:invalid_auth", "U100", "user", Rejected, "invalid_auth"),
        ("fail:200:invalid_blocks", "U100", "user", Rejected, "invalid_blocks"),
        ("fail:503:service_unavailable", "U100", "user", RetryLater, "http-503"),
        ("fail:200:internal_error", "U100", "user", RetryLater, "internal_error"),
    ],
)
async def test_slack_errors_are_sorted_into_unreachable_rejected_and_retry(
    fake_slack: FakeSlack,
    setup: str,
    target: str,
    kind: str,
    expected: type[Exception],
    code: str,
    slack_sender: SlackFactory,
) -> None:
    what, _, detail = setup.partition(":")
    if what == "unknown-user":
        fake_slack.unknown_users.add(target)
    elif what == "channel-error":
        fake_slack.channel_errors[target] = detail
    else:
        status, _, error = detail.partition(":")
        fake_slack.fail_next("chat.postMessage", status=int(status), error=error)

    with pytest.raises(expected) as caught:
        await slack_sender(fake_slack).send(item(target, target_kind=kind), reply())

    assert getattr(caught.value, "code", None) == code
    assert fake_slack.posted() == []


async def test_slack_connection_refused_is_retry_later() -> None:
    sender = SlackSender("xoxb-test", f"http://127.0.0.1:{unused_port()}/api/", timeout=5)
    try:
        with pytest.raises(RetryLater) as caught:
            await sender.send(item("C1", target_kind="channel"), reply())
    finally:
        await sender.close()
    assert caught.value.code == "connect"


async def test_slack_already_sent_reads_our_key_from_the_history(
    fake_slack: FakeSlack, slack_sender: SlackFactory
) -> None:
    sender = slack_sender(fake_slack)
    sent, never_sent = item("U100"), item("U100")
    await sender.send(sent, reply())
    fresh = slack_sender(fake_slack)  # after a crash: nothing cached in memory

    assert await fresh.already_sent(sent) is True
    assert await fresh.already_sent(never_sent) is False
    history = fake_slack.calls("conversations.history")
    assert history[0].body["channel"] == "D100"
    assert history[0].body["include_all_metadata"] in ("1", "true")
    assert float(history[0].body["oldest"]) < sent.send_at.timestamp()


async def test_slack_already_sent_pages_through_a_busy_channel(
    fake_slack: FakeSlack, slack_sender: SlackFactory
) -> None:
    sender = slack_sender(fake_slack)
    row = item("C5", target_kind="channel")
    await sender.send(row, reply())
    chatty = slack_sender(fake_slack, SendRates(slack_send=1000, slack_channel=1000))
    for _ in range(450):  # later chatter pushes our message to the third page (newest first)
        await chatty.send(item("C5", target_kind="channel"), reply("annet"))

    assert await slack_sender(fake_slack).already_sent(row) is True
    assert len(fake_slack.calls("conversations.history")) == 3


async def test_slack_retry_after_a_partial_send_posts_only_the_missing_part(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    sender = slack_sender(fake_slack)
    row = item("U100")
    two_parts = reply("Første del", "Andre del")
    fake_slack.fail_next("chat.postMessage", status=503, error="service_unavailable", after=1)

    with pytest.raises(RetryLater):
        await sender.send(row, two_parts)  # the second post fails after the first arrived
    assert [m["text"] for m in our_messages(fake_slack, row)] == ["Første del"]
    assert await sender.already_sent(row) is False  # only some parts: a send completes it

    retried = item("U100", attempts=1, key=row.dedupe_key)
    await sender.send(retried, two_parts)
    assert [m["text"] for m in our_messages(fake_slack, row)] == ["Første del", "Andre del"]
    assert await sender.already_sent(row) is True
    again = item("U100", attempts=2, key=row.dedupe_key)
    await sender.send(again, two_parts)  # a further retry finds everything and posts nothing
    assert len(our_messages(fake_slack, row)) == 2


async def test_slack_already_sent_is_none_when_history_cannot_be_read(
    fake_slack: FakeSlack,
    slack_sender: SlackFactory,
) -> None:
    sender = slack_sender(fake_slack)
    row = item("C9", target_kind="channel")
    await sender.send(row, reply())
    fake_slack.fail_next("conversations.history", status=500, error="fatal_error")
    assert await sender.already_sent(row) is None
    fake_slack.unknown_users.add("UGONE")
    assert await sender.already_sent(item("UGONE")) is False  # a send will report it instead


# Teams -------------------------------------------------------------------------------------------


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings(
        data_dir=tmp_path, kommune_dir=tmp_path, slack_bot_token=None, _env_file=None
    )
    # Proactive sends never route a turn: no router, so these tests do not depend on the content.
    yield Runtime(settings=settings, engine=store.engine, store=store, router=None)  # type: ignore[arg-type]


async def remember_install(channel: ProactiveChannel, fake: FakeConnector) -> None:
    """Store the user's reference the way the adapter does when the app is installed."""
    from botbuilder.schema import Activity

    body = {
        "type": "conversationUpdate",
        "id": "1700000000001",
        "serviceUrl": fake.service_url,
        "channelId": "msteams",
        "from": {"id": "29:1kari", "name": "Kari", "aadObjectId": TEAMS_USER_AAD},
        "recipient": {"id": "28:bts-bot", "name": "BTS-bot"},
        "conversation": {
            "id": PERSONAL,
            "conversationType": "personal",
            "tenantId": TEAMS_GUID,
        },
        "channelData": {"tenant": {"id": TEAMS_GUID}},
        "membersAdded": [{"id": "28:bts-bot"}],
    }
    incoming = describe(body)
    assert not isinstance(incoming, str)
    await channel.remember(Activity().deserialize(body), incoming)


def teams_item(target: str = TEAMS_USER_AAD, **kwargs: Any) -> OutboxItem:
    return item(target, tenant_id=TEAMS_TENANT, platform="teams", **kwargs)


POSTS_TO_PERSONAL = rf"^/v3/conversations/{PERSONAL}/activities$"


async def test_teams_proactive_send_reaches_the_stored_user(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    channel = TeamsChannel(runtime)
    await remember_install(channel, fake_connector)
    sender = TeamsSender(channel, SendRates().limits())

    assert await sender.send(teams_item(), reply("Påminnelse", "Andre kort")) is None

    posts = fake_connector.calls(POSTS_TO_PERSONAL, method="POST")
    assert len(posts) == 2  # one activity per message
    card = posts[0].json["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert "replyToId" not in posts[0].json
    assert await sender.already_sent(teams_item()) is None  # Bot Framework cannot tell


async def test_teams_429_waits_for_retry_after_and_resends_only_that_card(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    channel = TeamsChannel(runtime)
    await remember_install(channel, fake_connector)
    sender = TeamsSender(channel, SendRates().limits())
    fake_connector.fail_next(count=1, status=429, retry_after=1, match=POSTS_TO_PERSONAL)

    await sender.send(teams_item(), reply("Påminnelse"))

    refused, accepted = fake_connector.calls(POSTS_TO_PERSONAL, method="POST")
    assert accepted.at - refused.at >= 1.0 - EPSILON
    assert accepted.json["attachments"] == refused.json["attachments"]


async def test_teams_persisting_429_is_retry_later(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    channel = TeamsChannel(runtime)
    await remember_install(channel, fake_connector)
    sender = TeamsSender(channel, SendRates().limits(), max_rate_retries=1)
    fake_connector.fail_next(count=5, status=429, retry_after=0, match=POSTS_TO_PERSONAL)

    with pytest.raises(RetryLater) as caught:
        await sender.send(teams_item(), reply())
    assert caught.value.code == "ratelimited"
    assert len(fake_connector.calls(POSTS_TO_PERSONAL, method="POST")) == 2


async def test_teams_without_a_reference_or_with_the_bot_removed_is_unreachable(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    channel = TeamsChannel(runtime)
    sender = TeamsSender(channel, SendRates().limits())
    with pytest.raises(Unreachable) as caught:
        await sender.send(teams_item("someone-we-never-met"), reply())
    assert caught.value.code == "no-reference"

    await remember_install(channel, fake_connector)
    fake_connector.fail_next(count=1, status=403, retry_after=None, match=POSTS_TO_PERSONAL)
    with pytest.raises(Unreachable) as caught:
        await sender.send(teams_item(), reply())
    assert caught.value.code == "http-403"


async def test_teams_server_errors_are_retry_later_and_a_bad_request_is_rejected(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    sender = TeamsSender(runtime, SendRates().limits())  # builds its own ProactiveChannel
    await remember_install(sender.channel, fake_connector)
    fake_connector.fail_next(count=20, status=503, retry_after=None, match=POSTS_TO_PERSONAL)
    with pytest.raises(RetryLater) as caught:
        await sender.send(teams_item(), reply())
    assert caught.value.code == "http-503"
    assert len(fake_connector.calls(POSTS_TO_PERSONAL, method="POST")) == 1  # the outbox retries

    fake_connector.reset()
    fake_connector.fail_next(count=1, status=400, retry_after=None, match=POSTS_TO_PERSONAL)
    with pytest.raises(Rejected) as rejected:
        await sender.send(teams_item(), reply())
    assert rejected.value.code == "http-400"
    assert len(fake_connector.calls(POSTS_TO_PERSONAL, method="POST")) == 1


async def test_build_senders_has_slack_only_with_a_token(runtime: Runtime) -> None:
    assert set(build_senders(runtime)) == {"teams"}
    with_token = Runtime(
        settings=runtime.settings.model_copy(
            update={
                "slack_bot_token": SecretStr("xoxb-1"),
                "slack_send_rate": 2.0,
                "slack_api_url": f"http://127.0.0.1:{unused_port()}/api/",
            }
        ),
        engine=runtime.engine,
        store=runtime.store,
        router=runtime.router,
    )
    senders = build_senders(with_token)
    assert set(senders) == {"slack", "teams"}
    slack = senders["slack"]
    assert isinstance(slack, SlackSender)
    assert slack.limits.bucket("slack:chat.postMessage", SLACK_TENANT).rate == Rate(2.0)
    with pytest.raises(RetryLater):  # opens its connection pool on first use (nobody listens)
        await slack.send(item("C1", target_kind="channel"), reply())
    assert slack.client.session is not None
    await close_senders(senders)
    assert slack.client.session is None


# rate limiter ------------------------------------------------------------------------------------


class FakeClock:
    """Virtual time for one task at a time: sleeping moves the clock forward."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def passes(limiter: RateLimiter, clock: FakeClock, keys: list[str | None]) -> list[float]:
    times = []
    for key in keys:
        await limiter.acquire(key)
        times.append(round(clock.now - 100.0, 6))
    return times


async def test_limiter_spaces_calls_for_one_key_but_not_across_keys() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Rate(100), Rate(1), clock=clock, sleep=clock.sleep)
    assert await passes(limiter, clock, ["a", "a", "b", "a"]) == [0.0, 1.0, 1.01, 2.0]


async def test_limiter_keeps_the_bucket_rate_and_allows_its_burst() -> None:
    clock = FakeClock()
    steady = RateLimiter(Rate(10), clock=clock, sleep=clock.sleep)
    assert await passes(steady, clock, [None] * 4) == [0.0, 0.1, 0.2, 0.3]
    clock.now += 10  # a quiet spell refills the burst
    bursty = RateLimiter(Rate(10, burst=3), clock=clock, sleep=clock.sleep)
    start = clock.now - 100.0
    times = [round(t - start, 6) for t in await passes(bursty, clock, [None] * 5)]
    assert times == [0.0, 0.0, 0.0, 0.1, 0.2]


async def test_limiter_pause_holds_every_key_then_resumes_at_the_steady_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Rate(10, burst=5), Rate(1), clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    limiter.pause(2.0)  # a 429 with Retry-After: 2
    assert await passes(limiter, clock, ["b", "c", "d"]) == [2.0, 2.1, 2.2]


async def test_limiter_pause_during_a_wait_voids_the_reserved_slot() -> None:
    limiter = RateLimiter(Rate(5))  # real clock: slots 0.2 s apart
    await limiter.acquire()
    loop = asyncio.get_running_loop()
    waiter = asyncio.create_task(limiter.acquire())  # reserved the slot at +0.2 s
    await asyncio.sleep(0.05)
    limiter.pause(0.5)
    paused_at = loop.time()
    await waiter
    assert loop.time() - paused_at >= 0.5 - EPSILON


async def test_concurrent_waiters_get_distinct_slots() -> None:
    limiter = RateLimiter(Rate(50), Rate(20))
    loop = asyncio.get_running_loop()
    start = loop.time()
    times: dict[str, list[float]] = {"a": [], "b": []}

    async def worker(key: str) -> None:
        await limiter.acquire(key)
        times[key].append(loop.time() - start)

    await asyncio.gather(*(worker(k) for k in ["a", "b"] * 5))
    everything = sorted(times["a"] + times["b"])
    # The k-th call cannot pass before its slot k/50 s; one key's calls are 1/20 s apart.
    assert all(t >= k / 50 - EPSILON for k, t in enumerate(everything))
    for key_times in times.values():
        assert all(b - a >= 1 / 20 - EPSILON for a, b in itertools.pairwise(key_times))


def test_limits_keep_one_bucket_per_kind_and_tenant() -> None:
    limits = Limits({"send": (Rate(1), None)})
    assert limits.bucket("send", "t1") is limits.bucket("send", "t1")
    assert limits.bucket("send", "t1") is not limits.bucket("send", "t2")
    limits.bucket("send", "t1").pause(5)
    assert limits.bucket("send", "t2").paused_until < limits.bucket("send", "t1").paused_until
    with pytest.raises(ValueError):
        Rate(0)
