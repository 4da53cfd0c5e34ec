"""Works off the inbox: claims stored events with a lease and hands each to its platform's handler.

The HTTP handler only checks the signature and stores the event (``storage.inbox.receive``) before
it answers 200; this worker does the rest, so an event that was acknowledged is never lost: rows a
crashed or stopped process held are taken over when their lease ends (at once after a clean stop,
which releases them). One user's turns are handled in the order they arrived; different users' in
parallel. The handler decides each row's fate through the ``storage.inbox`` calls; an exception it
lets through retries the row with backoff, and after ``max_attempts`` the row is given up (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from storage import inbox
from storage.db import checkpoint
from storage.inbox_models import FAILED, InboxItem
from storage.models import utcnow
from storage.repositories import Store

log = logging.getLogger(__name__)

# (row, worker id) -> True when the row was answered and only needs closing as done: the worker
# closes those in one statement per batch. A crash before that leaves them ``sending``, which the
# next worker resolves by looking for the answer on the platform, so nothing is sent twice.
RowHandler = Callable[[InboxItem, str], Awaitable[bool]]


@dataclass(frozen=True)
class InboxSettings:
    """How the worker paces itself."""

    batch: int = 64
    concurrency: int = 16
    lease: timedelta = timedelta(seconds=60)
    poll: float = 2.0  # seconds between looks when nobody woke us (rows of other processes)
    # Acks come first: after a wake the worker waits until no new event arrived for ``quiet``
    # seconds (at most ``settle_max``), so a burst is acknowledged before its turns compete with
    # it for the event loop and the database, and is then taken in few claims.
    quiet: float = 0.03
    settle_max: float = 0.5
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=2)
    purge_every: float = 600.0


class InboxWorker:
    """One per process and platform; several processes may share one PostgreSQL database."""

    def __init__(
        self,
        store: Store,
        platform: str,
        handle: RowHandler,
        settings: InboxSettings | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.platform = platform
        self.handle = handle
        self.settings = settings or InboxSettings()
        self.worker_id = worker_id or f"{platform}-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_wake = 0.0

    def wake(self) -> None:
        """Something was stored: look soon instead of at the next poll."""
        self._last_wake = asyncio.get_running_loop().time()
        self._wake.set()

    async def _settle(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.settle_max
        while not self._stopping:
            quiet_at = self._last_wake + self.settings.quiet
            now = loop.time()
            if now >= quiet_at or now >= deadline:
                return
            await asyncio.sleep(min(quiet_at, deadline) - now)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.worker_id)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish what is in hand (up to ``grace`` seconds), then release the rest to others."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            released = await inbox.release(self.store, self.worker_id)
        except Exception as exc:  # the database is gone: the leases run out by themselves
            log.warning("inbox release failed", extra={"error_type": type(exc).__name__})
            return
        if released:
            log.info("inbox rows released", extra={"count": released, "platform": self.platform})

    async def run_once(self) -> int:
        """Claim one batch and handle it; returns how many rows were taken."""
        rows = await inbox.claim(
            self.store,
            self.worker_id,
            platform=self.platform,
            lease=self.settings.lease,
            limit=self.settings.batch,
        )
        if not rows:
            return 0
        answered: list[int] = []
        lanes: dict[str, list[InboxItem]] = {}
        for row in rows:
            lanes.setdefault(row.order_key, []).append(row)
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def lane(items: list[InboxItem]) -> None:
            async with limit:
                for item in items:
                    if await self._one(item):
                        answered.append(item.id)

        try:
            await asyncio.gather(*(lane(items) for items in lanes.values()))
        finally:
            await inbox.finish_many(self.store, answered, self.worker_id)
            await checkpoint(self.store.engine)
        return len(rows)

    async def _one(self, row: InboxItem) -> bool:
        try:
            return await self.handle(row, self.worker_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = type(exc).__name__
            log.error(
                "inbox row failed",
                extra={"platform": self.platform, "tenant": row.tenant_id, "error_type": error},
            )
            try:
                if row.attempts >= self.settings.max_attempts:
                    await inbox.finish(self.store, row.id, self.worker_id, FAILED, error)
                else:
                    wait = self.settings.backoff * (2 ** (row.attempts - 1))
                    await inbox.retry_later(
                        self.store, row.id, self.worker_id, utcnow() + wait, error
                    )
            except Exception:  # the database is gone; the lease brings the row back
                log.error("inbox row could not be rescheduled", extra={"row": row.id})
            return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + self.settings.purge_every
        while not self._stopping:
            self._wake.clear()
            try:
                await self._settle()
                taken = await self.run_once()
                if loop.time() >= next_purge:
                    next_purge = loop.time() + self.settings.purge_every
                    await inbox.purge(self.store)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the database is restarting: try again shortly
                log.error("inbox run failed", extra={"error_type": type(exc).__name__})
                taken = 0
            if taken or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll)


class InboxWriter:
    """Group commit for the ack path: requests arriving together share one INSERT and one commit.

    Under a burst, one transaction per request would queue every ack behind the database's single
    writer (SQLite) or its commit latency; collecting what arrives while the previous write runs
    costs a lone request nothing and lets a burst of hundreds be stored in a few commits. A request
    is answered only after its row is committed; if the write fails, every waiting request gets the
    error (and answers 503, so the platform delivers again).
    """

    def __init__(self, store: Store, max_batch: int = 200) -> None:
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[tuple[inbox.Incoming, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def put(self, item: inbox.Incoming) -> bool:
        """Store ``item``; True when its key was new, False when it was known (a duplicate)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = (
                self._waiting[: self.max_batch],
                self._waiting[self.max_batch :],
            )
            unique: dict[str, inbox.Incoming] = {}
            for item, _ in batch:
                unique.setdefault(item.event_key, item)
            try:
                new = await inbox.receive_many(self.store, list(unique.values()))
            except Exception:
                # One row the database refuses must not fail the others: store them one by one.
                new = set()
                for item in unique.values():
                    try:
                        new |= await inbox.receive_many(self.store, [item])
                    except Exception as exc:
                        for other, future in batch:
                            if other.event_key == item.event_key and not future.done():
                                future.set_exception(exc)
            for item, future in batch:
                if not future.done():
                    # The first of several identical keys in one batch is the new one.
                    future.set_result(item.event_key in new and unique[item.event_key] is item)
