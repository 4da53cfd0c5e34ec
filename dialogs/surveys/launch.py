"""Launching, nudging and closing survey runs: who gets a survey, and the outbox rows that carry it.

Every proactive send goes through the outbox: the invitation to each recipient at launch, a nudge
three days after launch and one the day before close (each skipped when it is due if the person
has answered, was nudged less than three days ago, or the run has closed), and the summary to the
chosen channel when the run closes. Dedupe keys make a launch, a re-plan or a second close harmless.
The same code serves the CLI, an admin in chat and the årshjul.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from dialogs.surveys.model import SurveyTemplate
from storage import directory, outbox, surveys
from storage.outbox import NewItem
from storage.outbox_models import OutboxItem, OutboxKind, row_kind
from storage.records import Holder
from storage.repositories import Store
from storage.surveys import Recipient, Run

#: When nudges go out, by default: this long after launch, and this long before close.
NUDGE_AFTER = timedelta(days=3)
NUDGE_BEFORE_CLOSE = timedelta(days=1)
#: Nobody is nudged twice within this.
NUDGE_GAP = timedelta(days=3)

AudienceKind = Literal["role", "all", "users", "channel"]
USE = "use role:NAME, channel:ID, all or users:ID,ID"


class AudienceError(ValueError):
    """An audience that names nothing we can send to; the message says what was wrong."""


#: The people in a channel, read from the platform: ``(tenant id, channel id) → user ids``, the
#: bot itself and other bots left out. Raises AudienceError when the platform cannot tell.
ChannelMembers = Callable[[str, str], Awaitable[list[str]]]


@dataclass(frozen=True)
class Audience:
    """Whom a run goes to: the holders of a role or roles (``role:a,b``; optionally in some units),
    the members of a channel (``channel:C0123``), everyone known in the tenant, or listed users
    (the CLI's ``users:U1,U2``)."""

    kind: AudienceKind
    value: str = ""
    units: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, units: Sequence[str] = ()) -> Audience:
        kind, _, value = text.strip().partition(":")
        if kind == "all" and not value:
            return cls("all", units=tuple(units))
        if kind == "role" and value:
            return cls("role", value.strip(), tuple(units))
        if kind == "users" and value:
            return cls("users", ",".join(v.strip() for v in value.split(",") if v.strip()))
        if kind == "channel" and value.strip():
            return cls("channel", value.strip(), tuple(units))
        raise AudienceError(f"unknown audience {text!r}: {USE}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "units": list(self.units)}


def _acting(holder: Holder) -> str | None:
    return holder.deputy_user_id if holder.absent else holder.user_id


async def recipients_for(
    store: Store,
    tenant_id: str,
    audience: Audience,
    platform: str = "",
    members: ChannelMembers | None = None,
) -> list[Recipient]:
    """The people ``audience`` names today (a deputy stands in for someone marked away); a
    channel's members come from ``members`` (the platform)."""
    found: dict[str, Recipient] = {}
    if audience.kind == "role":
        roles = {r.key for r in await directory.list_roles(store, tenant_id)}
        wanted = set(audience.value.split(","))
        for role in sorted(wanted - roles):
            names = ", ".join(sorted(roles)) or "none"
            raise AudienceError(f"unknown role {role!r} (known: {names})")
        for holder in await directory.list_holders(store, tenant_id):
            user = _acting(holder)
            if holder.role not in wanted or not user:
                continue
            if audience.units and holder.unit not in audience.units:
                continue
            found.setdefault(user, Recipient(holder.platform, user, holder.unit or ""))
    elif audience.kind == "all":
        for person in await surveys.known_people(store, tenant_id):
            if not audience.units or person.unit in audience.units:
                found.setdefault(person.platform_user_id, person)
    elif audience.kind == "channel":
        if members is None:
            raise AudienceError("the members of a channel cannot be read here")
        known = {p.platform_user_id: p for p in await surveys.known_people(store, tenant_id)}
        # A role holder's unit counts as theirs when they never told the bot one themselves.
        for holder in await directory.list_holders(store, tenant_id):
            if holder.user_id and holder.unit and holder.user_id not in known:
                known[holder.user_id] = Recipient(holder.platform, holder.user_id, holder.unit)
        for user in await members(tenant_id, audience.value):
            # Someone the bot never met is still in the channel: a DM reaches them (unit unknown,
            # so a breakdown shows them under "other units").
            person = known.get(user) or Recipient(platform or _platform_of(tenant_id), user)
            if not audience.units or person.unit in audience.units:
                found.setdefault(user, person)
    else:
        known = {p.platform_user_id: p for p in await surveys.known_people(store, tenant_id)}
        for user in audience.value.split(","):
            found[user] = known.get(user) or Recipient(platform or "slack", user)
    if platform:
        return [r for r in found.values() if r.platform == platform]
    return list(found.values())


def _row(run: Run, who: Recipient, kind: OutboxKind, at: datetime, tag: str) -> NewItem:
    return NewItem(
        tenant_id=run.tenant_id,
        dedupe_key=f"survey:{run.id}:{tag}:{who.platform_user_id}",
        kind=kind.value,
        platform=who.platform,
        target_kind="user",
        target_id=who.platform_user_id,
        send_at=at,
        payload={"run": run.id},
    )


def nudge_times(run: Run) -> list[tuple[str, datetime]]:
    """When the run's nudges fall: the template's days after launch and before close (the
    defaults ``NUDGE_AFTER``, ``NUDGE_BEFORE_CLOSE``); a 0 in the template sends none."""
    after = run.template.get("nudge_after_days", NUDGE_AFTER.days)
    before = run.template.get("nudge_before_close_days", NUDGE_BEFORE_CLOSE.days)
    times = []
    if isinstance(after, int) and after > 0:
        times.append(("nudge-1", run.opens_at + timedelta(days=after)))
    if isinstance(before, int) and before > 0:
        times.append(("nudge-2", run.closes_at - timedelta(days=before)))
    return times


def planned_sends(run: Run, people: Sequence[Recipient], now: datetime) -> list[NewItem]:
    """The invitation now, and the nudges (those that still fall before the close)."""
    rows = [_row(run, p, OutboxKind.SURVEY, now, "invite") for p in people]
    for tag, at in nudge_times(run):
        if now < at < run.closes_at:
            rows += [_row(run, p, OutboxKind.SURVEY_NUDGE, at, tag) for p in people]
    return rows


async def launch(
    store: Store,
    *,
    tenant_id: str,
    template: SurveyTemplate,
    audience: Audience,
    closes_at: datetime,
    now: datetime,
    min_group: int,
    post_to: str = "",
    launch_key: str | None = None,
    launched_by: str = "",
    platform: str = "",
    members: ChannelMembers | None = None,
) -> tuple[Run, bool]:
    """Start a run and plan its sends; ``(run, False)`` when ``launch_key`` ran before.

    Raises AudienceError for an audience that names nobody we know, LaunchRefused (from storage)
    for one below the minimum group size of an anonymous survey, ValueError when it would close
    before it opens."""
    people = await recipients_for(store, tenant_id, audience, platform, members)
    run, new = await surveys.launch(
        store,
        tenant_id=tenant_id,
        template_key=template.key,
        template=template.model_dump(mode="json"),
        anonymity=template.anonymity,
        audience=audience.to_dict(),
        recipients=people,
        opens_at=now,
        closes_at=closes_at,
        min_group=min_group,
        post_to=post_to,
        launch_key=launch_key,
        launched_by=launched_by,
        plan=lambda run, people: planned_sends(run, people, now),
    )
    return run, new


def summary_row(run: Run, now: datetime) -> NewItem | None:
    """The post of the results to the run's channel, when it has one."""
    if not run.post_to:
        return None
    return NewItem(
        tenant_id=run.tenant_id,
        dedupe_key=f"survey:{run.id}:summary",
        kind=OutboxKind.SURVEY_SUMMARY.value,
        platform=_platform_of(run.tenant_id),
        target_kind="channel",
        target_id=run.post_to,
        send_at=now,
        payload={"run": run.id},
    )


def _platform_of(tenant_id: str) -> str:
    prefix = tenant_id.partition(":")[0]
    return prefix if prefix in ("slack", "teams") else "web"


async def close(store: Store, tenant_id: str, run_id: str, now: datetime) -> Run | None:
    """Close a run (idempotent) and plan the post of its results."""
    run = await surveys.close(store, tenant_id, run_id, now)
    if run is not None:
        row = summary_row(run, now)
        if row is not None:
            await outbox.enqueue(store, [row])
    return run


async def close_due(store: Store, now: datetime) -> list[Run]:
    """Close every run (all tenants) whose time has come; the scheduler calls this."""
    closed = []
    for run in await surveys.due_to_close(store, now):
        done = await close(store, run.tenant_id, run.id, now)
        if done is not None:
            closed.append(done)
    return closed


async def obsolete(store: Store, key: bytes, row: OutboxItem, now: datetime) -> bool:
    """True when a survey row is no longer wanted: the run has closed (invitations and nudges),
    or the person has answered or was nudged less than ``NUDGE_GAP`` ago (nudges)."""
    kind = row_kind(row.kind)
    run = await surveys.get_run(store, row.tenant_id, str(row.payload.get("run", "")))
    if run is None:
        return True
    if kind is OutboxKind.SURVEY_SUMMARY:
        return False
    if not run.is_open or run.closes_at <= now:
        return True
    if kind is OutboxKind.SURVEY_NUDGE:
        # One person per row: a fan-out of nudges checks each row's own person, not the whole list.
        if await surveys.has_answered(store, key, run.id, row.target_id):
            return True
        if run.anonymity == "unit" and await _unit_done(store, run.id, row.target_id):
            return True  # a unit's report sent by a colleague (the deputy): nobody else is nudged
        return not await surveys.nudge_due(store, run.id, row.target_id, now - NUDGE_GAP)
    return False


async def _unit_done(store: Store, run_id: str, platform_user_id: str) -> bool:
    person = await surveys.recipient(store, run_id, platform_user_id)
    return (
        person is not None
        and bool(person.unit)
        and await surveys.unit_reported(store, run_id, person.unit)
    )


async def after_sent(store: Store, row: OutboxItem, now: datetime) -> None:
    """A nudge that went out counts for the three-day gap."""
    if row_kind(row.kind) is OutboxKind.SURVEY_NUDGE:
        await surveys.mark_nudged(store, str(row.payload.get("run", "")), [row.target_id], now)
