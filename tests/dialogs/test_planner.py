"""Planner: årshjul, holders, follow-ups and digest choice become outbox rows (both backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.planner import PlanSettings, plan_all
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup, replace_arshjul
from storage import directory, outbox
from storage.followups import add_personal_followup
from storage.outbox_models import SENT, DigestTarget, TaskProgress
from storage.repositories import Store
from storage.users import ensure_tenant

OSLO = ZoneInfo("Europe/Oslo")
TENANT = "slack:T1"
ARSHJUL = """
name: {nb: Test, nn: Test}
tasks:
  - key: rapport
    title: {nb: Halvårsrapport, nn: Halvårsrapport}
    text: {nb: Send rapporten., nn: Send rapporten.}
    roles: [virksomhetsleder]
    recurrence: {every: yearly, month: 12, day: 15}
    lead_days: [14, 0]
  - key: seminar
    title: {nb: Seminar, nn: Seminar}
    text: {nb: Planlegg seminaret., nn: Planlegg seminaret.}
    roles: [superbruker]
    recurrence: {every: yearly, month: 12, day: 4}
    lead_days: [0]
"""
HOLDERS = [
    Holder("virksomhetsleder", "Skolen", "slack", "ULEADER", "Lise Leder"),
    Holder("virksomhetsleder", "Barnehagen", "slack", "UBHG", "Per Leder", "UDEPUTY", absent=True),
    Holder("bts-koordinator", None, "slack", "UCOORD", "Kari Koordinator"),
]


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@pytest.fixture
async def tenant(store: Store) -> Store:
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, platform="slack")
    await replace_arshjul(store, TENANT, parse_arshjul(ARSHJUL))
    await directory.replace_holders(store, TENANT, HOLDERS)
    return store


async def test_reminders_go_to_holders_and_deputies_once(tenant: Store) -> None:
    now = oslo(2026, 12, 1, 6, 0)
    settings = PlanSettings()
    added = await plan_all(tenant, settings, now)
    rows = await outbox.list_items(tenant, TENANT, kind="lead-14")
    assert {(r.target_id, r.payload["unit"], r.payload["deputy"]) for r in rows} == {
        ("ULEADER", "Skolen", False),
        ("UDEPUTY", "Barnehagen", True),
    }
    assert {r.send_at for r in rows} == {oslo(2026, 12, 1, 9, 0)}
    assert all(r.dedupe_key.startswith("lead-14:rapport:2026-12-15:slack:") for r in rows)
    # the seminar has no superbruker: one report per coordinator, on the day of the send
    reports = await outbox.list_items(tenant, TENANT, kind="report")
    assert [(r.target_id, r.payload["problem"], r.payload["task"]) for r in reports] == [
        ("UCOORD", "no-holder", "seminar")
    ]
    assert reports[0].send_at == oslo(2026, 12, 4, 9, 0)
    assert added == 3
    assert await plan_all(tenant, settings, now + timedelta(minutes=5)) == 0


async def test_sends_older_than_the_grace_window_are_not_planned(tenant: Store) -> None:
    await plan_all(tenant, PlanSettings(grace=timedelta(hours=2)), oslo(2026, 12, 1, 12, 0))
    assert await outbox.list_items(tenant, TENANT, kind="lead-14") == []
    await plan_all(tenant, PlanSettings(grace=timedelta(hours=4)), oslo(2026, 12, 1, 12, 0))
    assert len(await outbox.list_items(tenant, TENANT, kind="lead-14")) == 2


async def _send_all_reminders(store: Store) -> None:
    """Play the dispatcher: every planned row counts as sent."""
    for row in await outbox.claim_due(store, "w", now=oslo(2027, 1, 1, 0, 0), limit=1000):
        await outbox.finish(store, row.id, "w", SENT)


async def test_one_escalation_per_overdue_unit_to_its_leader_or_the_coordinator(
    tenant: Store,
) -> None:
    settings = PlanSettings()
    await plan_all(tenant, settings, oslo(2026, 12, 15, 6, 0))
    await _send_all_reminders(tenant)
    async with tenant.sessions.begin() as session:
        session.add(
            TaskProgress(
                tenant_id=TENANT,
                task_key="rapport",
                occurrence=date(2026, 12, 15),
                unit="Barnehagen",
                status="done",
                updated_by="UDEPUTY",
            )
        )
    # 7 days after 15 Dec is 22 Dec (Tuesday): not yet on the 21st
    await plan_all(tenant, settings, oslo(2026, 12, 21, 12, 0))
    assert await outbox.list_items(tenant, TENANT, kind="escalation") == []
    await plan_all(tenant, settings, oslo(2026, 12, 22, 7, 0))
    await plan_all(tenant, settings, oslo(2026, 12, 23, 7, 0))
    rows = await outbox.list_items(tenant, TENANT, kind="escalation")
    assert [(r.target_id, r.payload["unit"], r.payload["holders"]) for r in rows] == [
        ("ULEADER", "Skolen", ["Lise Leder"])
    ]
    assert rows[0].send_at == oslo(2026, 12, 22, 9, 0)


async def test_postponed_occurrence_escalates_later(tenant: Store) -> None:
    settings = PlanSettings()
    await plan_all(tenant, settings, oslo(2026, 12, 15, 6, 0))
    await _send_all_reminders(tenant)
    async with tenant.sessions.begin() as session:
        for unit in ("Skolen", "Barnehagen"):
            session.add(
                TaskProgress(
                    tenant_id=TENANT,
                    task_key="rapport",
                    occurrence=date(2026, 12, 15),
                    unit=unit,
                    status="open",
                    postponed_until=date(2026, 12, 22),
                )
            )
    await plan_all(tenant, settings, oslo(2026, 12, 28, 12, 0))
    assert await outbox.list_items(tenant, TENANT, kind="escalation") == []
    # 22 Dec + 7 = 29 Dec, a working day between Christmas and New Year
    await plan_all(tenant, settings, oslo(2026, 12, 29, 12, 0))
    rows = await outbox.list_items(tenant, TENANT, kind="escalation")
    # the absent leader of Barnehagen is stood in for by the deputy
    assert sorted(r.target_id for r in rows) == ["UDEPUTY", "ULEADER"]


async def test_followups_and_weekly_digest(tenant: Store) -> None:
    fid = await add_personal_followup(
        tenant,
        tenant_id=TENANT,
        platform="slack",
        platform_user_id="UASK",
        label="Evaluer tiltak",
        due_at=oslo(2026, 12, 3, 9, 0),
    )
    async with tenant.sessions.begin() as session:
        session.add(DigestTarget(tenant_id=TENANT, platform="slack", channel_id="CDIGEST"))
    now = oslo(2026, 11, 30, 7, 0)  # Monday
    await plan_all(tenant, PlanSettings(), now)
    (followup,) = await outbox.list_items(tenant, TENANT, kind="followup")
    assert followup.payload == {"type": "followup", "followup_id": fid, "label": "Evaluer tiltak"}
    assert followup.target_id == "UASK" and followup.send_at == oslo(2026, 12, 3, 9, 0)
    (digest,) = await outbox.list_items(tenant, TENANT, kind="digest")
    assert digest.payload == {"type": "digest", "week": "2026-W49"}
    assert (digest.target_kind, digest.target_id) == ("channel", "CDIGEST")
    assert digest.send_at == oslo(2026, 11, 30, 8, 0)
    assert await plan_all(tenant, PlanSettings(), now + timedelta(hours=1)) == 0


async def test_fresh_local_tenant_gets_the_hadsel_template(store: Store) -> None:
    await ensure_tenant(store, "local", "local", "local")
    await plan_all(store, PlanSettings(), datetime(2026, 8, 11, 5, 0, tzinfo=UTC))
    config = await directory.get_settings(store, "local")
    assert config is not None and config.template == "hadsel"
    # nobody holds a role and nobody is coordinator yet: nothing to send, nobody to tell
    assert await outbox.status_counts(store) == {}
