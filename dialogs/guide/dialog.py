"""The guided conversation "veileder ved uro": nivå 0–3 step by step, the acute path, follow-ups.

All texts, steps and transitions come from ``content/<lang>/guide.yaml`` (see ``dialogs.guide.model``)
merged with the tenant's kommune file (``dialogs.guide.kommune``); this module only renders the current node
as a ``Message`` and moves the user's position. Buttons carry the node they lead to, so an old message
still works after a restart or on another server process, and the position itself lives in the
stored dialog state. Every step gets an "Akutt fare?" button. The only thing stored beyond the
position is an optional personal reminder with a label the user writes, checked by the PII guard
first. This module must not call any platform API or store anything about a child or a case.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from dialogs.content import CONTENT_DIR
from dialogs.feedback import with_feedback
from dialogs.guide.kommune import DEFAULT_KOMMUNE_DIR, KommuneRegistry
from dialogs.guide.kommune_model import (
    KommuneConfig,
    apply_kommune,
    kommune_problems,
    placeholder_values,
)
from dialogs.guide.model import ACUTE, START, Guide, GuideError, GuideSet, load_guides
from dialogs.messages import Button, Form, FormField, Link, Message, Option, Reply
from dialogs.normalize import normalize
from dialogs.router import Router, TurnContext
from dialogs.yaml_source import Problem, fill
from storage.feedback_models import KIND_LEVEL
from storage.followups import FOLLOWUP_LABEL_MAX, add_personal_followup
from storage.models import utcnow

log = logging.getLogger(__name__)

DIALOG = "guide"
TOPIC = "uro"
HISTORY_LIMIT = 30
REMINDER_TIME = time(9, 0)
LEVELS_KEY = "levels"
CHANGES_KEY = "changes"
FOLLOWUP_KEY = "followup"
OVERVIEW_PREFIX = "overview:"
TOOL_PREFIX = "tool:"
_LEVEL_TYPED = re.compile(r"^niva (\d)$")

# Action ids (the "guide:" prefix is ours).
A_START = "guide:start"
A_ACUTE = "guide:acute"
A_GOTO = "guide:goto"
A_BACK = "guide:back"
A_LEVELS = "guide:levels"
A_OVERVIEW = "guide:overview"
A_TOOL = "guide:tool"
A_CHANGES = "guide:changes"
A_FOLLOWUP = "guide:followup"
A_FOLLOWUP_SAVE = "guide:followup_save"


@dataclass(frozen=True)
class View:
    """One language's guide as one tenant sees it: merged steps, placeholder values, footer."""

    guide: Guide
    lang: str
    config: KommuneConfig
    values: dict[str, str]
    footer: str

    def text(self, template: str) -> str:
        return fill(template, self.values).strip()


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
    ) -> None:
        self.content_dir = content_dir
        self.guides: GuideSet = load_guides(content_dir)  # a bad guide refuses to start
        self._guide_stamp = _stamp(self.guides.files.values())
        self.kommuner = KommuneRegistry(kommune_dir, check=self._check_kommune)
        self.clock = clock
        self.router: Router | None = None
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
        message = self.render(view, key, pos)
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
        return ctx.reply(notice, self._start_message(view, pos))

    def render(self, view: View, key: str, pos: _Position) -> Message | None:
        """The message for a node key, or None when the key is unknown (content changed)."""
        guide = view.guide
        can_back = len([h for h in pos.history if h != key]) > 0
        if key == START:
            return self._start_message(view, pos)
        if key == ACUTE:
            return self._acute_message(view, pos)
        if key == LEVELS_KEY:
            return self._levels_message(view, can_back)
        if key == CHANGES_KEY:
            return self._changes_message(view)
        if key.startswith(OVERVIEW_PREFIX) and key[len(OVERVIEW_PREFIX) :] in guide.levels:
            return self._overview_message(view, key[len(OVERVIEW_PREFIX) :])
        if key.startswith(TOOL_PREFIX) and key[len(TOOL_PREFIX) :] in guide.tools:
            return self._tool_message(view, key[len(TOOL_PREFIX) :])
        if key in guide.endings:
            return self._ending_message(view, key, can_back)
        if guide.step(key) is not None:
            return self._step_message(view, key, can_back)
        return None

    def _message(
        self,
        view: View,
        text: str,
        buttons: Iterable[Button],
        topic: str,
        links: Iterable[Link] = (),
        form: Form | None = None,
    ) -> Message:
        return Message(
            text=text.strip(),
            buttons=tuple(buttons),
            links=tuple(links),
            form=form,
            topic=topic,
            footer=view.footer,
        )

    def _acute_button(self, view: View) -> Button:
        return Button(view.guide.ui.acute, A_ACUTE, style="danger")

    def _common_links(self, view: View) -> list[Link]:
        if view.config.handlingsveileder_url:
            return [Link(view.guide.ui.handlingsveileder_link, view.config.handlingsveileder_url)]
        return []

    def _start_message(self, view: View, pos: _Position) -> Message:
        guide, ui = view.guide, view.guide.ui
        buttons = [Button(c.label, A_GOTO, c.target, c.style) for c in guide.start.options]
        resume = guide.step(pos.position)
        if resume is not None:
            buttons.append(Button(fill(ui.resume, {"title": resume.title}), A_GOTO, pos.position))
        buttons += [Button(ui.choose_level, A_LEVELS), Button(ui.changes, A_CHANGES)]
        return self._message(
            view, view.text(guide.start.text), buttons, TOPIC, self._common_links(view)
        )

    def _acute_message(self, view: View, pos: _Position) -> Message:
        guide, ui, config = view.guide, view.guide.ui, view.config
        buttons: list[Button] = []
        if guide.step(pos.position) is not None or pos.position in guide.endings:
            buttons.append(Button(ui.back_to_step, A_GOTO, pos.position, "primary"))
        if "bekymringsmelding" in guide.endings:
            title = guide.endings["bekymringsmelding"].title
            buttons.append(Button(title, A_GOTO, "bekymringsmelding"))
        buttons.append(Button(ui.restart, A_START))
        links = []
        for contact in (config.contacts.barnevernvakt, config.contacts.barnevern):
            if contact is not None and contact.url:
                links.append(Link(contact.name or contact.url, contact.url))
        if config.bekymringsmelding_url:
            links.append(Link(ui.bekymringsmelding_link, config.bekymringsmelding_url))
        return self._message(view, view.text(guide.acute.text), buttons, "akutt", links)

    def _step_message(self, view: View, step_id: str, can_back: bool) -> Message:
        guide, ui = view.guide, view.guide.ui
        step = guide.step(step_id)
        level_id = guide.level_of(step_id)
        assert step is not None and level_id is not None
        level = guide.levels[level_id]
        ids = list(level.steps)
        heading = ui.decision_heading if step.is_decision else ui.step_heading
        parts = [
            fill(ui.level_heading, {"level": level.title})
            + "\n"
            + fill(
                heading,
                {
                    "number": str(ids.index(step_id) + 1),
                    "count": str(len(ids)),
                    "title": step.title,
                },
            ),
            view.text(step.text),
        ]
        if step.who:
            parts.append(f"{ui.who} {view.text(step.who)}")
        if step.time_limit:
            parts.append(f"{ui.time_limit} {view.text(step.time_limit)}")
        if step.tips:
            parts.append("\n".join([ui.tips, *(f"- {view.text(tip)}" for tip in step.tips)]))
        if step.note:
            note_heading = fill(ui.local_note, {"kommune": view.values["kommune"]})
            parts.append(f"{note_heading} {view.text(step.note)}")

        buttons: list[Button] = []
        if step.is_decision:
            buttons += [Button(c.label, A_GOTO, c.target, c.style) for c in step.options]
        else:
            following = guide.following(step_id)
            if following:
                buttons.append(Button(ui.next, A_GOTO, following, "primary"))
        buttons += [
            Button(fill(ui.tool, {"title": guide.tools[t].title}), A_TOOL, t) for t in step.tools
        ]
        if can_back:
            buttons.append(Button(ui.back, A_BACK))
        buttons += [Button(ui.whole_level, A_OVERVIEW, level_id), Button(ui.choose_level, A_LEVELS)]
        if step.followup:
            buttons.append(Button(guide.followup.button, A_FOLLOWUP, step_id))
        buttons += [Button(ui.restart, A_START), self._acute_button(view)]
        links = [
            Link(fill(ui.tool, {"title": guide.tools[t].title}), view.config.tool_urls[t])
            for t in step.tools
            if t in view.config.tool_urls
        ]
        return self._message(
            view,
            "\n\n".join(parts),
            buttons,
            f"{TOPIC}:{step_id}",
            links + self._common_links(view),
        )

    def _ending_message(self, view: View, name: str, can_back: bool) -> Message:
        guide, ui, config = view.guide, view.guide.ui, view.config
        ending = guide.endings[name]
        buttons: list[Button] = []
        if ending.followup:
            buttons.append(Button(guide.followup.button, A_FOLLOWUP, name))
        if can_back:
            buttons.append(Button(ui.back, A_BACK))
        buttons += [Button(ui.restart, A_START), self._acute_button(view)]
        links: list[Link] = []
        if name == "bekymringsmelding":
            if config.bekymringsmelding_url:
                links.append(Link(ui.bekymringsmelding_link, config.bekymringsmelding_url))
            barnevern = config.contacts.barnevern
            if barnevern is not None and barnevern.url:
                links.append(Link(barnevern.name or barnevern.url, barnevern.url))
        return self._message(
            view,
            view.text(ending.text),
            buttons,
            f"{TOPIC}:{name}",
            links + self._common_links(view),
        )

    def _levels_message(self, view: View, can_back: bool) -> Message:
        guide, ui = view.guide, view.guide.ui
        lines = [ui.levels_text.strip()]
        lines += [f"- **{level.title}:** {level.summary}" for level in guide.levels.values()]
        buttons = [
            Button(level.title, A_GOTO, level_id) for level_id, level in guide.levels.items()
        ]
        if can_back:
            buttons.append(Button(ui.back, A_BACK))
        buttons.append(self._acute_button(view))
        return self._message(view, "\n".join(lines), buttons, f"{TOPIC}:nivaer")

    def _overview_message(self, view: View, level_id: str) -> Message:
        guide, ui = view.guide, view.guide.ui
        level = guide.levels[level_id]
        lines = [fill(ui.level_heading, {"level": level.title}), view.text(level.summary), ""]
        for number, (_step_id, step) in enumerate(level.steps.items(), start=1):
            lines.append(
                fill(
                    ui.overview_step,
                    {"number": str(number), "title": step.title, "short": view.text(step.short)},
                )
            )
            if step.is_decision:
                choices = ", ".join(c.label for c in step.options)
                lines.append(fill(ui.overview_decision, {"choices": choices}))
        buttons = [
            Button(fill(ui.start_level, {"level": level.title}), A_GOTO, level_id, "primary"),
            Button(ui.back, A_BACK),
            Button(ui.choose_level, A_LEVELS),
            self._acute_button(view),
        ]
        return self._message(
            view, "\n".join(lines), buttons, f"{TOPIC}:{level_id}", self._common_links(view)
        )

    def _tool_message(self, view: View, name: str) -> Message:
        guide, ui = view.guide, view.guide.ui
        tool = guide.tools[name]
        links = []
        if name in view.config.tool_urls:
            links.append(Link(fill(ui.tool, {"title": tool.title}), view.config.tool_urls[name]))
        buttons = [Button(ui.back, A_BACK, style="primary"), self._acute_button(view)]
        return self._message(view, view.text(tool.text), buttons, f"{TOPIC}:{name}", links)

    def _changes_message(self, view: View) -> Message:
        guide, ui = view.guide, view.guide.ui
        lines = [fill(ui.changes_heading, {"version": guide.version})]
        for entry in guide.changelog:
            lines.append(fill(ui.changes_entry, {"version": entry.version, "date": entry.date}))
            lines += [f"- {change}" for change in entry.changes]
        buttons = [Button(ui.back, A_BACK, style="primary"), self._acute_button(view)]
        return self._message(view, "\n".join(lines), buttons, f"{TOPIC}:endringer")

    # handlers ------------------------------------------------------------------------------------

    async def start(self, ctx: TurnContext) -> Reply:
        """The first screen: "may the child be in acute danger?" (keeps the place for resuming)."""
        pos = _Position.of(ctx)
        pos.history = []
        pos.save(ctx, START)
        return self._show(ctx, START)

    async def acute(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, ACUTE)

    async def goto(self, ctx: TurnContext) -> Reply:
        """Open the step, level, ending or acute path named by the button's value."""
        view = self.view(ctx)
        node = view.guide.resolve(ctx.turn.value)
        if node is None:
            return self._stale(ctx, view)
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

    async def levels(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, LEVELS_KEY)

    async def overview(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, OVERVIEW_PREFIX + ctx.turn.value)

    async def tool(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, TOOL_PREFIX + ctx.turn.value)

    async def changes(self, ctx: TurnContext) -> Reply:
        return self._show(ctx, CHANGES_KEY)

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
        buttons = [Button(texts.back, A_BACK), self._acute_button(view)]
        return ctx.reply(self._message(view, text, buttons, f"{TOPIC}:paminnelse", form=form))

    async def followup_save(self, ctx: TurnContext) -> Reply:
        """Store the reminder if the label is short and free of personal data."""
        view = self.view(ctx)
        texts = view.guide.followup
        label = " ".join(ctx.turn.form_values.get("label", "").split())
        allowed_days = {o.days for o in texts.days_options}
        raw_days = ctx.turn.form_values.get("days", "").strip()
        days = int(raw_days) if raw_days.isdigit() else 0
        if not label:
            return self._followup_form(ctx, f"**{texts.empty}**")
        if len(label) > FOLLOWUP_LABEL_MAX:
            return self._followup_form(
                ctx, "**" + fill(texts.too_long, {"max": str(FOLLOWUP_LABEL_MAX)}) + "**"
            )
        kinds = _personal_data(label)
        if kinds:
            described = " og ".join(dict.fromkeys(texts.kinds.get(k, k) for k in kinds))
            return self._followup_form(
                ctx, "**" + fill(texts.personal_data, {"kinds": described}) + "**"
            )
        if days not in allowed_days:
            return self._followup_form(ctx, f"**{texts.bad_days}**")
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
        buttons = [Button(texts.back, A_GOTO if back_to != START else A_START, back_to)]
        buttons.append(self._acute_button(view))
        return ctx.reply(self._message(view, saved, buttons, f"{TOPIC}:paminnelse-lagret"))

    async def feedback_source(self, ctx: TurnContext, ref: str) -> tuple[str, Message] | None:
        """A level's decision screen again for a 👍 / 👎 on it: (level id, message), or None."""
        view = self.view(ctx)
        step, level = view.guide.step(ref), view.guide.level_of(ref)
        if step is None or level is None or not step.is_decision:
            return None
        message = self.render(view, ref, _Position.of(ctx))
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
        if self.router is not None and self.router.on_unknown_text is not None:
            return await self.router.on_unknown_text(ctx)
        return ctx.reply(self._message(view, guide.ui.unknown_in_guide, [], TOPIC))


