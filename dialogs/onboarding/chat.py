"""The onboarding of new staff in chat: ``/bts ny ansatt`` (a leader, BTS-kontakt or admin registers
someone), "jeg er ny her" (someone starts it for themselves), the steps with their status and the
"Ferdig" / "Angre" buttons.

* ``/bts ny ansatt`` opens a form: the employee (a Slack mention ``<@U123>`` or a platform user
  id; the message model has no user picker), their name (optional; a staff member's name, so the
  text guard lets this one field past its name check, see ``allow_employee_names``) and the unit,
  chosen among those the registrant may register in. Anyone else is refused kindly and offered to
  start it for themselves.
* "jeg er ny her" / "eg er ny her": starts it at once in the unit the user asked the bot to remember
  (``storage.contacts.remembered_unit``), else asks for the unit first.
* A steps screen shows every step with who does it and its status; the acute exit comes first and
  "Ferdig" buttons for at most ``MARK_BUTTONS`` of the steps this user may mark (Teams shows six
  actions). The last step done completes the onboarding and tells the leader.

Starting twice gives the open onboarding back. No platform imports; every sentence is in
``content/<lang>/onboarding.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogs.arshjul.setup import parse_user_id
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.onboarding.flow import (
    finish_step,
    may_mark,
    may_view,
    registrable_units,
    responsible_for_unit,
    start,
    tenant_zone,
    undo_step,
)
from dialogs.onboarding.notices import (
    A_DONE,
    A_FORM,
    A_SAVE,
    A_SELF,
    A_SELF_SAVE,
    A_SHOW,
    A_UNDO,
    MARK_BUTTONS,
    TOPIC,
    OnbTexts,
    heading,
    is_employee,
    onb_texts,
    open_of,
    steps_message,
)
from dialogs.onboarding.planner import onboarding_id
from dialogs.pii import find_personal_data
from dialogs.router import Guard, Router, TurnContext
from storage import directory
from storage.contacts import remembered_unit
from storage.models import utcnow
from storage.onboarding import (
    OnboardingRecord,
    StepRecord,
    get_onboarding,
    list_onboardings,
    open_onboarding_of,
    person_key,
)
from storage.onboarding_models import EMPLOYEE

NAME_MAX = 200
UNIT_CHOICES = 100  # Slack's limit of options in one select
LISTED = 20  # onboardings listed on the overview before "… og N til"
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class OnboardingChat:
    """The handlers; ``clock`` is injectable so tests can stand on a given day."""

    def __init__(self, kommune_dir: Path | None, clock: Callable[[], datetime] = utcnow) -> None:
        self.kommune_dir = kommune_dir
        self.clock = clock

    def _texts(self, ctx: TurnContext) -> OnbTexts:
        return onb_texts(ctx.content, ctx.lang, ctx.turn.tenant_id, self.kommune_dir)

    async def _today(self, ctx: TurnContext) -> tuple[ZoneInfo, date]:
        zone, _closed = await tenant_zone(ctx.store, ctx.turn.tenant_id)
        return zone, self.clock().astimezone(zone).date()

    @staticmethod
    def _me(ctx: TurnContext) -> str:
        return person_key(ctx.turn.platform, ctx.turn.user_id)

    def _say(self, ctx: TurnContext, text: str, *buttons: Button, topic: str = "") -> Reply:
        """A short answer that never replaces the clicked message (it may be someone's reminder)."""
        texts = self._texts(ctx)
        message = Message(text=text, buttons=(texts.acute(), *buttons), topic=topic or TOPIC)
        return ctx.reply(message, replace=False)

    async def _markable(self, ctx: TurnContext, record: OnboardingRecord) -> list[StepRecord]:
        """The open steps this user may mark done, in order."""
        if not record.is_open:
            return []
        turn = ctx.turn
        own = is_employee(record, turn.platform, turn.user_id)
        if (self._me(ctx) == record.registered_by and not own) or await responsible_for_unit(
            ctx.store, turn.tenant_id, record.unit, turn.platform, turn.user_id
        ):
            return record.open_steps
        return open_of(record, EMPLOYEE) if own else []

    async def _screen(
        self,
        ctx: TurnContext,
        record: OnboardingRecord,
        intro: list[str],
        *extra: Button,
        replace_clicked: bool | None = None,
    ) -> Reply:
        """The steps screen of ``record`` as this user sees it."""
        texts = self._texts(ctx)
        zone, today = await self._today(ctx)
        own = is_employee(record, ctx.turn.platform, ctx.turn.user_id)
        message = steps_message(
            texts, record, zone, today,
            heading=heading(texts, record, own), intro=intro,
            markable=await self._markable(ctx, record), extra=extra,
        )  # fmt: skip
        return ctx.reply(message, replace=replace_clicked)

    # "/bts ny ansatt" --------------------------------------------------------------------------

    async def register_form(self, ctx: TurnContext) -> Reply:
        """The registration form, for a leader, BTS-kontakt or admin; a kind no for others."""
        turn = ctx.turn
        units = await registrable_units(ctx.store, turn.tenant_id, turn.platform, turn.user_id)
        if not units:
            return await self._refuse_registrar(ctx)
        return self._form(ctx, units)

    async def _refuse_registrar(self, ctx: TurnContext) -> Reply:
        texts = self._texts(ctx)
        turn = ctx.turn
        if await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id):
            return self._say(ctx, texts("refuse.no_units"), topic=f"{TOPIC}:no-units")
        self_button = Button(texts("labels.self"), A_SELF, style="primary")
        return self._say(ctx, texts("refuse.not_allowed"), self_button, topic=f"{TOPIC}:refused")

    def _form(
        self, ctx: TurnContext, units: list[str], notice: str = "", user: str = "", unit: str = ""
    ) -> Reply:
        texts = self._texts(ctx)
        values = tuple((k, v) for k, v in (("user", user), ("unit", unit)) if v)
        text = "\n\n".join(p for p in (notice, texts("form.text")) if p)
        form = registration_form(texts, units, values)
        message = Message(text=text, buttons=(texts.acute(),), form=form, topic=f"{TOPIC}:form")
        return ctx.reply(message)

    async def save(self, ctx: TurnContext) -> Reply:
        """Register the employee from the form (the permission is checked again here)."""
        turn = ctx.turn
        units = await registrable_units(ctx.store, turn.tenant_id, turn.platform, turn.user_id)
        if not units:
            return await self._refuse_registrar(ctx)
        texts = self._texts(ctx)
        values = {k: " ".join(str(v).split()) for k, v in turn.form_values.items()}
        raw_user, unit = values.get("user", ""), values.get("unit", "")

        def again(key: str, **details: str) -> Reply:
            notice = "⚠️ " + texts(key, **details)
            return self._form(ctx, units, notice, raw_user, unit if unit in units else "")

        if unit not in units:
            return again("errors.bad_unit", unit=unit, units=texts.dates.join(units))
        user = parse_user_id(raw_user, turn.platform)
        if user is None:
            return again("errors.bad_user")
        name, problem = _checked_name(values.get("name", ""))
        if problem:
            return again(problem)
        record, created = await start(
            ctx.store, turn.tenant_id, turn.platform, user, display_name=name, unit=unit,
            registered_by=self._me(ctx), now=self.clock(), kommune_dir=self.kommune_dir,
        )  # fmt: skip
        if created:
            intro = texts("confirm.registered", name=texts.name(record), unit=record.unit)
        else:
            zone, today = await self._today(ctx)
            day = record.registered_at.astimezone(zone).date()
            intro = texts("confirm.already", name=texts.name(record), date=texts.date(day, today))
        return await self._screen(ctx, record, [intro], Button(texts("labels.register"), A_FORM))

    # "jeg er ny her" ---------------------------------------------------------------------------

    async def self_start(self, ctx: TurnContext) -> Reply:
        """Start the user's own onboarding: in the remembered unit, else after asking for it."""
        turn, texts = ctx.turn, self._texts(ctx)
        record = await open_onboarding_of(ctx.store, turn.tenant_id, turn.platform, turn.user_id)
        if record is not None:
            return await self._screen(ctx, record, [texts("confirm.own_already")])
        units = await directory.list_units(ctx.store, turn.tenant_id)
        if not units:
            return self._say(ctx, texts("refuse.no_units"), topic=f"{TOPIC}:no-units")
        unit = await remembered_unit(ctx.store, turn.tenant_id, turn.user_id)
        if unit in units:
            assert unit is not None
            return await self._start_own(ctx, unit, await self._directory_name(ctx))
        return self._self_form(ctx, units)

    async def _directory_name(self, ctx: TurnContext) -> str:
        """The user's display name when they hold a role (a staff member's name), else ""."""
        for h in await directory.list_holders(ctx.store, ctx.turn.tenant_id):
            if (h.platform, h.user_id) == (ctx.turn.platform, ctx.turn.user_id) and h.display_name:
                return h.display_name
        return ""

    def _self_form(self, ctx: TurnContext, units: list[str], notice: str = "") -> Reply:
        texts = self._texts(ctx)
        text = "\n\n".join(p for p in (notice, texts("self_form.text")) if p)
        form = self_form(texts, units)
        message = Message(text=text, buttons=(texts.acute(),), form=form, topic=f"{TOPIC}:self")
        return ctx.reply(message)

    async def self_save(self, ctx: TurnContext) -> Reply:
        """Start the user's own onboarding in the unit they chose."""
        turn, texts = ctx.turn, self._texts(ctx)
        units = await directory.list_units(ctx.store, turn.tenant_id)
        if not units:
            return self._say(ctx, texts("refuse.no_units"), topic=f"{TOPIC}:no-units")
        values = {k: " ".join(str(v).split()) for k, v in turn.form_values.items()}
        unit = values.get("unit", "")
        if unit not in units:
            notice = "⚠️ " + texts("errors.bad_unit", unit=unit, units=texts.dates.join(units))
            return self._self_form(ctx, units, notice)
        name, problem = _checked_name(values.get("name", ""))
        if problem:
            return self._self_form(ctx, units, "⚠️ " + texts(problem))
        return await self._start_own(ctx, unit, name or await self._directory_name(ctx))

    async def _start_own(self, ctx: TurnContext, unit: str, name: str) -> Reply:
        turn, texts = ctx.turn, self._texts(ctx)
        record, created = await start(
            ctx.store, turn.tenant_id, turn.platform, turn.user_id, display_name=name, unit=unit,
            registered_by=self._me(ctx), now=self.clock(), kommune_dir=self.kommune_dir,
        )  # fmt: skip
        key = "confirm.started" if created else "confirm.own_already"
        return await self._screen(ctx, record, [texts(key, unit=record.unit)])

    # the steps ---------------------------------------------------------------------------------

    async def overview(self, ctx: TurnContext) -> Reply:
        """The user's own onboarding; for leaders, BTS-kontakter and admins the open ones of their
        units; for anyone else how to start one."""
        turn, texts = ctx.turn, self._texts(ctx)
        own = await open_onboarding_of(ctx.store, turn.tenant_id, turn.platform, turn.user_id)
        if own is not None:
            return await self._screen(ctx, own, [], replace_clicked=False)
        units = await registrable_units(ctx.store, turn.tenant_id, turn.platform, turn.user_id)
        if not units:
            self_button = Button(texts("labels.self"), A_SELF, style="primary")
            return self._say(ctx, texts("overview.none_own"), self_button, topic=f"{TOPIC}:none")
        _zone, today = await self._today(ctx)
        records = [r for r in await list_onboardings(ctx.store, turn.tenant_id) if r.unit in units]
        parts = [texts("overview.heading")]
        if not records:
            parts.append(texts("overview.empty"))
        else:
            parts.append(texts("overview.intro"))
            lines = []
            for r in records[:LISTED]:
                due = min((s.due for s in r.open_steps), default=None)
                lines.append(
                    texts(
                        "overview.item",
                        name=texts.name(r),
                        unit=r.unit,
                        done=len(r.steps) - len(r.open_steps),
                        total=len(r.steps),
                        next=texts("overview.next", date=texts.date(due, today)) if due else "",
                    )
                )
            if len(records) > LISTED:
                lines.append(texts("overview.more", count=len(records) - LISTED))
            parts.append("\n".join(lines))
        shows = [
            Button(texts("labels.show_person", name=_short(texts.name(r))), A_SHOW, str(r.id))
            for r in records[:MARK_BUTTONS]
        ]
        buttons = (texts.acute(), *shows, Button(texts("labels.register"), A_FORM, style="primary"))
        message = Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:overview")
        return ctx.reply(message, replace=False)

    async def _record(self, ctx: TurnContext, value: str) -> OnboardingRecord | Reply:
        """The onboarding a button names if this user may see it; else a kind refusal."""
        texts = self._texts(ctx)
        number = onboarding_id(value)
        turn = ctx.turn
        record = await get_onboarding(ctx.store, turn.tenant_id, number) if number else None
        if record is None:
            return self._say(ctx, texts("refuse.gone"), topic=f"{TOPIC}:refused")
        if not await may_view(ctx.store, record, turn.platform, turn.user_id):
            return self._say(ctx, texts("refuse.not_yours"), topic=f"{TOPIC}:refused")
        return record

    async def show(self, ctx: TurnContext) -> Reply:
        """One onboarding's steps ("Vis opplæringen")."""
        record = await self._record(ctx, ctx.turn.value.strip())
        if isinstance(record, Reply):
            return record
        return await self._screen(ctx, record, [], replace_clicked=False)

    async def _step(self, ctx: TurnContext) -> tuple[OnboardingRecord, StepRecord] | Reply:
        """The onboarding and step a "Ferdig"/"Angre" button names, if this user may mark it."""
        number, _sep, key = ctx.turn.value.strip().partition(":")
        record = await self._record(ctx, number)
        if isinstance(record, Reply):
            return record
        step = record.step(key) if _KEY.match(key) else None
        texts = self._texts(ctx)
        if step is None:
            return self._say(ctx, texts("refuse.gone"), topic=f"{TOPIC}:refused")
        turn = ctx.turn
        if not await may_mark(ctx.store, record, step, turn.platform, turn.user_id):
            text = texts(
                f"refuse.not_allowed_step.{step.owner}",
                unit=record.unit,
                title=texts.title(step.key),
            )
            return self._say(ctx, text, texts.show_button(record), topic=f"{TOPIC}:refused")
        return record, step

    async def done(self, ctx: TurnContext) -> Reply:
        """Mark a step done; with the last one the onboarding is complete and the leader told."""
        found = await self._step(ctx)
        if isinstance(found, Reply):
            return found
        record, step = found
        texts = self._texts(ctx)
        title = texts.title(step.key)
        outcome = await finish_step(
            ctx.store, ctx.turn.tenant_id, record.id, step.key, self._me(ctx), self.clock()
        )
        record = outcome.record or record
        intro: list[str] = []
        if outcome.result == "done":
            intro.append(texts("confirm.done", title=title))
        elif outcome.result == "already":
            zone, today = await self._today(ctx)
            done = record.step(step.key)
            at = done.done_at if done is not None and done.done_at else self.clock()
            day = texts.date(at.astimezone(zone).date(), today)
            intro.append(texts("confirm.step_already", title=title, date=day))
        else:
            intro.append(texts("confirm.closed"))
        if outcome.completed:
            intro.append(texts("confirm.completed"))
        extra = []
        if record.is_open and outcome.result in ("done", "already"):
            extra.append(Button(texts("labels.undo"), A_UNDO, f"{record.id}:{step.key}"))
        return await self._screen(ctx, record, intro, *extra)

    async def undo(self, ctx: TurnContext) -> Reply:
        """Open a done step again ("Angre"), while the onboarding is not complete."""
        found = await self._step(ctx)
        if isinstance(found, Reply):
            return found
        record, step = found
        texts = self._texts(ctx)
        outcome = await undo_step(ctx.store, ctx.turn.tenant_id, record.id, step.key)
        record = outcome.record or record
        if outcome.result in ("reopened", "open"):
            _zone, today = await self._today(ctx)
            reopened = texts(
                "confirm.reopened", title=texts.title(step.key), date=texts.date(step.due, today)
            )
            return await self._screen(ctx, record, [reopened])
        return await self._screen(ctx, record, [texts("confirm.closed")])


