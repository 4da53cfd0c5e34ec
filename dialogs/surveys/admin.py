"""``/bts undersøkelse`` for admins: the tenant's surveys, a form to launch one, close and results.

Admins are the named ones and the holders of BTS-koordinator (``directory.is_admin``). Anyone else
who types it gets the FAQ answer about surveys (with "Mine undersøkelser"), as the word alone
asks. Launching uses the same code as the CLI and the årshjul (``launch``), so the minimum group
size, the audience checks and the outbox rows are the same; the summary of a run launched here is
posted to the conversation it was launched from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.router import Handler, Router, TurnContext
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.chart import ChartLinks
from dialogs.surveys.dialog import TOPIC, acute_button, tenant_zone
from dialogs.surveys.model import SurveyTemplate
from dialogs.surveys.notices import summary_message
from storage import directory, surveys
from storage.surveys import LaunchRefused, Run

A_NEW = "survey:new"
A_LAUNCH = "survey:launch"
A_CLOSE = "survey:close"
A_RESULTS = "survey:results"
ALL = "all"
#: The audience "everyone in this channel" (a role key never looks like this).
CHANNEL = ":channel"
#: Runs that get their own buttons (Teams shows six actions: acute, new and two per run).
RUNS_WITH_BUTTONS = 2
DEFAULT_DAYS = 14
CLOSE_TIME = dt.time(16, 0)


class SurveyAdmin:
    def __init__(
        self,
        templates: Callable[[], Mapping[str, SurveyTemplate]],
        clock: Callable[[], dt.datetime],
        min_group: int,
        not_admin: Handler,
        charts: ChartLinks | None = None,
        members: survey_launch.ChannelMembers | None = None,
    ) -> None:
        self.templates = templates
        self.clock = clock
        self.min_group = min_group
        self.not_admin = not_admin
        self.charts = charts
        self.members = members

    def _t(self, ctx: TurnContext, key: str, **values: str) -> str:
        return ctx.content.text(ctx.lang, f"surveys.admin.{key}", **values)

    def _acute(self, ctx: TurnContext) -> Button:
        return acute_button(ctx.content, ctx.lang)

    async def _admin(self, ctx: TurnContext) -> bool:
        turn = ctx.turn
        # The roles to send to come with the tenant's setup (idempotent: the first use sets it up).
        await ensure_tenant_setup(ctx.store, turn.tenant_id, platform=turn.platform)
        return await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id)

    async def _zone(self, ctx: TurnContext) -> ZoneInfo:
        return await tenant_zone(ctx.store, ctx.turn.tenant_id)

    def _title(self, run: Run, lang: str) -> str:
        return SurveyTemplate.model_validate(run.template).title.get(lang)

    async def overview(self, ctx: TurnContext, notice: str = "") -> Reply:
        if not await self._admin(ctx):
            return await self.not_admin(ctx)
        zone = await self._zone(ctx)
        runs = await surveys.runs(ctx.store, ctx.turn.tenant_id)
        open_runs = [r for r in runs if r.is_open]
        lines = [f"**{notice}**"] if notice else []
        lines.append(self._t(ctx, "heading"))
        if not runs:
            lines.append(self._t(ctx, "none"))
        for run in runs[:10]:
            closes = run.closes_at.astimezone(zone)
            answered = (
                await surveys.answer_count(ctx.store, run.id) if run.is_open else run.answered
            )
            key = "open_line" if run.is_open else "closed_line"
            values = {
                "title": self._title(run, ctx.lang),
                "answered": str(answered),
                "recipients": str(run.recipients),
                "date": f"{closes:%d.%m.%Y}",
            }
            lines.append(self._t(ctx, key, **values))
        buttons = [self._acute(ctx), Button(self._t(ctx, "new"), A_NEW, style="primary")]
        for run in open_runs[:RUNS_WITH_BUTTONS]:
            title = self._title(run, ctx.lang)
            buttons.append(Button(self._t(ctx, "close", title=title), A_CLOSE, run.id))
            buttons.append(Button(self._t(ctx, "results", title=title), A_RESULTS, run.id))
        return ctx.reply(Message(text="\n".join(lines), buttons=tuple(buttons), topic=TOPIC))

    async def new(self, ctx: TurnContext, notice: str = "") -> Reply:
        if not await self._admin(ctx):
            return await self.not_admin(ctx)
        templates = self.templates()
        roles = await directory.list_roles(ctx.store, ctx.turn.tenant_id)
        audience = [Option(self._t(ctx, "everyone"), ALL)] + [
            Option(r.name_nn if ctx.lang == "nn" else r.name_nb, r.key) for r in roles
        ]
        if self._in_channel(ctx):
            audience.insert(0, Option(self._t(ctx, "this_channel"), CHANNEL))
        form = Form(
            action=A_LAUNCH,
            title=self._t(ctx, "form_title"),
            submit_label=self._t(ctx, "send"),
            fields=(
                FormField(
                    "template", self._t(ctx, "field_template"), "choice",
                    options=tuple(Option(t.title.get(ctx.lang), t.key) for t in templates.values()),
                ),
                FormField("audience", self._t(ctx, "field_audience"), "choice", options=tuple(audience[:100])),
                FormField(
                    "days", self._t(ctx, "field_days"), "number", minimum=1, maximum=120,
                    placeholder=str(DEFAULT_DAYS),
                ),
            ),
        )  # fmt: skip
        text = (
            f"**{notice}**\n\n{self._t(ctx, 'form_text')}" if notice else self._t(ctx, "form_text")
        )
        message = Message(text=text, buttons=(self._acute(ctx),), form=form, topic=TOPIC)
        return ctx.reply(message, topic=TOPIC)

    def _in_channel(self, ctx: TurnContext) -> bool:
        """Sent from a channel whose members can be read: "everyone here" is offered."""
        turn = ctx.turn
        platform = turn.platform in ("slack", "teams")
        return self.members is not None and platform and not turn.is_direct

    async def launch(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return await self.not_admin(ctx)
        values = ctx.turn.form_values
        template = self.templates().get(values.get("template", ""))
        if template is None:
            return await self.new(ctx, self._t(ctx, "pick_template"))
        raw_days = values.get("days", "").strip() or str(DEFAULT_DAYS)
        if not raw_days.isdigit() or not 1 <= int(raw_days) <= 120:
            return await self.new(ctx, self._t(ctx, "bad_days"))
        zone = await self._zone(ctx)
        now = self.clock()
        day = (now.astimezone(zone) + dt.timedelta(days=int(raw_days))).date()
        closes = dt.datetime.combine(day, CLOSE_TIME, tzinfo=zone)
        chosen = values.get("audience", ALL) or ALL
        if chosen == CHANNEL and self._in_channel(ctx):
            audience = survey_launch.Audience("channel", ctx.turn.channel_id)
        elif chosen == ALL:
            audience = survey_launch.Audience("all")
        else:
            audience = survey_launch.Audience("role", chosen)
        try:
            run, _ = await survey_launch.launch(
                ctx.store, tenant_id=ctx.turn.tenant_id, template=template, audience=audience,
                closes_at=closes, now=now, min_group=self.min_group,
                post_to=ctx.turn.channel_id if ctx.turn.platform in ("slack", "teams") else "",
                launched_by=f"{ctx.turn.platform}:{ctx.turn.user_id}", members=self.members,
            )  # fmt: skip
        except LaunchRefused as refused:
            key = "too_few" if refused.reason == "too_few" else "nobody"
            return await self.new(
                ctx, self._t(ctx, key, n=str(refused.recipients), min=str(refused.minimum))
            )
        except survey_launch.AudienceError:
            if audience.kind == "channel":
                return await self.new(ctx, self._t(ctx, "channel_unreadable"))
            return await self.new(ctx, self._t(ctx, "nobody", n="0", min=str(self.min_group)))
        sent = self._t(
            ctx, "launched", title=template.title.get(ctx.lang), n=str(run.recipients),
            date=f"{closes:%d.%m.%Y}",
        )  # fmt: skip
        return await self.overview(ctx, sent)

    async def _run(self, ctx: TurnContext) -> Run | None:
        return await surveys.get_run(ctx.store, ctx.turn.tenant_id, ctx.turn.value.strip())

    async def close(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return await self.not_admin(ctx)
        run = await self._run(ctx)
        if run is None:
            return await self.overview(ctx, self._t(ctx, "gone"))
        await survey_launch.close(ctx.store, run.tenant_id, run.id, self.clock())
        return await self.results(ctx)

    async def results(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return await self.not_admin(ctx)
        run = await self._run(ctx)
        if run is None:
            return await self.overview(ctx, self._t(ctx, "gone"))
        template = SurveyTemplate.model_validate(run.template)
        summary = await summary_message(
            ctx.store, ctx.content, ctx.lang, run, template, self.charts
        )
        back = Button(self._t(ctx, "back"), A_OVERVIEW)
        message = Message(
            text=summary.text,
            buttons=(self._acute(ctx), back),
            topic=TOPIC,
            image=summary.image,
        )
        return ctx.reply(message, topic=TOPIC)


A_OVERVIEW = "survey:admin"


def register(
    router: Router,
    templates: Callable[[], Mapping[str, SurveyTemplate]],
    clock: Callable[[], dt.datetime],
    min_group: int,
    not_admin: Handler,
    charts: ChartLinks | None = None,
    members: survey_launch.ChannelMembers | None = None,
) -> SurveyAdmin:
    admin = SurveyAdmin(templates, clock, min_group, not_admin, charts, members)
    router.add_commands("surveys.admin.commands", admin.overview)
    router.add_action(A_OVERVIEW, admin.overview)
    router.add_action(A_NEW, admin.new)
    router.add_action(A_LAUNCH, admin.launch)
    router.add_action(A_CLOSE, admin.close)
    router.add_action(A_RESULTS, admin.results)
    return admin
