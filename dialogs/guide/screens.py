"""The guide's screens: every node of the guide rendered as a ``Message`` for one tenant's view.

A node is a step, an ending, the acute path, the first screen, the level list, a level's overview,
a tool, a step's "Mer …" screen or the change log. Rendering only reads the merged guide (``View``)
and the user's history; it never changes the user's position (that is ``dialogs.guide.dialog``).
Every screen but the acute path itself starts with the "Akutt fare?" button (issue #11), and a step
shows at most six actions of its own: what is used less (the whole level, another level, the
reminder, start again, "Meld feil eller forslag") waits behind "Mer …". Buttons carry the node they
lead to, so an old message still works after a restart or on another server process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dialogs.feedback import A_REPORT
from dialogs.guide.kommune_model import KommuneConfig
from dialogs.guide.model import ACUTE, START, Guide
from dialogs.messages import Button, Form, Link, Message
from dialogs.yaml_source import fill

TOPIC = "uro"
LEVELS_KEY = "levels"
CHANGES_KEY = "changes"
OVERVIEW_PREFIX = "overview:"
TOOL_PREFIX = "tool:"
MORE_PREFIX = "more:"
#: Teams shows six actions per row; a screen of ours fits one row where it can.
SCREEN_ACTIONS = 6

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
A_MORE = "guide:more"


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


def render(view: View, key: str, history: Sequence[str], position: str) -> Message | None:
    """The message for a node key, or None when the key is unknown (content changed)."""
    guide = view.guide
    can_back = any(h != key for h in history)
    if key == START:
        return start_message(view, position)
    if key == ACUTE:
        return _acute_message(view, position)
    if key == LEVELS_KEY:
        return _levels_message(view, can_back)
    if key == CHANGES_KEY:
        return _changes_message(view)
    if key.startswith(OVERVIEW_PREFIX) and key[len(OVERVIEW_PREFIX) :] in guide.levels:
        return _overview_message(view, key[len(OVERVIEW_PREFIX) :])
    if key.startswith(TOOL_PREFIX) and key[len(TOOL_PREFIX) :] in guide.tools:
        return _tool_message(view, key[len(TOOL_PREFIX) :])
    if key.startswith(MORE_PREFIX) and guide.step(key[len(MORE_PREFIX) :]) is not None:
        return _more_message(view, key[len(MORE_PREFIX) :])
    if key in guide.endings:
        return _ending_message(view, key, can_back)
    if guide.step(key) is not None:
        return _step_message(view, key, can_back)
    return None


def screen_message(
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


def acute_button(view: View) -> Button:
    return Button(view.guide.ui.acute, A_ACUTE, style="danger")


def report_button(view: View, origin: str) -> Button:
    """ "Meld feil eller forslag" about the screen ``origin`` (a topic like ``uro:n1_mote``)."""
    return Button(view.guide.more.report, A_REPORT, origin)


def common_links(view: View) -> list[Link]:
    if view.config.handlingsveileder_url:
        return [Link(view.guide.ui.handlingsveileder_link, view.config.handlingsveileder_url)]
    return []


def start_message(view: View, position: str) -> Message:
    guide, ui = view.guide, view.guide.ui
    buttons = [Button(c.label, A_GOTO, c.target, c.style) for c in guide.start.options]
    resume = guide.step(position)
    if resume is not None:
        buttons.append(Button(fill(ui.resume, {"title": resume.title}), A_GOTO, position))
    buttons += [Button(ui.choose_level, A_LEVELS), Button(ui.changes, A_CHANGES)]
    return screen_message(view, view.text(guide.start.text), buttons, TOPIC, common_links(view))


def _acute_message(view: View, position: str) -> Message:
    guide, ui, config = view.guide, view.guide.ui, view.config
    buttons: list[Button] = []
    if guide.step(position) is not None or position in guide.endings:
        buttons.append(Button(ui.back_to_step, A_GOTO, position, "primary"))
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
    return screen_message(view, view.text(guide.acute.text), buttons, "akutt", links)


def _step_message(view: View, step_id: str, can_back: bool) -> Message:
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

    buttons = [acute_button(view)]
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
    if step.followup and len(buttons) + 2 <= SCREEN_ACTIONS:  # room for it and "Mer …"
        buttons.append(Button(guide.followup.button, A_FOLLOWUP, step_id))
    buttons.append(Button(guide.more.button, A_MORE, step_id))
    links = [
        Link(fill(ui.tool, {"title": guide.tools[t].title}), view.config.tool_urls[t])
        for t in step.tools
        if t in view.config.tool_urls
    ]
    return screen_message(
        view,
        "\n\n".join(parts),
        buttons,
        f"{TOPIC}:{step_id}",
        links + common_links(view),
    )


def _ending_message(view: View, name: str, can_back: bool) -> Message:
    guide, ui, config = view.guide, view.guide.ui, view.config
    ending = guide.endings[name]
    buttons = [acute_button(view)]
    if ending.followup:
        buttons.append(Button(guide.followup.button, A_FOLLOWUP, name))
    if can_back:
        buttons.append(Button(ui.back, A_BACK))
    buttons += [Button(ui.restart, A_START), report_button(view, f"{TOPIC}:{name}")]
    links: list[Link] = []
    if name == "bekymringsmelding":
        if config.bekymringsmelding_url:
            links.append(Link(ui.bekymringsmelding_link, config.bekymringsmelding_url))
        barnevern = config.contacts.barnevern
        if barnevern is not None and barnevern.url:
            links.append(Link(barnevern.name or barnevern.url, barnevern.url))
    return screen_message(
        view,
        view.text(ending.text),
        buttons,
        f"{TOPIC}:{name}",
        links + common_links(view),
    )


def _levels_message(view: View, can_back: bool) -> Message:
    guide, ui = view.guide, view.guide.ui
    lines = [ui.levels_text.strip()]
    lines += [f"- **{level.title}:** {level.summary}" for level in guide.levels.values()]
    buttons = [acute_button(view)]
    buttons += [Button(level.title, A_GOTO, level_id) for level_id, level in guide.levels.items()]
    if can_back:
        buttons.append(Button(ui.back, A_BACK))
    return screen_message(view, "\n".join(lines), buttons, f"{TOPIC}:nivaer")


def _overview_message(view: View, level_id: str) -> Message:
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
        acute_button(view),
        Button(fill(ui.start_level, {"level": level.title}), A_GOTO, level_id, "primary"),
        Button(ui.back, A_BACK),
        Button(ui.choose_level, A_LEVELS),
    ]
    return screen_message(
        view, "\n".join(lines), buttons, f"{TOPIC}:{level_id}", common_links(view)
    )


def _tool_message(view: View, name: str) -> Message:
    guide, ui = view.guide, view.guide.ui
    tool = guide.tools[name]
    links = []
    if name in view.config.tool_urls:
        links.append(Link(fill(ui.tool, {"title": tool.title}), view.config.tool_urls[name]))
    buttons = [acute_button(view), Button(ui.back, A_BACK, style="primary")]
    return screen_message(view, view.text(tool.text), buttons, f"{TOPIC}:{name}", links)


def _more_message(view: View, step_id: str) -> Message:
    """A step's less used choices; "Tilbake" (the history) leads to the step again."""
    guide, ui = view.guide, view.guide.ui
    step, level_id = guide.step(step_id), guide.level_of(step_id)
    assert step is not None and level_id is not None
    buttons = [acute_button(view), Button(ui.back, A_BACK, style="primary")]
    buttons.append(Button(ui.whole_level, A_OVERVIEW, level_id))
    if step.followup:
        buttons.append(Button(guide.followup.button, A_FOLLOWUP, step_id))
    buttons.append(Button(ui.restart, A_START))
    buttons.append(report_button(view, f"{TOPIC}:{step_id}"))
    if len(buttons) < SCREEN_ACTIONS:  # "Velg nivå" is also on the level overview
        buttons.insert(3, Button(ui.choose_level, A_LEVELS))
    text = fill(guide.more.text, {"title": step.title})
    return screen_message(view, text, buttons, f"{TOPIC}:{step_id}:mer")


def _changes_message(view: View) -> Message:
    guide, ui = view.guide, view.guide.ui
    lines = [fill(ui.changes_heading, {"version": guide.version})]
    for entry in guide.changelog:
        lines.append(fill(ui.changes_entry, {"version": entry.version, "date": entry.date}))
        lines += [f"- {change}" for change in entry.changes]
    buttons = [acute_button(view), Button(ui.back, A_BACK, style="primary")]
    return screen_message(view, "\n".join(lines), buttons, f"{TOPIC}:endringer")
