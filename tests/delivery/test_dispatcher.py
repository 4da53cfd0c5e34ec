"""Dispatcher on both backends: each due row sent once, late/expired, retries, reports, in-doubt rows.

The senders here are small recording doubles of the platform senders (those are tested over real HTTP
in tests/delivery/test_senders.py); the database is real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.delivery.dispatcher import Dispatcher, DispatchSettings
from bot.delivery.senders import Rejected, RetryLater, Unreachable
from dialogs.arshjul.planner import after_sent, obsolete
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Message, Reply
from storage import directory, outbox
from storage.followups import add_personal_followup, list_personal_followups
from storage.outbox import NewItem, Notice
from storage.outbox_models import (
    EXPIRED,
    FAILED,
    IN_DOUBT,
    PENDING,
    SENT,
    SKIPPED,
    UNREACHABLE,
    OutboxItem,
    TaskProgress,
)
from storage.repositories import Store
from storage.users import ensure_tenant, set_user_language, touch_user

TENANT = "slack:T1"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingSender:
    platform: str = "slack"
    sent: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    transient: Counter[str] = field(default_factory=Counter)  # target -> failures left
    rejected: set[str] = field(default_factory=set)
    history: set[str] | None = None  # what the platform can confirm; None: cannot tell

    @property
    def confirms_delivery(self) -> bool:
        return self.history is not None

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        await asyncio.sleep(0)
        if item.target_id in self.unreachable:
            raise Unreachable("user_not_found")
        if item.target_id in self.rejected:
            raise Rejected("invalid_blocks")
        if self.transient[item.target_id] > 0:
            self.transient[item.target_id] -= 1
            raise RetryLater("http-503", retry_after=120.0)
        self.sent.append(item.dedupe_key)
        self.texts.append(reply.plain_text())
        return f"ts-{len(self.sent)}"

    history_down: int = 0  # how many history checks fail before it answers again

    async def already_sent(self, item: OutboxItem) -> bool | None:
        if self.history is None or self.history_down > 0:
            self.history_down -= 1
            return None
        return item.dedupe_key in self.history


async def render(notice: Notice) -> Reply:
    payload, lang = notice.payload, notice.lang
    if payload.get("task") == "deleted-task":
        raise LookupError("task is gone")
    if payload.get("task") == "broken-text" and notice.kind == "reminder":
        raise TypeError("a content bug")
    text = f"{lang}:{notice.kind}:{payload.get('task')}" + (":late" if notice.late else "")
    return Reply(messages=(Message(text=text),), lang=lang)


def reminder(n: int, at: datetime = T0, user: str | None = None, **payload: Any) -> NewItem:
    user = user or f"U{n}"
    body = {
        "type": "reminder",
        "task": "rapport",
        "occurrence": "2026-12-15",
        "role": "bts-kontakt",
        "unit": "Skolen",
        "lead_days": 14,
        "deputy": False,
        **payload,
    }
    return NewItem(
        TENANT,
        f"lead-14:rapport:2026-12-15:slack:{user}:{n}",
        "lead-14",
        "slack",
        "user",
        user,
        at,
        body,
    )


@pytest.fixture
async def tstore(store: Store) -> Store:
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, platform="slack")
    holders = [Holder("bts-kontakt", "Skolen", "slack", f"U{n}", f"Person {n}") for n in range(40)]
    holders.append(Holder("bts-koordinator", None, "slack", "UCOORD", "Kari"))
    await directory.replace_holders(store, TENANT, holders)
    return store


def dispatcher(store: Store, sender: RecordingSender, clock: Clock, **kw: Any) -> Dispatcher:
    settings = DispatchSettings(batch=7, concurrency=4, **kw)
    return Dispatcher(
        store,
        {"slack": sender},
        render,
        obsolete=obsolete,
        after_sent=after_sent,
        settings=settings,
        clock=clock,
    )


async def statuses(store: Store) -> dict[str, str]:
    return {r.dedupe_key: r.status for r in await outbox.list_items(store, TENANT)}


async def test_due_rows_are_sent_once_and_future_ones_wait(tstore: Store) -> None:
    await outbox.enqueue(
        tstore, [reminder(n) for n in range(20)] + [reminder(99, T0 + timedelta(days=1), "U5")]
    )
    sender, clock = RecordingSender(), Clock(T0 + timedelta(minutes=1))
    stats = await dispatcher(tstore, sender, clock).run_once()
    assert stats.counts == {SENT: 20}
    assert len(sender.sent) == len(set(sender.sent)) == 20
    assert (await dispatcher(tstore, sender, clock).run_once()).counts == {}
    clock.now = T0 + timedelta(days=1)
    assert (await dispatcher(tstore, sender, clock).run_once()).counts == {SENT: 1}
    assert sender.texts[0] == "nb:reminder:rapport"
    row = await outbox.get_by_key(tstore, reminder(0).dedupe_key)
    assert row is not None and row.platform_message_id and row.sent_at == T0 + timedelta(minutes=1)


async def test_language_follows_the_recipient(tstore: Store) -> None:
    await touch_user(tstore, TENANT, "slack", "U3")
    await set_user_language(tstore, TENANT, "U3", "nn")
    await outbox.enqueue(tstore, [reminder(3)])
    sender = RecordingSender()
    await dispatcher(tstore, sender, Clock()).run_once()
    assert sender.texts == ["nn:reminder:rapport"]


async def test_after_downtime_recent_rows_go_out_late_and_old_ones_are_reported_once(
    tstore: Store,
) -> None:
    old = [reminder(n, T0 - timedelta(hours=30)) for n in range(5)]
    recent = [reminder(n, T0 - timedelta(hours=2)) for n in range(5, 8)]
    await outbox.enqueue(tstore, old + recent)
    sender = RecordingSender()
    stats = await dispatcher(tstore, sender, Clock(), grace=timedelta(hours=12)).run_once()
    assert stats.counts[EXPIRED] == 5 and stats.counts["late"] == 3
    assert sorted(sender.texts) == ["nb:reminder:rapport:late"] * 3 + ["nb:report:None"]
    reports = await outbox.list_items(tstore, TENANT, kind="report")
    assert [(r.target_id, r.payload["problem"], r.payload["count"], r.status) for r in reports] == [
        ("UCOORD", EXPIRED, 5, SENT)
    ]
    sent = [r for r in await outbox.list_items(tstore, TENANT, status=SENT) if r.kind != "report"]
    assert all(r.late for r in sent)


async def test_unreachable_and_rejected_are_reported_to_the_coordinator(tstore: Store) -> None:
    await outbox.enqueue(tstore, [reminder(1), reminder(2), reminder(3)])
    sender = RecordingSender(unreachable={"U1"}, rejected={"U2"})
    await dispatcher(tstore, sender, Clock()).run_once()
    got = await statuses(tstore)
    assert got[reminder(1).dedupe_key] == UNREACHABLE and got[reminder(2).dedupe_key] == FAILED
    reports = {r.payload["who"]: r for r in await outbox.list_items(tstore, TENANT, kind="report")}
    assert reports["U1"].payload["problem"] == UNREACHABLE
    assert reports["U2"].payload["problem"] == FAILED
    assert all(r.target_id == "UCOORD" and r.status == SENT for r in reports.values())
    # the same person unreachable at the next lead time of the same occurrence: no second report
    lead3 = reminder(1)
    await outbox.enqueue(
        tstore, [NewItem(**{**lead3.__dict__, "dedupe_key": "lead-3:rapport:2026-12-15:slack:U1"})]
    )
    await dispatcher(tstore, sender, Clock()).run_once()
    assert len(await outbox.list_items(tstore, TENANT, kind="report")) == 2
    # a report that cannot be delivered is not reported again (no loop)
    await outbox.enqueue(
        tstore,
        [
            NewItem(
                TENANT,
                "report:x",
                "report",
                "slack",
                "user",
                "UGONE",
                T0,
                {"type": "report", "problem": "failed"},
            )
        ],
    )
    sender.unreachable.add("UGONE")
    await dispatcher(tstore, sender, Clock()).run_once()
    assert len(await outbox.list_items(tstore, TENANT, kind="report")) == 3


async def test_a_render_bug_fails_the_row_and_reports_it_without_stopping_the_others(
    tstore: Store,
) -> None:
    await outbox.enqueue(tstore, [reminder(1, task="broken-text"), reminder(2)])
    sender = RecordingSender()
    stats = await dispatcher(tstore, sender, Clock()).run_once()
    assert stats.counts[FAILED] == 1 and sender.sent.count(reminder(2).dedupe_key) == 1
    got = await statuses(tstore)
    assert got[reminder(1).dedupe_key] == FAILED
    (report,) = await outbox.list_items(tstore, TENANT, kind="report")
    assert report.payload["problem"] == FAILED and report.payload["task"] == "broken-text"


async def test_transient_failures_back_off_then_fail_and_report(tstore: Store) -> None:
    await outbox.enqueue(tstore, [reminder(1), reminder(2)])
    sender = RecordingSender(transient=Counter({"U1": 1, "U2": 99}))
    clock = Clock()
    d = dispatcher(tstore, sender, clock, max_attempts=3, backoff=timedelta(seconds=30))
    assert (await d.run_once()).counts == {"retry": 2}
    row = await outbox.get_by_key(tstore, reminder(1).dedupe_key)
    assert (
        row is not None
        and row.status == PENDING
        and row.next_attempt_at == T0 + timedelta(seconds=120)
    )
    clock.now += timedelta(seconds=119)
    assert (await d.run_once()).counts == {}
    for _ in range(3):
        clock.now += timedelta(minutes=10)
        await d.run_once()
    got = await statuses(tstore)
    assert got[reminder(1).dedupe_key] == SENT and got[reminder(2).dedupe_key] == FAILED
    assert sender.sent.count(reminder(1).dedupe_key) == 1
    (report,) = await outbox.list_items(tstore, TENANT, kind="report")
    assert report.payload["problem"] == FAILED and report.payload["who"] == "U2"


async def test_done_tasks_changed_holders_and_deleted_tasks_are_skipped(tstore: Store) -> None:
    await outbox.enqueue(
        tstore, [reminder(1), reminder(2, user="USTRANGER"), reminder(3, task="deleted-task")]
    )
    async with tstore.sessions.begin() as session:
        session.add(
            TaskProgress(
                tenant_id=TENANT,
                task_key="rapport",
                occurrence=date(2026, 12, 15),
                unit="Skolen",
                status="done",
                updated_by="U1",
            )
        )
    sender = RecordingSender()
    stats = await dispatcher(tstore, sender, Clock()).run_once()
    assert stats.counts == {SKIPPED: 3} and sender.sent == []


async def test_in_doubt_rows_are_confirmed_resent_or_reported(tstore: Store) -> None:
    await outbox.enqueue(tstore, [reminder(1), reminder(2), reminder(3)])
    crashed = await outbox.claim_due(tstore, "dead", now=T0, lease=timedelta(seconds=10))
    for row in crashed:
        assert await outbox.mark_sending(
            tstore, row.id, "dead", now=T0, lease=timedelta(seconds=10)
        )
    clock = Clock(T0 + timedelta(minutes=1))
    sender = RecordingSender(history={reminder(1).dedupe_key})
    stats = await dispatcher(tstore, sender, clock).run_once()
    assert stats.counts == {"confirmed": 1, SENT: 2}
    assert sorted(sender.sent) == sorted([reminder(2).dedupe_key, reminder(3).dedupe_key])
    # a platform that cannot tell (Teams): reported, never sent twice
    await outbox.enqueue(tstore, [reminder(4)])
    (row,) = await outbox.claim_due(tstore, "dead", now=clock.now, lease=timedelta(seconds=10))
    await outbox.mark_sending(tstore, row.id, "dead", now=clock.now, lease=timedelta(seconds=10))
    clock.now += timedelta(minutes=1)
    blind = RecordingSender(history=None)
    assert (await dispatcher(tstore, blind, clock).run_once()).counts[IN_DOUBT] == 1
    assert reminder(4).dedupe_key not in blind.sent
    assert (await statuses(tstore))[reminder(4).dedupe_key] == IN_DOUBT


async def test_an_unanswered_check_on_a_confirming_platform_is_tried_again(tstore: Store) -> None:
    await outbox.enqueue(tstore, [reminder(1)])
    (row,) = await outbox.claim_due(tstore, "dead", now=T0, lease=timedelta(seconds=10))
    await outbox.mark_sending(tstore, row.id, "dead", now=T0, lease=timedelta(seconds=10))
    clock = Clock(T0 + timedelta(minutes=1))
    sender = RecordingSender(history=set(), history_down=1)
    d = dispatcher(tstore, sender, clock)
    assert (await d.run_once()).counts == {"retry": 1}
    assert (await statuses(tstore))[reminder(1).dedupe_key] == PENDING
    clock.now += timedelta(minutes=5)
    assert (await d.run_once()).counts == {SENT: 1}
    assert sender.sent == [reminder(1).dedupe_key]


async def test_followups_are_marked_sent_and_cancelled_ones_skipped(tstore: Store) -> None:
    kept = await add_personal_followup(
        tstore,
        tenant_id=TENANT,
        platform="slack",
        platform_user_id="UASK",
        label="Evaluer",
        due_at=T0,
    )
    dropped = await add_personal_followup(
        tstore,
        tenant_id=TENANT,
        platform="slack",
        platform_user_id="UASK",
        label="Annet",
        due_at=T0,
    )
    from storage.followups import set_personal_followup_status

    await set_personal_followup_status(tstore, dropped, "cancelled")
    await outbox.enqueue(
        tstore,
        [
            NewItem(
                TENANT,
                f"followup:{fid}",
                "followup",
                "slack",
                "user",
                "UASK",
                T0,
                {"type": "followup", "followup_id": fid, "label": "x"},
            )
            for fid in (kept, dropped)
        ],
    )
    stats = await dispatcher(tstore, RecordingSender(), Clock()).run_once()
    assert stats.counts == {SENT: 1, SKIPPED: 1}
    assert [f.id for f in await list_personal_followups(tstore, TENANT, "UASK", status="sent")] == [
        kept
    ]


async def test_two_dispatchers_on_one_database_send_each_row_once(tstore: Store) -> None:
    await outbox.enqueue(tstore, [reminder(n) for n in range(40)])
    sender = RecordingSender()
    clock = Clock()
    a, b = dispatcher(tstore, sender, clock), dispatcher(tstore, sender, clock)
    await asyncio.gather(a.run_once(), b.run_once())
    assert sorted(sender.sent) == sorted(
        {r.dedupe_key for r in await outbox.list_items(tstore, TENANT)}
    )
    assert len(sender.sent) == 40


async def test_the_kind_column_decides_and_rows_of_earlier_releases_still_go_out(
    tstore: Store,
) -> None:
    # planned now: no type in the payload; the stored one repeats the kind for earlier releases
    without_type = {k: v for k, v in reminder(2).payload.items() if k != "type"}
    await outbox.enqueue(
        tstore, [reminder(1), NewItem(**{**reminder(2).__dict__, "payload": without_type})]
    )
    stored = await outbox.get_by_key(tstore, reminder(2).dedupe_key)
    assert stored is not None and stored.payload["type"] == "reminder"
    # a row of a kind this release does not know (a newer one planned it) is skipped, not sent
    async with tstore.sessions.begin() as session:
        await session.execute(
            tstore.insert(OutboxItem).values(
                tenant_id=TENANT,
                dedupe_key="future:1",
                kind="future-kind",
                platform="slack",
                target_kind="user",
                target_id="U3",
                payload={"type": "future-kind"},
                send_at=T0,
                next_attempt_at=T0,
            )
        )
    sender = RecordingSender()
    stats = await dispatcher(tstore, sender, Clock()).run_once()
    assert stats.counts == {SENT: 2, SKIPPED: 1}
    assert sender.texts == ["nb:reminder:rapport", "nb:reminder:rapport"]
    skipped = await outbox.get_by_key(tstore, "future:1")
    assert skipped is not None and (skipped.status, skipped.last_error) == (SKIPPED, "gone")


async def test_unknown_kinds_are_refused_when_planned(tstore: Store) -> None:
    with pytest.raises(ValueError):
        await outbox.enqueue(tstore, [NewItem(**{**reminder(1).__dict__, "kind": "future-kind"})])