def _normalized(guides: GuideSet, attribute: str) -> set[str]:
    words: set[str] = set()
    for guide in guides.by_lang.values():
        words |= {normalize(w) for w in getattr(guide, attribute)}
    return words


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

_active: GuideDialog | None = None


def _dialog() -> GuideDialog:
    global _active
    if _active is None:
        _active = GuideDialog()
    return _active


async def start_guide(ctx: TurnContext) -> Reply:
    """Open the guide's first screen (for other dialogs, e.g. an FAQ answer about "uro")."""
    return await _dialog().start(ctx)


async def show_acute(ctx: TurnContext) -> Reply:
    """Show the acute path with the tenant's barnevern/barnevernvakt numbers."""
    return await _dialog().acute(ctx)


async def step_back(ctx: TurnContext) -> Reply:
    """One guide step back (for "tilbake" typed while the guide is open)."""
    return await _dialog().back(ctx)


async def level_feedback_source(ctx: TurnContext, ref: str) -> tuple[str, Message] | None:
    """For ``dialogs.feedback``: the decision screen a 👍 / 👎 was given on."""
    return await _dialog().feedback_source(ctx, ref)


def register(
    router: Router,
    kommune_dir: Path | None = None,
    content_dir: Path | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> GuideDialog:
    """Add the guide's actions, entry phrases and typed navigation to ``router``.

    Raises GuideError (with file and line) when the guide content is invalid.
    """
    global _active
    dialog = GuideDialog(content_dir or CONTENT_DIR, kommune_dir or DEFAULT_KOMMUNE_DIR, clock)
    dialog.router = router
    router.add_action(A_START, dialog.start)
    router.add_action(A_ACUTE, dialog.acute)
    router.add_action(A_GOTO, dialog.goto)
    router.add_action(A_BACK, dialog.back)
    router.add_action(A_LEVELS, dialog.levels)
    router.add_action(A_OVERVIEW, dialog.overview)
    router.add_action(A_TOOL, dialog.tool)
    router.add_action(A_CHANGES, dialog.changes)
    router.add_action(A_FOLLOWUP, dialog.followup)
    router.add_action(A_FOLLOWUP_SAVE, dialog.followup_save)
    router.add_commands("guide.entry_commands", dialog.start)
    router.add_state_text(DIALOG, dialog.text)
    _active = dialog
    return dialog
