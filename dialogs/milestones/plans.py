"""A tenant's implementation plan as the chat, the CLI, the reminders and the digest use it.

* ``state_of``: a milestone's status on a day: fullført, åpen (due today or later) or forsinket.
* ``use_builtin`` / ``import_plan`` / ``current_plan``: replace the plan with a built-in one or a
  validated file, and read it back as a plan (``bts-bot plan export``).
* ``may_complete``: an admin, or whoever holds the responsible role (the deputy of an absent
  holder too), may mark a milestone done or reopen it.
* ``overdue_and_due``: plain data for the monthly leader digest: open milestones that are overdue
  or due within a number of days.

No platform imports; the texts are in ``content/<lang>/milestones.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dialogs.milestones.model import MilestonePlan, from_records, load_builtin, to_records
from storage import directory
from storage.milestones import (
    MilestoneRecord,
    due_or_overdue,
    plan_order,
    replace_plan,
)
from storage.repositories import Store

DONE = "done"
OPEN = "open"
LATE = "late"
DEFAULT_ZONE = "Europe/Oslo"


def state_of(milestone: MilestoneRecord, today: date) -> str:
    """done | open | late, as of ``today`` (a milestone due today is still open)."""
    if milestone.completed is not None:
        return DONE
    return LATE if milestone.due < today else OPEN


async def tenant_zone(store: Store, tenant_id: str) -> ZoneInfo:
    """The tenant's time zone (Europe/Oslo until the tenant is set up)."""
    settings = await directory.get_settings(store, tenant_id)
    return ZoneInfo(settings.timezone if settings is not None else DEFAULT_ZONE)


async def tenant_today(store: Store, tenant_id: str, now: datetime) -> date:
    """The tenant's local date at ``now``: the day a click records as fullført dato."""
    return now.astimezone(await tenant_zone(store, tenant_id)).date()


async def known_roles(store: Store, tenant_id: str) -> set[str]:
    return {r.key for r in await directory.list_roles(store, tenant_id)}


async def import_plan(store: Store, tenant_id: str, plan: MilestonePlan) -> None:
    """Replace the tenant's plan; ``ValueError`` names roles the tenant does not have."""
    await replace_plan(store, tenant_id, to_records(plan))


async def use_builtin(store: Store, tenant_id: str, name: str) -> MilestonePlan:
    """Replace the tenant's plan with a built-in one (``PlanError`` for an unknown name)."""
    plan = load_builtin(name)
    await import_plan(store, tenant_id, plan)
    return plan


async def current_plan(store: Store, tenant_id: str) -> MilestonePlan:
    """The tenant's plan in file order, as ``import_plan`` takes it back."""
    return from_records(await plan_order(store, tenant_id))


async def may_complete(
    store: Store, tenant_id: str, platform: str, user_id: str, milestone: MilestoneRecord
) -> bool:
    """An admin, or a holder of the responsible role (in its unit, when it has one)."""
    if await directory.is_admin(store, tenant_id, platform, user_id):
        return True
    return await directory.holds_role(
        store, tenant_id, milestone.role, milestone.unit, platform, user_id
    )


@dataclass(frozen=True)
class DueMilestone:
    """An open milestone for the digest: ``days`` past its due date when ``overdue``, else the days
    left until it (0: due today)."""

    milestone: MilestoneRecord
    overdue: bool
    days: int


async def overdue_and_due(
    store: Store, tenant_id: str, today: date, within_days: int = 30
) -> list[DueMilestone]:
    """Open milestones that are overdue on ``today`` or due within ``within_days``, overdue ones
    first (oldest first), then by due date."""
    found = [
        DueMilestone(m, m.due < today, abs((today - m.due).days))
        for m in await due_or_overdue(store, tenant_id, today, within_days)
    ]
    return sorted(found, key=lambda d: (not d.overdue, d.milestone.due))
