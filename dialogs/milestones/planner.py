"""Turns a tenant's open milestones into reminder rows in the outbox, and says at send time whether
a planned row is still wanted.

The responsible role's holders (the deputy while a holder is absent; ``storage.records.acting_for``)
get a reminder 14 days before the due date and on it, each moved back to the previous working day
(weekends, Norwegian public holidays, the tenant's closed days), and one "overdue" reminder 7 days
after it (moved forward to the next working day) if it is still open, all at 09:00 local time. When
nobody holds the role, the coordinators and admins get them instead, told why. ``plan_milestones``
runs inside the årshjul planner's ``plan_tenant`` with its window: rows are planned up to a week
ahead and not at all when already older than the grace window (a plan of 2022 plans nothing).
Each row has a unique key (milestone, due date, stage, recipient), so planning twice adds nothing.

``obsolete``: the milestone was completed or removed, its due date moved (the new date gets its
own rows), or the recipient no longer holds the role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogs.arshjul.recurrence import next_working_day, send_at
from storage import directory
from storage.milestones import MilestoneRecord, get_milestone, list_milestones
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxItem, OutboxKind
from storage.records import Holder, acting_for
from storage.repositories import Store

LEAD_DAYS = (14, 0)
OVERDUE_AFTER_DAYS = 7
SEND_TIME = (9, 0)
DUE = "due"
OVERDUE = "overdue"
LEAD_PREFIX = "lead-"


@dataclass(frozen=True)
class Send:
    """One reminder of a milestone: its stage (``lead-14``, ``due``, ``overdue``) and time."""

    stage: str
    at: datetime


def milestone_sends(due: date, zone: ZoneInfo, closed: frozenset[date]) -> list[Send]:
    """Every reminder of a milestone due on ``due``, in time order. Two lead times that land on
    the same working day give one send (the one closest to the due date)."""
    sends: list[Send] = []
    used: set[date] = set()
    for lead in sorted(LEAD_DAYS):
        at = send_at(due, lead, SEND_TIME, zone, closed)
        if at.date() in used:
            continue
        used.add(at.date())
        sends.append(Send(DUE if lead == 0 else f"{LEAD_PREFIX}{lead}", at))
    late = next_working_day(due + timedelta(days=OVERDUE_AFTER_DAYS), closed)
    sends.append(Send(OVERDUE, datetime.combine(late, time(*SEND_TIME), tzinfo=zone)))
    return sorted(sends, key=lambda s: s.at)


def responsible(
    milestone: MilestoneRecord, holders: Sequence[Holder]
) -> list[tuple[str, str, bool]]:
    """(platform, user id, as deputy) of whoever acts for the milestone's role: its holders in
    the milestone's unit (any unit when it has none), a deputy for an absent holder."""
    found: dict[tuple[str, str], bool] = {}
    for h in holders:
        if h.role != milestone.role or (milestone.unit is not None and h.unit != milestone.unit):
            continue
        for platform, user in acting_for([h]):
            found.setdefault((platform, user), h.absent)
    return [(platform, user, deputy) for (platform, user), deputy in found.items()]


async def plan_milestones(
    store: Store, tenant_id: str, now: datetime, grace: timedelta, lookahead: timedelta
) -> int:
    """Plan the reminders of the tenant's open milestones whose time lies between ``now - grace``
    and ``now + lookahead``; returns how many rows were added."""
    open_ones = [m for m in await list_milestones(store, tenant_id) if m.completed is None]
    if not open_ones:
        return 0
    settings = await directory.get_settings(store, tenant_id)
    zone = ZoneInfo(settings.timezone if settings is not None else "Europe/Oslo")
    closed = frozenset(settings.closed_days if settings is not None else ())
    earliest, latest = now - grace, now + lookahead
    holders: list[Holder] | None = None
    coordinators: list[tuple[str, str]] | None = None
    items: list[NewItem] = []
    for m in open_ones:
        sends = [s for s in milestone_sends(m.due, zone, closed) if earliest <= s.at <= latest]
        if not sends:
            continue
        if holders is None:
            holders = await directory.list_holders(store, tenant_id)
        targets = [(p, u, deputy, False) for p, u, deputy in responsible(m, holders)]
        if not targets:
            if coordinators is None:
                coordinators = await directory.coordinator_recipients(store, tenant_id)
            targets = [(p, u, False, True) for p, u in coordinators]
        for send in sends:
            for platform, user, deputy, fallback in targets:
                key = f"milestone:{m.key}:{m.due.isoformat()}:{send.stage}:{platform}:{user}"
                items.append(
                    NewItem(
                        tenant_id=tenant_id,
                        dedupe_key=key[:400],
                        kind=OutboxKind.MILESTONE,
                        platform=platform,
                        target_kind="user",
                        target_id=user,
                        send_at=send.at,
                        payload={
                            "milestone": m.key,
                            "due": m.due.isoformat(),
                            "stage": send.stage,
                            "role": m.role,
                            "unit": m.unit,
                            "deputy": deputy,
                            "fallback": fallback,
                        },
                    )
                )
    return await enqueue(store, items)


async def obsolete(store: Store, row: OutboxItem) -> bool:
    """True when a planned milestone reminder is no longer wanted (see the module docstring)."""
    payload = row.payload
    milestone = await get_milestone(store, row.tenant_id, str(payload.get("milestone")))
    if milestone is None or milestone.completed is not None:
        return True
    if str(payload.get("due")) != milestone.due.isoformat():
        return True
    holders = await directory.list_holders(store, row.tenant_id)
    acting = responsible(milestone, holders)
    if payload.get("fallback"):
        # Sent to the coordinators because nobody held the role: the new holder gets their own.
        return bool(acting)
    return (row.platform, row.target_id) not in {(p, u) for p, u, _ in acting}
