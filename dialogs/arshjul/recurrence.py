"""When årshjul tasks fall due and when their reminders are sent.

* ``occurrences``: the due dates of a recurrence in a window (31st in a short month → its last day;
  Nth or last weekday; a list of days; ISO weeks; every N weeks or years; half-yearly; once; months
  left out).
* ``due_date``: an occurrence that falls on a closed day is due on the working day before it
  (skjærtorsdag 25.03.2027 → onsdag 24.03.2027). The occurrence itself stays the identity of the
  task round (outbox keys, progress rows, calendar UIDs), so moving a due date never makes a
  reminder that already went out look new.
* ``send_at``: a reminder ``lead`` days before a due date, moved back to the previous working day
  (weekends, Norwegian public holidays from the ``holidays`` library, a tenant's own closed days),
  at the task's local send time in the tenant's zone, so 09:00 stays 09:00 on both sides of a DST
  change.
* ``planned_reminders``: every reminder of a tenant's tasks to the holders of the owning roles whose
  send time falls in a window; the outbox stores them under (task, occurrence, recipient, kind).

Pure functions: no database, no platform.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from dialogs.arshjul.model import WEEKDAYS, Recurrence, Task
from storage.outbox_models import LEAD_PREFIX, OutboxKind
from storage.records import Holder

MAX_SHIFT_DAYS = 120  # how far back a send may be moved (long closed periods such as summer)


def _clamped(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date | None:
    """The ``nth`` (1–5, or -1 for last) ``weekday`` (0 = Monday) of a month; None if none."""
    days = [
        date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if 1 <= nth <= len(days) else None


def _months(start: date, end: date) -> Iterable[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _yearly(rec: Recurrence, year: int) -> list[date]:
    if rec.days is not None:
        return [_clamped(year, month, day) for day, month in rec.days_of_year()]
    if rec.weeks is not None:
        assert rec.weekday is not None
        # ISO week 53 exists only in some years; "uke 53" then simply does not fall due.
        last = date(year, 12, 28).isocalendar().week
        weekday = WEEKDAYS.index(rec.weekday) + 1
        return [date.fromisocalendar(year, w, weekday) for w in rec.weeks if w <= last]
    assert rec.month is not None and rec.day is not None
    return [_clamped(year, rec.month, rec.day)]


def _weekly(rec: Recurrence, start: date, end: date) -> list[date]:
    assert rec.weekday is not None
    weekday = WEEKDAYS.index(rec.weekday)
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    anchor = rec.start or first
    found = []
    day = first
    while day <= end:
        if (day - anchor).days % (7 * rec.interval) == 0 and day >= anchor:
            found.append(day)
        day += timedelta(days=7)
    return found


def occurrences(rec: Recurrence, start: date, end: date) -> list[date]:
    """Due dates of ``rec`` from ``start`` to ``end`` (both included), in order."""
    found: list[date] = []
    if rec.every == "once":
        assert rec.date is not None
        found = [rec.date]
    elif rec.every == "yearly":
        first = rec.start.year if rec.start is not None else start.year
        for year in range(start.year, end.year + 1):
            if (year - first) % rec.interval == 0 and (rec.start is None or year >= first):
                found += _yearly(rec, year)
    elif rec.every == "weekly":
        found = _weekly(rec, start, end)
    elif rec.every == "half-yearly":
        assert rec.month is not None and rec.day is not None
        for year in range(start.year, end.year + 1):
            found += [_clamped(year, rec.month, rec.day), _clamped(year, rec.month + 6, rec.day)]
    else:  # monthly
        for year, month in _months(start, end):
            if rec.day is not None:
                found.append(_clamped(year, month, rec.day))
            else:
                assert rec.nth is not None and rec.weekday is not None
                hit = nth_weekday(year, month, rec.nth, WEEKDAYS.index(rec.weekday))
                if hit is not None:
                    found.append(hit)
    skipped = set(rec.skip_months)
    return sorted({d for d in found if start <= d <= end and d.month not in skipped})


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NO", years=year).keys())


# The holidays library's English names, mapped to the keys of ``arshjul.holidays`` in the content
# (the Norwegian names people read live there, in bokmål and nynorsk).
_HOLIDAY_KEYS = {
    "New Year's Day": "nyttarsdag",
    "Maundy Thursday": "skjaertorsdag",
    "Good Friday": "langfredag",
    "Easter Sunday": "paaskedag",
    "Easter Monday": "andre_paaskedag",
    "Labor Day": "arbeidernes_dag",
    "Ascension Day": "kristi_himmelfart",
    "Pentecost": "pinsedag",
    "Constitution Day": "grunnlovsdag",
    "Pentecost Monday": "andre_pinsedag",
    "Christmas Day": "juledag",
    "Second Day of Christmas": "andre_juledag",
}


@lru_cache(maxsize=64)
def _holiday_names(year: int) -> dict[date, str]:
    found = holidays.country_holidays("NO", years=year, language="en_US")
    return {day: str(name) for day, name in found.items()}


def holiday_key(day: date) -> str | None:
    """The content key of the Norwegian public holiday on ``day`` (``skjaertorsdag``), else None."""
    name = _holiday_names(day.year).get(day)
    if name is None:
        return None
    for part in name.split("; "):  # 17 May can also be Pentecost Monday: the first name wins
        if part in _HOLIDAY_KEYS:
            return _HOLIDAY_KEYS[part]
    return "helligdag"


def is_working_day(day: date, closed_days: frozenset[date] = frozenset()) -> bool:
    """Not a weekend, not a Norwegian public holiday, not one of the tenant's closed days."""
    return day.weekday() < 5 and day not in _public_holidays(day.year) and day not in closed_days


