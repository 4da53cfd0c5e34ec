"""Plans the BTS-nettverk's sends around each meeting, and its pairings, as outbox rows.

A meeting is an occurrence of one of the network's årshjul tasks. Before it (each day moved back
to a working day, in the tenant's zone):

* ``checkin_days`` before: a check-in DM to every member (holders of the member role; anyone marked
  away is skipped, a network talk is not a deputy's duty);
* the working day before the digest: a nudge to members who have not checked in;
* two working days before, 13:00: the digest in the network's channel (check-ins close, voting opens);
* the working day before, 09:00: the agenda (voting closes);
* the meeting day, 15:00: the host is asked for up to three key points, posted as the summary.

Pairings: every ``pairing_weeks`` weeks (counted from the week the network was set up), on the
first working day of the week at 09:00, the pairs are drawn and introduced (Slack: one group DM per
pair; elsewhere a DM to each), with "did you meet?" a week later. Rows have unique keys, so
planning again changes nothing; ``obsolete`` drops what is no longer wanted at send time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from dialogs import yaml_source
from dialogs.arshjul.model import Task
from dialogs.arshjul.recurrence import (
    due_date,
    next_working_day,
    occurrences,
    previous_working_day,
)
from dialogs.content import CONTENT_DIR, LANGUAGES
from dialogs.network.pairing import Member, pair_up, sector_of
from storage import directory
from storage import network as net
from storage.network import NetworkSettings, Round
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxItem, OutboxKind, row_kind
from storage.records import Holder, acting_for
from storage.repositories import Store

log = logging.getLogger(__name__)

DIGEST_TIME = time(13, 0)
AGENDA_TIME = time(9, 0)
HOST_TIME = time(15, 0)
PAIRING_TIME = time(9, 0)
FOLLOWUP_DAYS = 7
#: Pairings are drawn this close to their send time, so who is away is known.
PAIRING_AHEAD = timedelta(days=1)

NETWORK_KINDS = frozenset(
    {
        OutboxKind.NETWORK_CHECKIN,
        OutboxKind.NETWORK_NUDGE,
        OutboxKind.NETWORK_DIGEST,
        OutboxKind.NETWORK_AGENDA,
        OutboxKind.NETWORK_HOST,
        OutboxKind.NETWORK_SUMMARY,
        OutboxKind.NETWORK_PAIR,
        OutboxKind.NETWORK_PAIR_FOLLOWUP,
    }
)


@cache
def network_sectors() -> dict[str, tuple[str, ...]]:
    """The words in a unit's name that tell its sector (``network.sectors`` of every language)."""
    found: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        data = yaml_source.safe_load(
            (CONTENT_DIR / lang / "network.yaml").read_text(encoding="utf-8")
        )
        for sector, words in (data.get("sectors") or {}).items():
            found[sector] = tuple(dict.fromkeys((*found.get(sector, ()), *map(str, words))))
    return found


@dataclass(frozen=True)
class Timeline:
    """When each send of one meeting goes out (aware, in the tenant's zone); the check-in at
    least a working day before the nudge."""

    meeting: date
    checkin: datetime
    nudge: datetime
    digest: datetime
    agenda: datetime
    host: datetime


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, clock, tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)  # a wall time in a DST gap


def timeline(
    meeting: date,
    checkin_days: int,
    send_time: tuple[int, int],
    zone: ZoneInfo,
    closed: frozenset[date] = frozenset(),
) -> Timeline:
    agenda_day = previous_working_day(meeting - timedelta(days=1), closed)
    digest_day = previous_working_day(agenda_day - timedelta(days=1), closed)
    nudge_day = previous_working_day(digest_day - timedelta(days=1), closed)
    checkin_day = previous_working_day(meeting - timedelta(days=checkin_days), closed)
    if checkin_day >= nudge_day:  # holidays squeezed the week: a working day before the nudge
        checkin_day = previous_working_day(nudge_day - timedelta(days=1), closed)
    start = time(*send_time)
    return Timeline(
        meeting=meeting,
        checkin=_at(checkin_day, start, zone),
        nudge=_at(nudge_day, start, zone),
        digest=_at(digest_day, DIGEST_TIME, zone),
        agenda=_at(agenda_day, AGENDA_TIME, zone),
        host=_at(meeting, HOST_TIME, zone),
    )


def members_of(network: NetworkSettings, holders: Sequence[Holder]) -> list[Holder]:
    """Holders of the member role who are not away, one entry per person."""
    seen: dict[tuple[str, str], Holder] = {}
    for h in holders:
        if h.role == network.member_role and not h.absent and h.platform == network.platform:
            seen.setdefault((h.platform, h.user_id), h)
    return list(seen.values())


