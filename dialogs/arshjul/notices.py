"""Renders outbox rows as chat messages: årshjul reminders, escalations, personal follow-ups, problem
reports to the coordinator and the weekly status digest.

``render_notice`` is what the dispatcher calls for every row it sends; it reads the row's kind and
payload (task keys, dates, role and unit names — never message text) and the tenant's årshjul, role
holders and task progress at render time, so a message reflects the state when it goes out. Every
sentence comes from ``content/<lang>/arshjul.yaml``. A payload naming a task that is no longer in
the årshjul raises ``LookupError`` (the dispatcher skips such rows). The date and status helpers here
are shared with ``dialogs.arshjul.chat``. No platform imports, nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.arshjul.model import Task
from dialogs.arshjul.recurrence import Holder, occurrences
from dialogs.arshjul.tasks import ensure_tenant_setup, list_tasks
from dialogs.content import Content
from dialogs.messages import Button, Link, Message, Reply
from storage import directory
from storage.models import utcnow
from storage.outbox import Notice, get_item
from storage.outbox_models import DONE, NOT_RELEVANT, OPEN, REMINDER_KINDS, OutboxKind
from storage.progress import Progress, ProgressIndex, list_progress
from storage.records import BUILTIN_ROLES
from storage.repositories import Store

# Action ids of the buttons on notices (handled in dialogs.arshjul.chat).
A_DONE = "arshjul:done"
A_POSTPONE = "arshjul:postpone"
A_NOT_RELEVANT = "arshjul:not-relevant"
A_UNDO = "arshjul:undo"
A_OVERVIEW = "arshjul:overview"
A_CALENDAR = "arshjul:calendar"
A_ROLE_FORM = "arshjul:role_form"
A_GUIDE = "guide:start"

POSTPONED = "postponed"
LATE = "late"
DIGEST_WEEKS_BACK = 4
DIGEST_WEEKS_AHEAD = 4
DIGEST_LATE_LISTED = 5


class UnknownNotice(LookupError):
    """A payload this module cannot render (a task gone from the årshjul, a bad date)."""


@dataclass(frozen=True)
class Texts:
    """The ``arshjul.*`` texts of one language."""

    content: Content
    lang: str

    def __call__(self, key: str, **values: object) -> str:
        return self.content.text(
            self.lang, f"arshjul.{key}", **{k: str(v) for k, v in values.items()}
        )

    def words(self, key: str) -> list[str]:
        return self.content.words(self.lang, f"arshjul.{key}")

    def long_date(self, day: date, today: date) -> str:
        """ "fredag 15. desember" (with the year when it is not this year)."""
        values = {
            "weekday": self.words("weekdays")[day.weekday()],
            "day": day.day,
            "month": self.words("months")[day.month - 1],
            "year": day.year,
        }
        return self("date" if day.year == today.year else "date_year", **values)

    def short_date(self, day: date) -> str:
        return self("short_date", day=day.day, month=self.words("months")[day.month - 1])

    def clock_time(self, moment: datetime) -> str:
        return self("time", hour=f"{moment.hour:02d}", minute=f"{moment.minute:02d}")

    def days_left(self, due: date, today: date) -> str:
        days = (due - today).days
        if days == 0:
            return self("days.today")
        if days == 1:
            return self("days.tomorrow")
        if days > 1:
            return self("days.ahead", days=days)
        if days == -1:
            return self("days.yesterday")
        return self("days.overdue", days=-days)

    def unit(self, unit: str | None) -> str:
        """ " i Skolen" after a role or title, or nothing for tenant-wide."""
        return " " + self("unit_suffix", unit=unit) if unit else ""

    def unit_name(self, unit: str | None) -> str:
        return unit or self("whole_kommune")

    def join(self, items: Sequence[str]) -> str:
        """ "A, B og C"."""
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self('list_and')} {items[-1]}"


@dataclass(frozen=True)
class TenantView:
    """What notices and the årshjul chat read about a tenant, loaded once per render."""

    tenant_id: str
    zone: ZoneInfo
    closed: frozenset[date]
    tasks: tuple[Task, ...]
    holders: tuple[Holder, ...]
    role_names: dict[str, tuple[str, str]]

    def task(self, key: str) -> Task:
        for task in self.tasks:
            if task.key == key:
                return task
        raise UnknownNotice(f"task {key!r} is not in the årshjul")

    def find_task(self, key: str | None) -> Task | None:
        return next((t for t in self.tasks if t.key == key), None)

    def role_name(self, role: str, lang: str) -> str:
        nb, nn = self.role_names.get(role) or BUILTIN_ROLES.get(role) or (role, role)
        return nn if lang == "nn" else nb

    def person(self, platform: str | None, user_id: str) -> str:
        """A staff member's display name from the directory, else their platform id."""
        for h in self.holders:
            same = h.user_id == user_id and (platform is None or h.platform == platform)
            if same and h.display_name:
                return h.display_name
        return user_id

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


