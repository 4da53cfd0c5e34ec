"""Answering a survey in chat: "Svar nå" opens the form, its submit stores the answer.

Every screen says how anonymous the survey is before anything is answered and carries the acute
exit first. An answer is checked against the template the run was launched with (the same check on
every platform); a misfit shows the form again with what to fix, personal data in a free-text
answer stores nothing, and a second submit replaces the first. The run id travels with the button
and the form (``Form.value``), so two open surveys never mix.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from dialogs.arshjul.notices import Texts
from dialogs.content import Content
from dialogs.messages import Button, Message, Reply
from dialogs.pii import find_personal_data
from dialogs.router import Router, TurnContext
from dialogs.surveys.form import survey_form
from dialogs.surveys.model import AnswerError, SurveyTemplate
from storage import directory, surveys
from storage.repositories import Store
from storage.surveys import AnswerRefused, Run

A_OPEN = "survey:open"
A_ANSWER = "survey:answer"
A_MINE = "survey:mine"
#: At most this many open surveys are listed as buttons (Teams shows six actions of a card).
MINE_SHOWN = 4
A_ACUTE = "guide:acute"
TOPIC = "undersokelse"
DEFAULT_ZONE = "Europe/Oslo"


async def tenant_zone(store: Store, tenant_id: str) -> ZoneInfo:
    """The tenant's time zone (Europe/Oslo until the tenant is set up)."""
    config = await directory.get_settings(store, tenant_id)
    return ZoneInfo(config.timezone if config is not None else DEFAULT_ZONE)


def acute_button(content: Content, lang: str) -> Button:
    """The acute exit every survey screen starts with."""
    return Button(content.text(lang, "surveys.labels.acute"), A_ACUTE, style="danger")


