"""The årshjul as iCalendar (RFC 5545): all-day events for each task's due dates in 12 months.

Used by ``bts-bot arshjul export --ics`` and the per-tenant subscription URL of the server. The
calendar is named after the kommune (``X-WR-CALNAME`` and RFC 7986 ``NAME``), roles are shown by
their names as people read them, and a due date on a closed day is shown on the working day before
(``dialogs.arshjul.recurrence.due_date``), the day the reminders count from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dialogs.arshjul.model import Task
from dialogs.arshjul.notices import load_tenant
from dialogs.arshjul.recurrence import due_date, holiday_key, occurrences
from dialogs.arshjul.tasks import get_arshjul
from dialogs.content import Content
from dialogs.guide.kommune import KommuneRegistry
from storage.repositories import Store

#: Where the server serves a tenant's calendar (``bot.http.calendar_feed``), under PUBLIC_URL.
FEED_PATH = "/arshjul/{token}.ics"


def feed_url(public_url: str, token: str) -> str:
    """The subscription address of the calendar with this secret ``token``."""
    return public_url.rstrip("/") + FEED_PATH.format(token=token)


def _leap_ahead(start: date) -> bool:
    """True when the year from ``start`` contains a 29 February."""
    try:
        return (date(start.year + 1, start.month, start.day) - start).days == 366
    except ValueError:  # start is 29 February
        return True


def ics_calendar(
    tasks: list[Task],
    start: date,
    tenant_id: str,
    content: Content,
    lang: str = "nb",
    *,
    name: str,
    role_names: Mapping[str, str] | None = None,
    closed_days: frozenset[date] = frozenset(),
) -> str:
    """iCalendar (RFC 5545) of the tasks' due dates in the 12 months from ``start``: all-day events,
    titled and described in ``lang``; ``name`` is the calendar's name, ``role_names`` the readable
    name of each role key."""
    from icalendar import Calendar, Event

    names = role_names or {}
    end = (start + timedelta(days=366 if _leap_ahead(start) else 365)) - timedelta(days=1)
    cal = Calendar()
    cal.add("prodid", "-//BTS-bot//arshjul//NO")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("name", name)  # RFC 7986; X-WR-CALNAME for the clients that predate it
    stamp = datetime.now(UTC).replace(microsecond=0)
    for task in tasks:
        for occurrence in occurrences(task.recurrence, start, end):
            due = due_date(occurrence, closed_days)
            event = Event()
            # The UID names the occurrence, not the moved day: a subscribed calendar moves the
            # event when a closed day is added instead of showing it twice.
            event.add("uid", f"{task.key}-{occurrence.isoformat()}@{tenant_id}.bts-bot")
            event.add("dtstamp", stamp)
            event.add("dtstart", due)
            event.add("dtend", due + timedelta(days=1))
            event.add("summary", task.title.get(lang))
            readable = ", ".join(names.get(r, r) for r in task.roles)
            parts = [
                task.text.get(lang),
                content.text(lang, "arshjul.ics.responsible", roles=readable),
            ]
            if due != occurrence:
                parts.append(
                    content.text(
                        lang,
                        "arshjul.ics.moved",
                        date=f"{occurrence.day}.{occurrence.month}.{occurrence.year}",
                        reason=closed_day_name(occurrence, content, lang),
                    )
                )
            event.add("description", "\n\n".join(parts))
            if task.link:
                event.add("url", task.link)
            cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def closed_day_name(day: date, content: Content, lang: str) -> str:
    """Why ``day`` is closed, as people say it: "skjærtorsdag", "lørdag", "en stengt dag"."""
    key = holiday_key(day)
    if key is not None:
        return content.text(lang, f"arshjul.holidays.{key}")
    if day.weekday() >= 5:
        return content.words(lang, "arshjul.weekdays")[day.weekday()]
    return content.text(lang, "arshjul.holidays.closed")


async def tenant_calendar(
    store: Store,
    tenant_id: str,
    content: Content,
    lang: str,
    start: date | None,
    kommune_dir: Path,
    default_zone: str = "Europe/Oslo",
) -> str:
    """The tenant's årshjul as iCalendar from ``start`` (today in its zone when None), named after
    the kommune in its kommune file, else after its årshjul."""
    view = await load_tenant(store, tenant_id, default_zone)
    kommune = KommuneRegistry(kommune_dir).get(tenant_id).kommune.strip()
    if kommune:
        name = content.text(lang, "arshjul.ics.calendar_name", kommune=kommune)
    else:
        name = (await get_arshjul(store, tenant_id)).name.get(lang)
    roles = {r: view.role_name(r, lang) for task in view.tasks for r in task.roles}
    return ics_calendar(
        list(view.tasks),
        start or datetime.now(view.zone).date(),
        tenant_id,
        content,
        lang,
        name=name,
        role_names=roles,
        closed_days=view.closed,
    )