async def load_tenant(
    store: Store, tenant_id: str, default_zone: str = "Europe/Oslo"
) -> TenantView:
    """The tenant's settings, årshjul, holders and role names; sets a new tenant up first."""
    settings = await directory.get_settings(store, tenant_id)
    if settings is None:
        platform = tenant_id.partition(":")[0] if ":" in tenant_id else "local"
        await ensure_tenant_setup(store, tenant_id, timezone=default_zone, platform=platform)
        settings = await directory.get_settings(store, tenant_id)
        assert settings is not None
    roles = {r.key: (r.name_nb, r.name_nn) for r in await directory.list_roles(store, tenant_id)}
    return TenantView(
        tenant_id=tenant_id,
        zone=ZoneInfo(settings.timezone),
        closed=frozenset(settings.closed_days),
        tasks=tuple(await list_tasks(store, tenant_id)),
        holders=tuple(await directory.list_holders(store, tenant_id)),
        role_names=roles,
    )


def task_units(task: Task, holders: Iterable[Holder]) -> list[str | None]:
    """The units an occurrence of ``task`` is tracked in: those of the holders of its roles (None =
    tenant-wide), or the task's own unit when nobody holds them."""
    units = {h.unit for h in holders if h.role in task.roles and task.unit in (None, h.unit)}
    if not units:
        units = {task.unit}
    return sorted(units, key=lambda u: (u is not None, u or ""))


def occurrence_state(progress: Progress | None, occurrence: date, today: date) -> str:
    """done | not-relevant | postponed | late | open, as of ``today``."""
    if progress is not None and progress.status in (DONE, NOT_RELEVANT):
        return progress.status
    if progress is not None and progress.postponed_until and progress.postponed_until >= today:
        return POSTPONED
    return LATE if occurrence < today else OPEN


def status_text(texts: Texts, state: str, progress: Progress | None) -> str:
    if state == POSTPONED and progress is not None and progress.postponed_until is not None:
        return texts("overview.status.postponed", date=texts.short_date(progress.postponed_until))
    return texts(f"overview.status.{state}")


# rendering -----------------------------------------------------------------------------------------


async def render_notice(
    store: Store,
    content: Content,
    notice: Notice,
    *,
    now: datetime | None = None,
    view: TenantView | None = None,
) -> Reply:
    """The message for one outbox row (``notice.late``: it goes out noticeably after its time).

    ``view``: the tenant as ``load_tenant`` gives it, when the caller keeps one for many rows."""
    texts = Texts(content, notice.lang if notice.lang in content.by_lang else "nb")
    view = view or await load_tenant(store, notice.tenant_id)
    moment = now or utcnow()
    kind, payload = notice.kind, notice.payload
    if kind in REMINDER_KINDS:
        message = await _reminder(store, texts, view, notice, moment)
    elif kind is OutboxKind.ESCALATION:
        message = _escalation(texts, view, payload, moment)
    elif kind is OutboxKind.FOLLOWUP:
        message = _followup(texts, payload)
    elif kind is OutboxKind.REPORT:
        message = _report(texts, view, payload, moment)
    else:  # OutboxKind.DIGEST
        message = await _digest(store, texts, view, payload, moment)
    return Reply(messages=(message,), lang=texts.lang, topic=message.topic)


def _occurrence(payload: Mapping[str, Any]) -> date:
    try:
        return date.fromisoformat(str(payload["occurrence"]))
    except (KeyError, ValueError) as exc:
        raise UnknownNotice("payload without a valid occurrence") from exc


def _due(payload: Mapping[str, Any]) -> date:
    """The day the occurrence is due (moved off a closed day); rows planned before the due date
    was carried in the payload fall back to the occurrence."""
    try:
        return date.fromisoformat(str(payload["due"]))
    except (KeyError, ValueError):
        return _occurrence(payload)


