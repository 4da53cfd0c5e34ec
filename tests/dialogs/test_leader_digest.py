"""The leaders' monthly digest: planned on the leader group's meeting days (none in July when the
årshjul skips it), rendered through the process's real dispatcher with the årshjul per unit,
surveys under the minimum group rules, the network's meeting, anonymous use counted from real
turns (never a question's text or a user id) and overdue milestones; ``/bts ledergruppe`` sets it
up in a channel for an admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.reminders import build_dispatcher
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.recurrence import occurrences
from dialogs.arshjul.tasks import ensure_tenant_setup, list_tasks
from dialogs.leaderdigest.digest import Period
from dialogs.leaderdigest.planner import plan_leader_digest
from dialogs.messages import Turn
from dialogs.milestones.model import parse_plan
from dialogs.milestones.plans import import_plan
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.launch import Audience
from dialogs.surveys.model import load_templates
from storage import directory, outbox, surveys, usage
from storage import network as net
from storage.network import DEFAULT_KEY, NetworkSettings
from storage.outbox_models import OutboxKind
from storage.progress import set_progress
from storage.records import Holder
from storage.repositories import Store
from storage.usage import DigestTarget
from tests.dialogs.test_network import Capture, due, form_turn, text_of

TENANT = "slack:T1"
OSLO = ZoneInfo("Europe/Oslo")
CHANNEL = "CLEDERE"
KEY = b"k" * 32


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=tmp_path, survey_secret=SecretStr("test secret"))
    router = build_router(store, survey_key=survey_key(settings))
    yield Runtime(settings=settings, engine=store.engine, store=store, router=router)


async def salangen(store: Store) -> None:
    await ensure_tenant_setup(
        store, TENANT, timezone="Europe/Oslo", platform="slack", template="salangen"
    )
    holders = [
        Holder("virksomhetsleder", f"Enhet {i % 3}", "slack", f"L{i}", f"Leder {i}")
        for i in range(6)
    ]
    holders.append(Holder("bts-koordinator", None, "slack", "ADM", "Koordinator"))
    await directory.replace_holders(store, TENANT, holders)
    await usage.put_leader_digest(
        store, DigestTarget(TENANT, "slack", CHANNEL, ("ledergruppe-bti",))
    )


async def plan(store: Store, now: datetime) -> int:
    return await plan_leader_digest(
        store, TENANT, await list_tasks(store, TENANT), OSLO, frozenset(), now,
        now - timedelta(hours=12), timedelta(days=7),
    )  # fmt: skip


def test_the_period_runs_from_the_day_after_the_previous_meeting() -> None:
    period = Period.before(date(2027, 3, 2), date(2027, 2, 2))
    assert (period.start, period.end) == (date(2027, 2, 3), date(2027, 3, 1))
    assert period.months() == ["2027-02", "2027-03"]
    first = Period.before(date(2027, 3, 31))  # no previous meeting: a month back
    assert first.start == date(2027, 2, 28)


async def test_the_digest_is_planned_on_meeting_days_but_not_in_july(store: Store) -> None:
    await salangen(store)
    planned: list[datetime] = []
    day = datetime(2027, 5, 30, 12, 0, tzinfo=OSLO)
    while day < datetime(2027, 9, 15, tzinfo=OSLO):
        await plan(store, day)
        day += timedelta(days=3)
    for row in await outbox.list_items(store, TENANT, kind="leader-digest", limit=50):
        assert (row.target_kind, row.target_id) == ("channel", CHANNEL)
        planned.append(row.send_at.astimezone(OSLO))
    # The first Tuesday of June, August and September at 08:00 local (summer time); not July.
    assert [(d.date(), d.hour) for d in sorted(planned)] == [
        (date(2027, 6, 1), 8), (date(2027, 8, 3), 8), (date(2027, 9, 7), 8),
    ]  # fmt: skip
    assert await plan(store, datetime(2027, 8, 31, 12, 0, tzinfo=OSLO)) == 0  # idempotent


async def launch_and_answer(store: Store, key: str, answers: int, closes: datetime) -> surveys.Run:
    opened = closes - timedelta(days=10)
    run, _ = await survey_launch.launch(
        store, tenant_id=TENANT, template=load_templates()[key],
        audience=Audience.parse("role:virksomhetsleder"), closes_at=closes, now=opened,
        min_group=5, launch_key=f"{key}-{answers}",
    )  # fmt: skip
    for i in range(answers):
        await surveys.submit(
            store, key=KEY, tenant_id=TENANT, run_id=run.id, platform_user_id=f"L{i}",
            values={"trygg": 2 + i % 3, "anbefale": 8, "hjelpe-mest": f"Hemmelig kommentar {i}"},
            day=opened.date(), now=opened,
        )  # fmt: skip
    await survey_launch.close(store, TENANT, run.id, closes)
    return run


async def test_the_digest_shows_the_month_without_anything_identifying(
    store: Store, runtime: Runtime
) -> None:
    await salangen(store)
    today = datetime.now(UTC).astimezone(OSLO).date()
    (task,) = [t for t in await list_tasks(store, TENANT) if t.key == "ledergruppe-bti"]
    meetings = occurrences(task.recurrence, today - timedelta(days=70), today + timedelta(days=70))
    meeting = next(d for d in meetings if d > today + timedelta(days=1))
    previous = max(d for d in meetings if d < meeting)
    inside = previous + timedelta(days=2)  # a day of the digest's period
    # The årshjul: a task of the period marked done (the kommune-wide line counts it).
    await usage.put_leader_digest(
        store, DigestTarget(TENANT, "slack", CHANNEL, ("ledergruppe-bti",))
    )
    await set_progress(store, TENANT, "ledergruppe-bti", previous, None, status="done",
                       updated_by="test")  # fmt: skip
    # Two pulses closed in the period: one with 6 answers, one below the minimum (4).
    closes = datetime.combine(inside, datetime.min.time(), OSLO) + timedelta(hours=16)
    await launch_and_answer(store, "puls", 6, closes)
    await launch_and_answer(store, "puls", 4, closes + timedelta(hours=1))
    # The network met and its host sent key points.
    await net.put_network(store, NetworkSettings(TENANT, DEFAULT_KEY, "slack", "CNETT"))
    round_ = await net.ensure_round(store, TENANT, DEFAULT_KEY, "x", inside, False)
    await net.set_summary(store, round_.id, ["Felles fagdag i august"])
    # Real turns: a FAQ question, a guide level, an unknown question and a 👍.
    router = runtime.router
    ask = Turn(
        platform="slack",
        tenant_id=TENANT,
        user_id="U9",
        channel_id="DU9",
        text="Hva er taushetsplikt for en lærer?",
    )
    await router.handle(ask)
    await router.handle(form_turn("U9", "guide:goto", "nivaa1", {}))
    await router.handle(Turn(platform="slack", tenant_id=TENANT, user_id="U9", channel_id="DU9",
                             text="Hvor mange parkeringsplasser har rådhuset i Sjøvegan?"))  # fmt: skip
    # A milestone overdue.
    plan_text = f"""
