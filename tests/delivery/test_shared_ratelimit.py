"""Two processes' limiters on one PostgreSQL share a bucket's rate and its 429 pause
(``bot.delivery.ratelimit.SharedRateLimiter`` over ``storage.rate_buckets``). Two limiters on one
store stand for two processes: they share nothing in memory. Checks count calls per sliding
second; they never depend on how fast the machine is."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.delivery.ratelimit import Rate, SharedLimits
from storage import rate_buckets
from storage.repositories import Store
from tests.support.fake_slack import busiest_second

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

RATE = 20.0
CALLS = 40  # per process


def limits(store: Store) -> SharedLimits:
    return SharedLimits({"post": (Rate(RATE), Rate(1.0))}, store)


async def test_two_processes_together_keep_one_rate(store: Store) -> None:
    times: list[float] = []

    async def process(n: int) -> None:
        bucket = limits(store).bucket("post", "slack:T1")

        async def call(i: int) -> None:
            await bucket.acquire(f"D{n}-{i}")
            times.append(time.monotonic())

        await asyncio.gather(*(call(i) for i in range(CALLS)))

    await asyncio.gather(process(0), process(1))
    assert len(times) == 2 * CALLS
    # Each alone would do RATE a second: together they still do RATE (one more at a window edge
    # for a slot used a few milliseconds late).
    assert busiest_second(times) <= RATE + 1


async def test_a_429_in_one_process_pauses_the_other(store: Store) -> None:
    first = limits(store).bucket("post", "slack:T1")
    second = limits(store).bucket("post", "slack:T1")
    await first.acquire(None)
    first.pause(2.0)
    await asyncio.sleep(0.1)  # the pause is written to the database in the background
    assert await rate_buckets.paused_for(store, "slack:T1", "post") > 1.5
    started = time.monotonic()
    await second.acquire(None)
    assert time.monotonic() - started >= 1.5, "the other process waited out the Retry-After"
    # Another tenant's bucket is not paused.
    await limits(store).bucket("post", "slack:T2").acquire(None)
    assert await rate_buckets.paused_for(store, "slack:T2", "post") == 0.0


async def test_many_waiters_across_many_runs_all_get_a_slot(store: Store) -> None:
    # More callers at once than a run has slots, over a dozen runs: while one caller waits for
    # the database the others take what is in hand, and none may then find the run emptied
    # under it (an IndexError used to end such a send and stall the fan-out for the backoff).
    bucket = SharedLimits({"post": (Rate(40.0), None)}, store).bucket("post", "slack:T9")
    times: list[float] = []

    async def caller(n: int) -> None:
        for _ in range(4):
            await bucket.acquire(None)
            times.append(time.monotonic())
            await asyncio.sleep(0.01 * (n % 7))  # the call itself: callers come back staggered

    await asyncio.gather(*(caller(n) for n in range(30)))
    assert len(times) == 120
    assert busiest_second(times) <= 40 + 1
    # A round trip per run of slots, not per call.
    assert bucket.reservations <= 120 // 5


async def test_a_stalled_event_loop_does_not_release_its_missed_slots_at_once(
    store: Store,
) -> None:
    # A busy replica's loop can wake its waiters long after their slots; letting every one of
    # them through then would put a burst onto the slots the other replicas hold. The missed
    # slots are given up and the waiters queue again.
    bucket = limits(store).bucket("post", "slack:T3")
    times: list[float] = []

    async def caller(i: int) -> None:
        await bucket.acquire(None)
        times.append(time.monotonic())

    async def stall() -> None:
        for _ in range(3):
            await asyncio.sleep(0.4)
            time.sleep(0.35)  # noqa: ASYNC251 - blocks the whole loop, as a long synchronous step does

    await asyncio.gather(stall(), *(caller(i) for i in range(50)))
    assert len(times) == 50
    assert busiest_second(times) <= RATE + 1
    assert bucket.late_wakeups > 0  # type: ignore[attr-defined]


async def test_a_loop_that_lags_on_every_wake_still_sends_at_the_rate(store: Store) -> None:
    # A starved CPU wakes every sleeper late. A waiter gives up a slot it woke too late for only
    # a few times, then takes its next one: giving up every time, nobody was ever let through
    # (the SIGTERM replica test saw eight sends outlast a five-second shutdown grace).
    async def lagging(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.08)  # later than any slot's tolerance at 20/s

    bucket = SharedLimits({"post": (Rate(RATE), Rate(1.0))}, store, sleep=lagging).bucket(
        "post", "slack:T4"
    )
    times: list[float] = []

    async def caller() -> None:
        await bucket.acquire(None)
        times.append(time.monotonic())

    async with asyncio.timeout(60):  # a hang guard, far above the two seconds this needs
        await asyncio.gather(*(caller() for _ in range(40)))
    assert len(times) == 40
    assert busiest_second(times) <= RATE + 1
    assert bucket.late_sends > 0  # type: ignore[attr-defined]
