"""``/bts plan`` (the implementation plan and the status of each milestone) and the buttons that
mark a milestone done or reopen it.

Everyone may view the plan: overdue milestones first, then the next ones, then the completed ones,
each by date, with its responsible role and status (fullført <dato> / åpen, frist <dato> /
forsinket siden <dato>). An admin or a holder of the responsible role (the deputy of an absent
holder too) gets a "Fullført: …" button for at most ``MARK_BUTTONS`` of the overdue or soon due
milestones they may complete: the acute exit comes first and Teams shows six actions, so the rest
stay text. A click records today's date (the tenant's zone) as fullført dato; "Angre" reopens it.
Anyone else is refused kindly and the clicked message is left alone. No platform imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from dialogs.messages import Button, Message, Reply
from dialogs.milestones.notices import (
    A_DONE,
    A_PLAN,
    A_REOPEN,
    TOPIC,
    PlanTexts,
    plan_texts,
)
from dialogs.milestones.plans import DONE, LATE, OPEN, may_complete, state_of, tenant_today
from dialogs.router import Router, TurnContext
from storage.milestones import (
    MilestoneRecord,
    get_milestone,
    list_milestones,
    mark_done,
    reopen,
)
from storage.models import utcnow

#: "Fullført: …" buttons on the plan screen: with the acute exit, five actions of Teams' six.
MARK_BUTTONS = 4
#: Open milestones due this soon get a button too (overdue ones always do).
DUE_SOON_DAYS = 14
#: Completed milestones listed before "… og N til".
DONE_SHOWN = 8
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class MilestoneChat:
    """The handlers; ``clock`` is injectable so tests can stand on a given day."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock

    async def _texts(self, ctx: TurnContext) -> PlanTexts:
        return await plan_texts(ctx.store, ctx.content, ctx.lang, ctx.turn.tenant_id)

    async def _today(self, ctx: TurnContext) -> date:
        return await tenant_today(ctx.store, ctx.turn.tenant_id, self.clock())

    async def _may(self, ctx: TurnContext, milestone: MilestoneRecord) -> bool:
        turn = ctx.turn
        return await may_complete(ctx.store, turn.tenant_id, turn.platform, turn.user_id, milestone)

    # "/bts plan" ------------------------------------------------------------------------------

    async def plan(self, ctx: TurnContext) -> Reply:
        """The plan with every milestone's status; "Fullført" buttons for what this user may mark."""
        texts = await self._texts(ctx)
        today = await self._today(ctx)
        milestones = await list_milestones(ctx.store, ctx.turn.tenant_id)
        parts = [texts("heading")]
        buttons: list[Button] = [texts.acute()]
        if not milestones:
            parts.append(texts("empty"))
        else:
            parts.append(texts("intro", today=texts.date(today)))
            by_state: dict[str, list[MilestoneRecord]] = {LATE: [], OPEN: [], DONE: []}
            for m in milestones:  # already by due date
                by_state[state_of(m, today)].append(m)
            done = sorted(by_state[DONE], key=lambda m: (m.completed or m.due, m.due))
            for state, items in ((LATE, by_state[LATE]), (OPEN, by_state[OPEN]), (DONE, done)):
                if items:
                    parts.append(self._section(texts, state, items, today))
            markable = await self._markable(ctx, by_state[LATE] + by_state[OPEN], today)
            if markable:
                parts.append(texts("can_mark"))
                buttons += [texts.mark_button(m) for m in markable]
        message = Message(text="\n\n".join(parts), buttons=tuple(buttons), topic=TOPIC)
        # Also from the button under a reminder: never replace that message.
        return ctx.reply(message, replace=False)

    def _section(
        self, texts: PlanTexts, state: str, items: list[MilestoneRecord], today: date
    ) -> str:
        shown = items if state != DONE else items[-DONE_SHOWN:]  # the latest completed ones
        lines = [texts(f"section.{state}")]
        if len(shown) < len(items):
            lines.append(texts("more", count=len(items) - len(shown)))
        for m in shown:
            day = m.completed if state == DONE and m.completed else m.due
            lines.append(
                texts(
                    "item",
                    title=texts.title(m),
                    role=texts.role(m.role) + texts.unit(m.unit),
                    status=texts(f"status.{state}", date=texts.date(day)),
                )
            )
        return "\n".join(lines)

    async def _markable(
        self, ctx: TurnContext, open_ones: list[MilestoneRecord], today: date
    ) -> list[MilestoneRecord]:
        """The first ``MARK_BUTTONS`` overdue or soon due milestones this user may complete."""
        soon = today + timedelta(days=DUE_SOON_DAYS)
        allowed: dict[tuple[str, str | None], bool] = {}
        found: list[MilestoneRecord] = []
        for m in open_ones:
            if m.due > soon:
                continue
            who = (m.role, m.unit)
            if who not in allowed:
                allowed[who] = await self._may(ctx, m)
            if allowed[who]:
                found.append(m)
            if len(found) == MARK_BUTTONS:
                break
        return found

    # the buttons -------------------------------------------------------------------------------

    async def _allowed(
        self, ctx: TurnContext, texts: PlanTexts
    ) -> tuple[MilestoneRecord | None, Reply | None]:
        """The milestone a button names if this user may change it; else a kind refusal."""
        key = ctx.turn.value.strip()
        milestone = (
            await get_milestone(ctx.store, ctx.turn.tenant_id, key) if _KEY.match(key) else None
        )
        if milestone is None:
            return None, self._refuse(ctx, texts, texts("refuse.gone"))
        if not await self._may(ctx, milestone):
            text = texts(
                "refuse.not_allowed",
                role=texts.role(milestone.role),
                unit=texts.unit(milestone.unit),
                title=texts.title(milestone),
            )
            return None, self._refuse(ctx, texts, text)
        return milestone, None

    @staticmethod
    def _refuse(ctx: TurnContext, texts: PlanTexts, text: str) -> Reply:
        message = Message(
            text=text, buttons=(texts.acute(), texts.plan_button()), topic=f"{TOPIC}:refused"
        )
        # Never overwrite the clicked message: it may be someone else's reminder.
        return ctx.reply(message, replace=False)

    async def done(self, ctx: TurnContext) -> Reply:
        """Record today as the milestone's fullført dato (once: a second click says when)."""
        texts = await self._texts(ctx)
        milestone, refused = await self._allowed(ctx, texts)
        if refused is not None or milestone is None:
            assert refused is not None
            return refused
        title = texts.title(milestone)
        if milestone.completed is not None:
            text = texts("confirm.already", title=title, date=texts.date(milestone.completed))
        else:
            today = await self._today(ctx)
            await mark_done(ctx.store, ctx.turn.tenant_id, milestone.key, today)
            text = texts("confirm.done", title=title, date=texts.date(today))
        buttons = (
            texts.acute(),
            Button(texts("labels.reopen"), A_REOPEN, milestone.key),
            texts.plan_button(),
        )
        return ctx.reply(Message(text=text, buttons=buttons, topic=f"{TOPIC}:done"))

    async def reopen(self, ctx: TurnContext) -> Reply:
        """Clear the fullført dato again ("Angre")."""
        texts = await self._texts(ctx)
        milestone, refused = await self._allowed(ctx, texts)
        if refused is not None or milestone is None:
            assert refused is not None
            return refused
        await reopen(ctx.store, ctx.turn.tenant_id, milestone.key)
        text = texts(
            "confirm.reopened", title=texts.title(milestone), date=texts.date(milestone.due)
        )
        buttons = (
            texts.acute(),
            Button(texts("labels.done"), A_DONE, milestone.key, "primary"),
            texts.plan_button(),
        )
        return ctx.reply(Message(text=text, buttons=buttons, topic=f"{TOPIC}:reopened"))


def register(router: Router, chat: MilestoneChat) -> None:
    """Add "/bts plan" and the milestone buttons."""
    router.add_commands("milestones.commands", chat.plan)
    router.add_action(A_PLAN, chat.plan)
    router.add_action(A_DONE, chat.done)
    router.add_action(A_REOPEN, chat.reopen)
