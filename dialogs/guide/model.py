"""The guide ("veileder ved uro") as validated data: its schema and the rules of its graph.

``content/<lang>/guide.yaml`` describes nivå 0–3 as a graph: levels hold ordered steps, the last step
of a level is a decision point whose options lead to other steps, levels or endings, and the acute
path is reachable from every step (the schema does not let a step switch it off). Loading checks the
structure with pydantic and the graph by hand (unknown targets, unreachable steps, missing decision
points, unknown placeholders, nb and nn out of step) and reports every problem as ``file:line:
message`` using the YAML node marks. Kommune override files are ``dialogs.guide.kommune_model``; the
Mermaid view for ``docs/`` is ``dialogs.guide.docs``. This module only reads files: it must not talk
to the database or to any platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogs.content import CONTENT_DIR, LANGUAGES, Content, ContentError
from dialogs.messages import ButtonStyle
from dialogs.yaml_source import (
    ContentFileError,
    KeyPath,
    Problem,
    YamlSource,
    placeholders,
    read_yaml,
    validation_problems,
)

GUIDE_FILE = "guide.yaml"
ACUTE = "akutt"
START = "start"
RESERVED_IDS = frozenset({ACUTE, START})
CONTACT_KEYS = ("barnevern", "barnevernvakt", "helsestasjon", "ppt")
REQUIRED_DEFAULTS = (
    "kommune",
    *CONTACT_KEYS,
    "handlingsveileder",
    "bekymringsmelding_kanal",
)
TIME_LIMIT_PREFIX = "frist_"
MAX_BUTTON_LABEL = 75
ID_PATTERN = r"^[a-z][a-z0-9_]{0,40}$"
# Placeholders the code itself fills into ``ui`` and ``followup`` texts.
_UI_PLACEHOLDERS = frozenset(
    {
        "version",
        "kommune",
        "kommune_version",
        "level",
        "number",
        "count",
        "title",
        "name",
        "phone",
        "short",
        "choices",
        "date",
        "hour",
        "label",
        "max",
        "kinds",
    }
)


class GuideError(ContentFileError):
    """A guide or kommune file cannot be used; ``errors`` are ``file:line: message`` lines."""


def read_guide_file(path: Path) -> YamlSource:
    """``read_yaml`` for a guide or kommune file: its problems raise GuideError."""
    try:
        return read_yaml(path)
    except ContentFileError as exc:
        raise GuideError(exc.errors) from None


# the guide schema ------------------------------------------------------------------------------


class StrictModel(BaseModel):
    """Content data: unknown keys refused, frozen, surrounding spaces stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ChangelogEntry(StrictModel):
    version: str = Field(min_length=1)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    changes: list[str] = Field(min_length=1)


class Choice(StrictModel):
    """A button at a decision point (or on the first screen) and where it leads."""

    label: str = Field(min_length=1, max_length=MAX_BUTTON_LABEL)
    target: str
    style: ButtonStyle = "default"


class Step(StrictModel):
    """One step of a level. A step with ``options`` is the level's decision point."""

    title: str = Field(min_length=1, max_length=60)
    short: str = Field(min_length=1)
    text: str = Field(min_length=1)
    who: str = ""
    time_limit: str = ""
    tips: list[str] = []
    tools: list[str] = []
    options: list[Choice] = []
    next: str | None = None
    followup: bool = False
    note: str = ""
    # Every step offers "Akutt fare?" in one tap; the renderer always adds it and no file may
    # switch it off.
    acute_exit: Literal[True] = True

    @property
    def is_decision(self) -> bool:
        return bool(self.options)


class Level(StrictModel):
    title: str = Field(min_length=1, max_length=60)
    summary: str = Field(min_length=1)
    steps: dict[str, Step] = Field(min_length=1)


class Screen(StrictModel):
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    options: list[Choice] = []


class Ending(StrictModel):
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    followup: bool = False


class Tool(StrictModel):
    title: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1)


class DaysOption(StrictModel):
    days: int = Field(ge=1, le=365)
    label: str = Field(min_length=1)


class FollowupTexts(StrictModel):
    button: str
    title: str
    text: str
    label_field: str
    label_placeholder: str
    label_help: str
    days_field: str
    days_options: list[DaysOption] = Field(min_length=1)
    submit: str
    saved: str
    saved_local: str  # web chat and terminal: the bot cannot write to them later
    empty: str
    too_long: str
    personal_data: str
    bad_days: str
    kinds: dict[str, str]
    back: str


