"""Turns open onboardings into outbox rows, and says at send time whether a planned row is still
wanted.

* At registration: a welcome to the new employee (unless they registered themselves) and a notice
  to the unit's BTS-kontakt (not to whoever registered). ``start_items`` builds them; the chat and
  the CLI enqueue them at once and ``plan_onboarding`` plans them too, so a crash in between loses
  nothing (the unique key makes the second one a no-op).
* Each open step: a reminder to its owner on the due day (a working day, see ``dialogs.onboarding.
  model.due_dates``) at 09:00 in the tenant's time zone, and one more 7 days later (moved forward
  to a working day) if it is still not done. The owner is the employee, or the holders of
  ``bts-kontakt`` in the onboarding's unit (the deputy while a holder is absent;
  ``storage.records.acting_for``), or the coordinators and admins when the unit has none.
* When every step is done: the completion to the unit's leaders (``virksomhetsleder`` in the unit,
  the coordinators when none) and the employee (``done_items``).

``plan_onboarding`` runs inside the årshjul planner's ``plan_tenant`` with its window (a week
ahead, nothing older than the grace window). Each row has a unique key, so planning twice adds
nothing. ``obsolete``: the onboarding was cancelled (or is gone), the step was done meanwhile, or
the recipient no longer acts for the unit's BTS-kontakt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.arshjul.recurrence import next_working_day
from storage import directory
from storage.onboarding import OnboardingRecord, get_onboarding, list_onboardings, person_key
from storage.onboarding_models import CONTACT, EMPLOYEE
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxItem, OutboxKind, row_kind
from storage.records import Holder, acting_for
from storage.repositories import Store

LEADER_ROLE = "virksomhetsleder"
SEND_TIME = (9, 0)
AGAIN_AFTER_DAYS = 7
#: Stages of an ``onboarding`` row.
WELCOME = "welcome"  # to the employee, at registration
NEW = "new"  # to the unit's BTS-kontakt, at registration
DUE = "due"  # a step's reminder on its due day
AGAIN = "again"  # once more, a week later, if still not done
MAX_ID_DIGITS = 9
#: The outbox kinds this module plans and ``obsolete`` answers for.
KINDS = frozenset({OutboxKind.ONBOARDING, OutboxKind.ONBOARDING_DONE})


@dataclass(frozen=True)
class Target:
    """One recipient: as a deputy of an absent holder, or as coordinator because nobody holds
    the role in the unit (``fallback``)."""

    platform: str
    user_id: str
    deputy: bool = False
    fallback: bool = False


def unit_holders(role: str, unit: str, holders: Sequence[Holder]) -> list[tuple[str, str, bool]]:
    """(platform, user id, as deputy) of whoever acts for ``role`` in ``unit``."""
    found: dict[tuple[str, str], bool] = {}
    for h in holders:
        if h.role == role and h.unit == unit:
            for platform, user in acting_for([h]):
                found.setdefault((platform, user), h.absent)
    return [(platform, user, deputy) for (platform, user), deputy in found.items()]


async def role_targets(
    store: Store, tenant_id: str, role: str, unit: str, holders: Sequence[Holder]
) -> list[Target]:
    """Who acts for ``role`` in ``unit``; the coordinators and admins when nobody does."""
    acting = [Target(p, u, deputy) for p, u, deputy in unit_holders(role, unit, holders)]
    if acting:
        return acting
    coordinators = await directory.coordinator_recipients(store, tenant_id)
    return [Target(p, u, fallback=True) for p, u in coordinators]


def at_local(day: date, zone: ZoneInfo) -> datetime:
    """09:00 on ``day`` in ``zone`` (a wall time inside a DST gap is normalised via UTC)."""
    local = datetime.combine(day, time(*SEND_TIME), tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def step_sends(due: date, zone: ZoneInfo, closed: frozenset[date]) -> list[tuple[str, datetime]]:
    """(stage, time) of a step's reminders: on the due day and a week later."""
    again = next_working_day(due + timedelta(days=AGAIN_AFTER_DAYS), closed)
    return [(DUE, at_local(due, zone)), (AGAIN, at_local(again, zone))]


def _item(
    record: OnboardingRecord,
    kind: OutboxKind,
    key: str,
    target: Target,
    at: datetime,
    **payload: Any,
) -> NewItem:
    return NewItem(
        tenant_id=record.tenant_id,
        dedupe_key=f"{key}:{target.platform}:{target.user_id}"[:400],
        kind=kind,
        platform=target.platform,
        target_kind="user",
        target_id=target.user_id,
        send_at=at,
        payload={
            "onboarding": record.id,
            "deputy": target.deputy,
            "fallback": target.fallback,
            **payload,
        },
    )


def _employee(record: OnboardingRecord) -> Target:
    return Target(record.platform, record.user_id)


