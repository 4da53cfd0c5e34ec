"""Turns every tenant's årshjul, role holders, follow-ups and digest choice into outbox rows.

Runs at start and every few minutes (APScheduler); planning the same thing twice changes nothing
because each row has a unique key (task, occurrence, recipient, kind). Rows are planned a week ahead,
so downtime of up to a week still finds them in the outbox and the dispatcher reports the ones older
than its grace window; rows already older than the grace window when planned (a fresh install, a
task added for last week) are not planned at all.

* reminders and lead-time reminders to each holder (the deputy while a holder is absent);
* a report to the coordinators when a reminder has nobody to go to;
* one escalation per overdue occurrence and unit (N days after the due date, reminded and still
  open) to the unit's virksomhetsleder, or the coordinators when there is none;
* the users' personal follow-ups from the guide;
* the weekly status digest to the channel the coordinator chose (Monday, or the first working
  day of the week, at 08:00 local).

At send time the dispatcher asks ``obsolete`` whether a row planned here is still wanted and tells
``after_sent`` what went out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogs.arshjul.model import Task
from dialogs.arshjul.recurrence import Holder, due_date, next_working_day, planned_reminders
from dialogs.arshjul.tasks import ensure_tenant_setup, list_tasks
from dialogs.leaderdigest.planner import plan_leader_digest
from dialogs.milestones.planner import plan_milestones
from dialogs.network.planner import network_sectors, plan_networks
from dialogs.onboarding.planner import plan_onboarding
from storage import directory
from storage.followup_models import FOLLOWUP_QUEUED, FOLLOWUP_SENT
from storage.followups import (
    due_personal_followups,
    get_personal_followup,
    set_personal_followup_status,
)
from storage.models import utcnow
from storage.outbox import NewItem, enqueue, occurrence_closed, reminded_occurrences
from storage.outbox_models import (
    DEFAULT_GRACE,
    DONE,
    NOT_RELEVANT,
    REMINDER_KINDS,
    OutboxItem,
    OutboxKind,
    row_kind,
)
from storage.progress import ProgressIndex, get_digest_target, list_progress
from storage.records import acting_for
from storage.reports import report_problem
from storage.repositories import Store
from storage.users import list_tenants

log = logging.getLogger(__name__)

LEADER_ROLE = "virksomhetsleder"
DIGEST_TIME = time(8, 0)
TASK_KINDS = REMINDER_KINDS | {OutboxKind.ESCALATION}


@dataclass(frozen=True)
class PlanSettings:
    lookahead: timedelta = timedelta(days=7)
    grace: timedelta = DEFAULT_GRACE
    escalate_after_days: int = 7
    escalation_scan_days: int = 120
    default_timezone: str = "Europe/Oslo"


@dataclass(frozen=True)
class _Tenant:
    """What planning one tenant reads once: its tasks, holders, zone and closed days."""

    id: str
    tasks: Sequence[Task]
    holders: Sequence[Holder]
    zone: ZoneInfo
    closed: frozenset[date]


async def plan_all(store: Store, settings: PlanSettings, now: datetime | None = None) -> int:
    """Plan every tenant; returns how many rows were added."""
    now = now or utcnow()
    added = await _plan_followups(store, now, settings)
    for tenant in await list_tenants(store):
        try:
            added += await plan_tenant(store, tenant.id, settings, now, platform=tenant.platform)
        except Exception as exc:  # one broken tenant must not stop the others
            log.error(
                "planning failed", extra={"tenant": tenant.id, "error_type": type(exc).__name__}
            )
    return added


async def plan_tenant(
    store: Store, tenant_id: str, settings: PlanSettings, now: datetime, platform: str = "local"
) -> int:
    await ensure_tenant_setup(
        store, tenant_id, timezone=settings.default_timezone, platform=platform
    )
    config = await directory.get_settings(store, tenant_id)
    assert config is not None
    tenant = _Tenant(
        tenant_id,
        await list_tasks(store, tenant_id),
        await directory.list_holders(store, tenant_id),
        ZoneInfo(config.timezone),
        frozenset(config.closed_days),
    )
    added = await _plan_reminders(store, tenant, now, settings)
    added += await _plan_escalations(store, tenant, now, settings)
    added += await _plan_digest(store, tenant, now, now - settings.grace)
    added += await plan_milestones(store, tenant_id, now, settings.grace, settings.lookahead)
    added += await plan_onboarding(
        store, tenant_id, tenant.holders, tenant.zone, tenant.closed,
        now, now - settings.grace, settings.lookahead,
    )  # fmt: skip
    added += await plan_leader_digest(
        store, tenant_id, tenant.tasks, tenant.zone, tenant.closed,
        now, now - settings.grace, settings.lookahead,
    )  # fmt: skip
    added += await plan_networks(
        store, tenant_id, tenant.tasks, tenant.holders, tenant.zone, tenant.closed,
        now, now - settings.grace, settings.lookahead, network_sectors(),
    )  # fmt: skip
    return added


async def _plan_reminders(
    store: Store, tenant: _Tenant, now: datetime, settings: PlanSettings
) -> int:
    tenant_id, zone = tenant.id, tenant.zone
    earliest = now - settings.grace
    window = (earliest.astimezone(zone).date(), (now + settings.lookahead).astimezone(zone).date())
    items: list[NewItem] = []
    added = 0
    for r in planned_reminders(tenant.tasks, tenant.holders, window, zone, tenant.closed):
        if r.send_at < earliest:
            continue
        if r.recipient is None:
            about = {
                "task": r.task_key,
                "occurrence": r.occurrence.isoformat(),
                "role": r.role,
                "unit": r.unit,
                "who": None,
            }
            key = f"{r.task_key}:{r.occurrence.isoformat()}:{r.role}:{r.unit or ''}"
            added += await report_problem(store, tenant_id, r.reason, key, about, r.send_at)
            continue
        items.append(
            NewItem(
                tenant_id=tenant_id,
                # The key names the occurrence, not the (moved) due date: a due date that moves
                # when a closed day is added keeps its key, so a reminder already sent stays sent.
                dedupe_key=(
                    f"{r.kind}:{r.task_key}:{r.occurrence.isoformat()}:"
                    f"{r.recipient.platform}:{r.recipient.user_id}"
                ),
                kind=r.kind,
                platform=r.recipient.platform,
                target_kind="user",
                target_id=r.recipient.user_id,
                send_at=r.send_at,
                payload={
                    "task": r.task_key,
                    "occurrence": r.occurrence.isoformat(),
                    "due": r.due_day.isoformat(),
                    "lead_days": r.lead_days,
                    "role": r.role,
                    "unit": r.unit,
                    "deputy": r.deputy,
                },
            )
        )
    return added + await enqueue(store, items)


async def _plan_escalations(
    store: Store, tenant: _Tenant, now: datetime, settings: PlanSettings
) -> int:
    tenant_id, zone, holders = tenant.id, tenant.zone, tenant.holders
    by_key = {t.key: t for t in tenant.tasks}
    today = now.astimezone(zone).date()
    since = now - timedelta(days=settings.escalation_scan_days)
    progress = ProgressIndex(await list_progress(store, tenant_id, start=since.date()))
    coordinators = await directory.coordinator_recipients(store, tenant_id)
    items: list[NewItem] = []
    for task_key, occurrence, unit in sorted(
        await reminded_occurrences(store, tenant_id, since), key=lambda k: (k[1], k[0], k[2] or "")
    ):
        task = by_key.get(task_key)
        if task is None:
            continue
        state = progress.get(task_key, occurrence, unit)
        if state is not None and state.status in (DONE, NOT_RELEVANT):
            continue
        due = due_date(occurrence, tenant.closed)  # overdue counts from the moved due date
        start = due
        if state is not None and state.postponed_until is not None:
            start = max(start, state.postponed_until)
        day = next_working_day(start + timedelta(days=settings.escalate_after_days), tenant.closed)
        if day > today:
            continue
        hour, minute = task.send_hour_minute
        at = max(datetime.combine(day, time(hour, minute), tzinfo=zone), now)
        leaders = [h for h in holders if h.role == LEADER_ROLE and unit and h.unit == unit]
        targets = acting_for(leaders) or coordinators
        names = sorted(
            {
                h.display_name or h.user_id
                for h in holders
                if h.role in task.roles and (unit is None or h.unit == unit)
            }
        )
        for platform, user in targets:
            items.append(
                NewItem(
                    tenant_id=tenant_id,
                    dedupe_key=(
                        f"escalation:{task_key}:{occurrence.isoformat()}:{unit or ''}:"
                        f"{platform}:{user}"
                    )[:400],
                    kind=OutboxKind.ESCALATION,
                    platform=platform,
                    target_kind="user",
                    target_id=user,
                    send_at=at,
                    payload={
                        "task": task_key,
                        "occurrence": occurrence.isoformat(),
                        "due": due.isoformat(),
                        "unit": unit,
                        "days_overdue": (today - due).days,
                        "holders": names,
                    },
                )
            )
    return await enqueue(store, items)


async def _plan_followups(store: Store, now: datetime, settings: PlanSettings) -> int:
    due = await due_personal_followups(store, now + settings.lookahead, limit=1000)
    items = [
        NewItem(
            tenant_id=f.tenant_id,
            dedupe_key=f"followup:{f.id}",
            kind=OutboxKind.FOLLOWUP,
            platform=f.platform,
            target_kind="user",
            target_id=f.platform_user_id,
            send_at=f.due_at,
            payload={"followup_id": f.id, "label": f.label},
        )
        for f in due
    ]
    return await enqueue(store, items)


async def _plan_digest(store: Store, tenant: _Tenant, now: datetime, earliest: datetime) -> int:
    tenant_id, zone = tenant.id, tenant.zone
    target = await get_digest_target(store, tenant_id)
    if target is None:
        return 0
    platform, channel = target
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    day = next_working_day(monday, tenant.closed)
    at = datetime.combine(day, DIGEST_TIME, tzinfo=zone)
    if at < earliest or day - monday > timedelta(days=4):
        return 0
    year, week, _ = monday.isocalendar()
    label = f"{year}-W{week:02d}"
    return await enqueue(
        store,
        [
            NewItem(
                tenant_id=tenant_id,
                dedupe_key=f"digest:{label}:{platform}:{channel}"[:400],
                kind=OutboxKind.DIGEST,
                platform=platform,
                target_kind="channel",
                target_id=channel,
                send_at=at,
                payload={"week": label},
            )
        ],
    )


# at send time -----------------------------------------------------------------------------------


async def obsolete(store: Store, row: OutboxItem) -> bool:
    """True when a planned row is no longer wanted: its task occurrence was marked done or not
    relevant, the reminder's role changed hands, or the follow-up was cancelled."""
    kind, payload = row_kind(row.kind), row.payload
    if kind in TASK_KINDS:
        try:
            occurrence = date.fromisoformat(str(payload["occurrence"]))
            task = str(payload["task"])
        except (KeyError, ValueError):
            return False
        if await occurrence_closed(store, row.tenant_id, task, occurrence, payload.get("unit")):
            return True
        if kind in REMINDER_KINDS and payload.get("role"):
            # Planned up to a week ahead: the role may have changed hands since.
            return not await directory.holds_role(
                store,
                row.tenant_id,
                str(payload["role"]),
                payload.get("unit"),
                row.platform,
                row.target_id,
            )
        return False
    if kind is OutboxKind.FOLLOWUP:
        followup = await get_personal_followup(store, int(payload.get("followup_id", 0)))
        return followup is None or followup.status != FOLLOWUP_QUEUED
    return False


async def after_sent(store: Store, row: OutboxItem) -> None:
    """A follow-up that went out is not planned again."""
    if row_kind(row.kind) is OutboxKind.FOLLOWUP:
        await set_personal_followup_status(
            store, int(row.payload.get("followup_id", 0)), FOLLOWUP_SENT
        )