class UiTexts(StrictModel):
    footer: str
    footer_kommune: str
    level_heading: str
    step_heading: str
    decision_heading: str
    who: str
    time_limit: str
    tips: str
    local_note: str
    contact_with_phone: str
    next: str
    back: str
    whole_level: str
    choose_level: str
    restart: str
    acute: str
    resume: str
    back_to_step: str
    start_level: str
    tool: str
    changes: str
    handlingsveileder_link: str
    bekymringsmelding_link: str
    levels_text: str
    overview_step: str
    overview_decision: str
    changes_heading: str
    changes_entry: str
    stale: str
    unknown_in_guide: str


class MoreTexts(StrictModel):
    """The "Mer …" screen: a step's less used choices, so no screen shows too many at once."""

    button: str = Field(min_length=1, max_length=MAX_BUTTON_LABEL)
    text: str = Field(min_length=1)
    report: str = Field(min_length=1, max_length=MAX_BUTTON_LABEL)


StafettLevel = Literal[1, 2]


class StafettStart(StrictModel):
    """How a level brings in the stafettholder and the stafettlogg when a kommune starts them there."""

    step: str
    #: Added to ``step`` when the kommune starts on this level ("" when the step says it already).
    text: str = ""
    #: Added to ``step`` when the kommune started on an earlier level.
    continued: str = ""


class StafettTexts(StrictModel):
    """Where the stafettlogg starts: nivå 1 or 2, as the kommune file says (``stafett_start_level``)."""

    tool: str
    default_level: StafettLevel = 2
    levels: dict[StafettLevel, StafettStart]
    #: Added to the tool's text when the kommune file names the level (``{level}``, ``{kommune}``).
    tool_note: str = Field(min_length=1)


class Guide(StrictModel):
    """One language's guide, as in ``content/<lang>/guide.yaml``."""

    version: str = Field(min_length=1)
    changelog: list[ChangelogEntry] = Field(min_length=1)
    entry_commands: list[str] = Field(min_length=1)
    next_commands: list[str] = []
    restart_commands: list[str] = []
    defaults: dict[str, str]
    ui: UiTexts
    followup: FollowupTexts
    more: MoreTexts
    stafett: StafettTexts
    start: Screen
    acute: Screen
    endings: dict[str, Ending]
    tools: dict[str, Tool] = {}
    levels: dict[str, Level] = Field(min_length=1)

    # lookups -------------------------------------------------------------------------------------

    def iter_steps(self) -> Iterator[tuple[str, str, Step]]:
        """(level id, step id, step) for every step, in order."""
        for level_id, level in self.levels.items():
            for step_id, step in level.steps.items():
                yield level_id, step_id, step

    def step(self, step_id: str) -> Step | None:
        for _level_id, sid, step in self.iter_steps():
            if sid == step_id:
                return step
        return None

    def level_of(self, step_id: str) -> str | None:
        for level_id, sid, _step in self.iter_steps():
            if sid == step_id:
                return level_id
        return None

    def first_step(self, level_id: str) -> str:
        return next(iter(self.levels[level_id].steps))

    def following(self, step_id: str) -> str | None:
        """Where "next" leads from a step that is not a decision: ``next:`` or the step after it."""
        step = self.step(step_id)
        level_id = self.level_of(step_id)
        if step is None or level_id is None or step.is_decision:
            return None
        if step.next:
            return step.next
        ids = list(self.levels[level_id].steps)
        position = ids.index(step_id)
        return ids[position + 1] if position + 1 < len(ids) else None

    def resolve(self, target: str) -> str | None:
        """The node a target opens: a step id, an ending id, ``akutt``; a level opens its first
        step. None when unknown."""
        if target == ACUTE or target in self.endings:
            return target
        if target in self.levels:
            return self.first_step(target)
        if self.step(target) is not None:
            return target
        return None

    def time_limit_names(self) -> set[str]:
        return {k for k in self.defaults if k.startswith(TIME_LIMIT_PREFIX)}


# graph and consistency rules ---------------------------------------------------------------------


def _edges(guide: Guide) -> Iterator[tuple[str, str, KeyPath]]:
    """(from node, raw target, path of the target) for every edge of the content graph."""
    for index, choice in enumerate(guide.start.options):
        yield START, choice.target, ("start", "options", index, "target")
    for level_id, step_id, step in guide.iter_steps():
        path: KeyPath = ("levels", level_id, "steps", step_id)
        if step.next:
            yield step_id, step.next, (*path, "next")
        for index, choice in enumerate(step.options):
            yield step_id, choice.target, (*path, "options", index, "target")
        following = None if step.next or step.is_decision else guide.following(step_id)
        if following:
            yield step_id, following, path


