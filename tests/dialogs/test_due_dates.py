"""Due dates on a closed day move to the working day before: reminders, escalations and outbox keys.

Strand's oppvekstseminar falls on skjærtorsdag 2027 (Thursday 25 March): it is due on Wednesday 24
March, and everything counts from that day, while the outbox keys keep naming the occurrence.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.notices import render_notice
from dialogs.arshjul.planner import PlanSettings, plan_all
from dialogs.arshjul.recurrence import Holder, due_date, holiday_key, planned_reminders
from dialogs.arshjul.tasks import ensure_tenant_setup, replace_arshjul
from dialogs.content import Content
from storage import directory, outbox
from storage.outbox import Notice
from storage.outbox_models import SENT
from storage.repositories import Store
from storage.users import ensure_tenant

OSLO = ZoneInfo("Europe/Oslo")
TENANT = "slack:T1"
ARSHJUL = """
name: {nb: Test, nn: Test}
tasks:
  - key: oppvekstseminar
    title: {nb: Årlig oppvekstseminar, nn: Årleg oppvekstseminar}
    text: {nb: Seminaret., nn: Seminaret.}
    roles: [bts-koordinator]
    recurrence: {every: yearly, month: 3, day: 25}
    lead_days: [14, 0]
  - key: rapport
    title: {nb: Rapport, nn: Rapport}
    text: {nb: Send rapporten., nn: Send rapporten.}
    roles: [bts-koordinator]
    recurrence: {every: once, date: 2027-04-23}
    lead_days: [3]
"""
HOLDERS = [Holder("bts-koordinator", None, "slack", "UCOORD", "Kari Koordinator")]


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@pytest.fixture
async def tenant(store: Store) -> Store:
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, platform="slack")
    await replace_arshjul(store, TENANT, parse_arshjul(ARSHJUL))
    await directory.replace_holders(store, TENANT, HOLDERS)
    return store


async def _send_all(store: Store, now: datetime) -> None:
    for row in await outbox.claim_due(store, "w", now=now, limit=1000):
        await outbox.finish(store, row.id, "w", SENT)


def test_skjaertorsdag_and_saturday_move_to_the_working_day_before() -> None:
    assert date(2027, 3, 25).weekday() == 3 and holiday_key(date(2027, 3, 25)) == "skjaertorsdag"
    assert due_date(date(2027, 3, 25)) == date(2027, 3, 24)
    assert due_date(date(2027, 11, 20)) == date(2027, 11, 19)  # Saturday → Friday
    assert due_date(date(2027, 3, 30)) == date(2027, 3, 30)  # a working day stays
    assert due_date(date(2027, 3, 30), frozenset({date(2027, 3, 30)})) == date(2027, 3, 24)


def test_lead_days_count_from_the_moved_due_date() -> None:
    task = parse_arshjul(ARSHJUL).tasks[0]
    sends = planned_reminders([task], HOLDERS, (date(2027, 3, 1), date(2027, 3, 31)))
    assert [(r.kind, r.send_at, r.occurrence, r.due_day) for r in sends] == [
        # 14 days before 24 March, not before 25 March (which would be 11 March)
        ("lead-14", oslo(2027, 3, 10, 9, 0), date(2027, 3, 25), date(2027, 3, 24)),
        ("reminder", oslo(2027, 3, 24, 9, 0), date(2027, 3, 25), date(2027, 3, 24)),
    ]


async def test_outbox_row_names_the_occurrence_and_carries_the_due_date(tenant: Store) -> None:
    await plan_all(tenant, PlanSettings(), oslo(2027, 3, 10, 6, 0))
    [row] = await outbox.list_items(tenant, TENANT, kind="lead-14")
    assert row.dedupe_key == "lead-14:oppvekstseminar:2027-03-25:slack:UCOORD"
    assert row.send_at == oslo(2027, 3, 10, 9, 0)
    assert (row.payload["occurrence"], row.payload["due"]) == ("2027-03-25", "2027-03-24")
    reply = await render_notice(tenant, Content.load(), Notice.of(row, "nb"), now=row.send_at)
    assert "onsdag 24. mars" in reply.plain_text()  # the moved day, not skjærtorsdag
    assert "torsdag 25. mars" not in reply.plain_text()


async def test_a_sent_reminder_is_not_sent_again_when_its_due_date_moves(tenant: Store) -> None:
    settings = PlanSettings(grace=timedelta(days=3))
    await plan_all(tenant, settings, oslo(2027, 4, 20, 6, 0))
    [row] = await outbox.list_items(tenant, TENANT, kind="lead-3")
    assert row.send_at == oslo(2027, 4, 20, 9, 0)  # three days before Friday 23 April
    await _send_all(tenant, oslo(2027, 4, 20, 9, 1))
    # The kommune closes on the due day afterwards: due 22 April, the lead-3 send now 19 April.
    await directory.set_settings(tenant, TENANT, closed_days=[date(2027, 4, 23)])
    assert await plan_all(tenant, settings, oslo(2027, 4, 20, 10, 0)) == 0
    rows = await outbox.list_items(tenant, TENANT, kind="lead-3")
    assert [(r.id, r.status) for r in rows] == [(row.id, SENT)]


async def test_escalation_counts_from_the_moved_due_date(tenant: Store) -> None:
    settings = PlanSettings()
    await plan_all(tenant, settings, oslo(2027, 3, 24, 6, 0))
    await _send_all(tenant, oslo(2027, 3, 24, 9, 1))
    # 7 days after Wednesday 24 March is Wednesday 31 March (from the 25th it would be 1 April).
    await plan_all(tenant, settings, oslo(2027, 3, 30, 12, 0))
    assert await outbox.list_items(tenant, TENANT, kind="escalation") == []
    await plan_all(tenant, settings, oslo(2027, 3, 31, 7, 0))
    [row] = await outbox.list_items(tenant, TENANT, kind="escalation")
    assert row.send_at == oslo(2027, 3, 31, 9, 0)
    assert row.payload["due"] == "2027-03-24" and row.payload["days_overdue"] == 7
    assert row.dedupe_key.startswith("escalation:oppvekstseminar:2027-03-25:")
