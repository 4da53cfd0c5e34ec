"""The BTS-nettverk in chat: the check-in form, the topic vote on the digest, the host's key points,
"did you meet?" after a pairing, and ``/bts nettverk`` (set up in a channel by an admin; status and
your own check-in for everyone else).

A check-in can be changed until the digest is posted; a vote until the agenda is posted; the key
points are posted once (the first host to send them). Free text passes the router's personal-data
guard, and is checked again here before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from dialogs.arshjul.notices import TenantView, load_tenant
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.network import screens
from dialogs.network.notices import digest, round_timeline
from dialogs.network.planner import hosts_of, members_of
from dialogs.network.screens import NetTexts
from dialogs.pii import find_personal_data
from dialogs.router import Router, TurnContext
from storage import directory
from storage import network as net
from storage.models import utcnow
from storage.network import DEFAULT_KEY, NetworkSettings, Round
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxKind
from storage.records import Holder

A_SETTINGS = "network:settings"
A_SAVE = "network:save"
A_STOP = "network:stop"
A_MOVE = "network:move"
#: Words in an årshjul task's key or title that make it a network meeting by default.
MEETING_WORD = "nettverk"


def _personal(values: dict[str, str]) -> list[str]:
    return [k for k, v in values.items() if v and find_personal_data(v)]


class NetworkDialog:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def _t(self, ctx: TurnContext) -> NetTexts:
        return NetTexts(ctx.content, ctx.lang)

    def _say(self, ctx: TurnContext, key: str, *buttons: Button, **values: str) -> Reply:
        t = self._t(ctx)
        message = Message(text=t(key, **values), buttons=(t.acute(), *buttons), topic=screens.TOPIC)
        return ctx.reply(message, replace=False)

    async def _round(
        self, ctx: TurnContext, value: str
    ) -> tuple[Round | None, NetworkSettings | None]:
        round_id = value.split(":")[0].strip()
        if not round_id.isdigit():
            return None, None
        round_ = await net.get_round(ctx.store, ctx.turn.tenant_id, int(round_id))
        if round_ is None:
            return None, None
        return round_, await net.get_network(ctx.store, ctx.turn.tenant_id, round_.network_key)

    # check-in ----------------------------------------------------------------------------------

    async def _as_member(
        self, ctx: TurnContext
    ) -> tuple[Round, NetworkSettings, TenantView, Holder] | Reply:
        """The round the button or form names and the member pressing it, or why not."""
        round_, network = await self._round(ctx, ctx.turn.value)
        if round_ is None or network is None:
            return self._say(ctx, "checkin.unknown")
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        me = (ctx.turn.platform, ctx.turn.user_id)
        holder = next(
            (h for h in members_of(network, view.holders) if (h.platform, h.user_id) == me), None
        )
        if holder is None:
            return self._say(ctx, "checkin.not_member")
        return round_, network, view, holder

    async def open_checkin(
        self, ctx: TurnContext, notice: str = "", typed: dict[str, str] | None = None
    ) -> Reply:
        found = await self._as_member(ctx)
        if isinstance(found, Reply):
            return found
        round_, network, view, _ = found
        if round_.status != net.CHECKIN:
            return self._say(ctx, "checkin.closed")
        t = self._t(ctx)
        values = typed
        if values is None:
            mine = await net.checkin_of(ctx.store, round_.id, ctx.turn.platform, ctx.turn.user_id)
            fields = (*screens.CHECKIN_FIELDS, screens.TOPIC_FIELD)
            values = {name: getattr(mine, name) for name in fields} if mine else {}
        today = self.clock().astimezone(view.zone).date()
        when = round_timeline(view, network, round_)
        text = t(
            "checkin.invite", date=t.day(round_.meeting, today), digest=t.moment(when.digest, today)
        )
        if notice:
            text = f"**{notice}**\n\n{text}"
        message = Message(
            text=text.strip(),
            buttons=(t.acute(),),
            form=screens.checkin_form(t, round_.id, values),
            topic=screens.TOPIC,
        )
        return ctx.reply(message)

    async def save_checkin(self, ctx: TurnContext) -> Reply:
        found = await self._as_member(ctx)
        if isinstance(found, Reply):
            return found
        round_, network, view, holder = found
        t = self._t(ctx)
        values = {
            k: ctx.turn.form_values.get(k, "").strip()
            for k in (*screens.CHECKIN_FIELDS, screens.TOPIC_FIELD)
        }
        personal = _personal(values)
        if personal:  # shown again with what fitted; the text with personal data is not echoed
            problem = t("checkin.personal_data")
            kept = {k: v for k, v in values.items() if k not in personal}
            reply = await self.open_checkin(ctx, problem, kept)
            return replace(reply, field_errors=tuple((k, problem) for k in personal))
        if not any(values[k] for k in screens.CHECKIN_FIELDS):
            problem = t("checkin.need_one")
            reply = await self.open_checkin(ctx, problem, values)
            return replace(reply, field_errors=((screens.CHECKIN_FIELDS[0], problem),))
        stored = await net.put_checkin(
            ctx.store, round_.id, platform=ctx.turn.platform, user_id=ctx.turn.user_id,
            display_name=holder.display_name, unit=holder.unit or "",
            done=values["done"], smart=values["smart"], learned=values["learned"],
            topic=values["topic"],
        )  # fmt: skip
        if not stored:
            return self._say(ctx, "checkin.closed")
        today = self.clock().astimezone(view.zone).date()
        when = round_timeline(view, network, round_)
        message = Message(
            text=t("checkin.thanks", digest=t.moment(when.digest, today)),
            buttons=(t.acute(), Button(t("labels.change"), screens.A_CHECKIN, str(round_.id))),
            topic=screens.TOPIC,
        )
        return ctx.reply(message)

    # vote --------------------------------------------------------------------------------------

    async def vote(self, ctx: TurnContext) -> Reply:
        round_, network = await self._round(ctx, ctx.turn.value)
        if round_ is None or network is None:
            return self._say(ctx, "checkin.unknown")
        chosen = [
            int(v) for v in ctx.turn.form_values.get(screens.TOPICS_FIELD, "").split(",")
            if v.strip().isdigit()
        ]  # fmt: skip
        counted = await net.vote(ctx.store, round_.id, ctx.turn.platform, ctx.turn.user_id, chosen)
        if not counted:
            return self._say(ctx, "digest.voting_closed")
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        t = self._t(ctx)
        now = self.clock()
        # The digest is one message for the whole channel: shown again in place with the counts.
        message = await digest(ctx.store, t, view, network, round_.id, now)
        return ctx.reply(message, replace=True)

    # the host's key points ---------------------------------------------------------------------

    async def points(self, ctx: TurnContext) -> Reply:
        round_, network = await self._round(ctx, ctx.turn.value)
        if round_ is None or network is None:
            return self._say(ctx, "checkin.unknown")
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        host = (ctx.turn.platform, ctx.turn.user_id) in hosts_of(network, view.holders)
        if not host and not await directory.is_admin(
            ctx.store, ctx.turn.tenant_id, ctx.turn.platform, ctx.turn.user_id
        ):
            return self._say(ctx, "host.not_host")
        t = self._t(ctx)
        values = {
            f"point{n}": ctx.turn.form_values.get(f"point{n}", "").strip()
            for n in range(1, screens.POINTS + 1)
        }
        today = self.clock().astimezone(view.zone).date()
        problem, bad = "", []
        if personal := _personal(values):
            problem, bad = t("checkin.personal_data"), personal
        elif not any(values.values()):
            problem, bad = t("host.need_one"), ["point1"]
        if problem:
            message = Message(
                text=f"**{problem}**\n\n"
                + t("host.ask", date=t.day(round_.meeting, today)).strip(),
                buttons=(t.acute(),),
                form=screens.host_form(t, round_.id, values),
                topic=screens.TOPIC,
            )
            return replace(ctx.reply(message), field_errors=tuple((k, problem) for k in bad))
        points = [v[:300] for v in values.values() if v]
        if not await net.set_summary(ctx.store, round_.id, points):
            return self._say(ctx, "host.already")
        await enqueue(
            ctx.store,
            [
                NewItem(
                    tenant_id=network.tenant_id,
                    dedupe_key=f"{OutboxKind.NETWORK_SUMMARY.value}:{round_.id}",
                    kind=OutboxKind.NETWORK_SUMMARY,
                    platform=network.platform,
                    target_kind="channel",
                    target_id=network.channel_id,
                    send_at=utcnow(),
                    payload={"network": network.key, "round": round_.id},
                )
            ],
        )
        return ctx.reply(Message(text=t("host.thanks"), buttons=(t.acute(),), topic=screens.TOPIC))

    # pairing -----------------------------------------------------------------------------------

    async def met(self, ctx: TurnContext) -> Reply:
        pair_id, _, answer = ctx.turn.value.partition(":")
        if not pair_id.isdigit() or answer not in ("yes", "no"):
            return self._say(ctx, "checkin.unknown")
        recorded = await net.record_met(
            ctx.store, ctx.turn.tenant_id, int(pair_id), ctx.turn.platform, ctx.turn.user_id,
            answer == "yes",
        )  # fmt: skip
        if not recorded:
            return self._say(ctx, "pairing.not_in_pair")
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        weeks = str(network.pairing_weeks) if network is not None and network.pairing_weeks else "4"
        t = self._t(ctx)
        key = "pairing.thanks_yes" if answer == "yes" else "pairing.thanks_no"
        return ctx.reply(
            Message(text=t(key, weeks=weeks), buttons=(t.acute(),), topic=screens.TOPIC)
        )

    # /bts nettverk -----------------------------------------------------------------------------

    async def _admin(self, ctx: TurnContext) -> bool:
        turn = ctx.turn
        await ensure_tenant_setup(ctx.store, turn.tenant_id, platform=turn.platform)
        return await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id)

    def _in_channel(self, ctx: TurnContext) -> bool:
        return ctx.turn.platform in ("slack", "teams") and not ctx.turn.is_direct

    async def command(self, ctx: TurnContext) -> Reply:
        """Set the network up in this channel (admins), else show its status."""
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        admin = await self._admin(ctx)
        if network is None and admin and self._in_channel(ctx):
            view = await load_tenant(ctx.store, ctx.turn.tenant_id)
            network = NetworkSettings(
                tenant_id=ctx.turn.tenant_id,
                key=DEFAULT_KEY,
                platform=ctx.turn.platform,
                channel_id=ctx.turn.channel_id,
                tasks=tuple(
                    task.key
                    for task in view.tasks
                    if MEETING_WORD in task.key or MEETING_WORD in task.title.get("nb").lower()
                ),
            )
            await net.put_network(ctx.store, network)
            return await self.status(ctx, self._t(ctx)("setup.created"))
        if network is None:
            key = "setup.in_channel" if admin else "setup.not_set_up"
            return self._say(ctx, key)
        elsewhere = network.channel_id != ctx.turn.channel_id
        if elsewhere and admin and self._in_channel(ctx):  # moved only when asked
            t = self._t(ctx)
            move = Button(t("labels.move"), A_MOVE, network.key)
            return await self.status(ctx, t("setup.elsewhere"), move)
        return await self.status(ctx)

    async def move(self, ctx: TurnContext) -> Reply:
        """ "Bruk denne kanalen": the network posts to the channel the button was pressed in."""
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        if not await self._admin(ctx):
            return self._say(ctx, "setup.not_admin")
        if network is None or not self._in_channel(ctx):
            return self._say(ctx, "setup.in_channel")
        await net.put_network(
            ctx.store, replace(network, channel_id=ctx.turn.channel_id, platform=ctx.turn.platform)
        )
        return await self.status(ctx, self._t(ctx)("setup.created"))

    async def status(self, ctx: TurnContext, notice: str = "", *extra: Button) -> Reply:
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        if network is None:
            return self._say(ctx, "setup.not_set_up")
        t = self._t(ctx)
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        now = self.clock()
        today = now.astimezone(view.zone).date()
        members = members_of(network, view.holders)
        lines = [f"**{notice}**"] if notice else []
        lines.append(t("setup.heading"))
        lines.append(
            t(
                "setup.status",
                members=len(members),
                role=view.role_name(network.member_role, ctx.lang),
                host=view.role_name(network.host_role, ctx.lang),
            )
        )
        titles = [task.title.get(ctx.lang) for task in view.tasks if task.key in network.tasks]
        lines.append(
            t("setup.meetings", tasks=t.dates.join(titles)) if titles else t("setup.no_meetings")
        )
        buttons = [t.acute()]
        upcoming = [r for r in await net.rounds(ctx.store, network.tenant_id, network.key, today)]
        if upcoming:
            round_ = upcoming[0]
            when = round_timeline(view, network, round_)
            lines.append(
                t(
                    "setup.next",
                    date=t.day(round_.meeting, today),
                    checkin=t.moment(when.checkin, today),
                )
            )
            checkins = await net.checkins(ctx.store, round_.id)
            lines.append(t("setup.checked_in", n=len(checkins), members=len(members)))
            if any(h.user_id == ctx.turn.user_id for h in members):
                mine = any(c.user_id == ctx.turn.user_id for c in checkins)
                lines.append(
                    t("setup.you" if mine else "setup.you_not", date=t.day(round_.meeting, today))
                )
                if round_.status == net.CHECKIN:
                    label = t("labels.change" if mine else "labels.checkin")
                    buttons.append(
                        Button(label, screens.A_CHECKIN, str(round_.id), style="primary")
                    )
        if network.pairing_weeks:
            lines.append(t("setup.pairing", weeks=network.pairing_weeks))
            if network.pairing_across_sectors:
                lines.append(t("setup.across"))
        else:
            lines.append(t("setup.pairing_off"))
        buttons += extra
        if await self._admin(ctx):
            buttons.append(Button(t("labels.settings"), A_SETTINGS, network.key))
        message = Message(text="\n\n".join(lines), buttons=tuple(buttons), topic=screens.TOPIC)
        return ctx.reply(message, replace=False)

    async def settings(self, ctx: TurnContext, notice: str = "") -> Reply:
        if not await self._admin(ctx):
            return self._say(ctx, "setup.not_admin")
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        if network is None:
            return self._say(ctx, "setup.in_channel")
        t = self._t(ctx)
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        roles = [
            Option(r.name_nn if ctx.lang == "nn" else r.name_nb, r.key)
            for r in await directory.list_roles(ctx.store, ctx.turn.tenant_id)
        ]
        tasks = tuple(Option(task.title.get(ctx.lang)[:75], task.key) for task in view.tasks)
        yes_no = (Option(t("setup.yes"), "yes"), Option(t("setup.no"), "no"))
        form = Form(
            action=A_SAVE,
            title=t("setup.form_title"),
            submit_label=t("labels.save"),
            value=network.key,
            modal=True,
            fields=(
                FormField("tasks", t("setup.field_tasks"), "multi", options=tasks[:100], required=False),
                FormField("members", t("setup.field_members"), "choice", options=tuple(roles[:100])),
                FormField("host", t("setup.field_host"), "choice", options=tuple(roles[:100])),
                FormField("checkin_days", t("setup.field_checkin_days"), "number", minimum=3, maximum=30),
                FormField("pairing_weeks", t("setup.field_pairing"), "number", minimum=0, maximum=26),
                FormField("across", t("setup.field_across"), "choice", options=yes_no),
            ),
            values=(
                ("tasks", ",".join(network.tasks)),
                ("members", network.member_role),
                ("host", network.host_role),
                ("checkin_days", str(network.checkin_days)),
                ("pairing_weeks", str(network.pairing_weeks)),
                ("across", "yes" if network.pairing_across_sectors else "no"),
            ),
        )  # fmt: skip
        text = t("setup.heading") if not notice else f"**{notice}**\n\n{t('setup.heading')}"
        buttons = (t.acute(), Button(t("labels.stop"), A_STOP, network.key, style="danger"))
        return ctx.reply(Message(text=text, buttons=buttons, form=form, topic=screens.TOPIC))

    async def save(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return self._say(ctx, "setup.not_admin")
        network = await net.get_network(ctx.store, ctx.turn.tenant_id, DEFAULT_KEY)
        if network is None:
            return self._say(ctx, "setup.in_channel")
        t = self._t(ctx)
        values = ctx.turn.form_values
        view = await load_tenant(ctx.store, ctx.turn.tenant_id)
        roles = {r.key for r in await directory.list_roles(ctx.store, ctx.turn.tenant_id)}
        numbers: dict[str, int] = {}
        for name, label, low, high, default in (
            ("checkin_days", "setup.field_checkin_days", 3, 30, network.checkin_days),
            ("pairing_weeks", "setup.field_pairing", 0, 26, network.pairing_weeks),
        ):
            raw = values.get(name, "").strip() or str(default)
            if not raw.isdigit() or not low <= int(raw) <= high:
                problem = t("setup.bad_number", field=t(label), min=low, max=high)
                return replace(await self.settings(ctx, problem), field_errors=((name, problem),))
            numbers[name] = int(raw)
        known_tasks = {task.key for task in view.tasks}
        chosen = tuple(k for k in values.get("tasks", "").split(",") if k in known_tasks)
        member_role = (
            values.get("members", "") if values.get("members") in roles else network.member_role
        )
        host_role = values.get("host", "") if values.get("host") in roles else network.host_role
        await net.put_network(
            ctx.store,
            replace(
                network, tasks=chosen, member_role=member_role, host_role=host_role,
                checkin_days=numbers["checkin_days"], pairing_weeks=numbers["pairing_weeks"],
                pairing_across_sectors=values.get("across") == "yes",
            ),
        )  # fmt: skip
        return await self.status(ctx, t("setup.saved"))

    async def stop(self, ctx: TurnContext) -> Reply:
        if not await self._admin(ctx):
            return self._say(ctx, "setup.not_admin")
        await net.remove_network(ctx.store, ctx.turn.tenant_id, ctx.turn.value or DEFAULT_KEY)
        return self._say(ctx, "setup.stopped")


def register(router: Router, clock: Callable[[], datetime]) -> NetworkDialog:
    dialog = NetworkDialog(clock)
    router.add_commands("network.commands", dialog.command)
    router.add_action(screens.A_CHECKIN, dialog.open_checkin)
    router.add_action(screens.A_CHECKIN_SAVE, dialog.save_checkin)
    router.add_action(screens.A_VOTE, dialog.vote)
    router.add_action(screens.A_POINTS, dialog.points)
    router.add_action(screens.A_MET, dialog.met)
    router.add_action(A_SETTINGS, dialog.settings)
    router.add_action(A_SAVE, dialog.save)
    router.add_action(A_STOP, dialog.stop)
    router.add_action(A_MOVE, dialog.move)
    return dialog