def _texts(guide: Guide) -> Iterator[tuple[KeyPath, str, frozenset[str] | None]]:
    """Every user-facing text with its path and the placeholders allowed in it (None: defaults)."""
    yield ("start", "text"), guide.start.text, None
    yield ("acute", "text"), guide.acute.text, None
    for name, ending in guide.endings.items():
        yield ("endings", name, "text"), ending.text, None
    for name, tool in guide.tools.items():
        yield ("tools", name, "text"), tool.text, None
    for level_id, step_id, step in guide.iter_steps():
        path: KeyPath = ("levels", level_id, "steps", step_id)
        for field in ("text", "who", "time_limit", "note", "short"):
            yield (*path, field), str(getattr(step, field)), None
        for index, tip in enumerate(step.tips):
            yield (*path, "tips", index), tip, None
    for field, value in guide.ui.model_dump().items():
        yield ("ui", field), str(value), _UI_PLACEHOLDERS
    for field, value in guide.followup.model_dump().items():
        if isinstance(value, str):
            yield ("followup", field), value, _UI_PLACEHOLDERS
    for field, value in guide.more.model_dump().items():
        yield ("more", field), str(value), _UI_PLACEHOLDERS
    stafett_allowed = frozenset(guide.defaults) | {"level"}
    yield ("stafett", "tool_note"), guide.stafett.tool_note, stafett_allowed
    for level, start in guide.stafett.levels.items():
        for field in ("text", "continued"):
            yield ("stafett", "levels", level, field), getattr(start, field), None


def _stafett_problems(guide: Guide) -> Iterator[Problem]:
    """The stafett settings must name the guide's own tool and a plain step of each level."""
    stafett = guide.stafett
    if stafett.tool not in guide.tools:
        yield Problem(("stafett", "tool"), f"unknown tool {stafett.tool!r}")
    if stafett.default_level not in stafett.levels:
        yield Problem(("stafett", "default_level"), "no entry under stafett.levels")
    for level, start in stafett.levels.items():
        path: KeyPath = ("stafett", "levels", level, "step")
        level_id = f"nivaa{level}"
        step = guide.levels[level_id].steps.get(start.step) if level_id in guide.levels else None
        if step is None:
            yield Problem(path, f"{start.step!r} is no step of {level_id}")
        elif step.is_decision:
            yield Problem(path, "must not be a decision point")


def graph_problems(guide: Guide) -> list[Problem]:
    """Everything wrong with a structurally valid guide as a graph."""
    problems: list[Problem] = []
    seen: dict[str, KeyPath] = {name: (name,) for name in RESERVED_IDS}
    named: list[tuple[str, KeyPath]] = [(lv, ("levels", lv)) for lv in guide.levels]
    named += [(sid, ("levels", lv, "steps", sid)) for lv, sid, _ in guide.iter_steps()]
    named += [(name, ("endings", name)) for name in guide.endings]
    for name, path in named:
        if not re.match(ID_PATTERN, name):
            problems.append(Problem(path, f"id {name!r} must be lower-case letters, digits and _"))
        if name in seen:
            problems.append(Problem(path, f"id {name!r} is used twice (ids are global)"))
        seen.setdefault(name, path)
    for required in REQUIRED_DEFAULTS:
        if required not in guide.defaults:
            problems.append(Problem(("defaults",), f"missing default for {{{required}}}"))

    for level_id, level in guide.levels.items():
        last_id, last = list(level.steps.items())[-1]
        if not last.is_decision and not last.next:
            problems.append(
                Problem(
                    ("levels", level_id, "steps", last_id),
                    "the last step of a level must be a decision point (options:) or say next:",
                )
            )
        if not any(step.is_decision for step in level.steps.values()):
            problems.append(Problem(("levels", level_id), "level has no decision point"))
    for level_id, step_id, step in guide.iter_steps():
        step_path: KeyPath = ("levels", level_id, "steps", step_id)
        if step.is_decision and step.next:
            problems.append(
                Problem((*step_path, "next"), "a decision point cannot also have next:")
            )
        for index, tool in enumerate(step.tools):
            if tool not in guide.tools:
                problems.append(Problem((*step_path, "tools", index), f"unknown tool {tool!r}"))

    if ACUTE not in {c.target for c in guide.start.options}:
        problems.append(
            Problem(("start", "options"), f"the first screen must offer the acute path ({ACUTE})")
        )
    adjacency: dict[str, set[str]] = {}
    for source, target, path in _edges(guide):
        node = guide.resolve(target)
        if node is None:
            problems.append(Problem(path, f"unknown target {target!r}"))
            continue
        adjacency.setdefault(source, set()).add(node)
    reached = {START}
    todo = [START]
    while todo:
        for node in adjacency.get(todo.pop(), ()):
            if node not in reached:
                reached.add(node)
                todo.append(node)
    for level_id, step_id, _step in guide.iter_steps():
        if step_id not in reached:
            problems.append(
                Problem(("levels", level_id, "steps", step_id), "cannot be reached from the start")
            )
    for name in guide.endings:
        if name not in reached:
            problems.append(Problem(("endings", name), "cannot be reached from the start"))

    problems.extend(_stafett_problems(guide))
    known = frozenset(guide.defaults)
    for path, text, allowed in _texts(guide):
        for name in sorted(placeholders(text) - (allowed if allowed is not None else known)):
            problems.append(Problem(path, f"unknown placeholder {{{name}}}"))
    return problems


