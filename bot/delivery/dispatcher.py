"""Delivers due outbox rows: claim, render, send through the platform's sender, record the outcome.

APScheduler only wakes ``Dispatcher.run_once``; the outbox is the truth. Each row is claimed with a
lease, marked ``sending`` right before the platform call and ``sent`` right after, so a crash leaves
either a row nobody tried (released when its lease ends) or a row in doubt, which is resolved by asking
the platform (Slack: our message metadata in the channel history) before anything is sent again; a
platform that cannot tell (Teams) gets the row reported to the coordinator instead of sent twice.

Rows older than the grace window when we reach them (the bot was down) are reported, not sent; rows
sent noticeably after their time are marked late and say so. Whether a row is still wanted (its task
marked done meanwhile, say) is the business of the feature that planned it: its ``obsolete`` hook
says, and its ``after_sent`` hook hears what went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.senders import Rejected, RetryLater, Sender, Unreachable
from dialogs.messages import Reply
from storage import outbox
from storage.models import utcnow
from storage.outbox import Notice
from storage.outbox_models import (
    DEFAULT_GRACE,
    EXPIRED,
    FAILED,
    IN_DOUBT,
    SENT,
    SKIPPED,
    UNREACHABLE,
    OutboxItem,
    OutboxKind,
    row_kind,
)
from storage.reports import report_problem
from storage.repositories import Store

log = logging.getLogger(__name__)

Render = Callable[[Notice], Awaitable[Reply]]
Obsolete = Callable[[Store, OutboxItem], Awaitable[bool]]  # True: skip the row, it is not wanted
AfterSent = Callable[[Store, OutboxItem], Awaitable[None]]
# A failing report is logged, not reported again; a follow-up is the user's own business.
UNREPORTED_KINDS = frozenset({OutboxKind.REPORT, OutboxKind.DIGEST, OutboxKind.FOLLOWUP})


@dataclass(frozen=True)
class DispatchSettings:
    """How hard and how long the dispatcher tries."""

    batch: int = 50  # rows per claim
    concurrency: int = 16  # rows in ``sending`` at once (what a crash can leave in doubt)
    mark_chunk: int = 8  # rows marked ``sending`` / recorded ``sent`` per statement
    flush_after: float = 0.1  # seconds a sent row waits at most for the rest of its chunk
    lease: timedelta = timedelta(minutes=5)
    grace: timedelta = DEFAULT_GRACE
    late_after: timedelta = timedelta(minutes=15)
    max_attempts: int = 6
    backoff: timedelta = timedelta(seconds=30)


@dataclass
class DispatchStats:
    """What one ``run_once`` did."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Dispatcher:
    """Sends what is due; several dispatchers (processes) may run on one PostgreSQL database."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        render: Render,
        *,
        obsolete: Obsolete,
        after_sent: AfterSent,
        default_lang: str = "nb",
        settings: DispatchSettings | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.senders = senders
        self.render = render
        self.obsolete = obsolete
        self.after_sent = after_sent
        self.default_lang = default_lang
        self.settings = settings or DispatchSettings()
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self._running = asyncio.Lock()
        self._expired: dict[str, int] = {}
        self._stopping = False
        self._task: asyncio.Task[Any] | None = None

    def stop_claiming(self) -> None:
        """Shutdown: claim nothing more, let the sends under way finish and record them, hand
        every row claimed but not yet tried back to the queue (``stop`` waits for that)."""
        self._stopping = True

    async def stop(self, grace: float) -> None:
        """``stop_claiming`` and wait up to ``grace`` seconds for the run in progress to end;
        then cancel it (its rows in ``sending`` are checked before anything is resent) and give
        back whatever this process still holds in ``claimed``."""
        self.stop_claiming()
        if self._running.locked():
            try:
                async with asyncio.timeout(grace):
                    async with self._running:
                        pass
            except TimeoutError:
                log.warning("outbox run did not finish within the shutdown grace")
                if self._task is not None:
                    self._task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._task
        released = await outbox.release_claims(self.store, self.worker_id)
        if released:
            log.info("released claims at shutdown", extra={"count": released})

    async def run_once(self, max_batches: int | None = None) -> DispatchStats:
        """Recover what crashed processes left, then send due rows until none is left."""
        stats = DispatchStats()
        if self._running.locked():  # a slow run is still going; the next tick catches up
            return stats
        if self._stopping:
            return stats
        async with self._running:
            self._task = asyncio.current_task()
            released = await outbox.release_expired_claims(self.store, now=self.clock())
            if released:
                log.warning("released claims of a stopped dispatcher", extra={"count": released})
            for row in await outbox.claim_in_doubt(
                self.store, self.worker_id, now=self.clock(), lease=self.settings.lease
            ):
                stats.add(await self._resolve_in_doubt(row))
            # Failures found while sending plan reports (due now): go round until a pass claims
            # nothing.
            batches = 0
            while max_batches is None or batches < max_batches:
                left = None if max_batches is None else max_batches - batches
                claimed = await self._send_due(stats, left)
                batches += claimed
                if not claimed or self._stopping:
                    break
        if stats.total:
            log.info("outbox run", extra={"worker": self.worker_id, **stats.counts})
        return stats

    # due rows: a pipeline --------------------------------------------------------------------

    async def _send_due(self, stats: DispatchStats, max_batches: int | None) -> int:
        """Claim batches, prepare their rows, mark them ``sending`` a chunk at a time, send, and
        record the sends a chunk at a time, so that the database is hit per chunk, not per row,
        and the next batch is claimed and prepared while the last rows of this one are still
        waiting for the rate limiter (the limiter never sits idle between batches)."""
        s = self.settings
        ready: asyncio.Queue[_Ready | None] = asyncio.Queue(maxsize=s.concurrency)
        recorder = _Recorder(self, stats)
        claimed = [0]
        feeder = asyncio.create_task(self._feed(ready, stats, max_batches, claimed))
        sends: set[asyncio.Task[None]] = set()
        try:
            done = False
            while not done and not self._stopping:
                await recorder.room(s.mark_chunk)
                first = await ready.get()
                if first is None or self._stopping:
                    break
                group = [first]
                while len(group) < s.mark_chunk and not ready.empty():
                    item = ready.get_nowait()
                    if item is None:
                        done = True
                        break
                    group.append(item)
                ours = await outbox.mark_sending_many(
                    self.store,
                    [r.row.id for r in group],
                    self.worker_id,
                    now=self.clock(),
                    lease=s.lease,
                )
                for prepared in group:
                    if prepared.row.id not in ours:
                        stats.add("lost-claim")
                        continue
                    recorder.taken()
                    task = asyncio.create_task(self._send_marked(prepared, recorder))
                    sends.add(task)
                    task.add_done_callback(sends.discard)
            if self._stopping:
                feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
        finally:
            # Sends under way finish (when stopping too: a message half-way is worse than a
            # short wait); a cancelled run leaves them ``sending``, checked before any resend.
            if sends:
                await asyncio.gather(*sends, return_exceptions=True)
            feeder.cancel()
            await recorder.close()
            if self._stopping:
                # Claimed but never tried: back to the queue now, for the other processes.
                released = await outbox.release_claims(self.store, self.worker_id)
                if released:
                    log.info("released claims at shutdown", extra={"count": released})
        return claimed[0]

    async def _feed(
        self,
        ready: asyncio.Queue[_Ready | None],
        stats: DispatchStats,
        max_batches: int | None,
        claimed: list[int],
    ) -> None:
        """Claim and prepare batches until none is due; ``None`` in the queue says so."""
        batches = 0
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def prepare(row: OutboxItem, lang: str) -> None:
            async with limit:
                try:
                    outcome = await self._prepare(row, lang)
                except Exception as exc:  # e.g. the database went away mid-row
                    # The row keeps its claim; when the lease ends it is tried again.
                    log.error("outbox row crashed", extra={"error_type": type(exc).__name__})
                    stats.add("error")
                    return
            if isinstance(outcome, str):
                stats.add(outcome)
            else:
                await ready.put(outcome)

        try:
            while (max_batches is None or batches < max_batches) and not self._stopping:
                rows = await outbox.claim_due(
                    self.store,
                    self.worker_id,
                    now=self.clock(),
                    limit=self.settings.batch,
                    lease=self.settings.lease,
                )
                if not rows:
                    break
                batches += 1
                claimed[0] = batches
                langs = await self._langs(rows)
                for platform, sender in self.senders.items():
                    prefetch = getattr(sender, "prefetch", None)  # e.g. Slack's stored DMs
                    mine = [row for row in rows if row.platform == platform]
                    if prefetch is not None and mine:
                        await prefetch(mine)
                await asyncio.gather(*(prepare(row, langs[row.id]) for row in rows))
                await self._report_expired()  # planned now, so this loop sends it too
        finally:
            await ready.put(None)

    async def _prepare(self, row: OutboxItem, lang: str) -> _Ready | str:
        """What must happen before the platform call: the grace window, the ``obsolete`` hook,
        rendering. A row that ends here gets its final status and the outcome is returned."""
        now = self.clock()
        overdue = now - row.send_at
        if overdue > self.settings.grace and row.attempts == 0:
            # Reported once per tenant and run (see run_once), not once per missed send.
            if await outbox.finish(
                self.store, row.id, self.worker_id, EXPIRED, error="older-than-grace"
            ):
                self._expired[row.tenant_id] = self._expired.get(row.tenant_id, 0) + 1
            return EXPIRED
        if await self.obsolete(self.store, row):
            await outbox.finish(self.store, row.id, self.worker_id, SKIPPED, error="obsolete")
            return SKIPPED
        sender = self.senders.get(row.platform)
        if sender is None:
            await self._final(row, UNREACHABLE, f"no-sender-{row.platform}")
            return UNREACHABLE
        late = overdue > self.settings.late_after
        try:
            reply = await self.render(Notice.of(row, lang, late))
        except LookupError:
            # The task or follow-up it names is gone (årshjul edited), or a newer release planned
            # a kind this one cannot render.
            await outbox.finish(self.store, row.id, self.worker_id, SKIPPED, error="gone")
            return SKIPPED
        except Exception as exc:  # a content or code bug: retrying will not help, reporting will
            log.error("render failed", extra={"error_type": type(exc).__name__, "kind": row.kind})
            await self._final(row, FAILED, f"render-{type(exc).__name__}")
            return FAILED
        return _Ready(row, sender, reply, late)

    async def _send_marked(self, prepared: _Ready, recorder: _Recorder) -> None:
        """The platform call of a row marked ``sending``; a success is handed to the recorder."""
        row, stats = prepared.row, recorder.stats
        try:
            try:
                message_id = await prepared.sender.send(row, prepared.reply)
            except Unreachable as exc:
                await self._final(row, UNREACHABLE, exc.code)
                stats.add(UNREACHABLE)
            except Rejected as exc:
                await self._final(row, FAILED, exc.code)
                stats.add(FAILED)
            except RetryLater as exc:
                stats.add(await self._retry(row, exc.code, exc.retry_after))
            except Exception as exc:  # a bug or an unexpected library error: retry, then report
                log.error("send raised", extra={"error_type": type(exc).__name__, "kind": row.kind})
                stats.add(await self._retry(row, f"error-{type(exc).__name__}", None))
            else:
                sent = outbox.Sent(row.id, self.clock(), message_id, prepared.late)
                recorder.sent(row, sent)
                return
        except Exception as exc:  # recording the outcome failed: the lease brings the row back
            log.error("outbox row crashed", extra={"error_type": type(exc).__name__})
            stats.add("error")
        recorder.released()

    async def _langs(self, rows: list[OutboxItem]) -> dict[int, str]:
        """Each row's language: its user's choice (one query per tenant), else the default."""
        chosen: dict[tuple[str, str], str] = {}
        by_tenant: dict[str, list[str]] = {}
        for row in rows:
            if row.target_kind == "user":
                by_tenant.setdefault(row.tenant_id, []).append(row.target_id)
        for tenant_id, users in by_tenant.items():
            for user, lang in (await outbox.user_languages(self.store, tenant_id, users)).items():
                chosen[(tenant_id, user)] = lang
        return {
            row.id: chosen.get((row.tenant_id, row.target_id), self.default_lang)
            if row.target_kind == "user"
            else self.default_lang
            for row in rows
        }

    # one row -----------------------------------------------------------------------------------

    async def _resolve_in_doubt(self, row: OutboxItem) -> str:
        sender = self.senders.get(row.platform)
        known = await sender.already_sent(row) if sender is not None else None
        if known is True:
            await outbox.finish(
                self.store, row.id, self.worker_id, SENT, error="confirmed", now=self.clock()
            )
            await self.after_sent(self.store, row)
            return "confirmed"
        if known is False:
            return await self._deliver(row)
        if sender is not None and sender.confirms_delivery:
            # The check itself failed (platform busy): try later; the resend checks again first.
            return await self._retry(row, "unconfirmed", None)
        await self._final(row, IN_DOUBT, "crashed-mid-send")
        return IN_DOUBT

    async def _deliver(self, row: OutboxItem) -> str:
        """One row on its own (a row in doubt the platform says was not sent): the same checks
        and rendering as the pipeline, then mark, send and record."""
        prepared = await self._prepare(row, await self._lang(row))
        if isinstance(prepared, str):
            return prepared
        sender, reply, late = prepared.sender, prepared.reply, prepared.late
        if not await outbox.mark_sending(
            self.store, row.id, self.worker_id, now=self.clock(), lease=self.settings.lease
        ):
            return "lost-claim"
        try:
            message_id = await sender.send(row, reply)
        except Unreachable as exc:
            await self._final(row, UNREACHABLE, exc.code)
            return UNREACHABLE
        except Rejected as exc:
            await self._final(row, FAILED, exc.code)
            return FAILED
        except RetryLater as exc:
            return await self._retry(row, exc.code, exc.retry_after)
        except Exception as exc:  # a bug or an unexpected library error: retry, then report
            log.error("send raised", extra={"error_type": type(exc).__name__, "kind": row.kind})
            return await self._retry(row, f"error-{type(exc).__name__}", None)
        await outbox.finish(
            self.store,
            row.id,
            self.worker_id,
            SENT,
            message_id=message_id,
            late=late,
            now=self.clock(),
        )
        await self.after_sent(self.store, row)
        return "late" if late else SENT

    async def _report_expired(self) -> None:
        expired, self._expired = self._expired, {}
        now = self.clock()
        for tenant_id, count in expired.items():
            log.warning("missed sends older than the grace window", extra={"count": count})
            await report_problem(
                self.store,
                tenant_id,
                EXPIRED,
                f"{self.worker_id}-{now.isoformat()}",
                {"count": count},
                now,
            )

    async def _retry(self, row: OutboxItem, code: str, retry_after: float | None) -> str:
        attempts = row.attempts + 1
        if attempts >= self.settings.max_attempts:
            await self._final(row, FAILED, code)
            return FAILED
        wait = self.settings.backoff * (2 ** (attempts - 1))
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        await outbox.retry_later(self.store, row.id, self.worker_id, self.clock() + wait, code)
        return "retry"

    async def _final(self, row: OutboxItem, status: str, code: str) -> None:
        """Close a row that was not delivered and tell the coordinators about it."""
        if not await outbox.finish(self.store, row.id, self.worker_id, status, error=code):
            return
        log.warning(
            "outbox row not delivered",
            extra={"tenant": row.tenant_id, "kind": row.kind, "status": status, "code": code},
        )
        if row_kind(row.kind) in UNREPORTED_KINDS:
            return
        about = {k: row.payload.get(k) for k in ("task", "occurrence", "role", "unit")}
        about["who"] = row.payload.get("who") or row.target_id
        # One report per person and task occurrence, not one per lead time that failed.
        key = (
            f"{row.platform}:{row.target_id}:{about['task']}:{about['occurrence']}"
            if about["task"]
            else f"item-{row.id}"
        )
        await report_problem(self.store, row.tenant_id, status, key, about, self.clock())

    async def _lang(self, row: OutboxItem) -> str:
        if row.target_kind != "user":
            return self.default_lang
        chosen = await outbox.user_language(self.store, row.tenant_id, row.target_id)
        return chosen or self.default_lang


@dataclass(frozen=True)
class _Ready:
    """A claimed row, rendered and about to be sent."""

    row: OutboxItem
    sender: Sender
    reply: Reply
    late: bool


class _Recorder:
    """Counts the rows in ``sending`` and records sends a chunk at a time.

    A sent row counts as in flight until its ``sent`` is committed, so at most ``concurrency``
    rows are ever ``sending`` in the database (what a crash leaves in doubt is no more than before
    chunking). Chunks are written when ``mark_chunk`` rows are waiting or ``flush_after`` passed;
    ``after_sent`` runs once a row's ``sent`` is committed, as it did row by row."""

    def __init__(self, dispatcher: Dispatcher, stats: DispatchStats) -> None:
        self.dispatcher = dispatcher
        self.stats = stats
        self._in_flight = 0
        self._freed = asyncio.Event()
        self._waiting: list[tuple[OutboxItem, outbox.Sent]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._flush_loop())

    async def room(self, n: int) -> None:
        """Wait until ``n`` more rows may be marked ``sending`` (fewer rows are fine at the end)."""
        limit = self.dispatcher.settings.concurrency
        while self._in_flight > max(0, limit - n):
            self._freed.clear()
            await self._freed.wait()

    def taken(self) -> None:
        self._in_flight += 1

    def released(self, count: int = 1) -> None:
        self._in_flight -= count
        self._freed.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def sent(self, row: OutboxItem, sent: outbox.Sent) -> None:
        self._waiting.append((row, sent))
        if len(self._waiting) >= self.dispatcher.settings.mark_chunk:
            self._wake.set()

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.dispatcher.settings.flush_after)
            self._wake.clear()
            await self.flush()
            if self._closing and not self._waiting:
                return

    async def flush(self) -> None:
        chunk, self._waiting = self._waiting, []
        if not chunk:
            return
        d = self.dispatcher
        try:
            await outbox.finish_sent_many(d.store, d.worker_id, [sent for _, sent in chunk])
        except Exception as exc:
            # Left ``sending``: after the lease the next run asks the platform, never resends
            # blindly.
            log.error("recording sends failed", extra={"error_type": type(exc).__name__})
            self.stats.add("error")
            self.released(len(chunk))
            return
        self.released(len(chunk))
        for row, sent in chunk:
            self.stats.add("late" if sent.late else SENT)
            try:
                await d.after_sent(d.store, row)
            except Exception as exc:
                log.error("after_sent failed", extra={"error_type": type(exc).__name__})

    async def close(self) -> None:
        """Write what is still waiting, then stop."""
        self._closing = True
        self._wake.set()
        try:
            await self._task
        except asyncio.CancelledError:
            self._task.cancel()
            raise
