"""The årshjul in chat through the real router and store (SQLite and PostgreSQL): every notice type
rendered in nb and nn, the reminder buttons and their undo, postponing across DST and a holiday,
"/bts årshjul" for holders and others, the admin form and the digest channel."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import update

from bot.platforms.slack.render import render_message
from bot.platforms.teams.render import render_card
from dialogs.app import build_router
from dialogs.arshjul import setup as arshjul_setup
from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.notices import render_notice
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup, replace_arshjul
from dialogs.content import Content
from dialogs.messages import Button, Form, Reply, Turn
from dialogs.pii import find_personal_data
from dialogs.router import Router
from storage import directory, outbox
from storage.db import create_engine
from storage.migrate import upgrade
from storage.outbox import Notice
from storage.outbox_models import (
    DONE,
    NOT_RELEVANT,
    OPEN,
    PENDING,
    SENT,
    SKIPPED,
    OutboxItem,
    OutboxKind,
)
from storage.progress import get_digest_target, get_progress, set_progress
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.platforms.test_slack import (
    FORM,
    SECRET,
    block_text,
    click_payload,
    send_payload,
    send_signed,
)
from tests.platforms.test_teams import assert_valid_card
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.server import BotServer

OSLO = ZoneInfo("Europe/Oslo")
TENANT = "slack:T1"
CONTENT = Content.load()
ARSHJUL = """
name: {nb: Test, nn: Test}
tasks:
  - key: rapport
    title: {nb: Halvårsrapport, nn: Halvårsrapport}
    text: {nb: Send rapporten til BTS-koordinator., nn: Send rapporten til BTS-koordinator.}
    roles: [virksomhetsleder]
    recurrence: {every: yearly, month: 12, day: 15}
    lead_days: [14, 0]
    link: https://kommune.example/rapport
    done: report
    done_link: https://kommune.example/skjema
  - key: opplaering
    title: {nb: Opplæring av nye ansatte, nn: Opplæring av nye tilsette}
    text: {nb: Hold opplæringen., nn: Hald opplæringa.}
    roles: [bts-kontakt]
    recurrence: {every: yearly, month: 12, day: 10}
    lead_days: [7]
  - key: kartlegging
    title: {nb: Kartlegging, nn: Kartlegging}
    text: {nb: Send ut kartleggingen., nn: Send ut kartlegginga.}
    roles: [bts-koordinator]
    recurrence: {every: yearly, month: 1, day: 11}
    send_time: "08:30"
  - key: seminar
    title: {nb: Vårseminar, nn: Vårseminar}
    text: {nb: Planlegg seminaret., nn: Planlegg seminaret.}
    roles: [virksomhetsleder]
    recurrence: {every: yearly, month: 4, day: 20}
"""
HOLDERS = [
    Holder("virksomhetsleder", "Skolen", "slack", "ULEADER", "Lise Leder"),
    Holder("virksomhetsleder", "Barnehagen", "slack", "UBHG", "Per Leder", "UDEPUTY", absent=True),
    Holder("bts-kontakt", "Skolen", "slack", "UKONTAKT", "Siri Kontakt"),
    Holder("bts-koordinator", None, "slack", "UCOORD", "Kari Koordinator"),
]
LANGS = ["nb", "nn"]


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def tenant(store: Store) -> Store:
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, platform="slack")
    await replace_arshjul(store, TENANT, parse_arshjul(ARSHJUL))
    await directory.replace_holders(store, TENANT, HOLDERS)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock(oslo(2026, 12, 1, 9, 0))


def make_router(store: Store, clock: Clock, tmp_path: Path) -> Router:
    """The app's router (``dialogs.app.build_router``) with a test clock."""
    return build_router(store, CONTENT, kommune_dir=tmp_path, clock=clock)


class Chat:
    """One Slack user of tenant T1 talking to the router."""

    def __init__(self, router: Router, user: str, channel: str = "D1") -> None:
        self.router, self.user, self.channel = router, user, channel
        self.last: Reply | None = None

    async def _send(self, **kwargs: Any) -> Reply:
        turn = Turn("slack", TENANT, self.user, self.channel, **kwargs)
        self.last = await self.router.handle(turn)
        return self.last

    async def say(self, text: str) -> Reply:
        return await self._send(text=text)

    async def press(self, action: str, value: str = "") -> Reply:
        return await self._send(action=action, value=value)

    async def submit(self, action: str, **values: str) -> Reply:
        return await self._send(action=action, form_values=values)

    async def hello(self, lang: str = "nb") -> Chat:
        await self.say("hei")
        if lang != "nb":
            await self.press("lang:set", lang)
        return self

    @property
    def text(self) -> str:
        assert self.last is not None
        return self.last.plain_text()

    def buttons(self) -> list[Button]:
        assert self.last is not None
        return [b for m in self.last.messages for b in m.buttons]

    def button(self, action: str) -> Button:
        found = [b for b in self.buttons() if b.action == action]
        assert found, f"no {action} in {self.buttons()}"
        return found[0]

    def form(self) -> Form:
        assert self.last is not None
        forms = [m.form for m in self.last.messages if m.form is not None]
        assert len(forms) == 1
        return forms[0]


