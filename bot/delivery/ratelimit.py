"""Rate limiters for proactive sends: a steady rate per bucket (app × tenant) and a minimum spacing
per conversation, paused as a whole when the platform answers 429.

Slack allows about one message per second per channel plus a workspace-wide limit per method;
Teams about 7 per second per conversation plus a limit per app and tenant. A ``RateLimiter`` is one
such bucket: ``acquire(key)`` returns when both the bucket's rate and the key's spacing allow one
more call, ``pause(seconds)`` (a 429's Retry-After) holds back every later call of the bucket, not
only the one that was refused. Slots are reserved before sleeping (GCRA, the "virtual scheduling"
form of a token bucket), so waiters never spin and never race for the same slot. Time comes from
``time.monotonic`` unless a test injects a clock; this module must not know any platform.

Several processes on one PostgreSQL share each bucket through ``SharedLimits``: a
``SharedRateLimiter`` takes a run of slots (a quarter second's worth) from the bucket's row in
``rate_buckets`` in one statement and hands them to its waiters, so the processes together keep the
rate and the database is hit once per run, not per call; a 429 pauses the row for all of them. The
per-key spacing (Slack's per channel) stays in memory: the outbox claim keeps one conversation's
rows with one process at a time (``storage.outbox.claim_due``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage import rate_buckets

if TYPE_CHECKING:
    from storage.repositories import Store

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Per-key state older than this is dropped when the table grows (a fan-out touches 10,000 keys).
_PRUNE_AT = 4096


@dataclass(frozen=True)
class Rate:
    """``per_second`` calls on average; up to ``burst`` of them back to back after a quiet spell."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


@dataclass
class _KeyState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = float("-inf")  # when the last call for this key was let through
    waiting: int = 0