name: {{nb: Plan, nn: Plan}}
milestones:
  - key: oppstart
    title: {{nb: Oppstart BTS-nettverk, nn: Oppstart BTS-nettverk}}
    role: bts-koordinator
    due: {(today - timedelta(days=20)).isoformat()}
"""
    await import_plan(store, TENANT, parse_plan(plan_text))

    await outbox.enqueue(
        store,
        [
            outbox.NewItem(
                tenant_id=TENANT, dedupe_key="leader-digest:test", kind=OutboxKind.LEADER_DIGEST,
                platform="slack", target_kind="channel", target_id=CHANNEL,
                send_at=datetime.now(UTC), payload={"task": "ledergruppe-bti", "meeting": meeting.isoformat()},
            )
        ],
    )  # fmt: skip
    capture = Capture()
    await due(store, OutboxKind.LEADER_DIGEST)
    await build_dispatcher(runtime, {"slack": capture}).run_once()
    ((target, reply),) = capture.of(OutboxKind.LEADER_DIGEST)
    message = reply.messages[0]
    text = message.text
    assert target == CHANNEL and message.buttons[0].action == "guide:acute"
    assert "**BTS i ledergruppa" in text
    assert "**Årshjulet per enhet**" in text and "ferdig 1" not in text.split("Undersøkelser")[1]
    assert "6 av 6 svarte (100 %)" in text and "snitt" in text
    assert "4 av 6 svarte (67 %)" in text and "Færre enn 5 svarte" in text
    assert "Felles fagdag i august" in text
    assert "Nivåer åpnet: Nivå 1 (1)" in text
    assert "Taushetsplikt (1)" in text
    assert "Spørsmål jeg ikke kunne svare på" in text
    assert "Forsinket: Oppstart BTS-nettverk" in text
    # Nothing that names a person or repeats what anyone wrote.
    for secret in ("Hemmelig", "parkeringsplasser", "Sjøvegan", "U9", "L0", "Leder 0", "lærer"):
        assert secret not in text, secret


async def test_bts_ledergruppe_sets_the_digest_up_in_the_channel(
    store: Store, runtime: Runtime
) -> None:
    await ensure_tenant_setup(
        store, TENANT, timezone="Europe/Oslo", platform="slack", template="salangen"
    )
    await directory.put_holder(store, TENANT, Holder("bts-koordinator", None, "slack", "ADM", "K"))
    router = runtime.router

    def typed(user: str, channel: str, text: str) -> Turn:
        return Turn(platform="slack", tenant_id=TENANT, user_id=user, channel_id=channel,
                    is_direct=channel.startswith("D"), text=text)  # fmt: skip

    other = await router.handle(typed("U5", "CLEDERE", "ledergruppe"))
    assert "ingen oppsummering" in text_of(other)
    made = await router.handle(typed("ADM", "CLEDERE", "/bts ledergruppe"))
    target = await usage.get_leader_digest(store, TENANT)
    assert target is not None and target.channel_id == "CLEDERE"
    assert target.tasks == ("ledergruppe-bti",)
    assert "BTI i ledergruppemøtet" in text_of(made) and "Neste:" in text_of(made)
    assert made.messages[-1].buttons[0].action == "guide:acute"
    saved = await router.handle(
        form_turn("ADM", "leaders:save", "", {"tasks": "arbeidsgruppe-status,nope"})
    )
    assert "Lagret" in text_of(saved)
    target = await usage.get_leader_digest(store, TENANT)
    assert target is not None and target.tasks == ("arbeidsgruppe-status",)
    refused = await router.handle(form_turn("U5", "leaders:save", "", {"tasks": ""}))
    assert "administrator" in text_of(refused)
    nn = await router.handle(form_turn("ADM", "lang:set", "nn", {}))
    assert nn is not None
    shown = await router.handle(typed("ADM", "DADM", "leiargruppa"))
    assert "Månadleg oppsummering til leiargruppa" in text_of(shown)
