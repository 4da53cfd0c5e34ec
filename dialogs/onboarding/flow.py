"""What the chat and the CLI do with an onboarding: who may register whom in which unit, start one
with its due dates, mark a step done (completing the onboarding with the last one), open a step
again and cancel.

* Registering someone else: an admin (any unit), or a holder of ``virksomhetsleder`` or
  ``bts-kontakt`` (the deputy of an absent holder too) in the units they hold it in (every unit for
  a tenant-wide holder). Anyone may start their own onboarding.
* Marking a step: the employee their own steps; the unit's BTS-kontakt and leader, whoever
  registered the employee (when that was someone else) and admins every step.
* The completion is recorded once (``storage.onboarding.complete_onboarding``) and its messages are
  enqueued at once (``planner.done_items``); the planner plans them again if we crash in between.

No platform imports, no texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogs.onboarding.model import Steps, due_dates, steps_for
from dialogs.onboarding.planner import LEADER_ROLE, done_items, start_items
from storage import directory
from storage.onboarding import (
    NewStep,
    OnboardingRecord,
    StepRecord,
    cancel_onboarding,
    complete_onboarding,
    get_onboarding,
    mark_step_done,
    person_key,
    reopen_step,
    start_onboarding,
)
from storage.onboarding_models import CONTACT, EMPLOYEE
from storage.outbox import enqueue
from storage.repositories import Store

#: Roles that may register a new employee in their unit.
REGISTRAR_ROLES = (LEADER_ROLE, CONTACT)
DEFAULT_ZONE = "Europe/Oslo"


async def tenant_zone(store: Store, tenant_id: str) -> tuple[ZoneInfo, frozenset[date]]:
    """The tenant's time zone and closed days."""
    settings = await directory.get_settings(store, tenant_id)
    zone = ZoneInfo(settings.timezone if settings is not None else DEFAULT_ZONE)
    return zone, frozenset(settings.closed_days if settings is not None else ())


async def registrable_units(store: Store, tenant_id: str, platform: str, user_id: str) -> list[str]:
    """The units this person may register a new employee in ([] when none)."""
    units = await directory.list_units(store, tenant_id)
    if await directory.is_admin(store, tenant_id, platform, user_id):
        return units
    allowed: set[str] = set()
    for h in await directory.list_holders(store, tenant_id):
        acting = h.user_id == user_id or (h.absent and h.deputy_user_id == user_id)
        if h.role in REGISTRAR_ROLES and h.platform == platform and acting:
            if h.unit is None:
                return units
            allowed.add(h.unit)
    return [u for u in units if u in allowed]


async def responsible_for_unit(
    store: Store, tenant_id: str, unit: str, platform: str, user_id: str
) -> bool:
    """An admin, or whoever acts as the unit's leader or BTS-kontakt."""
    if await directory.is_admin(store, tenant_id, platform, user_id):
        return True
    for role in REGISTRAR_ROLES:
        if await directory.holds_role(store, tenant_id, role, unit, platform, user_id):
            return True
    return False


async def may_mark(
    store: Store, record: OnboardingRecord, step: StepRecord, platform: str, user_id: str
) -> bool:
    """Whether this person may mark ``step`` done or open it again."""
    me, employee = person_key(platform, user_id), person_key(record.platform, record.user_id)
    if me == employee and step.owner == EMPLOYEE:
        return True
    if me == record.registered_by != employee:
        return True
    return await responsible_for_unit(store, record.tenant_id, record.unit, platform, user_id)


async def may_view(store: Store, record: OnboardingRecord, platform: str, user_id: str) -> bool:
    """The employee, whoever registered them, the unit's leader and BTS-kontakt, and admins."""
    me = person_key(platform, user_id)
    if me in (person_key(record.platform, record.user_id), record.registered_by):
        return True
    return await responsible_for_unit(store, record.tenant_id, record.unit, platform, user_id)


async def start(
    store: Store,
    tenant_id: str,
    platform: str,
    user_id: str,
    *,
    display_name: str,
    unit: str,
    registered_by: str,
    now: datetime,
    kommune_dir: Path | None = None,
    steps: Steps | None = None,
) -> tuple[OnboardingRecord, bool]:
    """Start the person's onboarding (their open one when they have it; ``True`` when started
    now) and enqueue the welcome and the notice to the BTS-kontakt."""
    steps = steps or steps_for(kommune_dir)
    zone, closed = await tenant_zone(store, tenant_id)
    registered = now.astimezone(zone).date()
    new_steps = [
        NewStep(s.key, s.who, due) for s, due in due_dates(steps.steps, registered, closed)
    ]
    record, created = await start_onboarding(
        store, tenant_id, platform, user_id, display_name=display_name, unit=unit,
        registered_by=registered_by, steps=new_steps, now=now,
    )  # fmt: skip
    if created:
        await enqueue(store, await start_items(store, record))
    return record, created


@dataclass(frozen=True)
class StepOutcome:
    """What marking a step did: ``done`` (now), ``already`` (earlier), ``closed`` (the onboarding
    is completed or cancelled), ``gone`` (no such onboarding or step); ``completed`` when this
    made the onboarding complete."""

    result: str
    record: OnboardingRecord | None
    completed: bool = False


async def finish_step(
    store: Store, tenant_id: str, onboarding: int, key: str, by: str, now: datetime
) -> StepOutcome:
    """Mark a step done; with the last one, complete the onboarding and tell the leader."""
    record = await get_onboarding(store, tenant_id, onboarding)
    if record is None or record.step(key) is None:
        return StepOutcome("gone", record)
    if not record.is_open:
        return StepOutcome("closed", record)
    changed = await mark_step_done(store, tenant_id, onboarding, key, by, now)
    completed = await complete_onboarding(store, tenant_id, onboarding, now)
    record = await get_onboarding(store, tenant_id, onboarding)
    assert record is not None
    if completed:
        await enqueue(store, await done_items(store, record))
    if not changed:
        step = record.step(key)
        return StepOutcome("already" if step and step.done_at else "closed", record, completed)
    return StepOutcome("done", record, completed)


async def undo_step(store: Store, tenant_id: str, onboarding: int, key: str) -> StepOutcome:
    """Open a done step of an open onboarding again."""
    changed = await reopen_step(store, tenant_id, onboarding, key)
    record = await get_onboarding(store, tenant_id, onboarding)
    if record is None or record.step(key) is None:
        return StepOutcome("gone", record)
    if not record.is_open:
        return StepOutcome("closed", record)
    return StepOutcome("reopened" if changed else "open", record)


async def cancel(store: Store, tenant_id: str, onboarding: int, now: datetime) -> bool:
    """Stop an open onboarding; its planned rows become obsolete."""
    return await cancel_onboarding(store, tenant_id, onboarding, now)
