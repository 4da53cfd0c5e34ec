"""Delivers due outbox rows: claim, render, send through the platform's sender, record the outcome.

APScheduler only wakes ``Dispatcher.run_once``; the outbox is the truth. Each row is claimed with a
lease, marked ``sending`` right before the platform call and ``sent`` right after, so a crash leaves
either a row nobody tried (released when its lease ends) or a row in doubt, which is resolved by asking
the platform (Slack: our message metadata in the channel history) before anything is sent again; a
platform that cannot tell (Teams) gets the row reported to the coordinator instead of sent twice.

Rows older than the grace window when we reach them (the bot was down) are reported, not sent; rows
sent noticeably after their time are marked late and say so. Reminders whose task occurrence was
marked done or not relevant meanwhile are skipped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.delivery.senders import Rejected, RetryLater, Sender, Unreachable
from dialogs.messages import Reply
from storage import directory, outbox
from storage.followup_models import FOLLOWUP_QUEUED, FOLLOWUP_SENT
from storage.followups import get_personal_followup, set_personal_followup_status
from storage.models import utcnow
from storage.outbox_models import (
    EXPIRED,
    FAILED,
    IN_DOUBT,
    SENT,
    SKIPPED,
    UNREACHABLE,
    OutboxItem,
)
from storage.reports import REPORT_KIND, report_problem
from storage.repositories import Store

log = logging.getLogger(__name__)

# (store, tenant id, language, outbox row id, payload, late) -> the message to send
Render = Callable[[Store, str, str, int, dict[str, Any], bool], Awaitable[Reply]]
TASK_KINDS = ("reminder", "postponed", "escalation")
# A failing report is logged, not reported again; a follow-up is the user's own business.
UNREPORTED_KINDS = (REPORT_KIND, "digest", "followup")


@dataclass(frozen=True)
class DispatchSettings:
    """How hard and how long the dispatcher tries."""

    batch: int = 50
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=5)
    grace: timedelta = timedelta(hours=12)
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
        default_lang: str = "nb",
        settings: DispatchSettings | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.senders = senders
        self.render = render
        self.default_lang = default_lang
        self.settings = settings or DispatchSettings()
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self._running = asyncio.Lock()
        self._expired: dict[str, int] = {}

    async def run_once(self, max_batches: int | None = None) -> DispatchStats:
        """Recover what crashed processes left, then send due rows until none is left."""
        stats = DispatchStats()
        if self._running.locked():  # a slow run is still going; the next tick catches up
            return stats
        async with self._running:
            released = await outbox.release_expired_claims(self.store, now=self.clock())
            if released:
                log.warning("released claims of a stopped dispatcher", extra={"count": released})
            for row in await outbox.claim_in_doubt(
                self.store, self.worker_id, now=self.clock(), lease=self.settings.lease
            ):
                stats.add(await self._resolve_in_doubt(row))
            batches = 0
            limit = asyncio.Semaphore(self.settings.concurrency)

            async def one(row: OutboxItem) -> None:
                async with limit:
                    try:
                        stats.add(await self._deliver(row))
                    except Exception as exc:  # e.g. the database went away mid-row
                        # The row keeps its claim; when the lease ends it is tried again.
                        log.error("outbox row crashed", extra={"error_type": type(exc).__name__})
                        stats.add("error")

            while max_batches is None or batches < max_batches:
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
                await asyncio.gather(*(one(row) for row in rows))
                await self._report_expired()  # planned now, so this loop sends it too
        if stats.total:
            log.info("outbox run", extra={"worker": self.worker_id, **stats.counts})
        return stats

    # one row -----------------------------------------------------------------------------------

    async def _resolve_in_doubt(self, row: OutboxItem) -> str:
        sender = self.senders.get(row.platform)
        known = await sender.already_sent(row) if sender is not None else None
        if known is True:
            await outbox.finish(
                self.store, row.id, self.worker_id, SENT, error="confirmed", now=self.clock()
            )
            await self._after_sent(row)
            return "confirmed"
        if known is False:
            return await self._deliver(row)
        if sender is not None and sender.confirms_delivery:
            # The check itself failed (platform busy): try later; the resend checks again first.
            return await self._retry(row, "unconfirmed", None)
        await self._final(row, IN_DOUBT, "crashed-mid-send")
        return IN_DOUBT

    async def _deliver(self, row: OutboxItem) -> str:
        now = self.clock()
        overdue = now - row.send_at
        if overdue > self.settings.grace and row.attempts == 0:
            # Reported once per tenant and run (see run_once), not once per missed send.
            if await outbox.finish(
                self.store, row.id, self.worker_id, EXPIRED, error="older-than-grace"
            ):
                self._expired[row.tenant_id] = self._expired.get(row.tenant_id, 0) + 1
            return EXPIRED
        if await self._obsolete(row):
            await outbox.finish(self.store, row.id, self.worker_id, SKIPPED, error="obsolete")
            return SKIPPED
        sender = self.senders.get(row.platform)
        if sender is None:
            await self._final(row, UNREACHABLE, f"no-sender-{row.platform}")
            return UNREACHABLE
        late = overdue > self.settings.late_after
        try:
            reply = await self.render(
                self.store, row.tenant_id, await self._lang(row), row.id, row.payload, late
            )
        except LookupError:  # the task or follow-up it names is gone (årshjul edited)
            await outbox.finish(self.store, row.id, self.worker_id, SKIPPED, error="gone")
            return SKIPPED
        except Exception as exc:  # a content or code bug: retrying will not help, reporting will
            log.error("render failed", extra={"error_type": type(exc).__name__, "kind": row.kind})
            await self._final(row, FAILED, f"render-{type(exc).__name__}")
            return FAILED
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
        await self._after_sent(row)
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
        if row.kind in UNREPORTED_KINDS:
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

    async def _obsolete(self, row: OutboxItem) -> bool:
        payload = row.payload
        if row.kind in TASK_KINDS or payload.get("type") in TASK_KINDS:
            try:
                occurrence = date.fromisoformat(str(payload["occurrence"]))
                task = str(payload["task"])
            except (KeyError, ValueError):
                return False
            if await outbox.occurrence_closed(
                self.store, row.tenant_id, task, occurrence, payload.get("unit")
            ):
                return True
            if payload.get("type") in ("reminder", "postponed") and payload.get("role"):
                # Planned up to a week ahead: the role may have changed hands since.
                return not await directory.holds_role(
                    self.store,
                    row.tenant_id,
                    str(payload["role"]),
                    payload.get("unit"),
                    row.platform,
                    row.target_id,
                )
            return False
        if payload.get("type") == "followup":
            return not await _followup_queued(self.store, int(payload.get("followup_id", 0)))
        return False

    async def _after_sent(self, row: OutboxItem) -> None:
        if row.payload.get("type") == "followup":
            await set_personal_followup_status(
                self.store, int(row.payload.get("followup_id", 0)), FOLLOWUP_SENT
            )

    async def _lang(self, row: OutboxItem) -> str:
        if row.target_kind != "user":
            return self.default_lang
        chosen = await outbox.user_language(self.store, row.tenant_id, row.target_id)
        return chosen or self.default_lang


async def _followup_queued(store: Store, followup_id: int) -> bool:
    row = await get_personal_followup(store, followup_id)
    return row is not None and row.status == FOLLOWUP_QUEUED
