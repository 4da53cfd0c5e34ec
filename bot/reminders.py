"""The clock of proactive sends: APScheduler (in memory) wakes the planner and the dispatcher.

APScheduler holds no state worth keeping: what must be sent lives in the outbox, so every process
may run this service (PostgreSQL row claims keep them from sending twice) and a restart loses
nothing. The planner runs at start and every ``PLAN_INTERVAL_SECONDS``; the dispatcher every
``DISPATCH_INTERVAL_SECONDS`` and right after each planning run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery.dispatcher import Dispatcher, DispatchSettings, DispatchStats
from bot.delivery.senders import Sender
from bot.platforms.senders import build_senders, close_senders
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.arshjul import planner
from dialogs.arshjul.planner import PlanSettings, plan_all
from dialogs.leaderdigest import planner as leader_planner
from dialogs.messages import Reply
from dialogs.milestones import planner as milestone_planner
from dialogs.network import planner as network_planner
from dialogs.network.planner import NETWORK_KINDS
from dialogs.onboarding import planner as onboarding_planner
from dialogs.surveys import launch as survey_launch
from storage.models import utcnow
from storage.outbox import Notice
from storage.outbox_models import SURVEY_KINDS, OutboxItem, OutboxKind, row_kind
from storage.repositories import Store

log = logging.getLogger(__name__)

VIEW_TTL_SECONDS = 30.0


def plan_settings(runtime: Runtime) -> PlanSettings:
    s = runtime.settings
    return PlanSettings(
        grace=timedelta(hours=s.outbox_grace_hours),
        escalate_after_days=s.escalate_after_days,
        default_timezone=s.bot_timezone,
    )


def build_dispatcher(runtime: Runtime, senders: Mapping[str, Sender] | None = None) -> Dispatcher:
    """The dispatcher of this process, rendering with the router's content and asking the årshjul
    planner (or, for survey rows, the survey launcher) whether a row is still wanted."""
    from dialogs.arshjul.notices import TenantView, load_tenant, render_notice
    from dialogs.leaderdigest.notices import render_leader_digest
    from dialogs.milestones.notices import render_milestone_notice
    from dialogs.network.notices import render_network_notice
    from dialogs.onboarding.notices import render_onboarding_notice
    from dialogs.surveys.arshjul import with_survey_button
    from dialogs.surveys.model import SurveyFileError, load_templates
    from dialogs.surveys.notices import render_survey_notice

    key = survey_key(runtime.settings)
    try:
        templates = load_templates([runtime.settings.kommune_dir / "surveys"])
    except SurveyFileError as exc:
        log.error(
            "kommune survey templates unreadable; built-in ones used",
            extra={"errors": len(exc.errors)},
        )
        templates = load_templates()

    store, content, charts = runtime.store, runtime.router.content, runtime.charts
    # A fan-out renders the same tenant thousands of times: read its årshjul and holders once per
    # VIEW_TTL instead of once per row (who may receive a row is checked in the database anyway).
    views: dict[str, tuple[float, TenantView]] = {}

    async def render(notice: Notice) -> Reply:
        if notice.kind in SURVEY_KINDS:
            return await render_survey_notice(store, content, notice, utcnow(), charts)
        if notice.kind is OutboxKind.MILESTONE:
            return await render_milestone_notice(store, content, notice, utcnow())
        if notice.kind in onboarding_planner.KINDS:
            kommune_dir = runtime.settings.kommune_dir
            return await render_onboarding_notice(store, content, notice, kommune_dir, utcnow())
        cached = views.get(notice.tenant_id)
        if cached is None or cached[0] < time.monotonic():
            view = await load_tenant(store, notice.tenant_id)
            cached = views[notice.tenant_id] = (time.monotonic() + VIEW_TTL_SECONDS, view)
        if notice.kind is OutboxKind.LEADER_DIGEST:
            return await render_leader_digest(store, content, notice, cached[1], utcnow())
        if notice.kind in NETWORK_KINDS:
            return await render_network_notice(
                store, content, notice, cached[1], utcnow(), templates,
                runtime.settings.survey_min_group,
            )  # fmt: skip
        reply = await render_notice(store, content, notice, view=cached[1])
        return await with_survey_button(
            store, content, reply, notice, cached[1], templates,
            now=utcnow(), min_group=runtime.settings.survey_min_group,
        )  # fmt: skip

    s = runtime.settings
    return Dispatcher(
        store,
        build_senders(runtime) if senders is None else senders,
        render,
        obsolete=lambda store, row: _obsolete(store, key, row),
        after_sent=_after_sent,
        default_lang=s.bot_language,
        settings=DispatchSettings(
            lease=timedelta(seconds=s.outbox_lease_seconds),
            grace=timedelta(hours=s.outbox_grace_hours),
        ),
    )


async def _obsolete(store: Store, key: bytes, row: OutboxItem) -> bool:
    if row_kind(row.kind) in SURVEY_KINDS:
        return await survey_launch.obsolete(store, key, row, utcnow())
    if row_kind(row.kind) is OutboxKind.MILESTONE:
        return await milestone_planner.obsolete(store, row)
    if row_kind(row.kind) in onboarding_planner.KINDS:
        return await onboarding_planner.obsolete(store, row)
    if row_kind(row.kind) is OutboxKind.LEADER_DIGEST:
        return await leader_planner.obsolete(store, row)
    if row_kind(row.kind) in NETWORK_KINDS:
        return await network_planner.obsolete(store, row)
    return await planner.obsolete(store, row)


async def _after_sent(store: Store, row: OutboxItem) -> None:
    if row_kind(row.kind) in SURVEY_KINDS:
        await survey_launch.after_sent(store, row, utcnow())
    else:
        await planner.after_sent(store, row)


class ReminderService:
    """Planner and dispatcher on an in-memory APScheduler."""

    def __init__(self, runtime: Runtime, dispatcher: Dispatcher | None = None) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher or build_dispatcher(runtime)
        self.scheduler = AsyncIOScheduler(timezone=runtime.settings.timezone)

    async def plan_and_dispatch(self, now: datetime | None = None) -> DispatchStats:
        try:
            added = await plan_all(self.runtime.store, plan_settings(self.runtime), now)
            if added:
                log.info("outbox planned", extra={"count": added})
        except Exception as exc:
            log.error("planning failed", extra={"error_type": type(exc).__name__})
        try:
            closed = await survey_launch.close_due(self.runtime.store, now or utcnow())
            if closed:
                log.info("surveys closed", extra={"count": len(closed)})
        except Exception as exc:
            log.error("closing surveys failed", extra={"error_type": type(exc).__name__})
        return await self.dispatch()

    async def dispatch(self) -> DispatchStats:
        try:
            return await self.dispatcher.run_once()
        except Exception as exc:  # the next tick tries again; the outbox keeps every row
            log.error("dispatch failed", extra={"error_type": type(exc).__name__})
            return DispatchStats()

    def start(self) -> None:
        s = self.runtime.settings
        now = utcnow()
        common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        self.scheduler.add_job(
            self.plan_and_dispatch,
            "interval",
            seconds=s.plan_interval_seconds,
            next_run_time=now,
            id="plan",
            **common,
        )
        self.scheduler.add_job(
            self.dispatch,
            "interval",
            seconds=s.dispatch_interval_seconds,
            next_run_time=now + timedelta(seconds=s.dispatch_interval_seconds),
            id="dispatch",
            **common,
        )
        self.scheduler.start()
        log.info("reminder service started", extra={"worker": self.dispatcher.worker_id})

    async def stop(self) -> None:
        """Graceful: no new claims, the sends under way finish (up to ``SHUTDOWN_GRACE_SECONDS``)
        and are recorded, rows claimed but not tried go back to the queue for the other
        processes, then the connections close."""
        self.dispatcher.stop_claiming()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        try:
            await self.dispatcher.stop(self.runtime.settings.shutdown_grace_seconds)
        except Exception as exc:  # the database is gone: the leases bring the rows back
            log.error("outbox stop failed", extra={"error_type": type(exc).__name__})
        await close_senders(self.dispatcher.senders)
