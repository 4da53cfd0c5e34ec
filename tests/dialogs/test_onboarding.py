"""Onboarding of new staff (issue #13 §3) over the real router, store (SQLite and PostgreSQL) and the
process's real dispatcher (``build_dispatcher``): the steps file from Strand's seed, due dates on
working days at 09:00 local time across DST, a leader registering an employee (others refused
kindly, an unknown unit named), the welcome and the BTS-kontakt's notice, reminders to the employee
and the BTS-kontakt (the deputy of an absent one), "Ferdig" dropping a step's pending reminders,
the last step telling the leader, "jeg er ny her" / "eg er ny her" for oneself, the acute exit first
and at most six buttons on every screen, and planning twice adding nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from bot.config import Settings
from bot.reminders import _obsolete, build_dispatcher
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.planner import PlanSettings, plan_all
from dialogs.arshjul.recurrence import is_working_day
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Button, Message, Reply, Turn
from dialogs.onboarding import planner as onboarding_planner
from dialogs.onboarding.flow import finish_step
from dialogs.onboarding.model import (
    KOMMUNE_STEPS,
    STEPS_FILE,
    StepsError,
    due_dates,
    parse_steps,
    steps_for,
    working_due,
)
from dialogs.onboarding.notices import (
    A_DONE,
    A_FORM,
    A_SAVE,
    A_SELF,
    A_SELF_SAVE,
    A_SHOW,
    A_UNDO,
)
from dialogs.router import Router
from storage import directory, outbox
from storage.contacts import remember_unit
from storage.models import utcnow
from storage.onboarding import (
    cancel_onboarding,
    get_onboarding,
    list_onboardings,
    open_onboarding_of,
)
from storage.outbox_models import OutboxItem, OutboxKind
from storage.records import Holder
from storage.repositories import Store
from storage.users import ensure_tenant

TENANT = "slack:T1"
OSLO = ZoneInfo("Europe/Oslo")
ACUTE = "guide:acute"
NORD, BHG = "Nord skole", "Bekkevegen barnehage"
HOLDERS = [
    Holder("bts-koordinator", None, "slack", "UCOORD", "Kari Koordinator"),
    Holder("virksomhetsleder", NORD, "slack", "ULEDER", "Lise Leder"),
    Holder("bts-kontakt", NORD, "slack", "UKONTAKT", "Siri Kontakt"),
    Holder("bts-kontakt", NORD, "slack", "UBORTE", "Bo Borte", "UVIKAR", absent=True),
    Holder("bts-kontakt", BHG, "slack", "UBHGK", "Berit Barnehage"),
]
HANDBOOK = "https://strand.kommune.no/bti/handlingsveileder"
FILM = "https://strand.kommune.no/bti/film"
KEYS = ["bts-modellen", "stafettholder", "opplaeringsfilm", "oppfolging", "felles-kurs"]


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


# the steps file ---------------------------------------------------------------------------------


def test_the_shipped_steps_are_strands_five_in_both_languages() -> None:
    steps = steps_for(None).steps
    assert [s.key for s in steps] == KEYS
    assert [s.who for s in steps] == ["bts-kontakt", "bts-kontakt", "ansatt", "bts-kontakt",
                                      "ansatt"]  # fmt: skip
    assert [s.link for s in steps] == ["handlingsveileder", None, "opplaeringsfilm", None, None]
    assert [s.due.days for s in steps[:4]] == [3, 5, 7, 28]
    assert (steps[4].due.month, steps[4].due.day, steps[4].due.min_days) == (9, 15, 7)
    assert steps[1].title.nb == "Rollen som stafettholder"
    assert steps[1].title.nn == "Rolla som stafetthaldar"
    header = STEPS_FILE.read_text(encoding="utf-8")
    assert header.startswith("# ") and "seed 003" in header and "Opplæring av nyansatte" in header


GOOD = """\
steps:
  - key: en
    title: {nb: En, nn: Ein}
    text: {nb: Gjør det, nn: Gjer det}
    who: ansatt
    due: {days: 3}
