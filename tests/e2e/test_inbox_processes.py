"""Acked means answered: kill -9 and SIGTERM during a burst of DMs, then a restart.

Each scenario sends 200 signed DMs (one per user and DM channel) to a real ``bts-bot serve`` from
many threads, stops the server at a random moment (seeded) with SIGKILL or SIGTERM, starts a new
one on the same database and, as Slack does, delivers again every event that did not get a 200.
Then every event must have been answered exactly once: one ``chat.postMessage`` per DM channel in
the fake Slack, none missing, none twice, whatever the moment of the crash.
"""

from __future__ import annotations

import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.fake_slack import FakeSlack, dm_event_body, signed_headers
from tests.support.postgres import fresh_postgres_database
from tests.support.server import BotServer

SECRET = "inbox-test-secret"
EVENTS = 200


def env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "INBOX_LEASE_SECONDS": "3",
        "REMINDERS_ENABLED": "false",
        **extra,
    }


def body_of(n: int, run: str) -> bytes:
    # A first "hei" is answered by the welcome alone: one post per answer, so posts count answers.
    return dm_event_body(f"D{run}{n:04d}", f"U{run}{n:04d}", "hei", f"Ev{run}{n:04d}")


def deliver(server: BotServer, body: bytes, retry: int = 0) -> int:
    """One delivery as Slack makes it; the HTTP status, or 0 when the connection failed."""
    headers = signed_headers(SECRET, body)
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    request = urllib.request.Request(server.base_url + "/slack/events", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def answered(fake: FakeSlack, run: str) -> Counter[str]:
    prefix = f"D{run}"
    return Counter(
        str(c.body.get("channel"))
        for c in fake.calls("chat.postMessage")
        if str(c.body.get("channel", "")).startswith(prefix)
    )


def crash_during_burst(
    start: Callable[[], BotServer], fake: FakeSlack, run: str, seed: int, kill: bool
) -> None:
    rng = random.Random(seed)
    # Stop while events are still arriving (after so many acks), or while the worker is mid-way
    # (after so many answers), which leaves rows claimed and replies in doubt.
    on_answers = rng.random() < 0.5
    stop_after = rng.randint(5, 150) if on_answers else rng.randint(20, 170)
    bodies = {n: body_of(n, run) for n in range(EVENTS)}
    acked: set[int] = set()
    lock = threading.Lock()
    stopped = threading.Event()
    first = start()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            if kill:
                first.process.kill()
            else:
                first.process.terminate()

    def one(n: int) -> None:
        status = deliver(first, bodies[n])
        with lock:
            if status == 200:
                acked.add(n)
            if not on_answers and len(acked) >= stop_after:
                stop()
            assert status in (0, 200, 503), status

    def watch_answers() -> None:
        deadline = time.monotonic() + 60
        while not stopped.is_set() and time.monotonic() < deadline:
            if len(answered(fake, run)) >= stop_after:
                with lock:
                    stop()
            time.sleep(0.01)

    watcher = threading.Thread(target=watch_answers, daemon=True)
    if on_answers:
        watcher.start()

    order = list(bodies)
    rng.shuffle(order)
    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(one, order))
    if on_answers:
        watcher.join()
    first.process.wait(timeout=30)
    assert first.process.returncode is not None
    if not kill:
        log = first.log_text()
        assert "unhandled error" not in log

    second = start()
    missing = [n for n in bodies if n not in acked]
    for n in missing:  # Slack retries what it got no 200 for
        assert deliver(second, bodies[n], retry=1) == 200
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(answered(fake, run)) < EVENTS:
        time.sleep(0.2)
    time.sleep(1.5)  # a lease (3 s) has passed since the restart: late duplicates would show
    counts = answered(fake, run)
    trigger = "answers" if on_answers else "acks"
    info = f"seed={seed} stop after {stop_after} {trigger}, acked={len(acked)}"
    assert len(counts) == EVENTS, f"{EVENTS - len(counts)} events never answered ({info})"
    twice = {channel: n for channel, n in counts.items() if n > 1}
    assert not twice, f"answered more than once: {twice} ({info})"


@pytest.mark.parametrize("kill", [True, False], ids=["kill-9", "sigterm"])
def test_a_crash_during_a_burst_loses_no_acked_event_and_answers_none_twice_sqlite(
    fake_slack: FakeSlack, bot_server: Callable[..., BotServer], kill: bool
) -> None:
    seed = random.SystemRandom().randrange(10**6)
    run = f"S{'K' if kill else 'T'}"
    crash_during_burst(lambda: bot_server(**env(fake_slack)), fake_slack, run, seed, kill)


@pytest.mark.parametrize("kill", [True, False], ids=["kill-9", "sigterm"])
def test_a_crash_during_a_burst_loses_no_acked_event_and_answers_none_twice_postgresql(
    postgres_url: str,
    fake_slack: FakeSlack,
    bot_server: Callable[..., BotServer],
    kill: bool,
) -> None:
    url = fresh_postgres_database(postgres_url)
    seed = random.SystemRandom().randrange(10**6)
    run = f"P{'K' if kill else 'T'}"
    crash_during_burst(
        lambda: bot_server(**env(fake_slack, DATABASE_URL=url)), fake_slack, run, seed, kill
    )