async def add_row(
    store: Store,
    *,
    user: str = "ULEADER",
    task: str = "rapport",
    occurrence: str = "2026-12-15",
    unit: str | None = "Skolen",
    role: str = "virksomhetsleder",
    lead: int = 14,
    deputy: bool = False,
    kind: str = "lead-14",
    payload: dict[str, Any] | None = None,
    send_at: datetime | None = None,
) -> int:
    """A row as the planner would write it; returns its id."""
    key = f"{kind}:{task}:{occurrence}:slack:{user}:{unit}"
    body = payload or {
        "type": "reminder",
        "task": task,
        "occurrence": occurrence,
        "lead_days": lead,
        "role": role,
        "unit": unit,
        "deputy": deputy,
    }
    item = outbox.NewItem(
        TENANT, key, kind, "slack", "user", user, send_at or oslo(2026, 12, 1, 9, 0), body
    )
    assert await outbox.enqueue(store, [item]) == 1
    row = await outbox.get_by_key(store, key)
    assert row is not None
    return row.id


async def render(
    store: Store, payload: dict[str, Any], lang: str, item_id: int = 0, late: bool = False
) -> Reply:
    row = OutboxItem(id=item_id, tenant_id=TENANT, kind=payload["type"], payload=payload)
    notice = Notice.of(row, lang, late)
    return await render_notice(store, CONTENT, notice, now=oslo(2026, 12, 1, 9, 0))


def assert_filled(reply: Reply) -> None:
    """Every placeholder filled, no content key leaked."""
    text = reply.plain_text()
    assert not re.search(r"[{}]", text), text
    assert "arshjul." not in text and "None" not in text, text


# rendering ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_reminder_shows_task_due_date_days_left_link_and_buttons(
    tenant: Store, lang: str
) -> None:
    item_id = await add_row(tenant)
    row = await outbox.get_item(tenant, item_id)
    assert row is not None
    reply = await render(tenant, row.payload, lang, item_id)
    assert_filled(reply)
    text = reply.plain_text()
    weekday = "tirsdag" if lang == "nb" else "tysdag"
    assert text.startswith(
        "**Påminnelse fra årshjulet: Halvårsrapport**"
        if lang == "nb"
        else "**Påminning frå årshjulet: Halvårsrapport**"
    )
    assert f"**Frist:** {weekday} 15. desember – om 14 {'dager' if lang == 'nb' else 'dagar'}." in (
        text
    )
    assert "Virksomhetsleder i Skolen" in text or "Verksemdsleiar i Skolen" in text
    assert "Send rapporten til BTS-koordinator." in text
    assert "(forsinket)" not in text and "(forseinka)" not in text
    buttons = reply.messages[0].buttons
    assert [(b.action, b.value) for b in buttons] == [
        ("arshjul:done", str(item_id)),
        ("arshjul:postpone", str(item_id)),
        ("arshjul:not-relevant", str(item_id)),
    ]
    assert [b.label for b in buttons] == (
        ["Ferdig", "Utsett 1 uke", "Ikke relevant"]
        if lang == "nb"
        else ["Ferdig", "Utset 1 veke", "Ikkje relevant"]
    )
    assert [link.url for link in reply.messages[0].links] == [
        "https://kommune.example/skjema",
        "https://kommune.example/rapport",
    ]


@pytest.mark.parametrize("lang", LANGS)
async def test_late_deputy_and_postponed_reminders_say_so(tenant: Store, lang: str) -> None:
    item_id = await add_row(tenant, user="UDEPUTY", unit="Barnehagen", deputy=True, lead=0)
    row = await outbox.get_item(tenant, item_id)
    assert row is not None
    late = await render(tenant, row.payload, lang, item_id, late=True)
    assert_filled(late)
    text = late.plain_text()
    assert ("Halvårsrapport** (forsinket)" if lang == "nb" else "Halvårsrapport** (forseinka)") in (
        text
    )
    assert (
        "som stedfortreder for Per Leder" if lang == "nb" else "som stadfortredar for Per Leder"
    ) in text
    postponed = await render(
        tenant, {**row.payload, "type": "postponed", "postponed_from_item": 1}, lang, item_id
    )
    assert_filled(postponed)
    assert ("Du utsatte denne" if lang == "nb" else "Du utsette denne") in postponed.plain_text()
    # no longer the deputy of an absent holder: a neutral line instead of a wrong name
    await directory.replace_holders(tenant, TENANT, HOLDERS[:1])
    neutral = await render(tenant, row.payload, lang, item_id)
    assert_filled(neutral)
    assert "Per Leder" not in neutral.plain_text()


