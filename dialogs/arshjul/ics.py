"""The årshjul as iCalendar (RFC 5545): all-day events for each task's due dates in 12 months.

Used by ``bts-bot arshjul export --ics`` and the per-tenant subscription URL of the server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dialogs.arshjul.model import Task
from dialogs.arshjul.recurrence import occurrences
from dialogs.content import Content


def _leap_ahead(start: date) -> bool:
    """True when the year from ``start`` contains a 29 February."""
    try:
        return (date(start.year + 1, start.month, start.day) - start).days == 366
    except ValueError:  # start is 29 February
        return True


def ics_calendar(
    tasks: list[Task], start: date, tenant_id: str, content: Content, lang: str = "nb"
) -> str:
    """iCalendar (RFC 5545) of the tasks' due dates in the 12 months from ``start``: all-day events,
    titled and described in ``lang``."""
    from icalendar import Calendar, Event

    end = (start + timedelta(days=366 if _leap_ahead(start) else 365)) - timedelta(days=1)
    cal = Calendar()
    cal.add("prodid", "-//BTS-bot//arshjul//NO")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", content.text(lang, "arshjul.ics.calendar_name", tenant=tenant_id))
    stamp = datetime.now(UTC).replace(microsecond=0)
    for task in tasks:
        for due in occurrences(task.recurrence, start, end):
            event = Event()
            event.add("uid", f"{task.key}-{due.isoformat()}@{tenant_id}.bts-bot")
            event.add("dtstamp", stamp)
            event.add("dtstart", due)
            event.add("dtend", due + timedelta(days=1))
            event.add("summary", task.title.get(lang))
            roles = content.text(lang, "arshjul.ics.responsible", roles=", ".join(task.roles))
            event.add("description", f"{task.text.get(lang)}\n\n{roles}")
            if task.link:
                event.add("url", task.link)
            cal.add_component(event)
    return cal.to_ical().decode("utf-8")