def previous_working_day(day: date, closed_days: frozenset[date] = frozenset()) -> date:
    """``day`` itself when it is a working day, else the closest working day before it."""
    for back in range(MAX_SHIFT_DAYS + 1):
        candidate = day - timedelta(days=back)
        if is_working_day(candidate, closed_days):
            return candidate
    raise ValueError(f"no working day within {MAX_SHIFT_DAYS} days before {day}")


def next_working_day(day: date, closed_days: frozenset[date] = frozenset()) -> date:
    """``day`` itself when it is a working day, else the closest working day after it."""
    while not is_working_day(day, closed_days):
        day += timedelta(days=1)
    return day


def due_date(occurrence: date, closed_days: frozenset[date] = frozenset()) -> date:
    """When ``occurrence`` is actually due: itself on a working day, else the working day before.

    Nobody can hold a seminar or meet a deadline on a public holiday or a Saturday; the reminders,
    the escalation and the calendar all count from this day."""
    return previous_working_day(occurrence, closed_days)


def send_at(
    due: date,
    lead_days: int,
    send_time: tuple[int, int],
    zone: ZoneInfo,
    closed_days: frozenset[date] = frozenset(),
) -> datetime:
    """When the reminder ``lead_days`` before ``due`` goes out: an aware datetime in ``zone``."""
    day = previous_working_day(due - timedelta(days=lead_days), closed_days)
    local = datetime.combine(day, time(send_time[0], send_time[1]), tzinfo=zone)
    # A wall time that does not exist (inside a spring-forward gap) is normalised via UTC.
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def kind_of(lead_days: int) -> str:
    """``reminder`` for the due-day send, ``lead-14`` for fourteen days before, and so on."""
    return OutboxKind.REMINDER.value if lead_days == 0 else f"{LEAD_PREFIX}{lead_days}"


