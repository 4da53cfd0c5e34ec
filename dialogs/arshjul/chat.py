"""The årshjul in chat: the buttons on reminders, "/bts årshjul", and the admins' chat commands.

* "Ferdig", "Utsett 1 uke", "Ikke relevant" (and "Angre") on a reminder: the button carries the
  outbox row id; the row must be a reminder sent to the clicking user in their tenant, else the click
  is refused kindly. Progress is recorded per (task, occurrence, unit); "Utsett 1 uke" plans one
  ``postponed`` outbox row a week later at the task's send time, moved back to the previous working
  day. The clicked message is updated in place with a confirmation and an "Angre" button.
* "årshjul" / "/bts årshjul" / "mitt årshjul": what is next for me (the tasks of the roles I hold, the
  next 60 days, with their status) and for my unit; someone without a role is told so and sees the
  tenant's next items. Questions *about* the årshjul still go to the FAQ (only exact phrases land here).
* "/bts rolle" (a form to add, change or remove a role holder) and "/bts digest her" (the weekly
  status digest goes to this conversation) for admins; anyone else is told who the admins are.

The role form's display-name field is the one place a person's name is expected: ``register`` wraps
the router's PII guard so that field skips the *name* check only (phone numbers, e-mail addresses and
fødselsnumre are still refused there, and every other field gets the full guard). It is a staff
member's name in the directory, never a child's. Nothing about a child is stored; no platform imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from dialogs.arshjul.model import Task
from dialogs.arshjul.notices import (
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
from dialogs.arshjul.recurrence import Holder, occurrences, send_at
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.pii import find_personal_data
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
    set_digest_target,
    set_progress,
)
from storage.records import COORDINATOR_ROLE

A_ROLE_SAVE = "arshjul:role_save"
TOPIC = "arshjul"
OVERVIEW_DAYS = 60
OVERVIEW_LATE_DAYS = 30  # open tasks whose due date passed this recently still show, as late
SECTION_LIMIT = 10
TENANT_LIMIT = 8
HOLDERS_LISTED = 30
UNIT_CHOICES = 99  # + "whole kommune" stays within Slack's 100 options; others via "new unit"
POSTPONE_DAYS = 7
NAME_MAX = 200
MAX_ID_DIGITS = 9  # stays inside a 32-bit INTEGER column
WHOLE_KOMMUNE_VALUE = "-"
_MENTION = re.compile(r"^<@([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[A-Za-z0-9][\w:.@/+=-]{0,199}$")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_user_id(raw: str, platform: str) -> str | None:
    """A platform user id from what an admin typed: ``<@U123>``, ``<@U123|kari>``, ``@U123`` or
    ``U123`` (Slack), or a Teams/other id; None when it does not look like one."""
    text = raw.strip()
    match = _MENTION.match(text)
    if match:
        text = match.group(1)
    text = text.removeprefix("@")
    if platform == "slack":
        return text.upper() if _SLACK_USER_ID.match(text.upper()) else None
    return text if _USER_ID.match(text) else None


class ArshjulChat:
    """The handlers; ``clock`` is injectable so tests can stand on a given day."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock

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
        buttons: tuple[Button, ...] = ()
        if await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id):
            buttons = (Button(texts("labels.roles"), A_ROLE_FORM),)
        message = Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:oversikt")
        # Also from a button under a channel digest: never replace that message.
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
        row = progress.get(task_key, occurrence, unit)
        state = occurrence_state(row, occurrence, today)
        if occurrence < today and state != LATE:
            return None
        return texts(
            "overview.item",
            date=texts.long_date(occurrence, today),
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
                items.append(
                    (
                        occurrence,
                        texts(
                            "overview.tenant_item",
                            date=texts.long_date(occurrence, today),
                            title=task.title.get(texts.lang),
                            roles=roles,
                        ),
                    )
                )
        if not items:
            return texts("overview.tenant_empty", days=OVERVIEW_DAYS)
        return texts("overview.tenant") + "\n" + self._section(texts, items, TENANT_LIMIT)

    # admin commands ----------------------------------------------------------------------------

    async def _admin_refusal(self, ctx: TurnContext, view: TenantView) -> Reply | None:
        """None for an admin (named, or holding BTS-koordinator); otherwise the polite no."""
        turn = ctx.turn
        if await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id):
            return None
        texts = self.texts(ctx)
        names = [
            h.display_name or h.user_id for h in view.holders if h.role == COORDINATOR_ROLE
        ] + [view.person(p, u) for p, u in await directory.list_admins(ctx.store, turn.tenant_id)]
        names = list(dict.fromkeys(names))
        who = texts("admin.admins", names=texts.join(names)) if names else texts("admin.no_admins")
        text = f"{texts('admin.not_admin')}\n{who}"
        return ctx.reply(Message(text=text, topic=f"{TOPIC}:ikke-admin"), replace=False)

    async def role_form(self, ctx: TurnContext) -> Reply:
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        refused = await self._admin_refusal(ctx, view)
        if refused is not None:
            return refused
        return await self._role_form(ctx, view)

    async def _role_form(self, ctx: TurnContext, view: TenantView, notice: str = "") -> Reply:
        texts = self.texts(ctx)
        units = await directory.list_units(ctx.store, ctx.turn.tenant_id)
        roles = sorted(view.role_names, key=lambda key: view.role_name(key, ctx.lang).lower())
        form = Form(
            action=A_ROLE_SAVE,
            title=texts("admin.role_form_title"),
            submit_label=texts("admin.role_form_submit"),
            fields=(
                FormField(
                    "op",
                    texts("admin.field_op"),
                    "choice",
                    options=(
                        Option(texts("admin.op_put"), "put"),
                        Option(texts("admin.op_remove"), "remove"),
                    ),
                ),
                FormField(
                    "role",
                    texts("admin.field_role"),
                    "choice",
                    options=tuple(Option(view.role_name(r, ctx.lang), r) for r in roles),
                ),
                FormField(
                    "unit",
                    texts("admin.field_unit"),
                    "choice",
                    options=(
                        Option(texts("whole_kommune"), WHOLE_KOMMUNE_VALUE),
                        *(Option(u, u) for u in units[:UNIT_CHOICES]),
                    ),
                ),
                FormField(
                    "new_unit",
                    texts("admin.field_new_unit"),
                    "text",
                    required=False,
                    max_length=NAME_MAX,
                ),
                FormField(
                    "user",
                    texts("admin.field_user"),
                    "text",
                    placeholder=texts("admin.user_placeholder"),
                    max_length=NAME_MAX,
                ),
                FormField(
                    "name", texts("admin.field_name"), "text", required=False, max_length=NAME_MAX
                ),
                FormField(
                    "deputy",
                    texts("admin.field_deputy"),
                    "text",
                    required=False,
                    max_length=NAME_MAX,
                ),
                FormField("absent", texts("admin.field_absent"), "yesno", required=False),
            ),
        )
        parts = [
            p for p in (notice, texts("admin.role_form_text"), self._holders(texts, view)) if p
        ]
        message = Message(text="\n\n".join(parts), form=form, topic=f"{TOPIC}:roller")
        return ctx.reply(message)

    def _holders(self, texts: Texts, view: TenantView) -> str:
        if not view.holders:
            return texts("admin.no_holders")
        lines = []
        for h in sorted(view.holders, key=lambda h: (h.role, h.unit or "", h.display_name)):
            extra = " " + texts("admin.holder_absent") if h.absent else ""
            if h.deputy_user_id:
                deputy = view.person(h.platform, h.deputy_user_id)
                extra += ", " + texts("admin.holder_deputy", name=deputy)
            lines.append(
                texts(
                    "admin.holder_line",
                    role=view.role_name(h.role, texts.lang),
                    unit=texts.unit(h.unit),
                    name=h.display_name or h.user_id,
                    extra=extra,
                )
            )
        shown = lines[:HOLDERS_LISTED]
        if len(lines) > HOLDERS_LISTED:
            shown.append(texts("overview.more", count=len(lines) - HOLDERS_LISTED))
        return texts("admin.holders") + "\n" + "\n".join(shown)

    async def role_save(self, ctx: TurnContext) -> Reply:
        """Add, change or remove one role holder from the form (admins only, checked again here)."""
        turn = ctx.turn
        view = await load_tenant(ctx.store, turn.tenant_id)
        refused = await self._admin_refusal(ctx, view)
        if refused is not None:
            return refused
        texts = self.texts(ctx)
        values = {k: " ".join(str(v).split()) for k, v in turn.form_values.items()}

        async def again(key: str, **details: str) -> Reply:
            return await self._role_form(ctx, view, "⚠️ " + texts(key, **details))

        role = values.get("role", "")
        if role not in view.role_names:
            return await again("admin.bad_role")
        unit: str | None = values.get("new_unit") or values.get("unit") or ""
        units = await directory.list_units(ctx.store, turn.tenant_id)
        if unit == WHOLE_KOMMUNE_VALUE:
            unit = None
        elif not unit or len(unit) > NAME_MAX or (not values.get("new_unit") and unit not in units):
            return await again("admin.bad_unit")
        user = parse_user_id(values.get("user", ""), turn.platform)
        if user is None:
            return await again("admin.bad_user")
        role_name, unit_text = view.role_name(role, ctx.lang), texts.unit(unit)
        if values.get("op") == "remove":
            removed = await directory.remove_holder(
                ctx.store, turn.tenant_id, role, unit, turn.platform, user
            )
            if not removed:
                return await again("admin.not_found", role=role_name, unit=unit_text)
            text = texts(
                "admin.removed",
                name=view.person(turn.platform, user),
                role=role_name,
                unit=unit_text,
            )
            return await self._saved(ctx, text)
        name = values.get("name", "")
        if len(name) > NAME_MAX:
            return await again("admin.name_too_long")
        if any(kind != "name" for kind in find_personal_data(name)):
            return await again("admin.bad_name")
        deputy: str | None = None
        if values.get("deputy"):
            deputy = parse_user_id(values["deputy"], turn.platform)
            if deputy is None:
                return await again("admin.bad_deputy")
        holder = Holder(
            role=role,
            unit=unit,
            platform=turn.platform,
            user_id=user,
            display_name=name,
            deputy_user_id=deputy,
            absent=values.get("absent") == "yes",
        )
        added = await directory.put_holder(ctx.store, turn.tenant_id, holder)
        text = texts(
            "admin.added" if added else "admin.changed",
            name=name or user,
            role=role_name,
            unit=unit_text,
        )
        return await self._saved(ctx, text)

    async def _saved(self, ctx: TurnContext, text: str) -> Reply:
        texts = self.texts(ctx)
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        buttons = (
            Button(texts("labels.roles"), A_ROLE_FORM, style="primary"),
            Button(texts("labels.overview"), A_OVERVIEW),
        )
        message = Message(
            text=f"{text}\n\n{self._holders(texts, view)}",
            buttons=buttons,
            topic=f"{TOPIC}:roller-lagret",
        )
        return ctx.reply(message)

    async def digest_here(self, ctx: TurnContext) -> Reply:
        """Send the weekly status digest to the conversation this was typed in."""
        turn = ctx.turn
        view = await load_tenant(ctx.store, turn.tenant_id)
        refused = await self._admin_refusal(ctx, view)
        if refused is not None:
            return refused
        await set_digest_target(ctx.store, turn.tenant_id, turn.platform, turn.channel_id)
        texts = self.texts(ctx)
        return ctx.reply(Message(text=texts("admin.digest_set"), topic=f"{TOPIC}:digest"))


