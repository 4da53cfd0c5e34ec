"""An årshjul task that carries a survey, through the process's real dispatcher (``build_dispatcher``:
the router's content, the survey key, the outbox hooks) with a recording sender: the first
reminder launches the survey once, carries "Svar nå" for someone who was asked, the invitations go
out exactly once, and a nudge skips someone who has answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.reminders import build_dispatcher
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Reply
from storage import directory, outbox, surveys
from storage.models import utcnow
from storage.outbox import NewItem
from storage.outbox_models import OutboxItem
from storage.records import Holder
from storage.repositories import Store

TENANT = "slack:T1"


@dataclass
class Capture:
    platform: str = "slack"
    sent: list[tuple[str, str, Reply]] = field(default_factory=list)  # (kind, target, reply)

    @property
    def confirms_delivery(self) -> bool:
        return False

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        await asyncio.sleep(0)
        self.sent.append((item.kind, item.target_id, reply))
        return f"ts-{len(self.sent)}"

    async def already_sent(self, item: OutboxItem) -> bool | None:
        return None


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=tmp_path, survey_secret=SecretStr("test secret"))
    router = build_router(store, survey_key=survey_key(settings))
    yield Runtime(settings=settings, engine=store.engine, store=store, router=router)


async def leaders(store: Store) -> None:
    await ensure_tenant_setup(store, TENANT, timezone="Europe/Oslo", platform="slack")
    for i, unit in enumerate(["Sortland skole", "Lia barnehage", "Kvitnes skole"]):
        await directory.put_holder(
            store, TENANT, Holder("virksomhetsleder", unit, "slack", f"L{i}")
        )


def reminder(target: str, unit: str, occurrence: str, lead: str = "lead-14") -> NewItem:
    return NewItem(
        tenant_id=TENANT,
        dedupe_key=f"reminder:okt-opplaering:{occurrence}:{target}:{lead}",
        kind=lead,
        platform="slack",
        target_kind="user",
        target_id=target,
        send_at=utcnow() - timedelta(minutes=1),
        payload={
            "task": "okt-opplaering",
            "occurrence": occurrence,
            "role": "virksomhetsleder",
            "unit": unit,
        },
    )


async def test_an_arshjul_survey_is_launched_once_and_its_reminder_opens_it(
    store: Store, runtime: Runtime
) -> None:
    await leaders(store)
    capture = Capture()
    dispatcher = build_dispatcher(runtime, {"slack": capture})
    occurrence = (utcnow().astimezone(ZoneInfo("Europe/Oslo")) + timedelta(days=14)).date()
    await outbox.enqueue(store, [reminder("L0", "Sortland skole", occurrence.isoformat())])
    await dispatcher.run_once()
    (run,) = await surveys.runs(store, TENANT)
    assert (run.template_key, run.anonymity, run.recipients) == ("seminar-oppmote", "unit", 3)
    assert run.closes_at.astimezone(ZoneInfo("Europe/Oslo")).date() == occurrence
    kind, target, reply = capture.sent[0]
    assert (kind, target) == ("lead-14", "L0")
    buttons = reply.messages[0].buttons
    assert buttons[-1].action == "survey:open" and buttons[-1].value == run.id
    # The invitations were planned at launch and go out on the next run, each once.
    await dispatcher.run_once()
    invited = sorted(t for k, t, _ in capture.sent if k == "survey")
    assert invited == ["L0", "L1", "L2"]
    # The day's reminder for the same occurrence finds the same run: nothing launched twice.
    await outbox.enqueue(
        store, [reminder("L1", "Lia barnehage", occurrence.isoformat(), lead="reminder")]
    )
    await dispatcher.run_once()
    assert len(await surveys.runs(store, TENANT)) == 1
    assert sorted(t for k, t, _ in capture.sent if k == "survey") == ["L0", "L1", "L2"]
    last = capture.sent[-1][2].messages[0]
    assert last.buttons[-1].value == run.id


async def test_a_reminder_for_someone_not_asked_has_no_survey_button(
    store: Store, runtime: Runtime
) -> None:
    await leaders(store)
    await directory.put_holder(store, TENANT, Holder("bts-koordinator", None, "slack", "K"))
    capture = Capture()
    dispatcher = build_dispatcher(runtime, {"slack": capture})
    occurrence = (utcnow() + timedelta(days=20)).date().isoformat()
    row = NewItem(
        tenant_id=TENANT,
        dedupe_key=f"reminder:halvarsrapport:{occurrence}:K",
        kind="lead-14",
        platform="slack",
        target_kind="user",
        target_id="K",
        send_at=utcnow() - timedelta(minutes=1),
        payload={"task": "halvarsrapport", "occurrence": occurrence, "role": "bts-koordinator"},
    )
    await outbox.enqueue(store, [row])
    await dispatcher.run_once()
    (run,) = await surveys.runs(store, TENANT)
    assert run.template_key == "halvarsrapport" and run.recipients == 3
    (_kind, target, reply) = capture.sent[0]
    assert target == "K" and all(b.action != "survey:open" for b in reply.messages[0].buttons)
