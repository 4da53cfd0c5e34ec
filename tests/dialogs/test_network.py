"""The BTS-nettverk: pairings over many rounds, the meeting timeline across DST and holidays, and one
whole round through the process's real dispatcher (``build_dispatcher``) and router — check-ins
(personal data refused, edited until the digest), the digest grouped by unit, the topic vote, the
agenda from the votes, the host's key points as the summary — plus the yearly evaluation with its
minimum group, and ``/bts nettverk`` set up in a channel by an admin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.config import Settings
from bot.reminders import build_dispatcher
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.model import parse_arshjul
from dialogs.arshjul.recurrence import is_working_day
from dialogs.arshjul.tasks import ensure_tenant_setup, replace_arshjul
from dialogs.messages import Reply, Turn
from dialogs.network.pairing import Member, pair_up, sector_of
from dialogs.network.planner import network_sectors, plan_networks, timeline
from storage import directory, outbox, surveys
from storage import network as net
from storage.models import utcnow
from storage.network import DEFAULT_KEY, NetworkSettings
from storage.outbox_models import OutboxItem, OutboxKind
from storage.records import Holder
from storage.repositories import Store

TENANT = "slack:T1"
OSLO = ZoneInfo("Europe/Oslo")
CHANNEL = "CNETT"
UNITS = (
    "Bekkevegen barnehage", "Nord skole", "Helsestasjonen", "Lia barnehage", "Sør skole",
    "Vest skule",
)  # fmt: skip


# pairing ----------------------------------------------------------------------------------------


def members(n: int, units: int) -> list[Member]:
    return [
        Member("slack", f"U{i}", f"Person {i}", UNITS[i % units], sector_of(UNITS[i % units], network_sectors()))
        for i in range(n)
    ]  # fmt: skip


def run_rounds(
    people: list[Member], rounds: int, across: bool = False
) -> list[tuple[list[list[Member]], bool]]:
    history: list[frozenset[tuple[str, str]]] = []
    out = []
    for r in range(rounds):
        groups, new_cycle = pair_up(people, history, across_sectors=across, seed=r)
        if new_cycle:
            history = []
        history += [frozenset(m.key for m in g) for g in groups]
        out.append((groups, new_cycle))
    return out


def test_no_pair_repeats_until_everyone_has_met_everyone() -> None:
    people = members(6, 6)  # six units: 15 possible pairs, 3 per round
    rounds = run_rounds(people, 8)
    seen: set[frozenset[str]] = set()
    for i, (groups, new_cycle) in enumerate(rounds):
        if new_cycle:
            assert seen == {frozenset(p) for p in combinations([m.user_id for m in people], 2)}, i
            seen = set()
        for group in groups:
            # A trio only when no perfect pairing of the unmet is left (two triangles, say).
            assert len(group) in (2, 3)
            for pair in combinations(sorted(m.user_id for m in group), 2):
                assert frozenset(pair) not in seen, (i, pair)
                seen.add(frozenset(pair))
        paired = {m.user_id for g in groups for m in g}
        assert len(paired) >= 5, i  # nobody, or one person, waits a round
    assert any(new for _, new in rounds)  # the 15 pairs are spent within 8 rounds


def test_an_odd_count_makes_one_trio_and_nobody_meets_their_own_unit() -> None:
    people = members(7, 3)
    for groups, _ in run_rounds(people, 6):
        for group in groups:
            assert len({m.unit for m in group}) == len(group)
        sizes = sorted(len(g) for g in groups)
        assert sizes.count(3) <= 1
        assert sum(sizes) >= 6  # at most one person waits a round


def test_across_sectors_pairs_barnehage_with_skole_when_it_can() -> None:
    people = [Member("slack", f"B{i}", "", f"Barnehage {i}", "barnehage") for i in range(3)] + [
        Member("slack", f"S{i}", "", f"Skole {i}", "skole") for i in range(3)
    ]
    groups, _ = pair_up(people, [], across_sectors=True, seed=1)
    assert all({m.sector for m in g} == {"barnehage", "skole"} for g in groups)
    plain, _ = pair_up(people, [], across_sectors=False, seed=1)
    assert len(plain) == 3


def test_a_units_sector_comes_from_its_name() -> None:
    sectors = network_sectors()
    assert sector_of("Bekkevegen barnehage", sectors) == "barnehage"
    assert sector_of("Nord skule", sectors) == "skole"
    assert sector_of("Helsestasjonen", sectors) == "helse"
    assert sector_of("NAV Strand", sectors) == "annet"


# timeline ---------------------------------------------------------------------------------------


def test_the_timeline_moves_to_working_days_and_keeps_local_time_across_dst() -> None:
    # Tuesday 30 March 2027, two days after the clocks go forward; Easter is 25–29 March 2027.
    when = timeline(date(2027, 3, 30), 7, (9, 0), OSLO)
    assert when.agenda.date() == date(2027, 3, 24)  # before skjærtorsdag, langfredag, 2. påskedag
    assert when.digest.date() == date(2027, 3, 23)
    assert when.nudge.date() == date(2027, 3, 22)
    assert when.checkin.date() == date(2027, 3, 19)  # 23 March is not before the nudge
    assert when.checkin.hour == 9 and when.checkin.utcoffset() == timedelta(hours=1)
    assert when.host.hour == 15 and when.host.utcoffset() == timedelta(hours=2)
    assert when.checkin < when.nudge < when.digest < when.agenda < when.host
    # A Monday meeting: agenda Friday 09:00, digest Thursday 13:00.
    monday = timeline(date(2027, 1, 11), 7, (8, 30), OSLO)
    assert (monday.agenda.date(), monday.digest.date()) == (date(2027, 1, 8), date(2027, 1, 7))
    assert (monday.checkin.hour, monday.checkin.minute) == (8, 30)


# one whole round --------------------------------------------------------------------------------


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

    def of(self, kind: OutboxKind) -> list[tuple[str, Reply]]:
        return [(t, r) for k, t, r in self.sent if k == kind.value]


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=tmp_path, survey_secret=SecretStr("test secret"))
    router = build_router(store, survey_key=survey_key(settings))
    yield Runtime(settings=settings, engine=store.engine, store=store, router=router)


def next_meeting() -> date:
    """A meeting day about nine days ahead whose check-in comes after today's planning (Easter or
    Christmas can move a check-in back past it: then the next day is taken)."""
    meeting = (utcnow().astimezone(OSLO) + timedelta(days=9)).date()
    while (
        not is_working_day(meeting)  # a Saturday's meeting is held on the Friday (tested below)
        or timeline(meeting, 7, (9, 0), OSLO).checkin.date() <= meeting - timedelta(days=9)
    ):
        meeting += timedelta(days=1)
    return meeting


async def test_a_meeting_planned_on_a_saturday_is_held_on_the_friday_before(store: Store) -> None:
    # The Strand template puts a network meeting on a Saturday: like every årshjul due date it
    # moves to the working day before, and the check-in, digest and agenda count from that day.
    saturday = (utcnow().astimezone(OSLO) + timedelta(days=8)).date()
    while saturday.weekday() != 5 or not is_working_day(saturday - timedelta(days=1)):
        saturday += timedelta(days=1)
    friday = saturday - timedelta(days=1)
    await network_tenant(store, saturday)
    await plan(store, utcnow())
    (round_,) = await net.rounds(store, TENANT, DEFAULT_KEY)
    assert round_.meeting == friday
    async with store.sessions() as session:
        rows = (await session.scalars(select(OutboxItem))).all()
    agenda = [r for r in rows if r.kind == OutboxKind.NETWORK_AGENDA.value]
    assert [r.send_at.astimezone(OSLO).date() for r in agenda] == [
        timeline(friday, 7, (9, 0), OSLO).agenda.date()
    ]
    assert all(r.payload["meeting"] == friday.isoformat() for r in rows)


def meeting_task(meeting: date) -> str:
    return f"""