"""


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (
            GOOD.replace("due: {days: 3}", "due: {days: 3, month: 9}"),
            "steps.yaml:6: steps.0.due: Value error, give either days",
        ),
        (GOOD.replace("due: {days: 3}", "due: {days: 3, day: 2}"), "day and min_days go with"),
        (GOOD.replace("who: ansatt", "who: rektor"), "steps.yaml:5: steps.0.who"),
        (GOOD.replace("key: en", "key: Stor Bokstav"), "steps.yaml:2: steps.0.key"),
        (GOOD.replace("{nb: En, nn: Ein}", "{nb: En}"), "steps.yaml:3: steps.0.title.nn"),
        (GOOD + GOOD.removeprefix("steps:\n"), "step key 'en' appears twice"),
        ("- just a list\n", "steps.yaml:1: a steps file is a mapping"),
    ],
)
def test_a_broken_steps_file_names_the_line(broken: str, expected: str) -> None:
    assert parse_steps(GOOD).steps[0].due.day_after(date(2026, 1, 1)) == date(2026, 1, 4)
    with pytest.raises(StepsError) as caught:
        parse_steps(broken, "steps.yaml")
    assert any(expected in line for line in caught.value.errors), caught.value.errors
    assert all(line.startswith("steps.yaml:") for line in caught.value.errors)


def test_a_kommune_replaces_the_steps_and_a_broken_file_keeps_the_shipped_ones(
    tmp_path: Path,
) -> None:
    own = tmp_path / KOMMUNE_STEPS
    own.parent.mkdir(parents=True)
    own.write_text(
        "steps:\n  - key: velkommen\n    title: {nb: Velkommen, nn: Velkomen}\n"
        "    text: {nb: Møt lederen, nn: Møt leiaren}\n    who: ansatt\n    due: {days: 1}\n",
        encoding="utf-8",
    )
    assert [s.key for s in steps_for(tmp_path).steps] == ["velkommen"]
    own.write_text("steps: [just, words]\n", encoding="utf-8")
    assert [s.key for s in steps_for(tmp_path).steps] == KEYS


# due dates --------------------------------------------------------------------------------------


def test_due_dates_are_working_days_and_the_course_is_the_coming_autumn() -> None:
    steps = steps_for(None).steps
    # Monday 30 March 2026: +3, +5 and +7 land on skjærtorsdag, Easter Saturday and 2. påskedag;
    # each moves back to Wednesday 1 April. +28 is Monday 27 April; the course 15 September.
    assert [d for _, d in due_dates(steps, date(2026, 3, 30))] == [
        date(2026, 4, 1), date(2026, 4, 1), date(2026, 4, 1), date(2026, 4, 27),
        date(2026, 9, 15),
    ]  # fmt: skip
    # Friday 22 May 2026: +3 is 2. pinsedag; the working day before would be the registration day
    # itself, so it moves forward to Tuesday 26 May instead.
    assert working_due(date(2026, 5, 25), date(2026, 5, 22)) == date(2026, 5, 26)
    assert due_dates(steps, date(2026, 5, 22))[0][1] == date(2026, 5, 26)
    # Registered after 8 September: this autumn's course is too close, so next year's.
    assert due_dates(steps, date(2026, 9, 8))[4][1] == date(2026, 9, 15)
    assert due_dates(steps, date(2026, 9, 9))[4][1] == date(2027, 9, 15)
    # The tenant's closed days count too.
    closed = frozenset({date(2026, 4, 27)})
    assert due_dates(steps, date(2026, 3, 30), closed)[3][1] == date(2026, 4, 24)
    for start in (date(2026, 1, 1) + timedelta(days=n) for n in range(0, 365, 3)):
        for _, day in due_dates(steps, start):
            assert is_working_day(day) and day > start


def test_reminders_are_at_nine_local_time_on_both_sides_of_dst() -> None:
    # Due Friday 23 October 2026 (summer time), again a week later: Friday 30 October (winter).
    (due_stage, due_at), (again_stage, again_at) = onboarding_planner.step_sends(
        date(2026, 10, 23), OSLO, frozenset()
    )
    assert (due_stage, again_stage) == ("due", "again")
    assert due_at.timetz().replace(tzinfo=None) == time(9, 0) == again_at.time()
    assert due_at.utcoffset() == timedelta(hours=2) and again_at.utcoffset() == timedelta(hours=1)
    assert again_at.date() == date(2026, 10, 30)
    # A week after Wednesday 1 April 2026 is Wednesday 8 April, a working day after Easter.
    _, (_, again) = onboarding_planner.step_sends(date(2026, 4, 1), OSLO, frozenset())
    assert again == oslo(2026, 4, 8, 9, 0)
    _, (_, again) = onboarding_planner.step_sends(date(2026, 5, 18), OSLO, frozenset())
    assert again.date() == date(2026, 5, 26)  # 25 May is 2. pinsedag


# end to end -------------------------------------------------------------------------------------


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

    def take(self) -> dict[str, list[Message]]:
        """What was sent since the last call, by recipient."""
        by_target: dict[str, list[Message]] = {}
        for _kind, target, reply in self.sent:
            for message in reply.messages:
                check_screen(message)
            by_target.setdefault(target, []).extend(reply.messages)
        self.sent.clear()
        return by_target


def check_screen(message: Message) -> None:
    """The product rules of every screen: the acute exit first, at most six buttons."""
    assert message.buttons, message.text
    assert message.buttons[0].action == ACUTE, [b.action for b in message.buttons]
    assert len(message.buttons) <= 6, [b.label for b in message.buttons]
    assert "{" not in message.text, message.text


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    kommuner = tmp_path / "kommuner"
    kommuner.mkdir()
    (kommuner / "slack_T1.yaml").write_text(
        f"kommune: Strand\nhandlingsveileder_url: {HANDBOOK}\nopplaeringsfilm_url: {FILM}\n",
        encoding="utf-8",
    )
    settings = Settings(
        data_dir=tmp_path, kommune_dir=kommuner, survey_secret=SecretStr("test secret")
    )
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, timezone="Europe/Oslo", platform="slack")
    await directory.replace_holders(store, TENANT, HOLDERS)
    router = build_router(store, survey_key=survey_key(settings), kommune_dir=kommuner)
    yield Runtime(settings=settings, engine=store.engine, store=store, router=router)


class Chat:
    """One Slack user of tenant T1 talking to the router."""

    def __init__(self, router: Router, user: str) -> None:
        self.router, self.user = router, user
        self.last: Reply | None = None

    async def send(self, **kwargs: Any) -> Reply:
        turn = Turn("slack", TENANT, self.user, f"D{self.user}", **kwargs)
        self.last = await self.router.handle(turn)
        for message in self.last.messages:
            if message.topic.startswith("onboarding"):
                check_screen(message)
        return self.last

    async def hello(self, lang: str = "nb") -> Chat:
        await self.send(text="hei")
        if lang != "nb":
            await self.send(action="lang:set", value=lang)
        return self

    @property
    def message(self) -> Message:
        assert self.last is not None
        return self.last.messages[-1]

    @property
    def text(self) -> str:
        return self.message.text

    def actions(self) -> list[tuple[str, str]]:
        return [(b.action, b.value) for b in self.message.buttons]

    def button(self, action: str, value: str = "") -> Button:
        return next(b for b in self.message.buttons if b.action == action and b.value == value)


async def rows(store: Store, **match: Any) -> list[OutboxItem]:
    found = [
        r
        for kind in (OutboxKind.ONBOARDING, OutboxKind.ONBOARDING_DONE)
        for r in await outbox.list_items(store, TENANT, kind=kind.value, limit=500)
    ]
    return [r for r in found if all(r.payload.get(k) == v for k, v in match.items())]


async def make_due(store: Store) -> None:
    """The clock reaches every pending onboarding row."""
    now = utcnow()
    async with store.sessions.begin() as session:
        await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.kind.in_(
                    [OutboxKind.ONBOARDING.value, OutboxKind.ONBOARDING_DONE.value]
                ),
                OutboxItem.status == "pending",
            )
            .values(send_at=now, next_attempt_at=now)
        )


async def test_a_leader_registers_an_employee_and_the_bot_follows_the_steps_to_the_end(
    store: Store, runtime: Runtime
) -> None:
    router = runtime.router
    capture = Capture()
    dispatcher = build_dispatcher(runtime, {"slack": capture})

    # Someone who is neither leader, BTS-kontakt nor admin is refused kindly, and offered their own.
    stranger = await Chat(router, "USTRANGER").hello()
    await stranger.send(text="/bts ny ansatt")
    assert "Bare virksomhetslederen, BTS-kontakten eller en administrator" in stranger.text
    assert stranger.actions() == [(ACUTE, ""), (A_SELF, "")]
    await stranger.send(action=A_SAVE, form_values={"user": "<@UX>", "unit": NORD})
    assert "Bare virksomhetslederen" in stranger.text  # the submit is checked again
    assert await list_onboardings(store, TENANT) == []

    # The leader gets the form with the units they lead; bad input comes back with the reason.
    leader = await Chat(router, "ULEDER").hello()
    await leader.send(text="ny ansatt")
    form = leader.message.form
    assert form is not None and form.action == A_SAVE
    assert [f.name for f in form.fields] == ["user", "name", "unit"]
    assert [o.value for o in form.fields[2].options] == [NORD]
    assert leader.actions() == [(ACUTE, "")]
    await leader.send(action=A_SAVE, form_values={"user": "<@UNORA>", "name": "Nora Ny",
                                                  "unit": BHG})  # fmt: skip
    assert f"Jeg finner ikke virksomheten «{BHG}». Du kan velge: {NORD}." in leader.text
    await leader.send(action=A_SAVE, form_values={"user": "Nora", "unit": NORD})
    assert "Jeg kjenner ikke igjen brukeren" in leader.text
    assert leader.message.form is not None
    await leader.send(action=A_SAVE, form_values={"user": "<@UNORA>", "name": "Nora 98765432",
                                                  "unit": NORD})  # fmt: skip
    assert "ikke telefonnummer, e-post eller fødselsnummer" in leader.text
    assert await list_onboardings(store, TENANT) == []

    # A staff member's full name passes the name field (and only that field).
    registered_at = utcnow()
    await leader.send(action=A_SAVE, form_values={"user": "<@unora|nora>", "name": "Nora Ny",
                                                  "unit": NORD})  # fmt: skip
    assert leader.text.startswith("**Opplæring av nyansatte: Nora Ny i Nord skole**")
    assert "**Nora Ny** er registrert som ny ansatt i Nord skole." in leader.text
    assert "0 av 5 steg er ferdige." in leader.text
    (record,) = await list_onboardings(store, TENANT)
    assert (record.user_id, record.display_name, record.unit) == ("UNORA", "Nora Ny", NORD)
    assert record.registered_by == "slack:ULEDER"
    registered = registered_at.astimezone(OSLO).date()
    expected = [d for _, d in due_dates(steps_for(None).steps, registered)]
    assert [s.due for s in record.steps] == expected
    assert [s.key for s in record.steps] == KEYS
    assert "**2. Rollen som stafettholder** (BTS-kontakten) – frist" in leader.text
    assert f"Les [kommunens handlingsveileder]({HANDBOOK})." in leader.text
    # The leader may mark every step: four "Ferdig" buttons after the acute exit, then one more.
    assert leader.actions() == [
        (ACUTE, ""),
        *[(A_DONE, f"{record.id}:{k}") for k in KEYS[:4]],
        (A_FORM, ""),
    ]
    assert leader.button(A_DONE, f"{record.id}:bts-modellen").label == (
        "Ferdig: Introduksjon til BTS-modellen"
    )
    await leader.send(action=A_SAVE, form_values={"user": "UNORA", "unit": NORD})
    assert "**Nora Ny** har allerede en opplæring i gang" in leader.text
    assert len(await list_onboardings(store, TENANT)) == 1

    # At once: the welcome to Nora, the notice to the unit's BTS-kontakt and the absent one's
    # deputy, nothing to the leader who registered her.
    assert sorted((r.target_id, r.payload["stage"]) for r in await rows(store)) == [
        ("UKONTAKT", "new"), ("UNORA", "welcome"), ("UVIKAR", "new"),
    ]  # fmt: skip
    await make_due(store)
    await dispatcher.run_once()
    sent = capture.take()
    (welcome,) = sent["UNORA"]
    check_screen(welcome)
    assert welcome.text.startswith("**Velkommen som ny i Nord skole!**")
    assert f"Se [opplæringsfilmen]({FILM})." in welcome.text
    assert [(b.action, b.value) for b in welcome.buttons] == [
        (ACUTE, ""),
        (A_DONE, f"{record.id}:opplaeringsfilm"),
        (A_DONE, f"{record.id}:felles-kurs"),
        (A_SHOW, str(record.id)),
    ]
    (new,) = sent["UKONTAKT"]
    check_screen(new)
    assert new.text.startswith("**Ny ansatt i Nord skole: Nora Ny**")
    assert "Du får denne fordi du er BTS-kontakt i Nord skole." in new.text
    assert "stedfortreder for BTS-kontakten i Nord skole" in sent["UVIKAR"][0].text
    assert [b.value for b in new.buttons[1:4]] == [f"{record.id}:{k}" for k in
                                                   ("bts-modellen", "stafettholder", "oppfolging")]  # fmt: skip

    # The first steps' due day, 06:00: the planner plans the reminders, twice changes nothing.
    first_due = record.steps[0].due
    morning = datetime.combine(first_due, time(6, 0), OSLO)
    assert await plan_all(store, PlanSettings(), morning) > 0
    assert await plan_all(store, PlanSettings(), morning + timedelta(minutes=5)) == 0
    step1 = await rows(store, step="bts-modellen", stage="due")
    assert sorted(r.target_id for r in step1) == ["UKONTAKT", "UVIKAR"]
    assert {r.send_at for r in step1} == {datetime.combine(first_due, time(9, 0), OSLO)}
    # Everything due within the week is planned; the employee's own step goes to her.
    film = await rows(store, step="opplaeringsfilm", stage="due")
    assert [r.target_id for r in film] == ["UNORA"]
    # Before anything goes out, the BTS-kontakt marks step 2 done on the steps screen: its
    # pending reminders are dropped at send time.
    kontakt = await Chat(router, "UKONTAKT").hello()
    await kontakt.send(action=A_SHOW, value=str(record.id))
    assert (A_DONE, f"{record.id}:stafettholder") in kontakt.actions()
    reply = await kontakt.send(action=A_DONE, value=f"{record.id}:stafettholder")
    assert reply.replace is True
    assert "**Rollen som stafettholder** er markert som ferdig." in kontakt.text
    assert "1 av 5 steg er ferdige." in kontakt.text
    assert (A_UNDO, f"{record.id}:stafettholder") in kontakt.actions()
    stafett_rows = await rows(store, step="stafettholder")
    assert stafett_rows and all([await _obsolete(store, b"k" * 32, r) for r in stafett_rows])
    await make_due(store)
    await dispatcher.run_once()
    sent = capture.take()
    assert sorted(sent) == ["UKONTAKT", "UNORA", "UVIKAR"]
    texts = {target: [m.text for m in messages] for target, messages in sent.items()}
    assert not any("stafettholder" in t for t in texts["UKONTAKT"])  # the done step stayed away
    (reminder,) = sent["UKONTAKT"]
    check_screen(reminder)
    assert reminder.text.startswith("**Opplæring av nyansatte: Introduksjon til BTS-modellen**")
    assert "Gjelder Nora Ny i Nord skole." in reminder.text
    assert f"[kommunens handlingsveileder]({HANDBOOK})" in reminder.text
    assert [(b.action, b.value) for b in reminder.buttons] == [
        (ACUTE, ""), (A_DONE, f"{record.id}:bts-modellen"), (A_SHOW, str(record.id)),
    ]  # fmt: skip
    (own,) = sent["UNORA"]
    assert own.text.startswith("**Opplæring av nyansatte: Se opplæringsfilmen**")
    assert "Dette er steg 3 av 5 i opplæringen din som nyansatt." in own.text
    assert f"[opplæringsfilmen]({FILM})" in own.text
    skipped = [r for r in await rows(store, step="stafettholder") if r.status == "skipped"]
    assert len(skipped) == 2

    # The employee marks her own step; a BTS-kontakt's step and other people's clicks are refused.
    nora = await Chat(router, "UNORA").hello()
    await nora.send(action=A_DONE, value=f"{record.id}:opplaeringsfilm")
    assert "**Se opplæringsfilmen** er markert som ferdig." in nora.text
    await nora.send(action=A_DONE, value=f"{record.id}:bts-modellen")
    assert "Bare BTS-kontakten og lederen i Nord skole eller en administrator" in nora.text
    other = await Chat(router, "UBHGK").hello()
    reply = await other.send(action=A_DONE, value=f"{record.id}:felles-kurs")
    assert reply.replace is False and "Den opplæringen kan bare" in other.text
    for stale in ("x", "999:bts-modellen", f"{record.id}:../../etc", f"{record.id}:"):
        await nora.send(action=A_DONE, value=stale)
        assert "finner ikke den opplæringen" in nora.text
    await nora.send(text="min opplæring")
    assert nora.text.startswith("**Opplæringen din som nyansatt i Nord skole**")
    assert nora.actions() == [(ACUTE, ""), (A_DONE, f"{record.id}:felles-kurs")]

    # Step 1 is still open a week after its due day: one more reminder, then no more.
    again_day = onboarding_planner.step_sends(first_due, OSLO, frozenset())[1][1]
    await plan_all(store, PlanSettings(), again_day - timedelta(hours=3))
    again = await rows(store, step="bts-modellen", stage="again")
    assert sorted(r.target_id for r in again) == ["UKONTAKT", "UVIKAR"]
    await make_due(store)
    await dispatcher.run_once()
    sent = capture.take()
    assert "**Påminnelse:** fristen var" in sent["UKONTAKT"][0].text
    await plan_all(store, PlanSettings(), again_day + timedelta(days=7))
    assert len(await rows(store, step="bts-modellen")) == 4  # two due, two again

    # Undo, and done again; the last step completes it and tells the leader and Nora.
    await kontakt.send(action=A_DONE, value=f"{record.id}:bts-modellen")
    await kontakt.send(action=A_UNDO, value=f"{record.id}:bts-modellen")
    assert "**Introduksjon til BTS-modellen** er åpent igjen, med frist" in kontakt.text
    await kontakt.send(action=A_DONE, value=f"{record.id}:bts-modellen")
    await kontakt.send(action=A_DONE, value=f"{record.id}:oppfolging")
    assert [r for r in await rows(store) if r.kind == "onboarding-done"] == []
    await nora.send(action=A_DONE, value=f"{record.id}:felles-kurs")
    assert "Alle stegene er ferdige – opplæringen er fullført! Lederen får beskjed." in nora.text
    assert (A_UNDO, f"{record.id}:felles-kurs") not in nora.actions()
    assert nora.actions() == [(ACUTE, "")]
    done = await get_onboarding(store, TENANT, record.id)
    assert done is not None and done.completed_at is not None
    assert await open_onboarding_of(store, TENANT, "slack", "UNORA") is None
    completion = [r for r in await rows(store) if r.kind == "onboarding-done"]
    assert sorted(r.target_id for r in completion) == ["ULEDER", "UNORA"]
    await nora.send(action=A_DONE, value=f"{record.id}:felles-kurs")  # a second click
    assert "allerede fullført eller avsluttet" in nora.text
    await make_due(store)
    await dispatcher.run_once()
    sent = capture.take()
    (to_leader,) = sent["ULEDER"]
    check_screen(to_leader)
    assert to_leader.text.startswith("**Opplæringen er fullført: Nora Ny i Nord skole**")
    assert "Nora Ny har gjort alle stegene i opplæringen som nyansatt" in to_leader.text
    assert "Du får denne som leder i Nord skole." in to_leader.text
    assert to_leader.text.count("✅ ferdig") == 5
    assert sent["UNORA"][0].text.startswith("**Du har fullført opplæringen!**")
    # Planning again adds nothing: every step is done and the completion was sent once.
    assert await plan_all(store, PlanSettings(), utcnow()) == 0
    assert len([r for r in await rows(store) if r.kind == "onboarding-done"]) == 2


@pytest.mark.parametrize(
    ("lang", "phrase"),
    [("nb", "jeg er ny her"), ("nb", "Jeg er nyansatt"), ("nn", "eg er ny her"),
     ("nn", "Eg er nytilsett!")],
)  # fmt: skip
async def test_someone_new_starts_it_for_themselves(
    store: Store, runtime: Runtime, lang: str, phrase: str
) -> None:
    router = runtime.router
    new = await Chat(router, "UOLA").hello(lang)
    await new.send(text=phrase)
    form = new.message.form
    assert form is not None and form.action == A_SELF_SAVE  # no remembered unit: asked first
    assert [o.value for o in form.fields[0].options] == [BHG, NORD]
    assert new.text.startswith("Velkommen!" if lang == "nb" else "Velkomen!")
    await new.send(action=A_SELF_SAVE, form_values={"unit": BHG, "name": "Ola Nordmann"})
    (record,) = await list_onboardings(store, TENANT)
    assert (record.user_id, record.display_name, record.unit) == ("UOLA", "Ola Nordmann", BHG)
    assert record.registered_by == "slack:UOLA"
    heading = "Opplæringen din som nyansatt" if lang == "nb" else "Opplæringa di som nytilsett"
    assert new.text.startswith(f"**{heading} i {BHG}**")
    assert ("**Velkommen!**" if lang == "nb" else "**Velkomen!**") in new.text
    # Only their own steps get a button; the BTS-kontakt is told, no welcome to themselves.
    assert new.actions() == [
        (ACUTE, ""),
        (A_DONE, f"{record.id}:opplaeringsfilm"),
        (A_DONE, f"{record.id}:felles-kurs"),
    ]
    assert [(r.target_id, r.payload["stage"]) for r in await rows(store)] == [("UBHGK", "new")]
    await new.send(text=phrase)
    assert ("allerede en opplæring" if lang == "nb" else "alt ei opplæring") in new.text
    assert len(await list_onboardings(store, TENANT)) == 1

    # With a remembered unit it starts at once.
    other = await Chat(router, "UPER").hello(lang)
    assert await remember_unit(store, TENANT, "UPER", NORD)
    await other.send(text="ny her")
    assert other.message.form is None
    assert other.text.startswith(f"**{heading} i {NORD}**")
    assert (await open_onboarding_of(store, TENANT, "slack", "UPER")) is not None

    # The barnehage has no leader: the completion goes to the coordinator, told why.
    for step in record.steps:
        await finish_step(store, TENANT, record.id, step.key, "slack:UBHGK", utcnow())
    completion = [r for r in await rows(store) if r.kind == "onboarding-done"]
    assert sorted((r.target_id, r.payload["fallback"]) for r in completion) == [
        ("UCOORD", True), ("UOLA", False),
    ]  # fmt: skip


async def test_a_stranger_asking_about_it_is_offered_to_start(
    store: Store, runtime: Runtime
) -> None:
    chat = await Chat(runtime.router, "UVIEWER").hello("nn")
    await chat.send(text="opplæringa mi")
    assert "Du har inga opplæring som nytilsett i gang." in chat.text
    assert chat.actions() == [(ACUTE, ""), (A_SELF, "")]
    await chat.send(action=A_SELF)
    assert chat.message.form is not None
    # A leader sees the open ones of their unit, each with a button to show it.
    nora, _ = await _register(store, "UNORA", NORD, "Nora Ny")
    await _register(store, "UOLA", BHG, "Ola Ny")
    leader = await Chat(runtime.router, "ULEDER").hello()
    await leader.send(text="nyansatte")
    assert leader.text.startswith("**Opplæring av nyansatte**")
    assert "- Nora Ny (Nord skole): 0 av 5 steg ferdige, neste frist" in leader.text
    assert "Ola Ny" not in leader.text
    assert leader.actions() == [(ACUTE, ""), (A_SHOW, str(nora.id)), (A_FORM, "")]
    await leader.send(action=A_SHOW, value=str(nora.id))
    assert leader.text.startswith("**Opplæring av nyansatte: Nora Ny i Nord skole**")
    other = await Chat(runtime.router, "UBHGK").hello()
    await other.send(action=A_SHOW, value=str(nora.id))
    assert "Den opplæringen kan bare" in other.text


async def _register(store: Store, user: str, unit: str, name: str) -> tuple[Any, bool]:
    from dialogs.onboarding.flow import start

    return await start(store, TENANT, "slack", user, display_name=name, unit=unit,
                       registered_by="slack:UCOORD", now=utcnow())  # fmt: skip


async def test_rows_become_obsolete_when_cancelled_or_the_contact_changes(
    store: Store, runtime: Runtime
) -> None:
    record, created = await _register(store, "UNORA", NORD, "Nora Ny")
    assert created
    again, created = await _register(store, "UNORA", BHG, "Nora Ny")
    assert not created and again.id == record.id and again.unit == NORD  # one open per person
    first = record.steps[0].due
    await plan_all(store, PlanSettings(), datetime.combine(first, time(6, 0), OSLO))
    by_target = {r.target_id: r for r in await rows(store, step="bts-modellen", stage="due")}
    assert not await onboarding_planner.obsolete(store, by_target["UVIKAR"])
    back = [h for h in HOLDERS if h.user_id != "UBORTE"]
    back.append(Holder("bts-kontakt", NORD, "slack", "UBORTE", "Bo Borte", "UVIKAR"))
    await directory.replace_holders(store, TENANT, back)  # Bo is back: no more deputy
    assert await onboarding_planner.obsolete(store, by_target["UVIKAR"])
    assert not await onboarding_planner.obsolete(store, by_target["UKONTAKT"])
    # A unit without a BTS-kontakt: the coordinator gets it, until someone holds the role.
    ola, _ = await _register(store, "UOLA", BHG, "Ola Ny")
    await directory.replace_holders(store, TENANT, [h for h in back if h.user_id != "UBHGK"])
    await plan_all(store, PlanSettings(), datetime.combine(ola.steps[0].due, time(6, 0), OSLO))
    (fallback,) = [
        r for r in await rows(store, step="bts-modellen", stage="due") if r.payload["onboarding"]
        == ola.id
    ]  # fmt: skip
    assert (fallback.target_id, fallback.payload["fallback"]) == ("UCOORD", True)
    assert not await onboarding_planner.obsolete(store, fallback)
    await directory.put_holder(store, TENANT, Holder("bts-kontakt", BHG, "slack", "UNY", "Ny K"))
    assert await onboarding_planner.obsolete(store, fallback)
    # Cancelled: every row of it is obsolete, and the person may be registered again.
    assert await cancel_onboarding(store, TENANT, record.id, utcnow())
    assert all([await onboarding_planner.obsolete(store, r) for r in by_target.values()])
    fresh, created = await _register(store, "UNORA", BHG, "Nora Ny")
    assert created and fresh.id != record.id