def registration_form(
    texts: OnbTexts, units: Sequence[str], values: tuple[tuple[str, str], ...] = ()
) -> Form:
    """The form of "/bts ny ansatt": the employee, their name and the unit."""
    return Form(
        action=A_SAVE,
        title=texts("form.title"),
        submit_label=texts("form.submit"),
        fields=(
            FormField(
                "user",
                texts("form.user"),
                "text",
                placeholder=texts("form.user_placeholder"),
                max_length=NAME_MAX,
            ),
            FormField("name", texts("form.name"), "text", required=False, max_length=NAME_MAX),
            FormField(
                "unit",
                texts("form.unit"),
                "choice",
                options=tuple(Option(u, u) for u in units[:UNIT_CHOICES]),
            ),
        ),
        values=values,
    )


def self_form(texts: OnbTexts, units: Sequence[str]) -> Form:
    """The form of "jeg er ny her" when the unit is not known: the unit and, optionally, a name."""
    return Form(
        action=A_SELF_SAVE,
        title=texts("self_form.title"),
        submit_label=texts("self_form.submit"),
        fields=(
            FormField(
                "unit",
                texts("self_form.unit"),
                "choice",
                options=tuple(Option(u, u) for u in units[:UNIT_CHOICES]),
            ),
            FormField("name", texts("self_form.name"), "text", required=False, max_length=NAME_MAX),
        ),
    )


