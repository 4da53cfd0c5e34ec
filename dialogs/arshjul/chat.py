"""The årshjul in chat: the buttons on reminders and "/bts årshjul" (what is next for me).

* "Ferdig", "Utsett 1 uke", "Ikke relevant" (and "Angre") on a reminder: the button carries the
  outbox row id; the row must be a reminder sent to the clicking user in their tenant, else the click
  is refused kindly. Progress is recorded per (task, occurrence, unit); "Utsett 1 uke" plans one
  ``postponed`` outbox row a week later at the task's send time, moved back to the previous working
  day. The clicked message is updated in place with a confirmation and an "Angre" button.
* "årshjul" / "/bts årshjul" / "mitt årshjul": what is next for me (the tasks of the roles I hold, the
  next 60 days, with their status) and for my unit; someone without a role is told so and sees the
  tenant's next items. Questions *about* the årshjul still go to the FAQ (only exact phrases land here).

The admins' commands ("/bts rolle", "/bts digest her") are ``dialogs.arshjul.setup``. Nothing about a
child is stored; no platform imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from dialogs.arshjul.model import Task
from dialogs.arshjul.notices import (
    A_CALENDAR,
    A_DONE,
    A_NOT_RELEVANT,
    A_OVERVIEW,
    A_POSTPONE,
    A_ROLE_FORM,
    A_UNDO,
    LATE,
    TenantView,
    Texts,
    absent_holder_name,
    load_tenant,
    occurrence_state,
    reminder_message,
    status_text,
    task_units,
)
from dialogs.arshjul.recurrence import Holder, due_date, occurrences, send_at
from dialogs.messages import Button, Message, Reply
from dialogs.router import Router, TurnContext
from storage import directory
from storage.models import utcnow
from storage.outbox import NewItem, Notice, enqueue, get_item
from storage.outbox_models import (
    DONE,
    FINAL_STATUSES,
    NOT_RELEVANT,
    OPEN,
    REMINDER_KINDS,
    OutboxItem,
    row_kind,
)
from storage.progress import (
    POSTPONED_KIND,
    ProgressIndex,
    cancel_pending,
    list_progress,
    postponed_key,
    postponements,
    set_progress,
)

TOPIC = "arshjul"
OVERVIEW_DAYS = 60
OVERVIEW_LATE_DAYS = 30  # open tasks whose due date passed this recently still show, as late
SECTION_LIMIT = 10
TENANT_LIMIT = 8
POSTPONE_DAYS = 7
MAX_ID_DIGITS = 9  # stays inside a 32-bit INTEGER column


class ArshjulChat:
    """The handlers; ``clock`` is injectable so tests can stand on a given day."""

    def __init__(
        self,
        clock: Callable[[], datetime] = utcnow,
        calendar_link: Callable[[str], str] | None = None,
    ) -> None:
        """``calendar_link`` makes the public address of a calendar feed token (None where the
        bot has no address people can reach, e.g. ``bts-bot ask``)."""
        self.clock = clock
        self.calendar_link = calendar_link

    # helpers -----------------------------------------------------------------------------------

    @staticmethod
    def texts(ctx: TurnContext) -> Texts:
        return Texts(ctx.content, ctx.lang)

    @staticmethod
    def _who(ctx: TurnContext) -> str:
        return f"{ctx.turn.platform}:{ctx.turn.user_id}"

    def _refuse(self, ctx: TurnContext, key: str) -> Reply:
        texts = self.texts(ctx)
        message = Message(
            text=texts(f"refuse.{key}"),
            buttons=(Button(texts("labels.overview"), A_OVERVIEW),),
            topic=f"{TOPIC}:refused",
        )
        # Never overwrite the clicked message: it may be someone else's reminder.
        return ctx.reply(message, replace=False)

    async def _own_reminder(self, ctx: TurnContext, item_id: str) -> OutboxItem | Reply:
        """The reminder row behind a button, if it was sent to this user; else a kind refusal."""
        # Button values come back from the client: only a plausible row id reaches the database.
        valid = item_id.isdigit() and len(item_id) <= MAX_ID_DIGITS
        row = await get_item(ctx.store, int(item_id)) if valid else None
        turn = ctx.turn
        if (
            row is None
            or row.tenant_id != turn.tenant_id
            or row_kind(row.kind) not in REMINDER_KINDS
        ):
            return self._refuse(ctx, "not_reminder")
        if (row.platform, row.target_kind, row.target_id) != (turn.platform, "user", turn.user_id):
            return self._refuse(ctx, "not_yours")
        return row

    async def _own_task(
        self, ctx: TurnContext, item_id: str
    ) -> tuple[OutboxItem, TenantView, Task] | Reply:
        """``_own_reminder`` plus the tenant and the task it reminds of (a refusal when the task
        was removed from the årshjul since)."""
        row = await self._own_reminder(ctx, item_id)
        if isinstance(row, Reply):
            return row
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        task = view.find_task(row.payload.get("task"))
        if task is None:
            return self._refuse(ctx, "gone")
        return row, view, task

    async def _set_progress(
        self, ctx: TurnContext, row: OutboxItem, task: Task, **changes: Any
    ) -> None:
        """Record a click on ``row`` for its occurrence and unit, signed by the clicking user."""
        await set_progress(
            ctx.store,
            ctx.turn.tenant_id,
            task.key,
            self._occurrence(row),
            row.payload.get("unit"),
            updated_by=self._who(ctx),
            **changes,
        )

    @staticmethod
    def _occurrence(row: OutboxItem) -> date:
        return date.fromisoformat(str(row.payload["occurrence"]))

    # reminder buttons --------------------------------------------------------------------------

    async def done(self, ctx: TurnContext) -> Reply:
        return await self._close(ctx, DONE, "done")

    async def not_relevant(self, ctx: TurnContext) -> Reply:
        return await self._close(ctx, NOT_RELEVANT, "not_relevant")

    async def _close(self, ctx: TurnContext, status: str, text_key: str) -> Reply:
        found = await self._own_task(ctx, ctx.turn.value)
        if isinstance(found, Reply):
            return found
        row, view, task = found
        occurrence, unit = self._occurrence(row), row.payload.get("unit")
        await self._set_progress(ctx, row, task, status=status)
        texts = self.texts(ctx)
        today = view.today(self.clock())
        text = texts(
            f"confirm.{text_key}",
            title=task.title.get(ctx.lang),
            date=texts.long_date(occurrence, today),
            unit=texts.unit(unit),
        )
        return self._confirmation(ctx, text, f"{row.id}:{status}")

    def _confirmation(self, ctx: TurnContext, text: str, undo_value: str) -> Reply:
        texts = self.texts(ctx)
        buttons = (
            Button(texts("labels.undo"), A_UNDO, undo_value),
            Button(texts("labels.overview"), A_OVERVIEW),
        )
        return ctx.reply(Message(text=text, buttons=buttons, topic=f"{TOPIC}:confirmed"))

    async def postpone(self, ctx: TurnContext) -> Reply:
        """Plan the reminder again one week from today (once, however often the button is hit)."""
        found = await self._own_task(ctx, ctx.turn.value)
        if isinstance(found, Reply):
            return found
        row, view, task = found
        at = await self._plan_postponed(ctx, view, row, task.send_hour_minute)
        await self._set_progress(ctx, row, task, postponed_until=at.astimezone(view.zone).date())
        texts = self.texts(ctx)
        local = at.astimezone(view.zone)
        today = view.today(self.clock())
        text = texts(
            "confirm.postponed",
            title=task.title.get(ctx.lang),
            date=texts.long_date(local.date(), today),
            time=texts.clock_time(local),
        )
        return self._confirmation(ctx, text, f"{row.id}:{POSTPONED_KIND}")

    async def _plan_postponed(
        self, ctx: TurnContext, view: TenantView, row: OutboxItem, send_time: tuple[int, int]
    ) -> datetime:
        """The send time of this row's live postponement, planning it when there is none."""
        planned = await postponements(ctx.store, row.id)
        if (live := _live_send_at(planned)) is not None:
            return live
        now = self.clock()
        day = view.today(now) + timedelta(days=POSTPONE_DAYS)
        at = send_at(day, 0, send_time, view.zone, view.closed)
        payload: dict[str, Any] = {
            key: row.payload.get(key)
            for key in ("task", "occurrence", "lead_days", "role", "unit", "deputy")
        }
        payload["postponed_from_item"] = row.id
        item = NewItem(
            tenant_id=row.tenant_id,
            dedupe_key=postponed_key(row.id, len(planned) + 1),
            kind=POSTPONED_KIND,
            platform=row.platform,
            target_kind="user",
            target_id=row.target_id,
            send_at=at,
            payload=payload,
        )
        if await enqueue(ctx.store, [item]) == 0:
            # Another process planned the same postponement a moment ago: use its time.
            live = _live_send_at(await postponements(ctx.store, row.id))
            if live is not None:
                return live
        return at

    async def undo(self, ctx: TurnContext) -> Reply:
        """Take back "Ferdig", "Ikke relevant" or "Utsett 1 uke" and show the reminder again."""
        item_id, _, what = ctx.turn.value.partition(":")
        found = await self._own_task(ctx, item_id)
        if isinstance(found, Reply):
            return found
        row, view, task = found
        if what == POSTPONED_KIND:
            for planned in await postponements(ctx.store, row.id):
                await cancel_pending(ctx.store, planned.id)  # only rows not yet picked up
            await self._set_progress(ctx, row, task, postponed_until=None)
        elif what in (DONE, NOT_RELEVANT):
            await self._set_progress(ctx, row, task, status=OPEN)
        texts = self.texts(ctx)
        deputy_for = await absent_holder_name(ctx.store, view, row.id, row.payload)
        today = view.today(self.clock())
        reminder = reminder_message(texts, view, Notice.of(row, texts.lang), today, deputy_for)
        message = replace(
            reminder, text=f"{texts('confirm.undone')}\n\n{reminder.text}", topic=f"{TOPIC}:undone"
        )
        return ctx.reply(message)

    # "/bts årshjul" ----------------------------------------------------------------------------

    async def overview(self, ctx: TurnContext) -> Reply:
        """What is next for me and my unit; the tenant's next items when I hold no role."""
        turn = ctx.turn
        texts = self.texts(ctx)
        view = await load_tenant(ctx.store, turn.tenant_id)
        today = view.today(self.clock())
        start = today - timedelta(days=OVERVIEW_LATE_DAYS)
        end = today + timedelta(days=OVERVIEW_DAYS)
        progress = ProgressIndex(await list_progress(ctx.store, turn.tenant_id, start, end))
        mine = [
            h
            for h in view.holders
            if h.platform == turn.platform
            and (
                (h.user_id == turn.user_id and not h.absent)
                or (h.absent and h.deputy_user_id == turn.user_id)
            )
        ]
        parts = [texts("overview.heading", days=OVERVIEW_DAYS)]
        if not mine:
            parts.append(texts("overview.no_role"))
            parts.append(self._tenant_next(texts, view, today, end))
        else:
            parts += self._mine(texts, view, progress, mine, today, (start, end))
        buttons: tuple[Button, ...] = (Button(texts("labels.calendar"), A_CALENDAR),)
        if await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id):
            buttons = (Button(texts("labels.roles"), A_ROLE_FORM), *buttons)
        message = Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:oversikt")
        # Also from a button under a channel digest: never replace that message.
        return ctx.reply(message, replace=False)

    async def calendar(self, ctx: TurnContext) -> Reply:
        """The tenant's årshjul as a calendar subscription link, with how to add it. The feed
        holds tasks, dates and role names only, meant for a shared calendar in the kommune."""
        texts = self.texts(ctx)
        if self.calendar_link is None:
            text = texts("calendar.no_link")
        else:
            token = await directory.feed_token(ctx.store, ctx.turn.tenant_id)
            text = texts("calendar.link", url=self.calendar_link(token))
        message = Message(
            text=text,
            buttons=(Button(texts("labels.overview"), A_OVERVIEW),),
            topic=f"{TOPIC}:kalender",
        )
        return ctx.reply(message, replace=False)

    def _mine(
        self,
        texts: Texts,
        view: TenantView,
        progress: ProgressIndex,
        mine: list[Holder],
        today: date,
        window: tuple[date, date],
    ) -> list[str]:
        many_units = len({h.unit for h in mine}) > 1
        seen: set[tuple[str, date, str | None]] = set()
        lines: list[tuple[date, str]] = []
        for task in view.tasks:
            for holder in mine:
                if holder.role not in task.roles or task.unit not in (None, holder.unit):
                    continue
                for occurrence in occurrences(task.recurrence, *window):
                    key = (task.key, occurrence, holder.unit)
                    if key in seen:
                        continue
                    seen.add(key)
                    suffix = texts.unit(holder.unit) if many_units else ""
                    line = self._line(texts, view, progress, key, today, suffix)
                    if line is not None:
                        lines.append((occurrence, line))
        roles = [
            view.role_name(h.role, texts.lang) + texts.unit(h.unit)
            for h in sorted(mine, key=lambda h: (h.role, h.unit or ""))
        ]
        heading = texts("overview.mine", roles=texts.join(list(dict.fromkeys(roles))))
        if lines:
            parts = [heading + "\n" + self._section(texts, lines)]
        else:
            parts = [heading, texts("overview.mine_empty", days=OVERVIEW_DAYS)]
        for unit in sorted({h.unit for h in mine if h.unit}):
            unit_lines: list[tuple[date, str]] = []
            for task in view.tasks:
                if unit not in task_units(task, view.holders):
                    continue
                for occurrence in occurrences(task.recurrence, *window):
                    if (task.key, occurrence, unit) in seen:
                        continue
                    line = self._line(texts, view, progress, (task.key, occurrence, unit), today)
                    if line is not None:
                        unit_lines.append((occurrence, line))
            if unit_lines:
                parts.append(
                    texts("overview.unit", unit=unit) + "\n" + self._section(texts, unit_lines)
                )
        return parts

    @staticmethod
    def _line(
        texts: Texts,
        view: TenantView,
        progress: ProgressIndex,
        occurrence_of: tuple[str, date, str | None],
        today: date,
        title_suffix: str = "",
    ) -> str | None:
        """One overview line, or None for a past occurrence that needs nothing more."""
        task_key, occurrence, unit = occurrence_of
        row = progress.get(task_key, occurrence, unit)  # progress is kept per occurrence
        due = due_date(occurrence, view.closed)  # shown on the day it moved to, as the reminders
        state = occurrence_state(row, due, today)
        if due < today and state != LATE:
            return None
        return texts(
            "overview.item",
            date=texts.long_date(due, today),
            title=view.task(task_key).title.get(texts.lang) + title_suffix,
            status=status_text(texts, state, row),
        )

    @staticmethod
    def _section(texts: Texts, lines: list[tuple[date, str]], limit: int = SECTION_LIMIT) -> str:
        """Lines in date order, the first ``limit`` of them and "… and N more"."""
        ordered = [line for _, line in sorted(lines, key=lambda item: item[0])]
        shown = ordered[:limit]
        if len(ordered) > limit:
            shown.append(texts("overview.more", count=len(ordered) - limit))
        return "\n".join(shown)

    def _tenant_next(self, texts: Texts, view: TenantView, today: date, end: date) -> str:
        items: list[tuple[date, str]] = []
        for task in view.tasks:
            roles = texts.join([view.role_name(r, texts.lang) for r in task.roles])
            for occurrence in occurrences(task.recurrence, today, end):
                due = due_date(occurrence, view.closed)
                items.append(
                    (
                        due,
                        texts(
                            "overview.tenant_item",
                            date=texts.long_date(due, today),
                            title=task.title.get(texts.lang),
                            roles=roles,
                        ),
                    )
                )
        if not items:
            return texts("overview.tenant_empty", days=OVERVIEW_DAYS)
        return texts("overview.tenant") + "\n" + self._section(texts, items, TENANT_LIMIT)

    # admin commands ----------------------------------------------------------------------------


def _live_send_at(planned: list[OutboxItem]) -> datetime | None:
    """When the newest postponement not yet sent (or given up) goes out, if there is one."""
    live = [p for p in planned if p.status not in FINAL_STATUSES]
    return live[-1].send_at if live else None


def register(router: Router, chat: ArshjulChat) -> None:
    """Add the reminder buttons and "/bts årshjul"."""
    router.add_action(A_DONE, chat.done)
    router.add_action(A_POSTPONE, chat.postpone)
    router.add_action(A_NOT_RELEVANT, chat.not_relevant)
    router.add_action(A_UNDO, chat.undo)
    router.add_action(A_OVERVIEW, chat.overview)
    router.add_action(A_CALENDAR, chat.calendar)
    router.add_commands("arshjul.commands", chat.overview)