async def start_items(
    store: Store, record: OnboardingRecord, holders: Sequence[Holder] | None = None
) -> list[NewItem]:
    """The welcome to the employee and the notice to the unit's BTS-kontakt, at registration."""
    if holders is None:
        holders = await directory.list_holders(store, record.tenant_id)
    at, base = record.registered_at, f"onboarding:{record.id}"
    employee = _employee(record)
    items = []
    if record.registered_by != person_key(employee.platform, employee.user_id):
        items.append(_item(record, OutboxKind.ONBOARDING, f"{base}:{WELCOME}", employee, at,
                           stage=WELCOME))  # fmt: skip
    for target in await role_targets(store, record.tenant_id, CONTACT, record.unit, holders):
        who = person_key(target.platform, target.user_id)
        if who in (record.registered_by, person_key(employee.platform, employee.user_id)):
            continue  # they know already
        items.append(_item(record, OutboxKind.ONBOARDING, f"{base}:{NEW}", target, at, stage=NEW))
    return items


async def done_items(
    store: Store, record: OnboardingRecord, holders: Sequence[Holder] | None = None
) -> list[NewItem]:
    """The completion, to the unit's leaders (or the coordinators) and the employee."""
    if record.completed_at is None:
        return []
    if holders is None:
        holders = await directory.list_holders(store, record.tenant_id)
    employee = _employee(record)
    leaders = [
        t
        for t in await role_targets(store, record.tenant_id, LEADER_ROLE, record.unit, holders)
        if (t.platform, t.user_id) != (employee.platform, employee.user_id)
    ]
    key, at = f"{OutboxKind.ONBOARDING_DONE.value}:{record.id}", record.completed_at
    items = [_item(record, OutboxKind.ONBOARDING_DONE, key, t, at) for t in leaders]
    items.append(_item(record, OutboxKind.ONBOARDING_DONE, key, employee, at, employee=True))
    return items


async def step_items(
    store: Store,
    record: OnboardingRecord,
    holders: Sequence[Holder],
    zone: ZoneInfo,
    closed: frozenset[date],
    earliest: datetime,
    latest: datetime,
) -> list[NewItem]:
    """The reminders of the record's open steps whose time lies between ``earliest`` and
    ``latest``."""
    items: list[NewItem] = []
    contacts: list[Target] | None = None
    for step in record.open_steps:
        sends = [(stage, at) for stage, at in step_sends(step.due, zone, closed)
                 if earliest <= at <= latest]  # fmt: skip
        if not sends:
            continue
        if step.owner == EMPLOYEE:
            targets = [_employee(record)]
        else:
            if contacts is None:
                contacts = await role_targets(
                    store, record.tenant_id, CONTACT, record.unit, holders
                )
            targets = contacts
        for stage, at in sends:
            key = f"onboarding:{record.id}:{step.key}:{step.due.isoformat()}:{stage}"
            items += [
                _item(record, OutboxKind.ONBOARDING, key, t, at, stage=stage, step=step.key,
                      due=step.due.isoformat(), owner=step.owner)
                for t in targets
            ]  # fmt: skip
    return items


async def plan_onboarding(
    store: Store,
    tenant_id: str,
    holders: Sequence[Holder],
    zone: ZoneInfo,
    closed: frozenset[date],
    now: datetime,
    earliest: datetime,
    lookahead: timedelta,
) -> int:
    """Plan the rows of the tenant's onboardings whose time lies between ``earliest`` and
    ``now + lookahead``; returns how many rows were added."""
    latest = now + lookahead
    items: list[NewItem] = []
    for record in await list_onboardings(store, tenant_id, completed_since=earliest):
        if record.completed_at is not None:
            items += await done_items(store, record, holders)
            continue
        if earliest <= record.registered_at <= latest:
            items += await start_items(store, record, holders)
        items += await step_items(store, record, holders, zone, closed, earliest, latest)
    return await enqueue(store, items) if items else 0


def onboarding_id(value: object) -> int | None:
    """An onboarding id from a payload or a button value; None when it is no plausible id."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= MAX_ID_DIGITS else None


async def obsolete(store: Store, row: OutboxItem) -> bool:
    """True when a planned onboarding row is no longer wanted (see the module docstring)."""
    payload = row.payload
    number = onboarding_id(payload.get("onboarding"))
    record = await get_onboarding(store, row.tenant_id, number) if number is not None else None
    if record is None or record.cancelled_at is not None:
        return True
    if row_kind(row.kind) is OutboxKind.ONBOARDING_DONE or payload.get("stage") in (WELCOME, NEW):
        return False
    step = record.step(str(payload.get("step")))
    if step is None or step.done_at is not None or str(payload.get("due")) != step.due.isoformat():
        return True
    if step.owner == EMPLOYEE:
        return (row.platform, row.target_id) != (record.platform, record.user_id)
    holders = await directory.list_holders(store, row.tenant_id)
    acting = unit_holders(CONTACT, record.unit, holders)
    if payload.get("fallback"):
        # Sent to the coordinators because the unit had no BTS-kontakt: the new one gets their own.
        return bool(acting)
    return (row.platform, row.target_id) not in {(p, u) for p, u, _ in acting}
