"""Recurrence and send times: DST, Norwegian holidays, weekends, short months, Nth weekday, closed days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.arshjul.model import Recurrence, Task, Text
from dialogs.arshjul.recurrence import (
    Holder,
    Recipient,
    occurrences,
    planned_reminders,
    previous_working_day,
    send_at,
)

OSLO = ZoneInfo("Europe/Oslo")
NINE = (9, 0)


def rec(**kw: object) -> Recurrence:
    return Recurrence.model_validate(kw)


def task(key: str = "t", lead_days: list[int] | None = None, **recurrence: object) -> Task:
    return Task(
        key=key,
        title=Text(nb="Tittel", nn="Tittel"),
        text=Text(nb="Tekst", nn="Tekst"),
        roles=["bts-koordinator"],
        recurrence=rec(**recurrence),
        lead_days=lead_days or [0],
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (date(2026, 3, 27), date(2026, 3, 30)),  # DST starts Sunday 29 March 2026
        (date(2027, 3, 23), date(2027, 3, 30)),  # … Sunday 28 March 2027 (Easter too)
    ],
)
def test_spring_dst_keeps_nine_local(before: date, after: date) -> None:
    a, b = send_at(before, 0, NINE, OSLO), send_at(after, 0, NINE, OSLO)
    assert (a.hour, b.hour) == (9, 9)
    assert a.isoformat().endswith("+01:00") and b.isoformat().endswith("+02:00")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (date(2026, 10, 23), date(2026, 10, 26)),  # DST ends Sunday 25 October 2026
        (date(2027, 10, 29), date(2027, 11, 1)),  # … Sunday 31 October 2027
    ],
)
def test_autumn_dst_keeps_nine_local(before: date, after: date) -> None:
    a, b = send_at(before, 0, NINE, OSLO), send_at(after, 0, NINE, OSLO)
    assert a.isoformat() == f"{before.isoformat()}T09:00:00+02:00"
    assert b.isoformat() == f"{after.isoformat()}T09:00:00+01:00"
    assert b.astimezone(UTC) - a.astimezone(UTC) == timedelta(days=(after - before).days, hours=1)


def test_dst_sunday_itself_moves_to_friday() -> None:
    assert send_at(date(2026, 3, 29), 0, NINE, OSLO).isoformat() == "2026-03-27T09:00:00+01:00"


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        (date(2026, 5, 17), date(2026, 5, 15)),  # 17 May 2026 is a Sunday
        (date(2027, 5, 17), date(2027, 5, 14)),  # Monday holiday -> Friday
        (date(2026, 4, 2), date(2026, 4, 1)),  # Skjærtorsdag
        (date(2026, 4, 3), date(2026, 4, 1)),  # Langfredag
        (date(2026, 4, 6), date(2026, 4, 1)),  # 2. påskedag -> before the whole Easter
        (date(2026, 12, 25), date(2026, 12, 24)),  # 1. juledag
        (date(2026, 12, 26), date(2026, 12, 24)),
        (date(2027, 12, 26), date(2027, 12, 24)),  # Christmas on a weekend
        (date(2026, 1, 1), date(2025, 12, 31)),
        (date(2026, 8, 22), date(2026, 8, 21)),  # Saturday
        (date(2026, 8, 23), date(2026, 8, 21)),  # Sunday
        (date(2026, 8, 24), date(2026, 8, 24)),  # plain Monday
    ],
)
def test_weekends_and_holidays_move_to_previous_working_day(due: date, sent: date) -> None:
    assert send_at(due, 0, NINE, OSLO).date() == sent


def test_lead_time_counts_calendar_days_then_shifts() -> None:
    # 14 days before Wednesday 16 Sep 2026 is Wednesday 2 Sep; 3 days before is Sunday 13 -> Fri 11
    assert send_at(date(2026, 9, 16), 14, NINE, OSLO).date() == date(2026, 9, 2)
    assert send_at(date(2026, 9, 16), 3, NINE, OSLO).date() == date(2026, 9, 11)


def test_closed_days_move_sends_too() -> None:
    closed = frozenset(date(2026, 10, d) for d in range(5, 10))  # autumn school holiday
    assert previous_working_day(date(2026, 10, 8), closed) == date(2026, 10, 2)
    assert send_at(date(2026, 10, 7), 0, NINE, OSLO, closed).date() == date(2026, 10, 2)


def test_31st_in_short_months_is_the_last_day() -> None:
    got = occurrences(rec(every="monthly", day=31), date(2027, 1, 1), date(2027, 6, 30))
    assert got == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
    ]
    leap = occurrences(rec(every="yearly", month=2, day=30), date(2028, 1, 1), date(2028, 12, 31))
    assert leap == [date(2028, 2, 29)]


def test_nth_and_last_weekday() -> None:
    first_mon = occurrences(
        rec(every="monthly", nth=1, weekday="mon"), date(2026, 8, 1), date(2026, 10, 31)
    )
    assert first_mon == [date(2026, 8, 3), date(2026, 9, 7), date(2026, 10, 5)]
    last_mon = occurrences(
        rec(every="monthly", nth=-1, weekday="mon"), date(2026, 8, 1), date(2026, 9, 30)
    )
    assert last_mon == [date(2026, 8, 31), date(2026, 9, 28)]
    third_thu = occurrences(
        rec(every="monthly", nth=3, weekday="thu"), date(2026, 11, 1), date(2026, 11, 30)
    )
    assert third_thu == [date(2026, 11, 19)]


def test_half_yearly_and_once() -> None:
    half = occurrences(
        rec(every="half-yearly", month=6, day=15), date(2026, 1, 1), date(2027, 6, 30)
    )
    assert half == [date(2026, 6, 15), date(2026, 12, 15), date(2027, 6, 15)]
    once = rec(every="once", date="2027-02-01")
    assert occurrences(once, date(2027, 1, 1), date(2027, 12, 31)) == [date(2027, 2, 1)]
    assert occurrences(once, date(2027, 3, 1), date(2027, 12, 31)) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"every": "yearly", "month": 8},
        {"every": "monthly"},
        {"every": "monthly", "day": 3, "weekday": "mon"},
        {"every": "monthly", "nth": 0, "weekday": "mon"},
        {"every": "half-yearly", "month": 9, "day": 1},
        {"every": "once"},
        {"every": "yearly", "days": ["31.04"]},  # no such day
        {"every": "yearly", "days": ["26/10"]},
        {"every": "yearly", "days": [26.10]},  # a YAML float: 26.1 would be January
        {"every": "yearly", "weeks": [25]},  # which day of the week?
        {"every": "yearly", "weeks": [25], "weekday": "mon", "month": 6},
        {"every": "yearly", "weeks": [54], "weekday": "mon"},
        {"every": "weekly"},
        {"every": "weekly", "weekday": "tue", "interval": 2},  # every 2 weeks from when?
        {"every": "weekly", "weekday": "tue", "interval": 2, "start": "2026-09-07"},  # a Monday
        {"every": "monthly", "day": 1, "interval": 2, "start": "2026-01-01"},
        {"every": "monthly", "day": 1, "skip_months": [13]},
        {"every": "once", "date": "2026-07-01", "skip_months": [7]},
    ],
)
def test_bad_recurrences_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Recurrence.model_validate(bad)


def test_planned_reminders_to_holders_deputies_and_gaps() -> None:
    t = Task(
        key="rapport",
        title=Text(nb="Rapport", nn="Rapport"),
        text=Text(nb="Skriv", nn="Skriv"),
        roles=["virksomhetsleder", "bts-koordinator"],
        recurrence=rec(every="yearly", month=12, day=15),
        lead_days=[14, 3, 0],
    )
    holders = [
        Holder("virksomhetsleder", "Skolen", "slack", "U1"),
        Holder("virksomhetsleder", "Barnehagen", "slack", "U2", absent=True, deputy_user_id="U3"),
        Holder("virksomhetsleder", "Helse", "teams", "T9", absent=True),
    ]
    planned = planned_reminders(
        [t], holders, (date(2026, 12, 1), date(2026, 12, 31)), "Europe/Oslo"
    )
    kinds = sorted({(p.kind, p.send_at.date()) for p in planned})
    assert kinds == [
        ("lead-14", date(2026, 12, 1)),
        ("lead-3", date(2026, 12, 11)),  # the 12th is a Saturday
        ("reminder", date(2026, 12, 15)),
    ]
    reminder = [p for p in planned if p.kind == "reminder"]
    assert {(p.role, p.unit, p.recipient, p.deputy, p.reason) for p in reminder} == {
        ("virksomhetsleder", "Skolen", Recipient("slack", "U1"), False, ""),
        ("virksomhetsleder", "Barnehagen", Recipient("slack", "U3"), True, ""),
        ("virksomhetsleder", "Helse", None, False, "absent-no-deputy"),
        ("bts-koordinator", None, None, False, "no-holder"),
    }
    assert all(p.send_at.utcoffset() == timedelta(hours=1) for p in planned)


def test_window_and_same_day_leads_collapse() -> None:
    # due Monday 24 Aug 2026: lead 1 (Sunday) and lead 3 (Friday) both land on Friday 21 -> only
    # "lead-1", the one closest to the due date
    t = task(lead_days=[3, 1], every="once", date="2026-08-24")
    planned = planned_reminders([t], [], (date(2026, 8, 1), date(2026, 8, 31)))
    assert [(p.kind, p.send_at.date()) for p in planned] == [("lead-1", date(2026, 8, 21))]
    assert planned_reminders([t], [], (date(2026, 8, 22), date(2026, 8, 31))) == []


def test_a_due_date_on_saturday_moves_to_friday_and_its_leads_count_from_there() -> None:
    # due Saturday 22 Aug 2026: due Friday 21, so lead 1 is Thursday 20 and lead 0 Friday 21
    t = task(lead_days=[1, 0], every="once", date="2026-08-22")
    planned = planned_reminders([t], [], (date(2026, 8, 1), date(2026, 8, 31)))
    assert [(p.kind, p.send_at.date(), p.occurrence, p.due_day) for p in planned] == [
        ("lead-1", date(2026, 8, 20), date(2026, 8, 22), date(2026, 8, 21)),
        ("reminder", date(2026, 8, 21), date(2026, 8, 22), date(2026, 8, 21)),
    ]


def test_one_person_with_two_owning_roles_gets_one_send() -> None:
    t = Task(
        key="mote",
        title=Text(nb="Møte", nn="Møte"),
        text=Text(nb="x", nn="x"),
        roles=["bts-koordinator", "arbeidsgruppe"],
        recurrence=rec(every="once", date="2026-09-01"),
        lead_days=[0],
    )
    holders = [
        Holder("bts-koordinator", None, "slack", "U1"),
        Holder("arbeidsgruppe", None, "slack", "U1"),
    ]
    planned = planned_reminders([t], holders, (date(2026, 9, 1), date(2026, 9, 1)))
    assert [(p.role, p.recipient) for p in planned] == [
        ("bts-koordinator", Recipient("slack", "U1"))
    ]


def test_a_list_of_days_as_the_seeds_write_them() -> None:
    # Sirdal's driftsstyremøter, October to June on the seed's own days.
    driftsstyre = rec(every="yearly", days=["26.10", "30.11", "7.12", "19.12", "23.01", "20.02"])
    found = occurrences(driftsstyre, date(2026, 8, 1), date(2027, 3, 1))
    assert found == [
        date(2026, 10, 26), date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 19),
        date(2027, 1, 23), date(2027, 2, 20),
    ]  # fmt: skip


def test_iso_week_falls_on_its_weekday_and_week_53_only_when_the_year_has_one() -> None:
    prosjektgruppe = rec(every="yearly", weeks=[10, 15], weekday="mon")
    assert occurrences(prosjektgruppe, date(2026, 1, 1), date(2027, 12, 31)) == [
        date(2026, 3, 2), date(2026, 4, 6), date(2027, 3, 8), date(2027, 4, 12)
    ]  # fmt: skip
    uke_53 = rec(every="yearly", weeks=[53], weekday="thu")
    assert occurrences(uke_53, date(2026, 1, 1), date(2027, 12, 31)) == [date(2026, 12, 31)]


def test_every_second_year_counts_from_its_start() -> None:
    evaluation = rec(every="yearly", month=11, day=15, interval=2, start="2025-11-15")
    assert occurrences(evaluation, date(2024, 1, 1), date(2030, 12, 31)) == [
        date(2025, 11, 15), date(2027, 11, 15), date(2029, 11, 15)
    ]  # fmt: skip


def test_every_n_weeks_across_dst_and_a_holiday() -> None:
    pairing = rec(every="weekly", weekday="wed", interval=3, start="2026-09-02")
    found = occurrences(pairing, date(2026, 9, 1), date(2026, 12, 31))
    assert found[:4] == [date(2026, 9, 2), date(2026, 9, 23), date(2026, 10, 14), date(2026, 11, 4)]
    assert all((b - a).days == 21 for a, b in itertools.pairwise(found))
    # 4 November is after the autumn DST change: still 09:00 in Oslo.
    assert send_at(date(2026, 11, 4), 0, NINE, OSLO).hour == 9
    weekly = rec(every="weekly", weekday="thu")
    # Kristi himmelfartsdag (Thursday 14 May 2026): that week's reminder goes on Wednesday.
    (ascension,) = [d for d in occurrences(weekly, date(2026, 5, 11), date(2026, 5, 17))]
    assert send_at(ascension, 0, NINE, OSLO).date() == date(2026, 5, 13)


def test_skip_months_leaves_july_out() -> None:
    monthly = rec(every="monthly", nth=1, weekday="tue", skip_months=[7])
    months = [d.month for d in occurrences(monthly, date(2026, 1, 1), date(2026, 12, 31))]
    assert months == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]
    weekly = rec(every="weekly", weekday="mon", skip_months=[7, 8])
    summer = occurrences(weekly, date(2026, 6, 22), date(2026, 9, 14))
    assert summer == [date(2026, 6, 22), date(2026, 6, 29), date(2026, 9, 7), date(2026, 9, 14)]
