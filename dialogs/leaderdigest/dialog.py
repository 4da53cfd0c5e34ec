"""``/bts ledergruppe``: an admin sets the leader group's channel (where it is typed) and which
årshjul tasks are its meetings; anyone else sees when the next digest comes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from dialogs.arshjul.notices import Texts, load_tenant
from dialogs.arshjul.recurrence import occurrences
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.leaderdigest.digest import TOPIC_ID
from dialogs.leaderdigest.planner import send_time
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.router import Router, TurnContext
from dialogs.surveys.dialog import acute_button
from storage import directory, usage
from storage.usage import DigestTarget

A_CHOOSE = "leaders:choose"
A_SAVE = "leaders:save"
A_STOP = "leaders:stop"
#: Words in an årshjul task's key that make it a leader group meeting by default.
MEETING_WORDS = ("ledergruppe", "lederm", "leiargruppe")


class LeaderDigestDialog:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def _say(self, ctx: TurnContext, key: str, **values: object) -> str:
        return ctx.content.text(
            ctx.lang, f"leaders.setup.{key}", **{k: str(v) for k, v in values.items()}
        )

    def _reply(
        self, ctx: TurnContext, text: str, *buttons: Button, form: Form | None = None
    ) -> Reply:
        message = Message(
            text=text, buttons=(acute_button(ctx.content, ctx.lang), *buttons), form=form,
            topic=TOPIC_ID,
        )  # fmt: skip
        return ctx.reply(message, replace=False)

    async def _admin(self, ctx: TurnContext) -> bool:
        turn = ctx.turn
        await ensure_tenant_setup(ctx.store, turn.tenant_id, platform=turn.platform)
        return await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id)

    async def command(self, ctx: TurnContext) -> Reply:
        turn = ctx.turn
        target = await usage.get_leader_digest(ctx.store, turn.tenant_id)
        in_channel = turn.platform in ("slack", "teams") and not turn.is_direct
        admin = await self._admin(ctx)
        if admin and in_channel and (target is None or target.channel_id != turn.channel_id):
            view = await load_tenant(ctx.store, turn.tenant_id)
            tasks = (
                target.tasks
                if target is not None
                else tuple(t.key for t in view.tasks if any(w in t.key for w in MEETING_WORDS))
            )
            await usage.put_leader_digest(
                ctx.store, DigestTarget(turn.tenant_id, turn.platform, turn.channel_id, tasks)
            )
            return await self.status(ctx, self._say(ctx, "created"))
        if target is None:
            return self._reply(ctx, self._say(ctx, "in_channel" if admin else "not_set_up"))
        return await self.status(ctx)

    async def status(self, ctx: TurnContext, notice: str = "") -> Reply:
        target = await usage.get_leader_digest(ctx.store, ctx.turn.tenant_id)
        if target is None:
            return self._reply(ctx, self._say(ctx, "not_set_up"))
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        texts = Texts(ctx.content, ctx.lang)
        now = self.clock()
        today = now.astimezone(view.zone).date()
        lines = [f"**{notice}**"] if notice else []
        lines.append(self._say(ctx, "heading"))
        chosen = [t for t in view.tasks if t.key in target.tasks]
        if chosen:
            names = texts.join([t.title.get(ctx.lang) for t in chosen])
            lines.append(self._say(ctx, "status", tasks=names))
            upcoming = sorted(
                d for t in chosen for d in occurrences(t.recurrence, today, today + timedelta(days=100))
                if send_time(d, view.zone, view.closed) >= now
            )  # fmt: skip
            if upcoming:
                lines.append(self._say(ctx, "next", date=texts.long_date(upcoming[0], today)))
        else:
            lines.append(self._say(ctx, "no_tasks"))
        buttons = []
        if await self._admin(ctx):
            buttons.append(Button(self._say(ctx, "choose"), A_CHOOSE))
        return self._reply(ctx, "\n\n".join(lines), *buttons)

    async def choose(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return self._reply(ctx, self._say(ctx, "not_admin"))
        target = await usage.get_leader_digest(ctx.store, ctx.turn.tenant_id)
        if target is None:
            return self._reply(ctx, self._say(ctx, "in_channel"))
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        options = tuple(Option(t.title.get(ctx.lang)[:75], t.key) for t in view.tasks)[:100]
        form = Form(
            action=A_SAVE,
            fields=(FormField("tasks", self._say(ctx, "field_tasks"), "multi", options=options, required=False),),
            submit_label=self._say(ctx, "save"),
            title=self._say(ctx, "heading").strip("*"),
            values=(("tasks", ",".join(target.tasks)),),
        )  # fmt: skip
        stop = Button(self._say(ctx, "stop"), A_STOP, style="danger")
        return self._reply(ctx, self._say(ctx, "heading"), stop, form=form)

    async def save(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return self._reply(ctx, self._say(ctx, "not_admin"))
        target = await usage.get_leader_digest(ctx.store, ctx.turn.tenant_id)
        if target is None:
            return self._reply(ctx, self._say(ctx, "in_channel"))
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        known = {t.key for t in view.tasks}
        chosen = tuple(k for k in ctx.turn.form_values.get("tasks", "").split(",") if k in known)
        await usage.put_leader_digest(
            ctx.store, DigestTarget(target.tenant_id, target.platform, target.channel_id, chosen)
        )
        return await self.status(ctx, self._say(ctx, "saved"))

    async def stop(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return self._reply(ctx, self._say(ctx, "not_admin"))
        await usage.remove_leader_digest(ctx.store, ctx.turn.tenant_id)
        return self._reply(ctx, self._say(ctx, "stopped"))


def register(router: Router, clock: Callable[[], datetime]) -> LeaderDigestDialog:
    dialog = LeaderDigestDialog(clock)
    router.add_commands("leaders.commands", dialog.command)
    router.add_action(A_CHOOSE, dialog.choose)
    router.add_action(A_SAVE, dialog.save)
    router.add_action(A_STOP, dialog.stop)
    return dialog
