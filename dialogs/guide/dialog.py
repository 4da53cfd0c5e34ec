"""The guided conversation "veileder ved uro": nivå 0–3 step by step, the acute path, follow-ups.

All texts, steps and transitions come from ``content/<lang>/guide.yaml`` (see ``dialogs.guide.model``)
merged with the tenant's kommune file (``dialogs.guide.kommune``); ``dialogs.guide.screens`` renders
the current node as a ``Message`` and this module moves the user's position, which lives in the
stored dialog state. The only thing stored beyond the position is an optional personal reminder
with a label the user writes, checked by the PII guard first. One ``GuideDialog`` is built in
``dialogs.app`` and given to the features that open the guide. This module must not call any
platform API or store anything about a child or a case.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from dialogs import usage
from dialogs.content import CONTENT_DIR
from dialogs.feedback import with_feedback
from dialogs.guide import typed_followup
from dialogs.guide.kommune import DEFAULT_KOMMUNE_DIR, KommuneRegistry
from dialogs.guide.kommune_model import (
    KommuneConfig,
    apply_kommune,
    kommune_problems,
    placeholder_values,
)
from dialogs.guide.model import ACUTE, START, Guide, GuideError, GuideSet, load_guides
from dialogs.guide.screens import (
    A_ACUTE,
    A_BACK,
    A_CHANGES,
    A_FOLLOWUP,
    A_FOLLOWUP_SAVE,
    A_GOTO,
    A_LEVELS,
    A_MORE,
    A_OVERVIEW,
    A_START,
    A_TOOL,
    CHANGES_KEY,
    LEVELS_KEY,
    MORE_PREFIX,
    OVERVIEW_PREFIX,
    TOOL_PREFIX,
    TOPIC,
    View,
    acute_button,
    render,
    screen_message,
    start_message,
)
from dialogs.guide.typed_followup import RequestWords, TypedFollowup
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.normalize import normalize
from dialogs.router import Handler, Router, TurnContext
from dialogs.yaml_source import Problem, fill
from storage.feedback_models import KIND_LEVEL
from storage.followups import FOLLOWUP_LABEL_MAX, add_personal_followup
from storage.models import utcnow

log = logging.getLogger(__name__)

DIALOG = "guide"
HISTORY_LIMIT = 30
REMINDER_TIME = time(9, 0)
FOLLOWUP_KEY = "followup"
_LEVEL_TYPED = re.compile(r"^niva (\d)$")


@dataclass
class _Position:
    """The user's place in the guide, kept in ``DialogState.data``."""

    history: list[str] = field(default_factory=list)
    position: str = ""  # last step or ending shown, for "resume" and follow-ups

    @classmethod
    def of(cls, ctx: TurnContext) -> _Position:
        if ctx.state.dialog != DIALOG:
            return cls()
        data = ctx.state.data
        history = [h for h in data.get("history", []) if isinstance(h, str)]
        position = data.get("position")
        return cls(history, position if isinstance(position, str) else "")

    def save(self, ctx: TurnContext, key: str) -> None:
        ctx.state.dialog, ctx.state.step = DIALOG, key
        ctx.state.data = {"history": self.history[-HISTORY_LIMIT:], "position": self.position}


def _stamp(paths: Iterable[Path]) -> tuple[tuple[int, int], ...]:
    stamps = []
    for path in paths:
        try:
            info = path.stat()
            stamps.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append((0, 0))
    return tuple(stamps)