def hosts_of(network: NetworkSettings, holders: Sequence[Holder]) -> list[tuple[str, str]]:
    """Who acts for the host role (a deputy while the host is away)."""
    return acting_for(h for h in holders if h.role == network.host_role)


def _evaluation(network: NetworkSettings, meeting: date, known: Sequence[Round]) -> bool:
    """The first meeting of a year in an evaluation month carries the evaluation."""
    if meeting.month not in network.evaluation_months:
        return False
    same_year = [r for r in known if r.meeting.year == meeting.year and r.meeting != meeting]
    return not any(r.evaluation for r in same_year) and not any(
        r.meeting < meeting and r.meeting.month in network.evaluation_months for r in same_year
    )


async def plan_networks(
    store: Store,
    tenant_id: str,
    tasks: Sequence[Task],
    holders: Sequence[Holder],
    zone: ZoneInfo,
    closed: frozenset[date],
    now: datetime,
    earliest: datetime,
    lookahead: timedelta,
    sectors: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Rows for every network of the tenant; how many were added."""
    added = 0
    for network in await net.list_networks(store, tenant_id):
        try:
            added += await _plan_meetings(
                store, network, tasks, holders, zone, closed, now, earliest, lookahead
            )
            added += await _plan_pairing(
                store, network, holders, zone, closed, now, earliest, sectors or {}
            )
        except Exception as exc:  # one broken network must not stop the årshjul
            log.error(
                "network planning failed",
                extra={
                    "tenant": tenant_id,
                    "network": network.key,
                    "error_type": type(exc).__name__,
                },
            )
    return added


async def _plan_meetings(
    store: Store,
    network: NetworkSettings,
    tasks: Sequence[Task],
    holders: Sequence[Holder],
    zone: ZoneInfo,
    closed: frozenset[date],
    now: datetime,
    earliest: datetime,
    lookahead: timedelta,
) -> int:
    today = now.astimezone(zone).date()
    horizon = (now + lookahead).astimezone(zone).date() + timedelta(days=network.checkin_days + 7)
    known = await net.rounds(
        store, network.tenant_id, network.key, since=date(today.year - 1, 1, 1)
    )
    items: list[NewItem] = []
    for task in (t for t in tasks if t.key in network.tasks):
        for occurrence in occurrences(task.recurrence, today, horizon):
            meeting = due_date(occurrence, closed)  # nobody meets on a Saturday or a holiday
            when = timeline(meeting, network.checkin_days, task.send_hour_minute, zone, closed)
            if when.checkin > now + lookahead or when.host < earliest:
                continue
            evaluation = _evaluation(network, meeting, known)
            round_ = await net.ensure_round(
                store, network.tenant_id, network.key, task.key, meeting, evaluation
            )
            known = [*known, round_]
            items += _meeting_rows(network, round_, when, holders, earliest)
    return await enqueue(store, items)


def _meeting_rows(
    network: NetworkSettings,
    round_: Round,
    when: Timeline,
    holders: Sequence[Holder],
    earliest: datetime,
) -> list[NewItem]:
    tenant_id, platform = network.tenant_id, network.platform
    payload = {"network": network.key, "round": round_.id, "meeting": round_.meeting.isoformat()}

    def row(kind: OutboxKind, at: datetime, target_kind: str, target: str) -> NewItem:
        return NewItem(
            tenant_id=tenant_id,
            dedupe_key=f"{kind.value}:{round_.id}:{platform}:{target}"[:400],
            kind=kind,
            platform=platform,
            target_kind=target_kind,
            target_id=target,
            send_at=at,
            payload=payload,
        )

    items: list[NewItem] = []
    for member in members_of(network, holders):
        items.append(row(OutboxKind.NETWORK_CHECKIN, when.checkin, "user", member.user_id))
        items.append(row(OutboxKind.NETWORK_NUDGE, when.nudge, "user", member.user_id))
    items.append(row(OutboxKind.NETWORK_DIGEST, when.digest, "channel", network.channel_id))
    items.append(row(OutboxKind.NETWORK_AGENDA, when.agenda, "channel", network.channel_id))
    for host_platform, host in hosts_of(network, holders):
        if host_platform == platform:
            items.append(row(OutboxKind.NETWORK_HOST, when.host, "user", host))
    return [i for i in items if i.send_at >= earliest]


def pairing_day(
    network: NetworkSettings, week_start: date, zone: ZoneInfo, closed: frozenset[date]
) -> date | None:
    """The day of this week's pairing (its first working day), or None when this is no pairing
    week."""
    if network.pairing_weeks <= 0:
        return None
    first = network.created_at.astimezone(zone).date()
    first_week = first - timedelta(days=first.weekday())
    weeks = (week_start - first_week).days // 7
    if weeks < 0 or weeks % network.pairing_weeks:
        return None
    day = next_working_day(week_start, closed)
    return day if day - week_start < timedelta(days=5) else None


async def _plan_pairing(
    store: Store,
    network: NetworkSettings,
    holders: Sequence[Holder],
    zone: ZoneInfo,
    closed: frozenset[date],
    now: datetime,
    earliest: datetime,
    sectors: Mapping[str, Sequence[str]],
) -> int:
    today = now.astimezone(zone).date()
    week_start = today - timedelta(days=today.weekday())
    day = pairing_day(network, week_start, zone, closed)
    if day is None:
        return 0
    at = _at(day, PAIRING_TIME, zone)
    if not earliest <= at <= now + PAIRING_AHEAD:
        return 0
    year, week, _ = week_start.isocalendar()
    label = f"{year}-W{week:02d}"
    members = [
        Member(
            h.platform, h.user_id, h.display_name, h.unit or "", sector_of(h.unit or "", sectors)
        )
        for h in members_of(network, holders)
    ]
    cycle, history = await net.pair_history(store, network.tenant_id, network.key)
    groups, new_cycle = pair_up(
        members, history, across_sectors=network.pairing_across_sectors, seed=year * 100 + week
    )
    if new_cycle:
        cycle += 1
    pairs = await net.save_pairing(
        store, network.tenant_id, network.key, label, cycle, [[m.row() for m in g] for g in groups]
    )
    followup = _at(
        next_working_day(day + timedelta(days=FOLLOWUP_DAYS), closed), PAIRING_TIME, zone
    )
    items: list[NewItem] = []
    for pair in pairs:
        payload = {"network": network.key, "pair": pair.id, "label": label}
        users = [m[1] for m in pair.members]
        base = dict(tenant_id=network.tenant_id, platform=network.platform, payload=payload)
        if network.platform == "slack":  # one group DM with everyone in it
            items.append(
                NewItem(
                    dedupe_key=f"network-pair:{pair.id}:group",
                    kind=OutboxKind.NETWORK_PAIR,
                    target_kind="group",
                    target_id=",".join(users),
                    send_at=at,
                    **base,  # type: ignore[arg-type]
                )
            )
        for user in users:
            if network.platform != "slack":
                items.append(
                    NewItem(
                        dedupe_key=f"network-pair:{pair.id}:{user}"[:400],
                        kind=OutboxKind.NETWORK_PAIR,
                        target_kind="user",
                        target_id=user,
                        send_at=at,
                        **base,  # type: ignore[arg-type]
                    )
                )
            items.append(
                NewItem(
                    dedupe_key=f"network-met:{pair.id}:{user}"[:400],
                    kind=OutboxKind.NETWORK_PAIR_FOLLOWUP,
                    target_kind="user",
                    target_id=user,
                    send_at=followup,
                    **base,  # type: ignore[arg-type]
                )
            )
    return await enqueue(store, items)


# at send time -----------------------------------------------------------------------------------


async def obsolete(store: Store, row: OutboxItem) -> bool:
    """True when a planned network row is no longer wanted: the network was removed, the round
    moved past the phase the row belongs to, the member checked in already or left the role, or
    the pair was answered."""
    kind, payload = row_kind(row.kind), row.payload
    network = await net.get_network(store, row.tenant_id, str(payload.get("network", "")))
    if network is None:
        return True
    if kind in (OutboxKind.NETWORK_PAIR, OutboxKind.NETWORK_PAIR_FOLLOWUP):
        pair = await net.get_pair(store, row.tenant_id, int(payload.get("pair", 0)))
        if pair is None:
            return True
        return kind is OutboxKind.NETWORK_PAIR_FOLLOWUP and (
            f"{row.platform}:{row.target_id}" in pair.met
        )
    round_ = await net.get_round(store, row.tenant_id, int(payload.get("round", 0)))
    if round_ is None:
        return True
    if kind in (OutboxKind.NETWORK_CHECKIN, OutboxKind.NETWORK_NUDGE):
        if round_.status != net.CHECKIN:
            return True
        if await net.checkin_of(store, round_.id, row.platform, row.target_id) is not None:
            return True
        holders = await directory.list_holders(store, row.tenant_id)
        return not any(h.user_id == row.target_id for h in members_of(network, holders))
    if kind is OutboxKind.NETWORK_HOST:
        return round_.status == net.SUMMARISED
    return False