def _checked_name(raw: str) -> tuple[str, str]:
    """(the name, "") or ("", the content key of what is wrong with it)."""
    if len(raw) > NAME_MAX:
        return "", "errors.name_too_long"
    if any(kind != "name" for kind in find_personal_data(raw)):
        return "", "errors.bad_name"
    return raw, ""


def _short(name: str, limit: int = 30) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def allow_employee_names(guard: Guard) -> Guard:
    """``guard`` with the name field of the two onboarding forms let past (the handlers check it
    themselves: a staff member's name is what the field is for, but phone numbers, e-mail
    addresses and fødselsnumre are refused there too)."""

    async def guarded(ctx: TurnContext) -> Reply | None:
        turn = ctx.turn
        if (
            turn.kind == "form"
            and turn.action in (A_SAVE, A_SELF_SAVE)
            and "name" in turn.form_values
        ):
            rest = {k: v for k, v in turn.form_values.items() if k != "name"}
            return await guard(replace(ctx, turn=replace(turn, form_values=rest)))
        return await guard(ctx)

    return guarded


def register(router: Router, chat: OnboardingChat) -> None:
    """Add the onboarding commands, buttons and forms (the text guard is ``allow_employee_names``'s,
    composed in ``dialogs.app``)."""
    router.add_commands("onboarding.commands", chat.register_form)
    router.add_commands("onboarding.self_commands", chat.self_start)
    router.add_commands("onboarding.status_commands", chat.overview)
    router.add_action(A_FORM, chat.register_form)
    router.add_action(A_SAVE, chat.save)
    router.add_action(A_SELF, chat.self_start)
    router.add_action(A_SELF_SAVE, chat.self_save)
    router.add_action(A_SHOW, chat.show)
    router.add_action(A_DONE, chat.done)
    router.add_action(A_UNDO, chat.undo)
