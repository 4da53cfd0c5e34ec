"""Implementation milestones (issue #13 §4) over the real router and store (SQLite and PostgreSQL):
the plan file and the built-in plans, ``/bts plan`` with each milestone's status in nb and nn, the
"Fullført" button (for admins and the responsible role only), and the reminders the planner puts
in the outbox (holders or their deputy, working days, one overdue reminder, nothing once done)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.reminders import _obsolete
from dialogs.app import build_router
from dialogs.arshjul.planner import PlanSettings, plan_all
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.content import Content
from dialogs.messages import Button, Reply, Turn
from dialogs.milestones import planner as milestone_planner
from dialogs.milestones.chat import MARK_BUTTONS
from dialogs.milestones.model import (
    BUILTIN_PLANS,
    PLANS_DIR,
    PlanError,
    dump_plan,
    load_builtin,
    parse_plan,
    to_records,
)
from dialogs.milestones.notices import A_DONE, A_PLAN, A_REOPEN, render_milestone_notice
from dialogs.milestones.plans import (
    DONE,
    LATE,
    OPEN,
    import_plan,
    overdue_and_due,
    state_of,
    use_builtin,
)
from dialogs.router import Router
from storage import directory, outbox
from storage.milestones import get_milestone, mark_done
from storage.outbox import Notice
from storage.outbox_models import OutboxItem, OutboxKind
from storage.records import BUILTIN_ROLES
from storage.repositories import Store
from storage.users import ensure_tenant

OSLO = ZoneInfo("Europe/Oslo")
TENANT = "slack:T1"
CONTENT = Content.load()
ACUTE = "guide:acute"
PLAN = """\
plan: test
milestones:
  - key: pilot
    title: {nb: Pilotering, nn: Pilotering}
    role: bts-koordinator
    due: 2026-02-28
    completed: 2026-03-02
  - key: kick-off
    title: {nb: Kick off for BTS-modellen, nn: Kick off for BTS-modellen}
    role: bts-koordinator
    due: 2026-05-10
  - key: nettverk
    title: {nb: Oppstart av BTS-nettverk, nn: Oppstart av BTS-nettverk}
    role: bts-kontakt
    unit: Skolen
    due: 2026-05-28
  - key: evaluering
    title: {nb: Overordnet evaluering, nn: Overordna evaluering}
    role: styringsgruppe
    due: 2026-09-30
  - key: ressursteam
    title: {nb: Oppstart av ressursteam, nn: Oppstart av ressursteam}
    role: virksomhetsleder
    due: 2026-05-17