@pytest.mark.parametrize("lang", LANGS)
async def test_escalation_followup_and_digest_render(tenant: Store, lang: str) -> None:
    escalation = await render(
        tenant,
        {
            "type": "escalation",
            "task": "rapport",
            "occurrence": "2026-11-20",
            "unit": "Skolen",
            "days_overdue": 11,
            "holders": ["Lise Leder"],
        },
        lang,
    )
    assert_filled(escalation)
    text = escalation.plain_text()
    assert "fredag 20. november" in text  # the same words in both
    assert ("11 dager over fristen" if lang == "nb" else "11 dagar over fristen") in text
    assert "Lise Leder" in text and "Skolen" in text

    followup = await render(
        tenant, {"type": "followup", "followup_id": 3, "label": "evaluer tiltak"}, lang
    )
    assert_filled(followup)
    assert "evaluer tiltak" in followup.plain_text()
    assert followup.messages[0].buttons[0].action == "guide:start"


@pytest.mark.parametrize("lang", LANGS)
async def test_every_report_problem_is_explained_with_what_to_do(tenant: Store, lang: str) -> None:
    about = {"task": "rapport", "occurrence": "2026-12-15", "role": "virksomhetsleder"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"problem": "no-holder", **about, "unit": "Skolen", "who": None}, "/bts rolle"),
        (
            {"problem": "absent-no-deputy", **about, "unit": "Barnehagen", "who": "UBHG"},
            "Per Leder",
        ),
        ({"problem": "unreachable", **about, "unit": "Skolen", "who": "ULEADER"}, "Lise Leder"),
        ({"problem": "failed", **about, "unit": "Skolen", "who": "ULEADER"}, "Lise Leder"),
        ({"problem": "in-doubt", **about, "unit": "Skolen", "who": "ULEADER"}, "Lise Leder"),
        ({"problem": "expired", "count": 3}, "3 "),
        ({"problem": "something-new", "task": None, "who": "UX"}, "UX"),
    ]
    texts = set()
    for payload, expected in cases:
        reply = await render(tenant, {"type": "report", **payload}, lang)
        assert_filled(reply)
        text = reply.plain_text()
        assert expected in text, (payload, text)
        assert ("**Hva du gjør:**" if lang == "nb" else "**Kva du gjer:**") in text
        if payload.get("task"):
            assert "Halvårsrapport" in text and "15. desember" in text
        texts.add(text)
    assert len(texts) == len(cases)


@pytest.mark.parametrize("lang", LANGS)
async def test_digest_counts_done_open_and_late_per_unit(tenant: Store, lang: str) -> None:
    await set_progress(
        tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen", status=DONE, updated_by="x"
    )
    notice = Notice(0, TENANT, OutboxKind.DIGEST, {"week": "2026-W52"}, lang)
    reply = await render_notice(tenant, CONTENT, notice, now=oslo(2026, 12, 21, 8, 0))
    assert_filled(reply)
    text = reply.plain_text()
    if lang == "nb":
        assert text.startswith("**Ukestatus for årshjulet – uke 52**")
        assert "status mandag 21. desember" in text
        expected = [
            "- **Hele kommunen:** ferdig 0 · åpne 1 · forsinket 0",
            "- **Barnehagen:** ferdig 0 · åpne 0 · forsinket 1",
            "Forsinket: Halvårsrapport (15. desember)",
            "- **Skolen:** ferdig 1 · åpne 0 · forsinket 1",
            "Forsinket: Opplæring av nye ansatte (10. desember)",
        ]
    else:
        assert text.startswith("**Vekestatus for årshjulet – veke 52**")
        assert "status måndag 21. desember" in text
        expected = [
            "- **Heile kommunen:** ferdig 0 · opne 1 · forseinka 0",
            "- **Barnehagen:** ferdig 0 · opne 0 · forseinka 1",
            "Forseinka: Halvårsrapport (15. desember)",
            "- **Skolen:** ferdig 1 · opne 0 · forseinka 1",
            "Forseinka: Opplæring av nye tilsette (10. desember)",
        ]
    lines = [line.strip() for line in text.splitlines()]
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions), text


async def test_unknown_payloads_and_removed_tasks_raise_lookup_error(tenant: Store) -> None:
    with pytest.raises(LookupError):
        await render(tenant, {"type": "survey"}, "nb")
    with pytest.raises(LookupError):
        await render(
            tenant,
            {"type": "reminder", "task": "gone", "occurrence": "2026-12-15", "unit": None},
            "nb",
        )


# reminder buttons --------------------------------------------------------------------------------