class GuideDialog:
    """The guide's content (reloaded when its files change) and its handlers."""

    def __init__(
        self,
        content_dir: Path = CONTENT_DIR,
        kommune_dir: Path = DEFAULT_KOMMUNE_DIR,
        clock: Callable[[], datetime] = utcnow,
        hand_over: Handler | None = None,
        followup_words: RequestWords | None = None,
    ) -> None:
        """``hand_over`` answers typed text the guide does not understand (None: a short "not
        understood here"); ``followup_words`` read a reminder typed as text (None: only the form
        makes one); raises GuideError (with file and line) when the content is invalid."""
        self.content_dir = content_dir
        self.guides: GuideSet = load_guides(content_dir)  # a bad guide refuses to start
        self._guide_stamp = _stamp(self.guides.files.values())
        self.kommuner = KommuneRegistry(kommune_dir, check=self._check_kommune)
        self.clock = clock
        self.hand_over = hand_over
        self.followup_words = followup_words
        self._views: dict[tuple[str, str], tuple[Guide, KommuneConfig, View]] = {}
        for error in self.kommuner.check_all():
            log.error("kommune file problem: %s", error)

    # content -------------------------------------------------------------------------------------

    def _check_kommune(self, config: KommuneConfig) -> list[Problem]:
        return kommune_problems(config, self.guides)

    def current_guides(self) -> GuideSet:
        """The guide, reloaded if its files changed; a broken edit keeps the old one in use."""
        stamp = _stamp(self.guides.files.values())
        if stamp != self._guide_stamp:
            self._guide_stamp = stamp
            try:
                self.guides = load_guides(self.content_dir)
                log.info("guide content reloaded", extra={"version": self.guides.version})
            except GuideError as exc:
                log.error(
                    "guide content rejected, keeping version %s: %s", self.guides.version, exc
                )
        return self.guides

    def view(self, ctx: TurnContext) -> View:
        guides = self.current_guides()
        lang = ctx.lang if ctx.lang in guides.by_lang else next(iter(guides.by_lang))
        base = guides.get(lang)
        config = self.kommuner.get(ctx.turn.tenant_id)
        key = (ctx.turn.tenant_id, lang)
        cached = self._views.get(key)
        if cached and cached[0] is base and cached[1] is config:
            return cached[2]
        merged, problems = apply_kommune(base, config, lang)
        if problems:
            # The file was valid for an older guide; use its contacts but not its steps.
            log.warning("kommune steps do not fit the current guide: %s", problems)
        footer = fill(base.ui.footer, {"version": base.version})
        if config.kommune:
            footer += " · " + fill(base.ui.footer_kommune, {"kommune": config.kommune})
            if config.version:
                footer += f" ({config.version})"
        view = View(merged, lang, config, placeholder_values(merged, config, lang), footer)
        self._views[key] = (base, config, view)
        return view

    # showing nodes -------------------------------------------------------------------------------

    def _show(self, ctx: TurnContext, key: str, view: View | None = None) -> Reply:
        """Render ``key``, make it the user's position and add it to their history."""
        view = view or self.view(ctx)
        pos = _Position.of(ctx)
        message = render(view, key, pos.history, pos.position)
        if message is None:
            return self._stale(ctx, view)
        step = view.guide.step(key)
        if step is not None and step.is_decision:  # the screen that ends a level
            message = with_feedback(ctx, message, KIND_LEVEL, key)
        if not pos.history or pos.history[-1] != key:
            pos.history.append(key)
        if view.guide.step(key) is not None or key in view.guide.endings:
            pos.position = key
        pos.save(ctx, key)
        return ctx.reply(message)

    def _stale(self, ctx: TurnContext, view: View) -> Reply:
        pos = _Position.of(ctx)
        pos.history = [START]
        pos.save(ctx, START)
        notice = Message(text=view.guide.ui.stale, topic=TOPIC, footer=view.footer)
        return ctx.reply(notice, start_message(view, pos.position))

    # handlers ------------------------------------------------------------------------------------

    async def start(self, ctx: TurnContext) -> Reply:
        """The first screen: "may the child be in acute danger?" (keeps the place for resuming)."""
        pos = _Position.of(ctx)
        pos.history = []
        pos.save(ctx, START)
        return self._show(ctx, START)

    async def acute(self, ctx: TurnContext) -> Reply:
        await usage.count(ctx.store, ctx.turn.tenant_id, usage.LEVEL, ACUTE)
        return self._show(ctx, ACUTE)

    async def goto(self, ctx: TurnContext) -> Reply:
        """Open the step, level, ending or acute path named by the button's value."""
        view = self.view(ctx)
        node = view.guide.resolve(ctx.turn.value)
        if node is None:
            return self._stale(ctx, view)
        opened = ACUTE if node == ACUTE else ctx.turn.value
        if opened == ACUTE or opened in view.guide.levels:  # a level or the acute path, counted
            await usage.count(ctx.store, ctx.turn.tenant_id, usage.LEVEL, opened)
        return self._show(ctx, node, view)

    async def back(self, ctx: TurnContext) -> Reply:
        pos = _Position.of(ctx)
        if pos.history:
            pos.history.pop()
        previous = pos.history[-1] if pos.history else START
        pos.save(ctx, previous)
        if previous == FOLLOWUP_KEY:  # e.g. back from the acute path opened on the form
            return self._followup_form(ctx)
        return self._show(ctx, previous)

    async def resume(self, ctx: TurnContext) -> Reply:
        """The user's current guide screen again (after the web chat was reloaded)."""
        if ctx.state.step == FOLLOWUP_KEY:
            return self._followup_form(ctx)
        return self._show(ctx, ctx.state.step or START)

    async def levels(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, LEVELS_KEY)

    async def overview(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, OVERVIEW_PREFIX + ctx.turn.value)

    async def tool(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, TOOL_PREFIX + ctx.turn.value)

    async def changes(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, CHANGES_KEY)

    async def more(self, ctx: TurnContext) -> Reply:
        """A step's "Mer …" screen (the choices its own screen leaves out)."""
        return self._show(ctx, MORE_PREFIX + ctx.turn.value)

    async def followup(self, ctx: TurnContext) -> Reply:
        """Offer the personal reminder form (never required)."""
        return self._followup_form(ctx)

    def _followup_form(self, ctx: TurnContext, notice: str = "") -> Reply:
        view = self.view(ctx)
        texts = view.guide.followup
        pos = _Position.of(ctx)
        if ctx.turn.value and (
            view.guide.step(ctx.turn.value) is not None or ctx.turn.value in view.guide.endings
        ):
            pos.position = ctx.turn.value
        if not pos.history or pos.history[-1] != FOLLOWUP_KEY:
            pos.history.append(FOLLOWUP_KEY)
        pos.save(ctx, FOLLOWUP_KEY)
        form = Form(
            action=A_FOLLOWUP_SAVE,
            title=texts.title,
            submit_label=texts.submit,
            fields=(
                FormField(
                    name="label",
                    label=texts.label_field,
                    kind="text",
                    placeholder=texts.label_placeholder,
                    max_length=FOLLOWUP_LABEL_MAX,
                ),
                FormField(
                    name="days",
                    label=texts.days_field,
                    kind="choice",
                    options=tuple(Option(o.label, str(o.days)) for o in texts.days_options),
                ),
            ),
        )
        text = "\n".join(
            part
            for part in (
                notice,
                fill(texts.text, {"hour": _hour(REMINDER_TIME)}).strip(),
                f"_{texts.label_help}_",
            )
            if part
        )
        buttons = [acute_button(view), Button(texts.back, A_BACK)]
        return ctx.reply(screen_message(view, text, buttons, f"{TOPIC}:paminnelse", form=form))

    async def followup_save(self, ctx: TurnContext) -> Reply:
        """Store the reminder if the label is short and free of personal data."""
        view = self.view(ctx)
        texts = view.guide.followup
        label = " ".join(ctx.turn.form_values.get("label", "").split())
        allowed_days = {o.days for o in texts.days_options}
        raw_days = ctx.turn.form_values.get("days", "").strip()
        days = int(raw_days) if raw_days.isdigit() else 0
        problem = _label_problem(view, label)
        if problem:
            return self._followup_form(ctx, problem)
        if days not in allowed_days:
            return self._followup_form(ctx, f"**{texts.bad_days}**")
        return await self._save_followup(ctx, view, label, days)

    def typed_followup(self, ctx: TurnContext) -> TypedFollowup | None:
        """The reminder asked for in typed text («minn meg på … om 14 dager»), or None."""
        if self.followup_words is None or not ctx.turn.text:
            return None
        return typed_followup.parse(ctx.turn.text, self.followup_words)

    async def followup_typed(self, ctx: TurnContext, request: TypedFollowup) -> Reply:
        """Save a typed reminder as the form would; without a time it opens the form."""
        view = self.view(ctx)
        label = " ".join(request.label.split())
        problem = _label_problem(view, label)
        if problem:
            return self._followup_form(ctx, problem)
        if request.days is None:
            asked = ctx.content.text(ctx.lang, "followups.no_days", label=label)
            return self._followup_form(ctx, f"**{asked}**")
        return await self._save_followup(ctx, view, label, request.days)

    async def _save_followup(self, ctx: TurnContext, view: View, label: str, days: int) -> Reply:
        texts = view.guide.followup
        due_at = reminder_time(self.clock(), days, view.config)
        await add_personal_followup(
            ctx.store,
            tenant_id=ctx.turn.tenant_id,
            platform=ctx.turn.platform,
            platform_user_id=ctx.turn.user_id,
            label=label,
            due_at=due_at,
        )
        pos = _Position.of(ctx)
        if pos.history and pos.history[-1] == FOLLOWUP_KEY:
            pos.history.pop()
        back_to = pos.position or START
        pos.save(ctx, back_to)
        template = texts.saved if ctx.turn.platform in ("slack", "teams") else texts.saved_local
        saved = fill(
            template, {"label": label, "date": _date(due_at.date()), "hour": _hour(due_at)}
        )
        buttons = [acute_button(view)]
        buttons.append(Button(texts.back, A_GOTO if back_to != START else A_START, back_to))
        return ctx.reply(screen_message(view, saved, buttons, f"{TOPIC}:paminnelse-lagret"))

    async def feedback_source(self, ctx: TurnContext, ref: str) -> tuple[str, Message] | None:
        """A level's decision screen again for a 👍 / 👎 on it: (level id, message), or None."""
        view = self.view(ctx)
        step, level = view.guide.step(ref), view.guide.level_of(ref)
        if step is None or level is None or not step.is_decision:
            return None
        pos = _Position.of(ctx)
        message = render(view, ref, pos.history, pos.position)
        return (level, message) if message is not None else None

    async def text(self, ctx: TurnContext) -> Reply:
        """Typed text while the guide is open: "neste", "start på nytt", "nivå 2"; else hand over."""
        view = self.view(ctx)
        guide = view.guide
        words = normalize(ctx.turn.text or "")
        pos = _Position.of(ctx)
        if words in _normalized(self.current_guides(), "next_commands"):
            following = guide.following(pos.position) if pos.position else None
            return self._show(ctx, following or pos.position or START, view)
        if words in _normalized(self.current_guides(), "restart_commands"):
            return await self.start(ctx)
        match = _LEVEL_TYPED.match(words)
        if match and f"nivaa{match.group(1)}" in guide.levels:
            return self._show(ctx, guide.first_step(f"nivaa{match.group(1)}"), view)
        if self.hand_over is not None:
            return await self.hand_over(ctx)
        return ctx.reply(screen_message(view, guide.ui.unknown_in_guide, [], TOPIC))