"""
HOLDERS = [
    Holder("bts-koordinator", None, "slack", "UCOORD", "Kari Koordinator"),
    Holder("bts-kontakt", "Skolen", "slack", "UKONTAKT", "Siri Kontakt"),
    Holder("bts-kontakt", "Barnehagen", "slack", "UBHGKONTAKT", "Bo Kontakt"),
    Holder("virksomhetsleder", "Skolen", "slack", "ULEADER", "Lise Leder"),
    Holder("virksomhetsleder", "Barnehagen", "slack", "UBHG", "Per Leder", "UDEPUTY", absent=True),
]


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


@pytest.fixture
async def tenant(store: Store) -> Store:
    await ensure_tenant(store, TENANT, "slack", "T1")
    await ensure_tenant_setup(store, TENANT, platform="slack")
    await directory.replace_holders(store, TENANT, HOLDERS)
    await import_plan(store, TENANT, parse_plan(PLAN))
    return store


class Chat:
    """One Slack user of tenant T1 talking to the router."""

    def __init__(self, router: Router, user: str) -> None:
        self.router, self.user = router, user
        self.last: Reply | None = None

    async def send(self, **kwargs: Any) -> Reply:
        self.last = await self.router.handle(Turn("slack", TENANT, self.user, "D1", **kwargs))
        return self.last

    async def hello(self, lang: str = "nb") -> Chat:
        await self.send(text="hei")
        if lang != "nb":
            await self.send(action="lang:set", value=lang)
        return self

    @property
    def text(self) -> str:
        assert self.last is not None
        return self.last.messages[-1].text

    def buttons(self) -> list[Button]:
        assert self.last is not None
        return list(self.last.messages[-1].buttons)


def router_on(store: Store, day: datetime, tmp_path: Path) -> Router:
    return build_router(store, CONTENT, kommune_dir=tmp_path, clock=lambda: day)


# the plan file ----------------------------------------------------------------------------------


def test_a_plan_file_reads_back_what_it_wrote() -> None:
    plan = parse_plan(PLAN)
    assert [m.key for m in plan.milestones][:2] == ["pilot", "kick-off"]
    assert plan.milestones[0].completed == date(2026, 3, 2)
    assert plan.milestones[2].unit == "Skolen"
    text = dump_plan(plan, "edited by hand\nsecond line")
    assert text.startswith("# edited by hand\n# second line\n")
    assert parse_plan(text) == plan


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (PLAN.replace("due: 2026-05-28", "due: 2026-13-28"), "plan.yaml:16: not a valid date"),
        (PLAN.replace("key: evaluering", "key: nettverk"), "appears twice"),
        (
            PLAN.replace("role: styringsgruppe", "role: Styringsgruppa"),
            "plan.yaml:19: milestones.3.role",
        ),
        (
            PLAN.replace("    due: 2026-09-30\n", ""),
            "plan.yaml:17: milestones.3.due: Field required",
        ),
        (PLAN.replace("nn: Pilotering}", "no: Pilotering}"), "plan.yaml:4: milestones.0.title"),
        ("- just a list\n", "plan.yaml:1: a plan file is a mapping"),
    ],
)
def test_a_broken_plan_file_names_the_line(broken: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(broken, "plan.yaml")
    assert any(expected in line for line in caught.value.errors), caught.value.errors


def test_a_role_the_tenant_does_not_have_is_named_with_its_line() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(PLAN, "plan.yaml", roles={"bts-koordinator", "bts-kontakt", "virksomhetsleder"})
    assert caught.value.errors == [
        "plan.yaml:19: milestones.3.role: unknown role 'styringsgruppe' "
        "(known: bts-kontakt, bts-koordinator, virksomhetsleder)"
    ]


def test_the_built_in_plans_come_from_the_seeds_and_name_known_roles() -> None:
    for name in BUILTIN_PLANS:
        plan = load_builtin(name)
        assert plan.plan == name
        assert set(plan.roles()) <= set(BUILTIN_ROLES), name
        header = (PLANS_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        assert header.startswith("# ") and "forslag som kommunen endrer" in header
        assert all(m.title.nb and m.title.nn for m in plan.milestones)
    strand = {m.key: m for m in load_builtin("strand").milestones}
    assert len(strand) == 17  # the table's rows but "Kontinuerlig"
    assert strand["pilotering"].due == date(2022, 2, 28)  # "August 2021 til februar 2022"
    assert strand["underveisevaluering-pilotering"].due == date(2021, 11, 30)
    assert strand["oppstart-ressursteam-barnehage"].unit == "Styrket barnehage"
    assert strand["evaluering-kick-off"].role == "arbeidsgruppe"
    assert not any(m.completed for m in strand.values())  # the column is empty in the seed
    sirdal = load_builtin("sirdal").milestones
    assert [m.title.nb.split(":")[0] for m in sirdal] == [f"Fase {n}" for n in range(1, 6)]
    assert [m.completed is not None for m in sirdal] == [True, False, False, False, False]
    with pytest.raises(PlanError):
        load_builtin("hadsel")


# "/bts plan" ------------------------------------------------------------------------------------


def test_a_milestone_due_today_is_still_open() -> None:
    milestone = to_records(parse_plan(PLAN))[1]  # kick-off, due 10 May 2026
    assert state_of(milestone, date(2026, 5, 9)) == OPEN
    assert state_of(milestone, date(2026, 5, 10)) == OPEN
    assert state_of(milestone, date(2026, 5, 11)) == LATE
    assert state_of(replace(milestone, completed=date(2026, 6, 1)), date(2026, 5, 11)) == DONE


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "nb",
            [
                "**Forsinket**",
                "- Kick off for BTS-modellen (BTS-koordinator) – forsinket siden 10. mai 2026",
                "- Oppstart av ressursteam (Virksomhetsleder) – forsinket siden 17. mai 2026",
                "**Neste**",
                "- Oppstart av BTS-nettverk (BTS-kontakt i Skolen) – åpen, frist 28. mai 2026",
                "- Overordnet evaluering (Styringsgruppe) – åpen, frist 30. september 2026",
                "**Fullført**",
                "- Pilotering (BTS-koordinator) – fullført 2. mars 2026",
            ],
        ),
        (
            "nn",
            [
                "**Forseinka**",
                "- Kick off for BTS-modellen (BTS-koordinator) – forseinka sidan 10. mai 2026",
                "- Oppstart av ressursteam (Verksemdsleiar) – forseinka sidan 17. mai 2026",
                "**Neste**",
                "- Oppstart av BTS-nettverk (BTS-kontakt i Skolen) – open, frist 28. mai 2026",
                "- Overordna evaluering (Styringsgruppe) – open, frist 30. september 2026",
                "**Fullført**",
                "- Pilotering (BTS-koordinator) – fullført 2. mars 2026",
            ],
        ),
    ],
)
async def test_everyone_sees_the_plan_with_each_status(
    tenant: Store, tmp_path: Path, lang: str, expected: list[str]
) -> None:
    router = router_on(tenant, oslo(2026, 5, 20, 10, 0), tmp_path)
    viewer = await Chat(router, "UVIEWER").hello(lang)
    for command in ("plan", "/bts plan", "milepæler" if lang == "nb" else "milepælar"):
        await viewer.send(text=command)
        lines = [line for line in viewer.text.splitlines() if line.strip()]
        assert lines[0] == "**Implementeringsplanen**"
        assert [line for line in lines if line.startswith(("**", "- "))][1:] == expected
        # Someone without the roles sees the plan, and only the acute exit as a button.
        assert [b.action for b in viewer.buttons()] == [ACUTE]
        assert viewer.last is not None and viewer.last.lang == lang


async def test_a_tenant_without_a_plan_is_told_how_to_add_one(store: Store, tmp_path: Path) -> None:
    router = router_on(store, oslo(2026, 5, 20, 10, 0), tmp_path)
    chat = await Chat(router, "U1").hello()
    await chat.send(text="plan")
    assert "bts-bot plan use strand" in chat.text
    assert [b.action for b in chat.buttons()] == [ACUTE]


async def test_buttons_only_for_what_the_user_may_mark_acute_first_and_at_most_six(
    tenant: Store, tmp_path: Path
) -> None:
    router = router_on(tenant, oslo(2026, 5, 20, 10, 0), tmp_path)
    kontakt = await Chat(router, "UKONTAKT").hello()
    await kontakt.send(text="plan")
    assert [(b.action, b.value) for b in kontakt.buttons()] == [
        (ACUTE, ""),
        (A_DONE, "nettverk"),  # due in 8 days, their role in their unit
    ]
    other_unit = await Chat(router, "UBHGKONTAKT").hello()
    await other_unit.send(text="plan")
    assert [b.action for b in other_unit.buttons()] == [ACUTE]
    deputy = await Chat(router, "UDEPUTY").hello()
    await deputy.send(text="plan")
    assert [b.value for b in deputy.buttons()] == ["", "ressursteam"]
    # The admin may mark all; twelve overdue milestones give MARK_BUTTONS buttons, the rest text.
    many = PLAN + "".join(
        f"  - key: ekstra-{n}\n    title: {{nb: Ekstra {n}, nn: Ekstra {n}}}\n"
        f"    role: styringsgruppe\n    due: 2026-04-{n + 10:02d}\n"
        for n in range(10)
    )
    await import_plan(tenant, TENANT, parse_plan(many))
    admin = await Chat(router, "UCOORD").hello()
    await admin.send(text="plan")
    buttons = admin.buttons()
    assert buttons[0].action == ACUTE and buttons[0].style == "danger"
    assert len(buttons) == 1 + MARK_BUTTONS <= 6
    assert [b.value for b in buttons[1:]] == ["ekstra-0", "ekstra-1", "ekstra-2", "ekstra-3"]
    assert buttons[1].label == "Fullført: Ekstra 0"
    assert all(f"Ekstra {n} (Styringsgruppe) – forsinket siden" in admin.text for n in range(10))


async def test_the_holder_marks_done_with_todays_date_and_can_undo(
    tenant: Store, tmp_path: Path
) -> None:
    router = router_on(tenant, oslo(2026, 5, 21, 0, 30), tmp_path)  # still the 20th in UTC
    kontakt = await Chat(router, "UKONTAKT").hello()
    reply = await kontakt.send(action=A_DONE, value="nettverk")
    assert kontakt.text == "**Oppstart av BTS-nettverk** er markert som fullført 21. mai 2026."
    assert reply.replace is True  # the clicked message turns into the confirmation
    assert [b.action for b in kontakt.buttons()] == [ACUTE, A_REOPEN, A_PLAN]
    milestone = await get_milestone(tenant, TENANT, "nettverk")
    assert milestone is not None and milestone.completed == date(2026, 5, 21)
    await kontakt.send(action=A_DONE, value="nettverk")  # a second click changes nothing
    assert "allerede" in kontakt.text
    await kontakt.send(text="plan")
    assert "Oppstart av BTS-nettverk (BTS-kontakt i Skolen) – fullført 21. mai 2026" in kontakt.text
    await kontakt.send(action=A_REOPEN, value="nettverk")
    assert "er åpen igjen, med frist 28. mai 2026" in kontakt.text
    assert [b.action for b in kontakt.buttons()] == [ACUTE, A_DONE, A_PLAN]
    milestone = await get_milestone(tenant, TENANT, "nettverk")
    assert milestone is not None and milestone.completed is None


async def test_others_are_refused_kindly_and_the_admin_may_mark_any(
    tenant: Store, tmp_path: Path
) -> None:
    router = router_on(tenant, oslo(2026, 5, 20, 10, 0), tmp_path)
    for user in ("UVIEWER", "UBHGKONTAKT"):
        chat = await Chat(router, user).hello("nn" if user == "UVIEWER" else "nb")
        reply = await chat.send(action=A_DONE, value="nettverk")
        assert reply.replace is False  # the clicked message may be someone else's reminder
        assert [b.action for b in chat.buttons()] == [ACUTE, A_PLAN]
        if user == "UVIEWER":
            assert "Berre ein administrator eller den som har rolla BTS-kontakt i Skolen" in (
                chat.text
            )
        else:
            assert "Bare en administrator eller den som har rollen BTS-kontakt i Skolen" in (
                chat.text
            )
    milestone = await get_milestone(tenant, TENANT, "nettverk")
    assert milestone is not None and milestone.completed is None
    stale = await Chat(router, "UCOORD").hello()
    for value in ("finnes-ikke", "../../etc", "x" * 300):
        await stale.send(action=A_DONE, value=value)
        assert "finner ikke den milepælen" in stale.text
    await stale.send(action=A_DONE, value="evaluering")  # nobody holds styringsgruppe
    assert "er markert som fullført 20. mai 2026" in stale.text


async def test_overdue_and_due_gives_the_digest_plain_data(tenant: Store) -> None:
    found = await overdue_and_due(tenant, TENANT, date(2026, 5, 20), within_days=14)
    assert [(d.milestone.key, d.overdue, d.days) for d in found] == [
        ("kick-off", True, 10),
        ("ressursteam", True, 3),
        ("nettverk", False, 8),
    ]


# reminders --------------------------------------------------------------------------------------


async def milestone_rows(store: Store, key: str | None = None) -> list[OutboxItem]:
    rows = await outbox.list_items(store, TENANT, kind=OutboxKind.MILESTONE.value)
    return [r for r in rows if key is None or r.payload["milestone"] == key]


async def plan_days(store: Store, start: datetime, days: int) -> None:
    """Run the planner every morning (06:00) for ``days`` days, as the service would."""
    for n in range(days):
        await plan_all(store, PlanSettings(), start + timedelta(days=n))


async def test_holders_and_the_deputy_are_reminded_on_working_days(tenant: Store) -> None:
    # "ressursteam" is due Sunday 17 May 2026. Fourteen days before is Sunday 3 May; 1 May is a
    # holiday, so Thursday 30 April. The day itself moves back past Kristi himmelfart (14 May)
    # to Friday 15 May; a week late is Sunday 24 May, Whit Monday is a holiday: Tuesday 26 May.
    await plan_days(tenant, oslo(2026, 4, 20, 6, 0), 50)
    rows = await milestone_rows(tenant, "ressursteam")
    sends = sorted((r.send_at, r.payload["stage"], r.target_id, r.payload["deputy"]) for r in rows)
    assert sends == [
        (oslo(2026, 4, 30, 9, 0), "lead-14", "UDEPUTY", True),
        (oslo(2026, 4, 30, 9, 0), "lead-14", "ULEADER", False),
        (oslo(2026, 5, 15, 9, 0), "due", "UDEPUTY", True),
        (oslo(2026, 5, 15, 9, 0), "due", "ULEADER", False),
        (oslo(2026, 5, 26, 9, 0), "overdue", "UDEPUTY", True),
        (oslo(2026, 5, 26, 9, 0), "overdue", "ULEADER", False),
    ]
    assert all(r.payload["role"] == "virksomhetsleder" for r in rows)
    # Only the unit's holder of a role with a unit; the coordinators when nobody holds it.
    assert {r.target_id for r in await milestone_rows(tenant, "nettverk")} == {"UKONTAKT"}
    fallback = await milestone_rows(tenant, "evaluering")
    assert fallback == []  # due 30 September: nothing yet
    await plan_all(tenant, PlanSettings(), oslo(2026, 9, 14, 6, 0))
    (row,) = await milestone_rows(tenant, "evaluering")
    assert (row.target_id, row.payload["fallback"], row.payload["stage"]) == (
        "UCOORD",
        True,
        "lead-14",
    )
    # The completed pilot gets nothing, ever.
    assert await milestone_rows(tenant, "pilot") == []


async def test_planning_twice_adds_nothing_and_old_plans_send_nothing(tenant: Store) -> None:
    now = oslo(2026, 4, 30, 6, 0)
    settings = PlanSettings()
    await plan_all(tenant, settings, now)
    first = await milestone_rows(tenant)
    assert len(first) == 2
    await plan_all(tenant, settings, now + timedelta(minutes=5))
    await plan_all(tenant, settings, now + timedelta(hours=2))
    assert [r.id for r in await milestone_rows(tenant)] == [r.id for r in first]
    assert (
        await milestone_planner.plan_milestones(
            tenant, TENANT, now, settings.grace, settings.lookahead
        )
        == 0
    )
    # A seeded plan of 2022 plans no reminders today: all of them are long past.
    await use_builtin(tenant, TENANT, "strand")
    assert (
        await milestone_planner.plan_milestones(
            tenant, TENANT, oslo(2026, 5, 20, 6, 0), settings.grace, settings.lookahead
        )
        == 0
    )


async def test_only_one_overdue_reminder_and_nothing_after_completion(tenant: Store) -> None:
    await plan_days(tenant, oslo(2026, 5, 1, 6, 0), 60)
    overdue = [r for r in await milestone_rows(tenant, "nettverk") if r.payload["stage"] != "due"]
    # nettverk (due Thursday 28 May): 14 May is a holiday, so Wednesday 13 May; 4 June overdue.
    assert sorted((r.payload["stage"], r.send_at) for r in overdue) == [
        ("lead-14", oslo(2026, 5, 13, 9, 0)),
        ("overdue", oslo(2026, 6, 4, 9, 0)),
    ]
    rows = await milestone_rows(tenant, "nettverk")
    assert all([not await _obsolete(tenant, b"k" * 32, r) for r in rows])
    await mark_done(tenant, TENANT, "nettverk", date(2026, 5, 29))
    assert all([await _obsolete(tenant, b"k" * 32, r) for r in rows])
    # Completed before its reminders were planned: none are.
    await mark_done(tenant, TENANT, "evaluering", date(2026, 9, 1))
    await plan_days(tenant, oslo(2026, 9, 10, 6, 0), 30)
    assert await milestone_rows(tenant, "evaluering") == []


async def test_a_reminder_is_obsolete_when_the_role_changes_hands_or_the_date_moves(
    tenant: Store,
) -> None:
    await plan_all(tenant, PlanSettings(), oslo(2026, 4, 30, 6, 0))
    rows = {r.target_id: r for r in await milestone_rows(tenant, "ressursteam")}
    assert not await milestone_planner.obsolete(tenant, rows["UDEPUTY"])
    back = [h for h in HOLDERS if h.user_id != "UBHG"]
    back.append(Holder("virksomhetsleder", "Barnehagen", "slack", "UBHG", "Per Leder", "UDEPUTY"))
    await directory.replace_holders(tenant, TENANT, back)  # Per is back: no more deputy
    assert await milestone_planner.obsolete(tenant, rows["UDEPUTY"])
    assert not await milestone_planner.obsolete(tenant, rows["ULEADER"])
    moved = PLAN.replace("due: 2026-05-17", "due: 2026-06-17")
    await import_plan(tenant, TENANT, parse_plan(moved))
    assert await milestone_planner.obsolete(tenant, rows["ULEADER"])
    await plan_all(tenant, PlanSettings(), oslo(2026, 6, 3, 6, 0))  # the new date's own rows
    # A coordinator's reminder because nobody held the role: obsolete once someone does.
    await plan_all(tenant, PlanSettings(), oslo(2026, 9, 14, 6, 0))
    (fallback,) = await milestone_rows(tenant, "evaluering")
    assert fallback.payload["fallback"] and not await milestone_planner.obsolete(tenant, fallback)
    await directory.put_holder(
        tenant, TENANT, Holder("styringsgruppe", None, "slack", "USTYR", "Stine Styre")
    )
    assert await milestone_planner.obsolete(tenant, fallback)
    fresh = [
        r for r in await milestone_rows(tenant, "ressursteam") if r.payload["due"] != "2026-05-17"
    ]
    assert {(r.target_id, r.payload["stage"]) for r in fresh} == {
        ("ULEADER", "lead-14"),
        ("UBHG", "lead-14"),
    }


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_the_reminder_says_what_when_and_why(tenant: Store, lang: str) -> None:
    await plan_days(tenant, oslo(2026, 4, 30, 6, 0), 30)
    rows = {
        (r.target_id, r.payload["stage"]): r for r in await milestone_rows(tenant, "ressursteam")
    }

    async def render(row: OutboxItem, now: datetime, late: bool = False) -> tuple[str, list[str]]:
        reply = await render_milestone_notice(tenant, CONTENT, Notice.of(row, lang, late), now=now)
        (message,) = reply.messages
        assert reply.lang == lang and len(message.buttons) <= 6
        return message.text, [b.action for b in message.buttons]

    text, actions = await render(rows[("UDEPUTY", "lead-14")], oslo(2026, 4, 30, 9, 0))
    assert actions == [ACUTE, A_DONE, A_PLAN]
    if lang == "nb":
        assert text.startswith("**Milepæl i implementeringsplanen: Oppstart av ressursteam**")
        assert "**Frist:** søndag 17. mai – om 17 dager." in text
        assert "stedfortreder for Per Leder (Virksomhetsleder i Barnehagen)" in text
    else:
        assert "**Frist:** søndag 17. mai – om 17 dagar." in text
        assert "stadfortredar for Per Leder (Verksemdsleiar i Barnehagen)" in text
    text, _ = await render(rows[("ULEADER", "overdue")], oslo(2026, 5, 26, 9, 0), late=True)
    if lang == "nb":
        assert text.startswith("**Forsinket milepæl: Oppstart av ressursteam**")
        assert "Fristen var søndag 17. mai, for 9 dager siden" in text
        assert "Du får denne fordi du har rollen Virksomhetsleder." in text
        assert "senere enn planlagt" in text
    else:
        assert text.startswith("**Forseinka milepæl: Oppstart av ressursteam**")
        assert "for 9 dagar sidan" in text and "seinare enn planlagt" in text
    await plan_all(tenant, PlanSettings(), oslo(2026, 9, 14, 6, 0))
    (fallback,) = await milestone_rows(tenant, "evaluering")
    text, _ = await render(fallback, oslo(2026, 9, 16, 9, 0))
    role = "rollen Styringsgruppe" if lang == "nb" else "rolla Styringsgruppe"
    assert f"Ingen har {role} i boten" in text