def reminder_message(
    texts: Texts, view: TenantView, notice: Notice, today: date, deputy_for: str | None = None
) -> Message:
    """A reminder (or postponed reminder) with its Ferdig / Utsett 1 uke / Ikke relevant buttons."""
    payload, late = notice.payload, notice.late
    task = view.task(str(payload.get("task")))
    due = _due(payload)
    unit = payload.get("unit")
    role = str(payload.get("role") or "")
    role_name = view.role_name(role, texts.lang) if role else ""
    heading = texts("reminder.heading", title=task.title.get(texts.lang))
    if late:
        heading += " " + texts("reminder.late")
    parts = [
        heading,
        texts(
            "reminder.due",
            date=texts.long_date(due, today),
            left=texts.days_left(due, today),
        ),
    ]
    if payload.get("deputy"):
        if deputy_for:
            parts.append(
                texts("reminder.deputy", name=deputy_for, role=role_name, unit=texts.unit(unit))
            )
        else:
            parts.append(texts("reminder.deputy_unknown", role=role_name, unit=texts.unit(unit)))
    elif role_name:
        parts.append(texts("reminder.role", role=role_name, unit=texts.unit(unit)))
    if notice.kind is OutboxKind.POSTPONED:
        parts.append(texts("reminder.postponed"))
    parts.append(task.text.get(texts.lang))
    parts.append(texts(f"reminder.done_{task.done}"))
    if late:
        parts.append(texts("reminder.late_note"))
    value = str(notice.item_id)
    buttons = (
        Button(texts("labels.done"), A_DONE, value, "primary"),
        Button(texts("labels.postpone"), A_POSTPONE, value),
        Button(texts("labels.not_relevant"), A_NOT_RELEVANT, value),
    )
    links: list[Link] = []
    if task.done in ("survey", "report"):
        target = task.done_link or task.link
        if target:
            links.append(Link(texts(f"reminder.done_link_{task.done}"), target))
    if task.link and all(link.url != task.link for link in links):
        links.append(Link(texts("reminder.link"), task.link))
    return Message(
        text="\n\n".join(parts),
        buttons=buttons,
        links=tuple(links),
        topic="arshjul:reminder",
    )


async def _reminder(
    store: Store, texts: Texts, view: TenantView, notice: Notice, now: datetime
) -> Message:
    deputy_for = None
    if notice.payload.get("deputy"):
        deputy_for = await absent_holder_name(store, view, notice.item_id, notice.payload)
    return reminder_message(texts, view, notice, view.today(now), deputy_for)


async def absent_holder_name(
    store: Store, view: TenantView, item_id: int, payload: Mapping[str, Any]
) -> str | None:
    """Whom the deputy stands in for: the absent holder of the role in the unit whose deputy the
    row goes to (None when that is no longer so)."""
    row = await get_item(store, item_id)
    if row is None:
        return None
    for h in view.holders:
        if (
            h.absent
            and h.role == payload.get("role")
            and h.unit == payload.get("unit")
            and h.platform == row.platform
            and h.deputy_user_id == row.target_id
        ):
            return h.display_name or h.user_id
    return None


def _overview_button(texts: Texts) -> Button:
    return Button(texts("labels.overview"), A_OVERVIEW)


def _escalation(
    texts: Texts, view: TenantView, payload: Mapping[str, Any], now: datetime
) -> Message:
    task = view.task(str(payload.get("task")))
    due = _due(payload)
    today = view.today(now)
    unit = payload.get("unit")
    names = [str(n) for n in payload.get("holders") or () if n]
    parts = [
        texts("escalation.heading", title=task.title.get(texts.lang), unit=texts.unit(unit)),
        texts(
            "escalation.body",
            date=texts.long_date(due, today),
            days=int(payload.get("days_overdue") or (today - due).days),
        ),
        texts("escalation.holders", names=texts.join(names))
        if names
        else texts("escalation.no_holders"),
        texts("escalation.why"),
    ]
    return Message(
        text="\n\n".join(parts), buttons=(_overview_button(texts),), topic="arshjul:escalation"
    )


def _followup(texts: Texts, payload: Mapping[str, Any]) -> Message:
    label = str(payload.get("label") or "").strip()
    if not label:
        raise UnknownNotice("follow-up without a label")
    text = "\n\n".join([texts("followup.heading", label=label), texts("followup.body")])
    return Message(
        text=text,
        buttons=(Button(texts("labels.guide"), A_GUIDE, style="primary"),),
        topic="arshjul:followup",
    )