def guide_from_source(source: YamlSource) -> Guide:
    """Validate one parsed ``guide.yaml``; raise GuideError listing every problem with its line."""
    if not isinstance(source.data, dict):
        raise GuideError([f"{source.file}:1: the top level must be a mapping"])
    try:
        guide = Guide.model_validate(source.data)
    except ValidationError as exc:
        raise GuideError(source.format(validation_problems(exc))) from None
    problems = graph_problems(guide)
    if problems:
        raise GuideError(source.format(problems))
    return guide


def _shape(guide: Guide) -> dict[KeyPath, Any]:
    """What must be the same in every language: ids, order, targets, tools, flags, defaults."""
    shape: dict[KeyPath, Any] = {
        ("version",): guide.version,
        ("levels",): list(guide.levels),
        ("endings",): list(guide.endings),
        ("tools",): list(guide.tools),
        ("defaults",): sorted(guide.defaults),
        ("start", "options"): [c.target for c in guide.start.options],
        ("followup", "days_options"): [o.days for o in guide.followup.days_options],
        ("followup", "kinds"): sorted(guide.followup.kinds),
        ("stafett", "tool"): guide.stafett.tool,
        ("stafett", "default_level"): guide.stafett.default_level,
        ("stafett", "levels"): {n: s.step for n, s in guide.stafett.levels.items()},
    }
    for level_id, level in guide.levels.items():
        shape[("levels", level_id, "steps")] = list(level.steps)
    for level_id, step_id, step in guide.iter_steps():
        path: KeyPath = ("levels", level_id, "steps", step_id)
        shape[(*path, "options")] = [c.target for c in step.options]
        shape[(*path, "next")] = step.next
        shape[(*path, "tools")] = step.tools
        shape[(*path, "followup")] = step.followup
    for name, ending in guide.endings.items():
        shape[("endings", name, "followup")] = ending.followup
    return shape


def language_problems(reference: Guide, other: Guide) -> list[Problem]:
    """Differences in structure between two languages' guides (texts may differ, ids may not)."""
    ref, oth = _shape(reference), _shape(other)
    return [
        Problem(path, f"differs from the other language: {oth.get(path)!r} vs {value!r}")
        for path, value in ref.items()
        if oth.get(path) != value
    ]


@dataclass(frozen=True)
class GuideSet:
    """The guide in every language, loaded from one content folder."""

    by_lang: dict[str, Guide]
    files: dict[str, Path]

    def get(self, lang: str) -> Guide:
        return self.by_lang.get(lang) or self.by_lang[LANGUAGES[0]]

    @property
    def version(self) -> str:
        return self.by_lang[LANGUAGES[0]].version


def load_guides(content_dir: Path = CONTENT_DIR) -> GuideSet:
    """Load ``<lang>/guide.yaml`` for every language and check they describe the same graph."""
    errors: list[str] = []
    by_lang: dict[str, Guide] = {}
    sources: dict[str, YamlSource] = {}
    files = {lang: content_dir / lang / GUIDE_FILE for lang in LANGUAGES}
    for lang, path in files.items():
        try:
            sources[lang] = read_guide_file(path)
            by_lang[lang] = guide_from_source(sources[lang])
        except GuideError as exc:
            errors.extend(exc.errors)
    if not errors:
        first = LANGUAGES[0]
        for lang in LANGUAGES[1:]:
            errors += sources[lang].format(language_problems(by_lang[first], by_lang[lang]))
    if errors:
        raise GuideError(errors)
    return GuideSet(by_lang, files)


def check_content_dir(path: Path) -> list[str]:
    """Every problem in a content folder (all files, nb/nn keys, the guide graph); [] when fine."""
    errors: list[str] = []
    try:
        Content.load(path)
    except ContentError as exc:
        errors.append(str(exc))
    try:
        load_guides(path)
    except GuideError as exc:
        errors.extend(exc.errors)
    return errors