class RateLimiter:
    """One bucket: ``rate`` over all calls, ``per_key`` spacing between calls for one key."""

    def __init__(
        self,
        rate: Rate,
        per_key: Rate | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.per_key = per_key
        self._clock = clock
        self._sleep = sleep
        self._tat = float("-inf")  # GCRA's theoretical arrival time of the next call
        self._paused_until = float("-inf")
        self._keys: dict[str, _KeyState] = {}
        self.pauses = 0  # how often a 429 paused the bucket (for logs and the benchmark)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold back every call of this bucket for ``seconds`` (Retry-After), then resume at the
        steady rate without a burst: the platform just told us we were too fast."""
        until = self._clock() + max(0.0, seconds)
        self.pauses += 1
        if until > self._paused_until:
            self._paused_until = until
        self._tat = max(self._tat, self._paused_until + (self.rate.burst - 1) * self.rate.interval)

    async def acquire(self, key: str | None = None) -> None:
        """Wait until one more call (for ``key``) is allowed; the caller then makes it at once."""
        if key is None or self.per_key is None:
            await self._acquire_bucket()
            return
        state = self._keys.get(key)
        if state is None:
            self._prune()
            state = self._keys[key] = _KeyState()
        state.waiting += 1
        try:
            # Calls for one key go one at a time, so the spacing is measured from when the previous
            # call was actually let through (after its wait for the bucket), not from a reservation.
            async with state.lock:
                ready = state.last + self.per_key.interval
                wait = ready - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                await self._acquire_bucket()
                state.last = self._clock()
        finally:
            state.waiting -= 1

    async def _acquire_bucket(self) -> None:
        interval = self.rate.interval
        while True:
            now = self._clock()
            if self._paused_until > now:
                await self._sleep(self._paused_until - now)
                continue
            # Reserve the next slot before sleeping: concurrent callers get distinct slots.
            tat = max(self._tat, now)
            allowed_at = tat - (self.rate.burst - 1) * interval
            self._tat = tat + interval
            if allowed_at > now:
                await self._sleep(allowed_at - now)
            if self._paused_until > self._clock():
                continue  # a 429 arrived while we slept: our slot is void, queue again
            return

    def _prune(self) -> None:
        if len(self._keys) < _PRUNE_AT:
            return
        horizon = self._clock() - (self.per_key.interval if self.per_key else 0.0)
        stale = [k for k, s in self._keys.items() if s.waiting == 0 and s.last < horizon]
        for key in stale:
            del self._keys[key]


# A shared bucket hands out at most this many seconds' worth of slots per reservation: a 429 seen
# by another process reaches this one within about that, and unused slots waste at most that much.
RESERVE_SECONDS = 0.25
MAX_RESERVE = 50
MAX_LATE = 0.03  # with headroom 0.97, 30 ms late still fits a strict per-second window
# A waiter gives up at most this many slots it woke too late for, then takes the next however late:
# a loop that lags on every wake (a starved CPU) would otherwise never let anyone through.
MAX_GIVE_UPS = 2


class SharedRateLimiter(RateLimiter):
    """A ``RateLimiter`` whose bucket rate is kept in PostgreSQL for every process (see module)."""

    def __init__(
        self,
        rate: Rate,
        per_key: Rate | None,
        store: Store,
        scope: str,
        name: str,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(rate, per_key, clock=clock, sleep=sleep)
        self.store = store
        self.scope = scope
        self.name = name
        self._slots: deque[float] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._pausing: set[asyncio.Task[None]] = set()
        self._run = max(1, min(MAX_RESERVE, int(rate.per_second * RESERVE_SECONDS)))
        self.reservations = 0  # database round trips (read by the tests)
        self.late_wakeups = 0  # slots given up because the loop woke us too late (ditto)
        self.late_sends = 0  # slots used late after MAX_GIVE_UPS (ditto)

    def pause(self, seconds: float) -> None:
        """Pause here at once and, through the database, in every other process."""
        super().pause(seconds)
        self._slots.clear()  # handed out before the 429: void
        task = asyncio.get_running_loop().create_task(
            rate_buckets.pause(self.store, self.scope, self.name, seconds)
        )
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def _acquire_bucket(self) -> None:
        late = max(self.rate.interval, MAX_LATE)
        given_up = 0
        while True:
            now = self._clock()
            if self._paused_until > now:
                await self._sleep(self._paused_until - now)
                continue
            # A slot we are late for by more than an interval (or a little event loop lag) is
            # dropped, not used: using it would bunch our call onto the next process's slot.
            while self._slots and self._slots[0] < now - late:
                self._slots.popleft()
            if len(self._slots) <= self._run // 2:
                # Ask for the next run while half of this one is left: a round trip per run
                # (tens of milliseconds on a busy loop) then never leaves the rate idle.
                refill = self._start_refill()
                if not self._slots:
                    await asyncio.shield(refill)
                    continue
            slot = self._slots.popleft()
            if slot > now:
                await self._sleep(slot - now)
            woke = self._clock()
            if self._paused_until > woke:
                continue  # a 429 arrived while we slept: our slot is void, queue again
            if woke > slot + late:
                if given_up < MAX_GIVE_UPS:
                    # The event loop was busy past our slot (a loaded machine): every waiter whose
                    # slot fell in that stall wakes at once, and letting them all through would
                    # bunch them onto the next process's run. Queue again for a slot still ahead.
                    given_up += 1
                    self.late_wakeups += 1
                    continue
                # Late again for a slot that was ahead when we queued: the loop lags on every
                # wake, which shifts each call alike instead of bunching them. Waiting for a
                # punctual wake would starve the bucket (nothing sent at all).
                self.late_sends += 1
            return

    def _start_refill(self) -> asyncio.Task[None]:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.get_running_loop().create_task(self._reserve())
            self._refill.add_done_callback(_retrieve)
        return self._refill

    async def _reserve(self) -> None:
        interval = self.rate.interval
        sent_at = self._clock()
        run = await rate_buckets.reserve(self.store, self.scope, self.name, self._run, interval)
        received = self._clock()
        self.reservations += 1
        if run.paused > 0:
            # Another process got a 429: slots in hand are void; the new run starts after it.
            self._paused_until = max(self._paused_until, received + run.paused)
            self._slots.clear()
        # The database ran the statement somewhere between sending and answering: count the run
        # from the answer, so it never starts before the database's, and end it by the send, so
        # it never reaches into the next process's run. A slow round trip costs slots (the next
        # run is reserved early, see above), never an overlap.
        offset = max(0.0, run.start - run.now)
        start, end = received + offset, sent_at + offset + self._run * interval
        if self._slots:
            start = max(start, self._slots[-1] + interval)
        self._slots.extend(
            start + i * interval for i in range(self._run) if start + i * interval < end
        )


def _retrieve(task: asyncio.Task[None]) -> None:
    """A failed refill nobody waited for (the database went away) is logged by the next waiter,
    which starts another and awaits it; do not let asyncio warn about it meanwhile."""
    if not task.cancelled():
        task.exception()


class Limits:
    """One ``RateLimiter`` per bucket name (e.g. ``"slack:T0001:chat.postMessage"``), made on demand
    with the rates given for that kind of bucket."""

    def __init__(
        self,
        rates: dict[str, tuple[Rate, Rate | None]],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rates = rates
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], RateLimiter] = {}

    def bucket(self, kind: str, scope: str) -> RateLimiter:
        """The limiter of ``kind`` (a key of ``rates``) for ``scope`` (a tenant)."""
        found = self._buckets.get((kind, scope))
        if found is None:
            rate, per_key = self._rates[kind]
            found = self._make(kind, scope, rate, per_key)
            self._buckets[(kind, scope)] = found
        return found

    def _make(self, kind: str, scope: str, rate: Rate, per_key: Rate | None) -> RateLimiter:
        return RateLimiter(rate, per_key, clock=self._clock, sleep=self._sleep)

    @property
    def pauses(self) -> int:
        return sum(b.pauses for b in self._buckets.values())


class SharedLimits(Limits):
    """``Limits`` whose bucket rates every process on one PostgreSQL database shares."""

    def __init__(
        self,
        rates: dict[str, tuple[Rate, Rate | None]],
        store: Store,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(rates, clock=clock, sleep=sleep)
        self.store = store

    def _make(self, kind: str, scope: str, rate: Rate, per_key: Rate | None) -> RateLimiter:
        return SharedRateLimiter(
            rate, per_key, self.store, scope, kind, clock=self._clock, sleep=self._sleep
        )