template: strand
name: {{nb: Test, nn: Test}}
tasks:
  - key: bts-nettverk-1
    title: {{nb: BTS-nettverk, nn: BTS-nettverk}}
    text: {{nb: Nettverksmøte, nn: Nettverksmøte}}
    roles: [bts-koordinator]
    recurrence: {{every: once, date: {meeting.isoformat()}}}
"""


async def network_tenant(store: Store, meeting: date, contacts: int = 4) -> list[Holder]:
    await ensure_tenant_setup(store, TENANT, timezone="Europe/Oslo", platform="slack")
    await replace_arshjul(store, TENANT, parse_arshjul(meeting_task(meeting)))
    holders = [
        Holder("bts-kontakt", UNITS[i % len(UNITS)], "slack", f"K{i}", f"Kontakt {i}")
        for i in range(contacts)
    ]
    holders.append(Holder("bts-kontakt", UNITS[0], "slack", "KAWAY", "Borte", absent=True))
    holders.append(Holder("bts-koordinator", None, "slack", "HOST", "Prosjektleder"))
    await directory.replace_holders(store, TENANT, holders)
    await net.put_network(
        store,
        NetworkSettings(
            tenant_id=TENANT, key=DEFAULT_KEY, platform="slack", channel_id=CHANNEL,
            tasks=("bts-nettverk-1",), evaluation_months=(),
        ),
    )  # fmt: skip
    return holders


async def plan(store: Store, now: datetime) -> int:
    view_holders = await directory.list_holders(store, TENANT)
    from dialogs.arshjul.tasks import list_tasks

    return await plan_networks(
        store, TENANT, await list_tasks(store, TENANT), view_holders, OSLO, frozenset(),
        now, now - timedelta(hours=12), timedelta(days=7), network_sectors(),
    )  # fmt: skip


async def due(store: Store, kind: OutboxKind) -> None:
    """The clock reaches the rows of ``kind``."""
    now = utcnow()
    async with store.sessions.begin() as session:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == kind.value, OutboxItem.status == "pending")
            .values(send_at=now, next_attempt_at=now)
        )


def form_turn(
    user: str, action: str, value: str, values: dict[str, str], channel: str = ""
) -> Turn:
    return Turn(
        platform="slack", tenant_id=TENANT, user_id=user, channel_id=channel or f"D{user}",
        is_direct=not channel, action=action, value=value, form_values=values,
    )  # fmt: skip


def text_of(reply: Reply) -> str:
    return "\n".join(m.text for m in reply.messages)


async def test_a_network_round_from_check_in_to_summary(store: Store, runtime: Runtime) -> None:
    meeting = next_meeting()
    await network_tenant(store, meeting)
    planned_at = datetime.combine(meeting - timedelta(days=9), datetime.min.time(), OSLO)
    assert await plan(store, planned_at + timedelta(hours=10)) > 0
    assert await plan(store, planned_at + timedelta(hours=10, minutes=5)) == 0  # idempotent
    rows = await outbox.list_items(store, TENANT, limit=100)
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.target_id)
    assert sorted(by_kind["network-checkin"]) == ["K0", "K1", "K2", "K3"]  # KAWAY is away
    assert by_kind["network-digest"] == [CHANNEL] and by_kind["network-agenda"] == [CHANNEL]
    assert by_kind["network-host"] == ["HOST"]

    capture = Capture()
    dispatcher = build_dispatcher(runtime, {"slack": capture})
    router = runtime.router
    await due(store, OutboxKind.NETWORK_CHECKIN)
    await dispatcher.run_once()
    invites = capture.of(OutboxKind.NETWORK_CHECKIN)
    assert sorted(t for t, _ in invites) == ["K0", "K1", "K2", "K3"]
    first = invites[0][1].messages[0]
    assert first.buttons[0].action == "guide:acute"
    checkin_button = first.buttons[1]
    assert checkin_button.action == "network:checkin"
    round_id = checkin_button.value

    # The form opens; personal data is refused and nothing is stored.
    opened = await router.handle(form_turn("K0", "network:checkin", round_id, {}))
    assert opened.messages[0].form is not None and opened.messages[0].form.modal
    refused = await router.handle(
        form_turn("K0", "network:checkin-save", round_id,
                  {"done": "Snakket med Ola Nordmann, f. 010203 12345", "smart": "", "learned": "", "topic": ""})
    )  # fmt: skip
    assert refused.field_errors
    assert await net.checkins(store, int(round_id)) == []
    # Good check-ins from three units; K1 changes theirs.
    for user, done, topic in (
        ("K0", "Brukt undringssamtalen", "Samtykke fra foreldre"),
        ("K1", "Først dette", ""),
        ("K1", "Opplæring av to nyansatte", "Stafettlogg på nivå 1"),
        ("K2", "Observasjon i to uker", "Samtykke fra foreldre? nei: ny runde"),
    ):
        reply = await router.handle(
            form_turn(user, "network:checkin-save", round_id,
                      {"done": done, "smart": "Fast tid i personalmøtet", "learned": "", "topic": topic})
        )  # fmt: skip
        assert "Takk" in text_of(reply), text_of(reply)
    empty = await router.handle(
        form_turn("K3", "network:checkin-save", round_id, {"done": " ", "topic": "Bare tema"})
    )
    assert empty.field_errors and "minst ett" in text_of(empty)
    kept = empty.messages[0].form
    assert kept is not None and ("topic", "Bare tema") in kept.values  # what was typed stays
    outsider = await router.handle(
        form_turn("X9", "network:checkin-save", round_id, {"done": "Hei"})
    )
    assert "BTS-kontaktene" in text_of(outsider)

    # The nudge goes only to the member who has not checked in.
    await due(store, OutboxKind.NETWORK_NUDGE)
    await dispatcher.run_once()
    assert [t for t, _ in capture.of(OutboxKind.NETWORK_NUDGE)] == ["K3"]

    # The digest: grouped by unit, the topics to vote on; check-ins are closed from now on.
    await due(store, OutboxKind.NETWORK_DIGEST)
    await dispatcher.run_once()
    ((target, posted),) = capture.of(OutboxKind.NETWORK_DIGEST)
    digest = posted.messages[0]
    assert target == CHANNEL and "3 av 4 har sjekket inn" in digest.text
    assert digest.text.index("**Bekkevegen barnehage**") < digest.text.index("**Nord skole**")
    assert "Opplæring av to nyansatte" in digest.text and "Først dette" not in digest.text
    assert digest.buttons[0].action == "guide:acute"
    assert digest.form is not None and digest.form.action == "network:vote"
    options = {o.label: o.value for o in digest.form.fields[0].options}
    assert set(options) == {
        "Samtykke fra foreldre",
        "Stafettlogg på nivå 1",
        "Samtykke fra foreldre? nei: ny runde",
    }
    late = await router.handle(
        form_turn("K3", "network:checkin-save", round_id, {"done": "For sent"})
    )
    assert "stengt" in text_of(late)

    # Votes (anyone in the channel); a second vote replaces the first; the digest shows counts.
    stafett, samtykke = options["Stafettlogg på nivå 1"], options["Samtykke fra foreldre"]
    await router.handle(form_turn("K0", "network:vote", round_id, {"topics": samtykke}, CHANNEL))
    await router.handle(form_turn("K0", "network:vote", round_id, {"topics": stafett}, CHANNEL))
    await router.handle(
        form_turn("K2", "network:vote", round_id, {"topics": f"{stafett},{samtykke}"}, CHANNEL)
    )
    shown = await router.handle(
        form_turn("HOST", "network:vote", round_id, {"topics": stafett}, CHANNEL)
    )
    assert shown.replace
    assert "Stafettlogg på nivå 1 (3 stemmer)" in shown.messages[0].text
    assert "Samtykke fra foreldre (1 stemme)" in shown.messages[0].text

    # The agenda: the round, then the topics by votes; voting closes.
    await due(store, OutboxKind.NETWORK_AGENDA)
    await dispatcher.run_once()
    ((_, agenda),) = capture.of(OutboxKind.NETWORK_AGENDA)
    lines = agenda.messages[0].text.splitlines()
    assert lines[2].startswith("1. Runde rundt bordet")
    assert lines[3] == "2. Stafettlogg på nivå 1 (3 stemmer)"
    assert lines[4] == "3. Samtykke fra foreldre (1 stemme)"
    closed = await router.handle(
        form_turn("K1", "network:vote", round_id, {"topics": samtykke}, CHANNEL)
    )
    assert "stengt" in text_of(closed)

    # The host's key points become the summary in the channel, once.
    await due(store, OutboxKind.NETWORK_HOST)
    await dispatcher.run_once()
    ((host, ask),) = capture.of(OutboxKind.NETWORK_HOST)
    assert host == "HOST" and ask.messages[0].form is not None
    nobody = await router.handle(form_turn("K1", "network:points", round_id, {"point1": "x"}))
    assert "verten" in text_of(nobody)
    done = await router.handle(
        form_turn("HOST", "network:points", round_id, {"point1": "Felles fagdag i august", "point2": "", "point3": "Ny mal for stafettlogg"})
    )  # fmt: skip
    assert "lagt ut" in text_of(done)
    again = await router.handle(form_turn("HOST", "network:points", round_id, {"point1": "igjen"}))
    assert "allerede" in text_of(again)
    await dispatcher.run_once()
    ((channel, summary),) = capture.of(OutboxKind.NETWORK_SUMMARY)
    assert channel == CHANNEL
    assert summary.messages[0].text.endswith("- Felles fagdag i august\n- Ny mal for stafettlogg")


async def evaluation_round(store: Store, runtime: Runtime, contacts: int) -> Capture:
    """A meeting in an evaluation month, its check-ins sent; what went out."""
    meeting = next_meeting()
    await network_tenant(store, meeting, contacts=contacts)
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None
    await net.put_network(store, replace(network, evaluation_months=(meeting.month,)))
    start = datetime.combine(meeting - timedelta(days=9), datetime.min.time(), OSLO)
    await plan(store, start + timedelta(hours=10))
    capture = Capture()
    await due(store, OutboxKind.NETWORK_CHECKIN)
    await build_dispatcher(runtime, {"slack": capture}).run_once()
    return capture


async def test_the_yearly_evaluation_rides_on_the_check_in_and_honours_the_minimum_group(
    store: Store, runtime: Runtime
) -> None:
    capture = await evaluation_round(store, runtime, contacts=5)
    (run,) = await surveys.runs(store, TENANT)
    assert run.template_key == "bts-nettverk-evaluering" and run.recipients == 5
    assert run.post_to == CHANNEL and run.anonymity == "anonymous"
    for _, reply in capture.of(OutboxKind.NETWORK_CHECKIN):
        actions = [(b.action, b.value) for b in reply.messages[0].buttons]
        assert actions[0][0] == "guide:acute" and ("survey:open", run.id) in actions
        assert "evaluerer vi også nettverket" in reply.messages[0].text


async def test_too_few_members_get_no_evaluation_but_still_their_check_in(
    store: Store, runtime: Runtime
) -> None:
    capture = await evaluation_round(store, runtime, contacts=3)
    assert await surveys.runs(store, TENANT) == []
    sent = capture.of(OutboxKind.NETWORK_CHECKIN)
    assert len(sent) == 3
    assert all(len(r.messages[0].buttons) == 2 for _, r in sent)


async def test_pairings_are_drawn_once_per_pairing_week_and_followed_up(
    store: Store, runtime: Runtime
) -> None:
    meeting = (utcnow().astimezone(OSLO) + timedelta(days=60)).date()
    await network_tenant(store, meeting, contacts=5)
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None
    monday = date(2027, 1, 4)
    created = datetime.combine(monday, datetime.min.time(), OSLO)
    await net.remove_network(store, TENANT, DEFAULT_KEY)  # set up anew that Monday
    await net.put_network(store, replace(network, pairing_weeks=2, created_at=created))
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    for week in range(0, 8):
        now = created + timedelta(weeks=week, hours=8)  # Monday 08:00, before the 09:00 send
        await plan(store, now)
        await plan(store, now + timedelta(minutes=10))
    pairings = [r for r in await outbox.list_items(store, TENANT, kind="network-pair", limit=100)]
    labels = sorted({r.payload["label"] for r in pairings})
    assert labels == ["2027-W01", "2027-W03", "2027-W05", "2027-W07"]
    by_label: dict[str, list[frozenset[str]]] = {}
    for row in pairings:
        group = frozenset(row.target_id.split(","))
        assert row.target_kind == "group" and 2 <= len(group) <= 3
        by_label.setdefault(str(row.payload["label"]), []).append(group)
    active = {"K0", "K1", "K2", "K3", "K4"}  # KAWAY is away
    for label, groups in by_label.items():
        assert set().union(*groups) == active, label  # everyone talks every pairing round
        assert sum(len(g) for g in groups) == len(active), label
    first_two = [
        frozenset(p)
        for label in labels[:2]
        for g in by_label[label]
        for p in combinations(sorted(g), 2)
    ]
    # Five people: a trio the first time, so the second can pair everyone only by letting the one
    # left over meet one person again; nobody else repeats.
    assert len(first_two) - len(set(first_two)) <= 1
    followups = await outbox.list_items(store, TENANT, kind="network-pair-followup", limit=100)
    assert len(followups) == sum(len(r.target_id.split(",")) for r in pairings)

    # "Did you meet?": a member answers once; someone outside the pair is refused.
    row = followups[0]
    pair_id = int(row.payload["pair"])
    router = runtime.router
    yes = await router.handle(form_turn(row.target_id, "network:met", f"{pair_id}:yes", {}))
    assert "Så bra" in text_of(yes)
    stranger = await router.handle(form_turn("X1", "network:met", f"{pair_id}:no", {}))
    assert "gjelder ikke deg" in text_of(stranger)
    counted = await net.pairing_stats(store, TENANT, DEFAULT_KEY, utcnow() - timedelta(hours=1))
    assert counted[1] == 1 and counted[0] == len({int(r.payload["pair"]) for r in pairings})


async def test_bts_nettverk_sets_the_network_up_in_the_channel_for_an_admin(
    store: Store, runtime: Runtime
) -> None:
    await ensure_tenant_setup(
        store, TENANT, timezone="Europe/Oslo", platform="slack", template="strand"
    )
    await directory.put_holder(
        store, TENANT, Holder("bts-koordinator", None, "slack", "ADM", "Koordinator")
    )
    await directory.put_holder(
        store, TENANT, Holder("bts-kontakt", "Nord skole", "slack", "K1", "Kari")
    )
    router = runtime.router

    def typed(user: str, channel: str, text: str) -> Turn:
        return Turn(platform="slack", tenant_id=TENANT, user_id=user, channel_id=channel,
                    is_direct=channel.startswith("D"), text=text)  # fmt: skip

    stranger = await router.handle(typed("K1", "CNETT", "/bts nettverk"))
    assert "ikke satt opp" in text_of(stranger)
    assert await net.get_network(store, TENANT, DEFAULT_KEY) is None
    in_dm = await router.handle(typed("ADM", "DADM", "nettverk"))
    assert "i kanalen" in text_of(in_dm)
    made = await router.handle(typed("ADM", "CNETT", "nettverk"))
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None and network.channel_id == "CNETT"
    assert set(network.tasks) == {"bts-nettverk-1", "bts-nettverk-2"}
    assert "bruker nå denne kanalen" in text_of(made)
    assert made.messages[0].buttons[0].action == "guide:acute"
    assert len(made.messages[0].buttons) <= 6
    # The settings form changes pairing; a bad number is named.
    bad = await router.handle(
        form_turn("ADM", "network:save", DEFAULT_KEY, {"pairing_weeks": "99", "checkin_days": "7"})
    )
    assert bad.field_errors and bad.field_errors[0][0] == "pairing_weeks"
    ok = await router.handle(
        form_turn("ADM", "network:save", DEFAULT_KEY,
                  {"pairing_weeks": "3", "checkin_days": "5", "across": "yes",
                   "tasks": "bts-nettverk-1", "members": "bts-kontakt", "host": "bts-koordinator"})
    )  # fmt: skip
    assert "lagret" in text_of(ok) and "hver 3. uke" in text_of(ok)
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None
    assert (network.pairing_weeks, network.checkin_days, network.pairing_across_sectors) == (
        3,
        5,
        True,
    )
    assert network.tasks == ("bts-nettverk-1",)
    # Typed by an admin in another channel: the network stays; "Bruk denne kanalen" moves it.
    elsewhere = await router.handle(typed("ADM", "CANDRE", "nettverk"))
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None and network.channel_id == "CNETT"
    assert "annen kanal" in text_of(elsewhere)
    move = next(b for b in elsewhere.messages[-1].buttons if b.action == "network:move")
    assert len(elsewhere.messages[-1].buttons) <= 6
    await router.handle(form_turn("ADM", move.action, move.value, {}, "CANDRE"))
    network = await net.get_network(store, TENANT, DEFAULT_KEY)
    assert network is not None and network.channel_id == "CANDRE"
    refused = await router.handle(
        form_turn("K1", "network:save", DEFAULT_KEY, {"pairing_weeks": "1"})
    )
    assert "administrator" in text_of(refused)
    # nynorsk
    nn = Turn(platform="slack", tenant_id=TENANT, user_id="K1", channel_id="DK1", text="nettverket")
    await router.handle(form_turn("K1", "lang:set", "nn", {}))
    shown = await router.handle(nn)
    assert "Parsamtalar kvar 3. veke" in text_of(shown)


async def test_in_teams_each_member_of_a_pair_gets_their_own_introduction(store: Store) -> None:
    tenant = "teams:tenant-1"
    await ensure_tenant_setup(store, tenant, timezone="Europe/Oslo", platform="teams")
    await directory.replace_holders(
        store, tenant,
        [Holder("bts-kontakt", unit, "teams", f"29:{i}", f"P{i}") for i, unit in enumerate(UNITS[:4])],
    )  # fmt: skip
    created = datetime.combine(date(2027, 1, 4), datetime.min.time(), OSLO)
    await net.put_network(
        store,
        NetworkSettings(tenant_id=tenant, key=DEFAULT_KEY, platform="teams", channel_id="19:c",
                        pairing_weeks=1, created_at=created),
    )  # fmt: skip
    from dialogs.arshjul.tasks import list_tasks

    now = created + timedelta(hours=8)
    await plan_networks(
        store, tenant, await list_tasks(store, tenant), await directory.list_holders(store, tenant),
        OSLO, frozenset(), now, now - timedelta(hours=12), timedelta(days=7), network_sectors(),
    )  # fmt: skip
    intros = await outbox.list_items(store, tenant, kind="network-pair", limit=50)
    assert sorted(r.target_id for r in intros) == ["29:0", "29:1", "29:2", "29:3"]
    assert {r.target_kind for r in intros} == {"user"}
    assert len({r.payload["pair"] for r in intros}) == 2