async def test_done_and_not_relevant_change_progress_and_can_be_undone(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    item_id = await add_row(tenant)
    chat = Chat(router, "ULEADER")
    reply = await chat.press("arshjul:done", str(item_id))
    assert reply.replace and reply.topic == "arshjul:confirmed"
    assert (
        "**Halvårsrapport** (frist tirsdag 15. desember) er merket som ferdig i Skolen" in chat.text
    )
    progress = await get_progress(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen")
    assert progress is not None and progress.status == DONE
    assert progress.updated_by == "slack:ULEADER"
    assert await outbox.occurrence_closed(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen")
    # Barnehagen's occurrence is its own
    assert not await outbox.occurrence_closed(
        tenant, TENANT, "rapport", date(2026, 12, 15), "Barnehagen"
    )

    undo = chat.button("arshjul:undo")
    reply = await chat.press(undo.action, undo.value)
    assert reply.replace and "Angret" in chat.text and "Halvårsrapport" in chat.text
    assert chat.button("arshjul:done").value == str(item_id)
    progress = await get_progress(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen")
    assert progress is not None and progress.status == OPEN

    await chat.press("arshjul:not-relevant", str(item_id))
    assert "ikke relevant" in chat.text
    progress = await get_progress(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen")
    assert progress is not None and progress.status == NOT_RELEVANT


async def test_confirmation_follows_the_users_language(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    item_id = await add_row(tenant)
    chat = await Chat(router, "ULEADER").hello("nn")
    await chat.press("arshjul:done", str(item_id))
    assert "er merkt som ferdig i Skolen" in chat.text and "tysdag 15. desember" in chat.text
    assert chat.button("arshjul:undo").label == "Angre"


async def test_a_stranger_cannot_press_someone_elses_reminder(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    item_id = await add_row(tenant)
    stranger = Chat(router, "USTRANGER")
    for action in ("arshjul:done", "arshjul:postpone", "arshjul:not-relevant", "arshjul:undo"):
        reply = await stranger.press(action, str(item_id) + (":done" if "undo" in action else ""))
        assert not reply.replace and reply.topic == "arshjul:refused"
        assert "sendt til en annen" in stranger.text
    assert await get_progress(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen") is None
    assert await outbox.list_items(tenant, TENANT, kind="postponed") == []

    followup = await add_row(
        tenant, kind="followup", payload={"type": "followup", "followup_id": 1, "label": "x"}
    )
    owner = Chat(router, "ULEADER")
    for value in (str(followup), "abc", "999999", "9" * 30, "-1"):
        reply = await owner.press("arshjul:done", value)
        assert reply.topic == "arshjul:refused" and "hører ikke til en påminnelse" in owner.text
    # the same user id in another workspace is someone else
    other = await router.handle(
        Turn("slack", "slack:T2", "ULEADER", "D1", action="arshjul:done", value=str(item_id))
    )
    assert other.topic == "arshjul:refused"
    assert await get_progress(tenant, TENANT, "rapport", date(2026, 12, 15), "Skolen") is None


@pytest.mark.parametrize(
    ("clicked", "expected", "offset_hours", "shown"),
    [
        # Thursday before Easter, one week across the spring DST change: a week later is
        # Skjærtorsdag (a holiday), so the reminder comes the Wednesday before, at 09:00 CEST.
        (oslo(2026, 3, 26, 10, 0), oslo(2026, 4, 1, 9, 0), 2, "onsdag 1. april kl. 09.00"),
        # Across the autumn change: 09:00 CET.
        (oslo(2026, 10, 20, 12, 0), oslo(2026, 10, 27, 9, 0), 1, "tirsdag 27. oktober kl. 09.00"),
    ],
)
async def test_postpone_plans_exactly_one_resend_a_week_later_at_the_send_hour(
    tenant: Store,
    tmp_path: Path,
    clicked: datetime,
    expected: datetime,
    offset_hours: int,
    shown: str,
) -> None:
    clock = Clock(clicked)
    router = make_router(tenant, clock, tmp_path)
    item_id = await add_row(
        tenant, task="seminar", occurrence="2026-04-20", kind="reminder", lead=0, send_at=clicked
    )
    chat = Chat(router, "ULEADER")
    reply = await chat.press("arshjul:postpone", str(item_id))
    assert reply.replace and shown in chat.text and "Vårseminar" in chat.text
    await chat.press("arshjul:postpone", str(item_id))  # a double click plans nothing more
    rows = await outbox.list_items(tenant, TENANT, kind="postponed")
    assert len(rows) == 1
    row = rows[0]
    assert row.send_at == expected
    assert row.send_at.astimezone(OSLO).utcoffset() == timedelta(hours=offset_hours)
    assert clicked.utcoffset() != expected.utcoffset()
    assert (row.target_id, row.platform, row.status) == ("ULEADER", "slack", PENDING)
    assert row.dedupe_key == f"postponed:{item_id}:1"
    assert row.payload == {
        "type": "postponed",
        "task": "seminar",
        "occurrence": "2026-04-20",
        "lead_days": 0,
        "role": "virksomhetsleder",
        "unit": "Skolen",
        "deputy": False,
        "postponed_from_item": item_id,
    }
    progress = await get_progress(tenant, TENANT, "seminar", date(2026, 4, 20), "Skolen")
    assert progress is not None and progress.postponed_until == expected.date()
    assert progress.status == OPEN

    # Angre cancels the re-send; postponing again plans a fresh one
    undo = chat.button("arshjul:undo")
    await chat.press(undo.action, undo.value)
    assert "Angret" in chat.text
    assert (await outbox.get_item(tenant, row.id)).status == SKIPPED  # type: ignore[union-attr]
    progress = await get_progress(tenant, TENANT, "seminar", date(2026, 4, 20), "Skolen")
    assert progress is not None and progress.postponed_until is None
    await chat.press("arshjul:postpone", str(item_id))
    rows = await outbox.list_items(tenant, TENANT, kind="postponed")
    assert [(r.dedupe_key, r.status) for r in rows] == [
        (f"postponed:{item_id}:1", SKIPPED),
        (f"postponed:{item_id}:2", PENDING),
    ]

    # the re-send renders as a postponed reminder whose buttons carry its own id and work
    resend = rows[1]
    rendered = await render_notice(tenant, CONTENT, Notice.of(resend, "nb"), now=expected)
    assert "Du utsatte denne oppgaven en uke." in rendered.plain_text()
    assert rendered.messages[0].buttons[0].value == str(resend.id)
    await chat.press("arshjul:done", str(resend.id))
    progress = await get_progress(tenant, TENANT, "seminar", date(2026, 4, 20), "Skolen")
    assert progress is not None and progress.status == DONE


async def test_postponing_again_after_the_resend_went_out_plans_a_new_one(
    tenant: Store, tmp_path: Path
) -> None:
    clock = Clock(oslo(2026, 11, 2, 10, 0))
    router = make_router(tenant, clock, tmp_path)
    item_id = await add_row(tenant)
    chat = Chat(router, "ULEADER")
    await chat.press("arshjul:postpone", str(item_id))
    (first,) = await outbox.list_items(tenant, TENANT, kind="postponed")
    assert first.send_at == oslo(2026, 11, 9, 9, 0)
    # a week later the dispatcher has sent it
    async with tenant.sessions.begin() as session:
        await session.execute(
            update(OutboxItem).where(OutboxItem.id == first.id).values(status=SENT)
        )
    clock.now = oslo(2026, 11, 9, 9, 5)
    await chat.press("arshjul:postpone", str(item_id))
    rows = await outbox.list_items(tenant, TENANT, kind="postponed")
    assert [(r.dedupe_key, r.send_at) for r in rows] == [
        (f"postponed:{item_id}:1", oslo(2026, 11, 9, 9, 0)),
        (f"postponed:{item_id}:2", oslo(2026, 11, 16, 9, 0)),
    ]
    assert "mandag 16. november kl. 09.00" in chat.text
    # Angre now can only cancel the pending one; the sent one stays sent
    await chat.press("arshjul:undo", f"{item_id}:postponed")
    statuses = [r.status for r in await outbox.list_items(tenant, TENANT, kind="postponed")]
    assert statuses == [SENT, SKIPPED]


# "/bts årshjul" ----------------------------------------------------------------------------------


async def test_overview_for_a_holder_shows_my_tasks_and_my_unit(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    chat = await Chat(router, "ULEADER").hello()
    reply = await chat.say("/bts årshjul")
    assert reply.topic == "arshjul:oversikt" and not reply.replace
    text = chat.text
    assert "**For deg** (Virksomhetsleder i Skolen):" in text
    assert "- tirsdag 15. desember: Halvårsrapport – åpen" in text
    assert "**For Skolen:**\n- torsdag 10. desember: Opplæring av nye ansatte – åpen" in text
    assert "Kartlegging" not in text  # the coordinator's, not Skolen's
    assert "Vårseminar" not in text  # more than 60 days ahead
    assert [b.action for b in chat.buttons()] == ["arshjul:calendar"]  # no role form: no admin

    item_id = await add_row(tenant)
    await chat.press("arshjul:done", str(item_id))
    clock.now = oslo(2026, 12, 12, 9, 0)
    await chat.say("mitt årshjul")
    assert "- tirsdag 15. desember: Halvårsrapport – ferdig" in chat.text
    assert "- torsdag 10. desember: Opplæring av nye ansatte – forsinket" in chat.text

    deputy = await Chat(router, "UDEPUTY").hello()
    await deputy.say("årshjul")
    assert "**For deg** (Virksomhetsleder i Barnehagen):" in deputy.text
    assert "Halvårsrapport – åpen" in deputy.text


async def test_overview_for_someone_without_a_role_and_in_nynorsk(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    chat = await Chat(router, "UNOBODY").hello()
    await chat.say("årshjul")
    text = chat.text
    assert "Du har ingen rolle i årshjulet ennå" in text
    assert "**Neste i kommunens årshjul:**" in text
    assert "- torsdag 10. desember: Opplæring av nye ansatte (BTS-kontakt)" in text
    assert "- mandag 11. januar 2027: Kartlegging (BTS-koordinator)" in text

    nn = await Chat(router, "UNYNORSK").hello("nn")
    await nn.say("årshjulet mitt")
    assert "Du har inga rolle i årshjulet enno" in nn.text
    assert "- torsdag 10. desember: Opplæring av nye tilsette (BTS-kontakt)" in nn.text
    assert "- måndag 11. januar 2027: Kartlegging (BTS-koordinator)" in nn.text

    coordinator = await Chat(router, "UCOORD").hello()
    await coordinator.say("/bts årshjul")
    assert "**For deg** (BTS-koordinator):" in coordinator.text
    assert "- mandag 11. januar 2027: Kartlegging – åpen" in coordinator.text
    assert coordinator.button("arshjul:role_form")


async def test_questions_about_the_arshjul_still_go_to_the_faq(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    chat = await Chat(router, "UNOBODY").hello()
    reply = await chat.say("hva er årshjulet for bts")
    assert reply.topic == "arshjul" and "Årshjulet" in chat.text
    assert chat.button("arshjul:overview").label == "Mine oppgaver"  # no dead end
    assert chat.button("arshjul:calendar").label == "Abonner i kalenderen"
    reply = await chat.say("arshjul")
    assert reply.topic == "arshjul:oversikt"


@pytest.mark.parametrize("lang", LANGS)
async def test_the_calendar_button_gives_the_tenants_subscription_link(
    tenant: Store, clock: Clock, tmp_path: Path, lang: str
) -> None:
    linked = build_router(
        tenant, CONTENT, kommune_dir=tmp_path, clock=clock,
        calendar_link=lambda token: f"https://bts.example.no/arshjul/{token}.ics",
    )  # fmt: skip
    chat = await Chat(linked, "UNOBODY").hello(lang)
    reply = await chat.press("arshjul:calendar")
    token = await directory.feed_token(tenant, TENANT)
    assert reply.topic == "arshjul:kalender" and not reply.replace
    assert f"https://bts.example.no/arshjul/{token}.ics" in chat.text
    assert "Outlook" in chat.text and "Google" in chat.text
    assert chat.button("arshjul:overview")
    # Where the bot has no address people can reach, it says who makes the link.
    unlinked = await Chat(make_router(tenant, clock, tmp_path), "UNOBODY").hello(lang)
    await unlinked.press("arshjul:calendar")
    assert "bts-bot arshjul feed" in unlinked.text and token not in unlinked.text


# admin commands ----------------------------------------------------------------------------------


async def test_non_admins_get_a_polite_no_naming_the_admins(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    await directory.add_admin(tenant, TENANT, "slack", "UADMIN")
    chat = await Chat(router, "ULEADER").hello()
    for typed in ("/bts rolle", "/bts digest her"):
        reply = await chat.say(typed)
        assert reply.topic == "arshjul:ikke-admin"
        assert "bare administratorene" in chat.text
        assert "Administratorer nå: Kari Koordinator og UADMIN." in chat.text
        assert all(m.form is None for m in reply.messages)
    reply = await chat.submit(
        "arshjul:role_save", op="put", role="superbruker", unit="-", user="ULEADER", name="Meg"
    )
    assert reply.topic == "arshjul:ikke-admin"
    assert all(h.role != "superbruker" for h in await directory.list_holders(tenant, TENANT))
    assert await get_digest_target(tenant, TENANT) is None

    # with nobody to name, the answer says how admins are made
    await directory.replace_holders(tenant, TENANT, HOLDERS[:1])
    await directory.remove_admin(tenant, TENANT, "slack", "UADMIN")
    await chat.say("/bts rolle")
    assert "bts-bot admin add" in chat.text


async def test_admin_adds_changes_and_removes_a_role_holder_through_the_form(
    store: Store, tenant: Store, tmp_path: Path
) -> None:
    # The app's own router: the real PII guard, wrapped for the name field only.
    router = build_router(store, kommune_dir=tmp_path)
    assert find_personal_data("Ola Nordmann") == ["name"]  # the guard would refuse it elsewhere
    named = Chat(router, "UADMIN")
    await directory.add_admin(store, TENANT, "slack", "UADMIN")
    await named.hello()
    await named.say("/bts rolle")
    form = named.form()
    assert form.action == "arshjul:role_save"
    assert [f.name for f in form.fields] == [
        "op",
        "role",
        "unit",
        "new_unit",
        "user",
        "name",
        "deputy",
        "absent",
    ]
    fields = {f.name: f for f in form.fields}
    assert {o.value for o in fields["unit"].options} == {"-", "Barnehagen", "Skolen"}
    assert "superbruker" in {o.value for o in fields["role"].options}
    assert "- Virksomhetsleder i Barnehagen: Per Leder (borte), stedfortreder UDEPUTY" in (
        named.text
    )

    chat = await Chat(router, "UCOORD").hello()
    new = {"op": "put", "role": "superbruker", "unit": "-", "user": "<@U0NEW|ola>"}
    reply = await chat.submit("arshjul:role_save", **new, name="Ola Nordmann", absent="no")
    assert reply.topic == "arshjul:roller-lagret", chat.text
    assert "Lagret: Ola Nordmann har nå rollen **Superbruker**." in chat.text
    assert Holder("superbruker", None, "slack", "U0NEW", "Ola Nordmann") in (
        await directory.list_holders(store, TENANT)
    )

    await chat.submit(
        "arshjul:role_save", **new, name="Ola Nordmann", deputy="<@U0DEP>", absent="yes"
    )
    assert "Endret: Ola Nordmann" in chat.text
    holders = [h for h in await directory.list_holders(store, TENANT) if h.role == "superbruker"]
    assert holders == [
        Holder("superbruker", None, "slack", "U0NEW", "Ola Nordmann", "U0DEP", absent=True)
    ]

    # a new unit from the text field is created
    await chat.submit(
        "arshjul:role_save",
        op="put",
        role="bts-kontakt",
        unit="-",
        new_unit="Fjellet barnehage",
        user="U0FJELL",
        name="Fjellet-kontakten",
    )
    assert "i Fjellet barnehage" in chat.text
    assert "Fjellet barnehage" in await directory.list_units(store, TENANT)

    await chat.submit("arshjul:role_save", op="remove", role="superbruker", unit="-", user="U0NEW")
    assert "Fjernet: Ola Nordmann har ikke lenger rollen **Superbruker**." in chat.text
    assert all(h.role != "superbruker" for h in await directory.list_holders(store, TENANT))
    await chat.submit("arshjul:role_save", op="remove", role="superbruker", unit="-", user="U0NEW")
    assert "Fant ingen med rollen **Superbruker**" in chat.text and chat.form()


async def test_role_form_refuses_bad_input_and_personal_data_outside_the_name(
    tenant: Store, tmp_path: Path
) -> None:
    router = build_router(tenant, kommune_dir=tmp_path)
    chat = await Chat(router, "UCOORD").hello()
    before = await directory.list_holders(tenant, TENANT)
    base = {"op": "put", "role": "superbruker", "unit": "-", "user": "U0NEW"}
    cases = [
        ({**base, "name": "Ola 912 34 567"}, "Navnefeltet kan bare ha et navn"),
        ({**base, "name": "ola@example.no"}, "Navnefeltet kan bare ha et navn"),
        ({**base, "user": "hei på deg"}, "Bruker-ID-en ser ikke riktig ut"),
        ({**base, "deputy": "to personer"}, "Stedfortreder-ID-en ser ikke riktig ut"),
        ({**base, "role": "sjef"}, "Velg en rolle fra lista"),
        ({**base, "unit": "Ukjent skole"}, "Velg en enhet fra lista"),
    ]
    for values, expected in cases:
        reply = await chat.submit("arshjul:role_save", **values)
        assert expected in chat.text, (values, chat.text)
        assert reply.messages[0].form is not None  # the form again, to correct
    # every other field still gets the full guard: a name typed as a unit is refused unseen
    reply = await chat.submit("arshjul:role_save", **base, new_unit="Kari Nordmann", name="X")
    assert reply.topic == "personopplysninger"
    assert "Kari Nordmann" not in chat.text
    assert await directory.list_holders(tenant, TENANT) == before
    assert "Kari Nordmann" not in await directory.list_units(tenant, TENANT)


async def test_digest_here_sets_the_channel_for_admins(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    router = make_router(tenant, clock, tmp_path)
    chat = await Chat(router, "UCOORD", channel="C0STATUS").hello()
    reply = await chat.say("/bts digest her")
    assert reply.topic == "arshjul:digest" and "hver mandag kl. 08.00" in chat.text
    assert await get_digest_target(tenant, TENANT) == ("slack", "C0STATUS")
    moved = await Chat(router, "UCOORD", channel="C0OTHER").hello("nn")
    await moved.say("vekestatus her")
    assert "kvar måndag" in moved.text
    assert await get_digest_target(tenant, TENANT) == ("slack", "C0OTHER")


def test_user_ids_are_read_from_mentions_and_plain_ids() -> None:
    parse = arshjul_setup.parse_user_id
    assert parse("<@U0123ABC>", "slack") == "U0123ABC"
    assert parse("<@U0123ABC|kari>", "slack") == "U0123ABC"
    assert parse(" @u0123abc ", "slack") == "U0123ABC"
    assert parse("kari nordmann", "slack") is None
    assert parse("C0123ABC", "slack") is None  # a channel, not a user
    assert parse("29:1AbC-dEf_123", "teams") == "29:1AbC-dEf_123"
    assert parse("to ord", "teams") is None


# over Slack, with the real server --------------------------------------------------------------


async def test_slack_click_on_a_reminder_and_slash_command_through_the_real_server(
    tmp_path: Path, bot_server: Callable[..., BotServer], fake_slack: FakeSlack
) -> None:
    """A reminder's "Ferdig" clicked in Slack updates that message and the database; a stranger's
    click is answered next to it; "/bts årshjul" answers through the response URL."""
    path = tmp_path / "bot.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    store = Store(engine)
    slack_tenant = f"slack:{TEAM_ID}"
    await ensure_tenant(store, slack_tenant, "slack", TEAM_ID)
    await ensure_tenant_setup(store, slack_tenant, platform="slack")
    await replace_arshjul(store, slack_tenant, parse_arshjul(ARSHJUL))
    await directory.replace_holders(store, slack_tenant, HOLDERS)
    key = "lead-14:rapport:2026-12-15:slack:ULEADER"
    payload = {
        "type": "reminder",
        "task": "rapport",
        "occurrence": "2026-12-15",
        "lead_days": 14,
        "role": "virksomhetsleder",
        "unit": "Skolen",
        "deputy": False,
    }
    far = datetime(2036, 1, 1, 9, 0, tzinfo=OSLO)  # never due while the test runs
    item = outbox.NewItem(slack_tenant, key, "lead-14", "slack", "user", "ULEADER", far, payload)
    assert await outbox.enqueue(store, [item]) == 1
    row = await outbox.get_by_key(store, key)
    assert row is not None
    server = bot_server(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{path}",
        REMINDERS_ENABLED="false",
    )
    try:
        click = click_payload(fake_slack, "arshjul:done#0", "D0LEADER", "ULEADER", "1.000100")
        click["actions"][0]["value"] = str(row.id)
        assert send_payload(server, click)[0] == 200
        (update_call,) = fake_slack.wait_for(
            "chat.update", where=lambda c: c.body.get("channel") == "D0LEADER"
        )
        assert update_call.body["ts"] == "1.000100"
        assert "er merket som ferdig i Skolen" in block_text(update_call)
        assert "arshjul:undo" in block_text(update_call)
        progress = await get_progress(store, slack_tenant, "rapport", date(2026, 12, 15), "Skolen")
        assert progress is not None and progress.status == DONE

        stranger = click_payload(fake_slack, "arshjul:done#0", "C0SHARED", "USTRANGER", "2.0001")
        stranger["actions"][0]["value"] = str(row.id)
        assert send_payload(server, stranger)[0] == 200
        (answer,) = fake_slack.wait_for(
            "chat.postMessage", where=lambda c: c.body.get("channel") == "C0SHARED"
        )
        assert "sendt til en annen" in block_text(answer)
        assert (
            fake_slack.calls("chat.update", where=lambda c: c.body.get("channel") == "C0SHARED")
            == []
        )

        fields = {
            "team_id": TEAM_ID,
            "channel_id": "D0LEADER",
            "user_id": "ULEADER",
            "command": "/bts",
            "text": "årshjul",
            "api_app_id": "A0001",
            "response_url": fake_slack.response_url("arshjul-1"),
            "trigger_id": "1.2.3",
        }
        body = urllib.parse.urlencode(fields).encode()
        assert send_signed(server, body, content_type=FORM)[0] == 200
        (overview,) = fake_slack.wait_for(
            "response_url", where=lambda c: c.path.endswith("/arshjul-1")
        )
        assert "*For deg* (Virksomhetsleder i Skolen)" in block_text(overview)
    finally:
        server.stop()
        await engine.dispose()


async def test_notices_and_the_role_form_are_valid_block_kit_and_adaptive_cards(
    tenant: Store, clock: Clock, tmp_path: Path
) -> None:
    item_id = await add_row(tenant)
    row = await outbox.get_item(tenant, item_id)
    assert row is not None
    replies = [
        await render(tenant, row.payload, "nn", item_id, late=True),
        await render(tenant, {"type": "followup", "followup_id": 1, "label": "evaluer"}, "nb"),
        await render(tenant, {"type": "report", "problem": "expired", "count": 2}, "nb"),
        await render(tenant, {"type": "digest", "week": "2026-W49"}, "nn"),
    ]
    router = make_router(tenant, clock, tmp_path)
    chat = await Chat(router, "UCOORD").hello()
    replies += [await chat.say("rolle"), await chat.say("årshjul")]
    for reply in replies:
        for message in reply.messages:
            for block in render_message(message).blocks:
                parsed = Block.parse(block)
                assert parsed is not None and parsed.to_dict() == block  # slack_sdk validates
            assert_valid_card(render_card(message, reply.lang))