class SurveyDialog:
    """The survey screens of one process; ``key`` keeps anonymous answers apart from people."""

    def __init__(self, key: bytes, clock: Callable[[], datetime]) -> None:
        self.key = key
        self.clock = clock

    async def _zone(self, ctx: TurnContext) -> ZoneInfo:
        return await tenant_zone(ctx.store, ctx.turn.tenant_id)

    def _say(self, ctx: TurnContext, key: str, **values: str) -> Message:
        return Message(
            text=ctx.content.text(ctx.lang, f"surveys.{key}", **values),
            buttons=(self._acute(ctx),),
            topic=TOPIC,
        )

    def _acute(self, ctx: TurnContext) -> Button:
        return acute_button(ctx.content, ctx.lang)

    async def _when(self, ctx: TurnContext, run: Run) -> dict[str, str]:
        local = run.closes_at.astimezone(await self._zone(ctx))
        texts = Texts(ctx.content, ctx.lang)
        today = self.clock().astimezone(local.tzinfo).date()
        return {"date": texts.long_date(local.date(), today), "time": texts.clock_time(local)}

    async def _run_for(self, ctx: TurnContext) -> tuple[Run | None, Reply | None]:
        """The run the button or form names, or the reply that says why it cannot be answered."""
        run_id = ctx.turn.value.strip()
        run = await surveys.get_run(ctx.store, ctx.turn.tenant_id, run_id) if run_id else None
        if run is None:
            return None, ctx.reply(self._say(ctx, "unknown"), replace=False)
        if not run.is_open or run.closes_at <= self.clock():
            return None, ctx.reply(self._say(ctx, "closed"))
        if await surveys.recipient(ctx.store, run.id, ctx.turn.user_id) is None:
            return None, ctx.reply(self._say(ctx, "not_recipient"), replace=False)
        return run, None

    async def form(
        self, ctx: TurnContext, run: Run, notice: str = "", errors: dict[str, str] | None = None
    ) -> Reply:
        template = SurveyTemplate.model_validate(run.template)
        when = await self._when(ctx, run)
        lines = [
            f"**{template.title.get(ctx.lang)}**",
            template.intro.get(ctx.lang),
            "_"
            + ctx.content.text(
                ctx.lang, f"surveys.anonymity.{run.anonymity}", min=str(run.min_group)
            )
            + "_",
            ctx.content.text(ctx.lang, "surveys.form.closes", **when),
        ]
        if await surveys.has_answered(ctx.store, self.key, run.id, ctx.turn.user_id):
            lines.append(ctx.content.text(ctx.lang, "surveys.form.again"))
        if notice:
            lines.insert(0, f"**{notice}**")
        # Shown again after a misfit, the answers that fitted stay filled in (the one that did
        # not is asked again, and a text with personal data is never shown back).
        kept = {
            k: v
            for k, v in ctx.turn.form_values.items()
            if errors and k not in errors and not _personal(v)
        }
        message = Message(
            text="\n\n".join(lines),
            buttons=(self._acute(ctx),),
            form=survey_form(template, ctx.content, ctx.lang, A_ANSWER, run.id, values=kept),
            topic=TOPIC,
        )
        return replace(ctx.reply(message, topic=TOPIC), field_errors=tuple((errors or {}).items()))

    async def open(self, ctx: TurnContext) -> Reply:
        run, refusal = await self._run_for(ctx)
        if run is None:
            assert refusal is not None
            return refusal
        return await self.form(ctx, run)

    async def answer(self, ctx: TurnContext) -> Reply:
        run, refusal = await self._run_for(ctx)
        if run is None:
            assert refusal is not None
            return refusal
        template = SurveyTemplate.model_validate(run.template)
        try:
            values = template.check(ctx.turn.form_values)
        except AnswerError as error:
            problem = self._error(ctx, template, error)
            return await self.form(ctx, run, problem, {error.question: problem})
        # The router's guard refused personal data before this; checked again because answers
        # are stored as given, and a guard wired differently must not let one through.
        personal = [k for k, v in values.items() if isinstance(v, str) and _personal(v)]
        if personal:
            problem = ctx.content.text(ctx.lang, "surveys.personal_data")
            return await self.form(ctx, run, problem, dict.fromkeys(personal, problem))
        now = self.clock()
        try:
            await surveys.submit(
                ctx.store,
                key=self.key,
                tenant_id=ctx.turn.tenant_id,
                run_id=run.id,
                platform_user_id=ctx.turn.user_id,
                values={k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
                day=now.astimezone(await self._zone(ctx)).date(),
                now=now,
            )
        except AnswerRefused as refused:
            return ctx.reply(self._say(ctx, refused.reason))
        # Not logged: a log line's time next to an answer's arrival is what anonymity must not keep.
        thanks = self._say(ctx, "thanks", **await self._when(ctx, run))
        change = Button(ctx.content.text(ctx.lang, "surveys.labels.change"), A_OPEN, run.id)
        return ctx.reply(replace(thanks, buttons=(*thanks.buttons, change)), topic=TOPIC)

    async def mine(self, ctx: TurnContext) -> Reply:
        """The open surveys this person was asked to answer, each a button (the web chat and
        terminal get no DMs; in Slack and Teams it finds a lost invitation)."""
        now = self.clock()
        runs = [
            r
            for r in await surveys.open_runs_for(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
            if r.closes_at > now
        ]
        if not runs:
            return ctx.reply(self._say(ctx, "mine.none"), topic=TOPIC)
        buttons = [self._acute(ctx)]
        for run in runs[:MINE_SHOWN]:
            title = SurveyTemplate.model_validate(run.template).title.get(ctx.lang)
            label = ctx.content.text(
                ctx.lang, "surveys.mine.item", title=title, **await self._when(ctx, run)
            )
            buttons.append(
                Button(label.split(" (")[0] if len(label) > 75 else label, A_OPEN, run.id)
            )
        text = ctx.content.text(ctx.lang, "surveys.mine.some")
        return ctx.reply(Message(text=text, buttons=tuple(buttons), topic=TOPIC), topic=TOPIC)

    def _error(self, ctx: TurnContext, template: SurveyTemplate, error: AnswerError) -> str:
        question = template.question(error.question)
        name = question.text.get(ctx.lang) if question else error.question
        low, high = question.bounds if question else (0, 0)
        limit = str(question.max_length if question and error.reason == "too_long" else high)
        return ctx.content.text(
            ctx.lang, f"surveys.errors.{error.reason}", question=name, min=str(low), max=limit
        )


def register(router: Router, key: bytes | None, clock: Callable[[], datetime]) -> SurveyDialog:
    """Handle "Svar nå" and the survey forms. Without ``key`` (a router built for one test or
    one-off command) a random one serves this process only."""
    dialog = SurveyDialog(key or secrets.token_bytes(32), clock)
    router.add_action(A_OPEN, dialog.open)
    router.add_action(A_ANSWER, dialog.answer)
    router.add_action(A_MINE, dialog.mine)
    router.add_commands("surveys.commands", dialog.mine)
    return dialog


def _personal(value: str) -> bool:
    return bool(find_personal_data(value))
