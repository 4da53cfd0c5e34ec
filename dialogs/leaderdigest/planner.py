"""Plans the leaders' monthly digest as outbox rows: one per meeting of the leader group (an
occurrence of one of the chosen årshjul tasks), posted to the group's channel at 08:00 on the
meeting day (the working day before, when the meeting falls on a closed day). A meeting the årshjul
leaves out (``skip_months: [7]``) gets no digest. ``obsolete`` drops a row whose channel or task
was changed since it was planned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogs.arshjul.model import Task
from dialogs.arshjul.recurrence import occurrences, previous_working_day
from storage import usage
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxItem, OutboxKind
from storage.repositories import Store

DIGEST_TIME = time(8, 0)
#: How far back the previous meeting is looked for (the period starts the day after it).
PREVIOUS_WITHIN = timedelta(days=70)


def send_time(meeting: date, zone: ZoneInfo, closed: frozenset[date]) -> datetime:
    day = previous_working_day(meeting, closed)
    return datetime.combine(day, DIGEST_TIME, tzinfo=zone)


def previous_meeting(tasks: Sequence[Task], keys: Sequence[str], meeting: date) -> date | None:
    found = [
        d
        for task in tasks
        if task.key in keys
        for d in occurrences(
            task.recurrence, meeting - PREVIOUS_WITHIN, meeting - timedelta(days=1)
        )
    ]
    return max(found, default=None)


async def plan_leader_digest(
    store: Store,
    tenant_id: str,
    tasks: Sequence[Task],
    zone: ZoneInfo,
    closed: frozenset[date],
    now: datetime,
    earliest: datetime,
    lookahead: timedelta,
) -> int:
    target = await usage.get_leader_digest(store, tenant_id)
    if target is None or not target.tasks:
        return 0
    today = now.astimezone(zone).date()
    items: list[NewItem] = []
    for task in (t for t in tasks if t.key in target.tasks):
        for meeting in occurrences(task.recurrence, today, today + lookahead + timedelta(days=3)):
            at = send_time(meeting, zone, closed)
            if not earliest <= at <= now + lookahead:
                continue
            items.append(
                NewItem(
                    tenant_id=tenant_id,
                    dedupe_key=f"leader-digest:{task.key}:{meeting.isoformat()}:{target.channel_id}"[
                        :400
                    ],
                    kind=OutboxKind.LEADER_DIGEST,
                    platform=target.platform,
                    target_kind="channel",
                    target_id=target.channel_id,
                    send_at=at,
                    payload={"task": task.key, "meeting": meeting.isoformat()},
                )
            )
    return await enqueue(store, items)


async def obsolete(store: Store, row: OutboxItem) -> bool:
    target = await usage.get_leader_digest(store, row.tenant_id)
    if target is None or target.channel_id != row.target_id:
        return True
    return str(row.payload.get("task")) not in target.tasks