def _live_send_at(planned: list[OutboxItem]) -> datetime | None:
    """When the newest postponement not yet sent (or given up) goes out, if there is one."""
    live = [p for p in planned if p.status not in FINAL_STATUSES]
    return live[-1].send_at if live else None


def register(router: Router, clock: Callable[[], datetime] = utcnow) -> ArshjulChat:
    """Add the årshjul buttons, commands and admin form; call after the FAQ (whose PII guard the
    role form's name field is let past, for the name check only)."""
    chat = ArshjulChat(clock)
    router.add_action(A_DONE, chat.done)
    router.add_action(A_POSTPONE, chat.postpone)
    router.add_action(A_NOT_RELEVANT, chat.not_relevant)
    router.add_action(A_UNDO, chat.undo)
    router.add_action(A_OVERVIEW, chat.overview)
    router.add_action(A_ROLE_FORM, chat.role_form)
    router.add_action(A_ROLE_SAVE, chat.role_save)
    router.add_commands("arshjul.commands", chat.overview)
    router.add_commands("arshjul.role_commands", chat.role_form)
    router.add_commands("arshjul.digest_commands", chat.digest_here)
    inner = router.text_guard

    async def guard(ctx: TurnContext) -> Reply | None:
        if inner is None:
            return None
        turn = ctx.turn
        if turn.kind == "form" and turn.action == A_ROLE_SAVE and "name" in turn.form_values:
            # A staff member's name is what this field is for; the handler still refuses phone
            # numbers, e-mail addresses and fødselsnumre in it.
            rest = {k: v for k, v in turn.form_values.items() if k != "name"}
            return await inner(replace(ctx, turn=replace(turn, form_values=rest)))
        return await inner(ctx)

    router.text_guard = guard
    return chat