def _normalized(guides: GuideSet, attribute: str) -> set[str]:
    words: set[str] = set()
    for guide in guides.by_lang.values():
        words |= {normalize(w) for w in getattr(guide, attribute)}
    return words


def _label_problem(view: View, label: str) -> str:
    """Why ``label`` cannot be stored (bold, for the form's notice), or "" when it can."""
    texts = view.guide.followup
    if not label:
        return f"**{texts.empty}**"
    if len(label) > FOLLOWUP_LABEL_MAX:
        return "**" + fill(texts.too_long, {"max": str(FOLLOWUP_LABEL_MAX)}) + "**"
    kinds = _personal_data(label)
    if kinds:
        described = " og ".join(dict.fromkeys(texts.kinds.get(k, k) for k in kinds))
        return "**" + fill(texts.personal_data, {"kinds": described}) + "**"
    return ""


def _personal_data(text: str) -> list[str]:
    """Kinds of personal data in ``text`` according to the PII guard (imported late: optional)."""
    try:
        from dialogs.pii import find_personal_data
    except ImportError:  # the guard is a separate feature; without it, refuse digits at least
        return ["fodselsnummer"] if re.search(r"\d{6}", text) else []
    return find_personal_data(text)


def reminder_time(now: datetime, days: int, config: KommuneConfig) -> datetime:
    """``days`` days from today in the kommune's time zone, at the reminder hour (aware)."""
    zone = config.zone
    day = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, REMINDER_TIME, tzinfo=zone)


def _date(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def _hour(moment: datetime | time) -> str:
    return f"{moment.hour:02d}.{moment.minute:02d}"


# wiring --------------------------------------------------------------------------------------------


def register(router: Router, dialog: GuideDialog) -> None:
    """Add the guide's actions, entry phrases and typed navigation to ``router``."""
    router.add_action(A_START, dialog.start)
    router.add_action(A_ACUTE, dialog.acute)
    router.add_action(A_GOTO, dialog.goto)
    router.add_action(A_BACK, dialog.back)
    router.add_action(A_LEVELS, dialog.levels)
    router.add_action(A_OVERVIEW, dialog.overview)
    router.add_action(A_TOOL, dialog.tool)
    router.add_action(A_CHANGES, dialog.changes)
    router.add_action(A_MORE, dialog.more)
    router.add_action(A_FOLLOWUP, dialog.followup)
    router.add_action(A_FOLLOWUP_SAVE, dialog.followup_save)
    router.add_commands("guide.entry_commands", dialog.start)
    router.add_state_text(DIALOG, dialog.text)