def _report(texts: Texts, view: TenantView, payload: Mapping[str, Any], now: datetime) -> Message:
    problem = str(payload.get("problem") or "")
    known = texts.content.get(texts.lang, "arshjul.report.problems")
    key = problem if isinstance(known, dict) and problem in known else "other"
    today = view.today(now)
    task_key = payload.get("task")
    task = view.find_task(task_key)
    title = task.title.get(texts.lang) if task else (str(task_key) if task_key else "")
    occurrence: date | None
    try:
        occurrence = date.fromisoformat(str(payload.get("occurrence")))
    except ValueError:
        occurrence = None
    if not title:
        what = texts("report.what_unknown")
    elif occurrence is None:
        what = texts("report.what_no_date", title=title)
    else:
        what = texts("report.what", title=title, date=texts.long_date(occurrence, today))
    role = payload.get("role")
    unit = payload.get("unit")
    if role:
        role_text = texts(
            "report.role", role=view.role_name(str(role), texts.lang), unit=texts.unit(unit)
        )
    elif unit:
        role_text = texts.unit_name(unit)
    else:
        role_text = texts("report.role_unknown")
    who = payload.get("who")
    who_text = view.person(None, str(who)) if who else texts("report.who_unknown")
    count = payload.get("count")
    values = {
        "what": what,
        "who": who_text,
        "role": role_text,
        "count": count if isinstance(count, int) else texts("report.count_unknown"),
    }
    parts = [
        texts("report.heading"),
        texts(f"report.problems.{key}.text", **values),
        texts("report.todo") + " " + texts(f"report.problems.{key}.todo", **values),
    ]
    return Message(
        text="\n\n".join(parts), buttons=(_overview_button(texts),), topic="arshjul:report"
    )


def _week_monday(label: str) -> date:
    try:
        year, week = label.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError as exc:
        raise UnknownNotice(f"bad digest week {label!r}") from exc


@dataclass
class UnitStatus:
    done: int = 0
    open: int = 0
    late: int = 0
    late_items: list[tuple[date, str]] = field(default_factory=list)


async def unit_status(
    store: Store, view: TenantView, start: date, end: date, today: date, lang: str
) -> dict[str | None, UnitStatus]:
    """Årshjul tasks due from ``start`` to ``end`` per unit (None: the whole kommune): done (or not
    relevant), open, late — with the late ones' dates and titles."""
    progress = ProgressIndex(await list_progress(store, view.tenant_id, start, end))
    by_unit: dict[str | None, UnitStatus] = {}
    for task in view.tasks:
        for occurrence in occurrences(task.recurrence, start, end):
            for unit in task_units(task, view.holders):
                state = occurrence_state(
                    progress.get(task.key, occurrence, unit), occurrence, today
                )
                counts = by_unit.setdefault(unit, UnitStatus())
                if state in (DONE, NOT_RELEVANT):
                    counts.done += 1
                elif state == LATE:
                    counts.late += 1
                    counts.late_items.append((occurrence, task.title.get(lang)))
                else:
                    counts.open += 1
    return by_unit


async def _digest(
    store: Store, texts: Texts, view: TenantView, payload: Mapping[str, Any], now: datetime
) -> Message:
    label = str(payload.get("week") or "")
    monday = _week_monday(label)
    today = view.today(now)
    start = monday - timedelta(weeks=DIGEST_WEEKS_BACK)
    end = monday + timedelta(weeks=DIGEST_WEEKS_AHEAD) - timedelta(days=1)
    by_unit = await unit_status(store, view, start, end, today, texts.lang)
    parts = [
        texts("digest.heading", week=label.partition("-W")[2].lstrip("0") or label),
        texts(
            "digest.intro",
            start=texts.short_date(start),
            end=texts.short_date(end),
            today=texts.long_date(today, today),
        ),
    ]
    if not by_unit:
        parts.append(texts("digest.empty"))
    else:
        lines: list[str] = []
        for unit in sorted(by_unit, key=lambda u: (u is not None, u or "")):
            counts = by_unit[unit]
            lines.append(
                texts(
                    "digest.unit_line",
                    unit=texts.unit_name(unit),
                    done=counts.done,
                    open=counts.open,
                    late=counts.late,
                )
            )
            if counts.late_items:
                listed = sorted(counts.late_items)[:DIGEST_LATE_LISTED]
                items = [f"{title} ({texts.short_date(day)})" for day, title in listed]
                if len(counts.late_items) > DIGEST_LATE_LISTED:
                    items.append("…")
                lines.append("  " + texts("digest.late_line", items=", ".join(items)))
        parts.append("\n".join(lines))
    parts.append(texts("digest.outro"))
    return Message(text="\n\n".join(parts), topic="arshjul:digest")