@dataclass(frozen=True)
class Recipient:
    platform: str
    user_id: str


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder to send. ``recipient`` is None when nobody can get it (``reason`` says why:
    ``no-holder`` or ``absent-no-deputy``); ``deputy`` is True when it goes to a stedfortreder."""

    task_key: str
    occurrence: date
    role: str
    unit: str | None
    recipient: Recipient | None
    kind: str
    lead_days: int
    send_at: datetime
    title_nb: str
    title_nn: str
    deputy: bool = False
    reason: str = ""
    #: The day it is due (``occurrence`` moved off a closed day); None means ``occurrence``.
    due: date | None = None

    @property
    def due_day(self) -> date:
        return self.due or self.occurrence

    def as_json(self) -> dict[str, object]:
        return {
            "task": self.task_key,
            "title": self.title_nb,
            "role": self.role,
            "unit": self.unit,
            "occurrence": self.occurrence.isoformat(),
            "due": self.due_day.isoformat(),
            "kind": self.kind,
            "lead_days": self.lead_days,
            "send_at": self.send_at.isoformat(),
            "recipient": (
                None
                if self.recipient is None
                else {"platform": self.recipient.platform, "user_id": self.recipient.user_id}
            ),
            "deputy": self.deputy,
            "reason": self.reason,
        }


def _recipients(
    task: Task, role: str, holders: Sequence[Holder]
) -> list[tuple[str | None, Recipient | None, bool, str]]:
    """(unit, recipient, via deputy, reason) for each holder of ``role`` the task concerns."""
    matching = [h for h in holders if h.role == role and (task.unit is None or h.unit == task.unit)]
    if not matching:
        return [(task.unit, None, False, "no-holder")]
    out: list[tuple[str | None, Recipient | None, bool, str]] = []
    for h in matching:
        if not h.absent:
            out.append((h.unit, Recipient(h.platform, h.user_id), False, ""))
        elif h.deputy_user_id:
            out.append((h.unit, Recipient(h.platform, h.deputy_user_id), True, ""))
        else:
            out.append((h.unit, None, False, "absent-no-deputy"))
    return out


def task_sends(
    task: Task, window: tuple[date, date], zone: ZoneInfo, closed_days: frozenset[date]
) -> list[tuple[date, date, int, datetime]]:
    """(occurrence, due date, lead days, send time) of a task's sends whose local send date is in
    ``window``; lead days count back from the due date (the occurrence moved off a closed day).

    When two lead times of one occurrence land on the same day after shifting, only the one
    closest to the due date is kept (nobody needs two reminders of one thing on one day)."""
    start, end = window
    horizon = end + timedelta(days=max(task.lead_days) + MAX_SHIFT_DAYS)
    out: list[tuple[date, date, int, datetime]] = []
    for occurrence in occurrences(task.recurrence, start, horizon):
        due = due_date(occurrence, closed_days)
        days_used: set[date] = set()
        for lead in sorted(task.lead_days):
            at = send_at(due, lead, task.send_hour_minute, zone, closed_days)
            if at.date() in days_used:
                continue
            days_used.add(at.date())
            if start <= at.date() <= end:
                out.append((occurrence, due, lead, at))
    return out


def planned_reminders(
    tasks: Sequence[Task],
    holders: Sequence[Holder],
    window: tuple[date, date],
    zone: ZoneInfo | str = "Europe/Oslo",
    closed_days: Iterable[date] = (),
) -> list[PlannedReminder]:
    """Every reminder whose local send date lies in ``window`` (both ends included), in send order.

    One reminder per task occurrence, lead time, owning role and holder; a task without a unit
    goes to the role's holders in every unit. Absent holders are replaced by their deputy. A person
    who holds two owning roles gets one send (listed under the first role)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    closed = frozenset(closed_days)
    out: list[PlannedReminder] = []
    seen: set[tuple[str, date, Recipient, str]] = set()
    for task in tasks:
        for occurrence, due, lead, at in task_sends(task, window, tz, closed):
            for role in task.roles:
                for unit, recipient, deputy, reason in _recipients(task, role, holders):
                    if recipient is not None:  # one person with two owning roles: one send
                        key = (task.key, occurrence, recipient, kind_of(lead))
                        if key in seen:
                            continue
                        seen.add(key)
                    out.append(
                        PlannedReminder(
                            task_key=task.key,
                            occurrence=occurrence,
                            role=role,
                            unit=unit,
                            recipient=recipient,
                            kind=kind_of(lead),
                            lead_days=lead,
                            send_at=at,
                            title_nb=task.title.nb,
                            title_nn=task.title.nn,
                            deputy=deputy,
                            reason=reason,
                            due=due,
                        )
                    )
    out.sort(key=lambda r: (r.send_at, r.task_key, r.occurrence, r.role, r.unit or ""))
    return out
