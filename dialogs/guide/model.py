"""The guide ("veileder ved uro") and kommune override files as validated data, plus a Mermaid view.

``content/<lang>/guide.yaml`` describes nivå 0–3 as a graph: levels hold ordered steps, the last step
of a level is a decision point whose options lead to other steps, levels or endings, and the acute
path is reachable from every step (the schema does not let a step switch it off). Loading checks the
structure with pydantic and the graph by hand (unknown targets, unreachable steps, missing decision
points, unknown placeholders, nb and nn out of step) and reports every problem as ``file:line:
message`` using the YAML node marks. A kommune file (``kommuner/<tenant>.yaml``) adds contacts, time
limits, links, extra steps and local wording; ``apply_kommune`` merges it into one language's guide.
This module only reads files: it must not talk to the database or to any platform.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dialogs.content import CONTENT_DIR, LANGUAGES, Content, ContentError
from dialogs.timezones import known_timezone

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
_ID = r"^[a-z][a-z0-9_]{0,40}$"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
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

Path_ = tuple[str | int, ...]
ButtonStyle = Literal["default", "primary", "danger"]


class Problem(NamedTuple):
    """One thing wrong with a file: where (a path of keys and list indexes) and what."""

    path: Path_
    message: str


class GuideError(Exception):
    """A guide or kommune file cannot be used; ``errors`` are ``file:line: message`` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# YAML with line numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML file: its data and the 1-based line of every key path in it."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Iterable[str | int]) -> int:
        """The line of ``path``, or of its longest prefix that exists in the file."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get((), 1)

    def format(self, problems: Iterable[Problem]) -> list[str]:
        return [
            f"{self.file}:{self.line_of(p.path)}: {_dotted(p.path)}{p.message}" for p in problems
        ]


def _dotted(path: Path_) -> str:
    return (".".join(str(p) for p in path) + ": ") if path else ""


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], dupes: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dupes.append(Problem((*path, key), "key appears twice"))
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines, dupes)


def read_yaml(path: Path, text: str | None = None) -> YamlSource:
    """Parse ``path`` keeping line numbers; raise GuideError on syntax errors or duplicate keys."""
    name = str(path)
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise GuideError([f"{name}: cannot read file: {exc.strerror or exc}"]) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        context = ""
        if exc.context and exc.context_mark:
            context = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise GuideError([f"{name}:{line}: YAML syntax error: {exc.problem}{context}"]) from exc
    except yaml.YAMLError as exc:
        raise GuideError([f"{name}: YAML error: {exc}"]) from exc
    lines: dict[Path_, int] = {(): 1}
    dupes: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, dupes)
    source = YamlSource(name, data, lines)
    if dupes:
        raise GuideError(source.format(dupes))
    return source


def _validation_problems(exc: ValidationError) -> list[Problem]:
    return [Problem(tuple(err["loc"]), err["msg"]) for err in exc.errors()]


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders used in ``text``."""
    return set(_PLACEHOLDER.findall(text))


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders that ``values`` knows; leave everything else alone."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# the guide schema ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ChangelogEntry(_Strict):
    version: str = Field(min_length=1)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    changes: list[str] = Field(min_length=1)


class Choice(_Strict):
    """A button at a decision point (or on the first screen) and where it leads."""

    label: str = Field(min_length=1, max_length=MAX_BUTTON_LABEL)
    target: str
    style: ButtonStyle = "default"


class Step(_Strict):
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


class Level(_Strict):
    title: str = Field(min_length=1, max_length=60)
    summary: str = Field(min_length=1)
    steps: dict[str, Step] = Field(min_length=1)


class Screen(_Strict):
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    options: list[Choice] = []


class Ending(_Strict):
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    followup: bool = False


class Tool(_Strict):
    title: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1)


class DaysOption(_Strict):
    days: int = Field(ge=1, le=365)
    label: str = Field(min_length=1)


class FollowupTexts(_Strict):
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


class UiTexts(_Strict):
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


class Guide(_Strict):
    """One language's guide, as in ``content/<lang>/guide.yaml``."""

    version: str = Field(min_length=1)
    changelog: list[ChangelogEntry] = Field(min_length=1)
    entry_commands: list[str] = Field(min_length=1)
    next_commands: list[str] = []
    restart_commands: list[str] = []
    defaults: dict[str, str]
    ui: UiTexts
    followup: FollowupTexts
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


def _step_path(guide: Guide, step_id: str) -> Path_:
    return ("levels", guide.level_of(step_id) or "?", "steps", step_id)


def _edges(guide: Guide) -> Iterator[tuple[str, str, Path_]]:
    """(from node, raw target, path of the target) for every edge of the content graph."""
    for index, choice in enumerate(guide.start.options):
        yield START, choice.target, ("start", "options", index, "target")
    for level_id, step_id, step in guide.iter_steps():
        path: Path_ = ("levels", level_id, "steps", step_id)
        if step.next:
            yield step_id, step.next, (*path, "next")
        for index, choice in enumerate(step.options):
            yield step_id, choice.target, (*path, "options", index, "target")
        following = None if step.next or step.is_decision else guide.following(step_id)
        if following:
            yield step_id, following, path


def _texts(guide: Guide) -> Iterator[tuple[Path_, str, frozenset[str] | None]]:
    """Every user-facing text with its path and the placeholders allowed in it (None: defaults)."""
    yield ("start", "text"), guide.start.text, None
    yield ("acute", "text"), guide.acute.text, None
    for name, ending in guide.endings.items():
        yield ("endings", name, "text"), ending.text, None
    for name, tool in guide.tools.items():
        yield ("tools", name, "text"), tool.text, None
    for level_id, step_id, step in guide.iter_steps():
        path: Path_ = ("levels", level_id, "steps", step_id)
        for field in ("text", "who", "time_limit", "note", "short"):
            yield (*path, field), str(getattr(step, field)), None
        for index, tip in enumerate(step.tips):
            yield (*path, "tips", index), tip, None
    for field, value in guide.ui.model_dump().items():
        yield ("ui", field), str(value), _UI_PLACEHOLDERS
    for field, value in guide.followup.model_dump().items():
        if isinstance(value, str):
            yield ("followup", field), value, _UI_PLACEHOLDERS


def graph_problems(guide: Guide) -> list[Problem]:
    """Everything wrong with a structurally valid guide as a graph."""
    problems: list[Problem] = []
    seen: dict[str, Path_] = {name: (name,) for name in RESERVED_IDS}
    named: list[tuple[str, Path_]] = [(lv, ("levels", lv)) for lv in guide.levels]
    named += [(sid, ("levels", lv, "steps", sid)) for lv, sid, _ in guide.iter_steps()]
    named += [(name, ("endings", name)) for name in guide.endings]
    for name, path in named:
        if not re.match(_ID, name):
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
        step_path: Path_ = ("levels", level_id, "steps", step_id)
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

    known = frozenset(guide.defaults)
    for path, text, allowed in _texts(guide):
        for name in sorted(placeholders(text) - (allowed if allowed is not None else known)):
            problems.append(Problem(path, f"unknown placeholder {{{name}}}"))
    return problems


def load_guide(path: Path) -> Guide:
    """Load and check one ``guide.yaml``; raise GuideError listing every problem with its line."""
    source = read_yaml(path)
    return guide_from_source(source)


def guide_from_source(source: YamlSource) -> Guide:
    if not isinstance(source.data, dict):
        raise GuideError([f"{source.file}:1: the top level must be a mapping"])
    try:
        guide = Guide.model_validate(source.data)
    except ValidationError as exc:
        raise GuideError(source.format(_validation_problems(exc))) from None
    problems = graph_problems(guide)
    if problems:
        raise GuideError(source.format(problems))
    return guide


def _shape(guide: Guide) -> dict[Path_, Any]:
    """What must be the same in every language: ids, order, targets, tools, flags, defaults."""
    shape: dict[Path_, Any] = {
        ("version",): guide.version,
        ("levels",): list(guide.levels),
        ("endings",): list(guide.endings),
        ("tools",): list(guide.tools),
        ("defaults",): sorted(guide.defaults),
        ("start", "options"): [c.target for c in guide.start.options],
        ("followup", "days_options"): [o.days for o in guide.followup.days_options],
        ("followup", "kinds"): sorted(guide.followup.kinds),
    }
    for level_id, level in guide.levels.items():
        shape[("levels", level_id, "steps")] = list(level.steps)
    for level_id, step_id, step in guide.iter_steps():
        path: Path_ = ("levels", level_id, "steps", step_id)
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
            sources[lang] = read_yaml(path)
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


# kommune override files --------------------------------------------------------------------------


class LangText(_Strict):
    """A text written in both languages."""

    nb: str = Field(min_length=1)
    nn: str = Field(min_length=1)


LocalText = str | LangText


def local(text: LocalText | None, lang: str) -> str:
    """The text in ``lang`` (a plain string is used for both languages)."""
    if text is None:
        return ""
    if isinstance(text, LangText):
        return text.nn if lang == "nn" else text.nb
    return text


_URL = r"^https?://\S+$"


class Contact(_Strict):
    """A service the user may need to call; every field is optional."""

    name: str = ""
    phone: str = Field(default="", pattern=r"^(\+\d{1,3} ?)?[\d ]{3,20}$")
    url: str = Field(default="", pattern=rf"{_URL}|^$")


class Contacts(_Strict):
    barnevern: Contact | None = None
    barnevernvakt: Contact | None = None
    helsestasjon: Contact | None = None
    ppt: Contact | None = None


class ExtraStep(_Strict):
    """A kommune's own step, inserted after an existing (non-decision) step of the same level."""

    id: str = Field(pattern=_ID)
    after: str
    title: LocalText
    short: LocalText
    text: LocalText
    who: LocalText = ""
    time_limit: LocalText = ""
    tips: list[LocalText] = []
    followup: bool = False


class StepWording(_Strict):
    """Local wording for one step: replace ``text``/``who``/``time_limit`` or add a ``note``."""

    text: LocalText | None = None
    who: LocalText | None = None
    time_limit: LocalText | None = None
    note: LocalText | None = None


class KommuneConfig(_Strict):
    """One kommune's settings for the guide, as in ``kommuner/<tenant>.yaml``."""

    kommune: str = ""
    version: str = ""
    timezone: str = "Europe/Oslo"
    contacts: Contacts = Contacts()
    handlingsveileder_url: str = Field(default="", pattern=rf"{_URL}|^$")
    bekymringsmelding_url: str = Field(default="", pattern=rf"{_URL}|^$")
    tool_urls: dict[str, str] = {}
    time_limits: dict[str, LocalText] = {}
    extra_steps: list[ExtraStep] = []
    wording: dict[str, StepWording] = {}

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @field_validator("tool_urls")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not re.match(_URL, url):
                raise ValueError(f"{name}: not an http(s) URL")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DEFAULT_KOMMUNE = KommuneConfig()


def kommune_from_source(source: YamlSource) -> KommuneConfig:
    """Validate a parsed kommune file's structure; raise GuideError with line numbers."""
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise GuideError([f"{source.file}:1: the top level must be a mapping"])
    try:
        return KommuneConfig.model_validate(data)
    except ValidationError as exc:
        raise GuideError(source.format(_validation_problems(exc))) from None


def _local_step(extra: ExtraStep, lang: str) -> Step:
    return Step(
        title=local(extra.title, lang),
        short=local(extra.short, lang),
        text=local(extra.text, lang),
        who=local(extra.who, lang),
        time_limit=local(extra.time_limit, lang),
        tips=[local(t, lang) for t in extra.tips],
        followup=extra.followup,
    )


def apply_kommune(guide: Guide, config: KommuneConfig, lang: str) -> tuple[Guide, list[Problem]]:
    """The guide with the kommune's extra steps and wording merged in, and what did not fit
    (paths into the kommune file). On problems the guide is returned unchanged."""
    problems: list[Problem] = []
    known_ids = set(guide.levels) | set(guide.endings) | set(RESERVED_IDS)
    known_ids |= {sid for _, sid, _ in guide.iter_steps()}
    for name in config.tool_urls:
        if name not in guide.tools:
            problems.append(Problem(("tool_urls", name), f"unknown tool {name!r}"))
    for name in config.time_limits:
        if name not in guide.time_limit_names():
            known = ", ".join(sorted(guide.time_limit_names()))
            problems.append(Problem(("time_limits", name), f"unknown time limit (known: {known})"))
    levels = {lv: dict(level.steps) for lv, level in guide.levels.items()}
    for index, extra in enumerate(config.extra_steps):
        path: Path_ = ("extra_steps", index)
        after_level = guide.level_of(extra.after) or next(
            (lv for lv, steps in levels.items() if extra.after in steps), None
        )
        if extra.id in known_ids:
            problems.append(Problem((*path, "id"), f"id {extra.id!r} is already used"))
            continue
        if after_level is None:
            problems.append(Problem((*path, "after"), f"unknown step {extra.after!r}"))
            continue
        after = levels[after_level][extra.after]
        if after.is_decision or after.next:
            problems.append(
                Problem((*path, "after"), "cannot insert after a decision point or a jump")
            )
            continue
        items = list(levels[after_level].items())
        position = [k for k, _ in items].index(extra.after) + 1
        items.insert(position, (extra.id, _local_step(extra, lang)))
        levels[after_level] = dict(items)
        known_ids.add(extra.id)
    all_steps = {sid for steps in levels.values() for sid in steps}
    for step_id, wording in config.wording.items():
        if step_id not in all_steps:
            problems.append(Problem(("wording", step_id), f"unknown step {step_id!r}"))
            continue
        level_id = next(lv for lv, steps in levels.items() if step_id in steps)
        changes = {
            field: local(getattr(wording, field), lang)
            for field in ("text", "who", "time_limit", "note")
            if getattr(wording, field) is not None
        }
        levels[level_id][step_id] = levels[level_id][step_id].model_copy(update=changes)
    known_placeholders = set(guide.defaults)
    for path, text in _kommune_texts(config, lang):
        for name in sorted(placeholders(text) - known_placeholders):
            problems.append(Problem(path, f"unknown placeholder {{{name}}}"))
    if problems:
        return guide, problems
    merged = guide.model_copy(
        update={
            "levels": {
                lv: level.model_copy(update={"steps": levels[lv]})
                for lv, level in guide.levels.items()
            }
        }
    )
    # Extra steps are inserted before a step that was reachable, so the graph stays sound; check
    # anyway, and blame the kommune file's extra steps if it is not.
    problems = [Problem(("extra_steps",), p.message) for p in graph_problems(merged)]
    return (guide, problems) if problems else (merged, [])


def _kommune_texts(config: KommuneConfig, lang: str) -> Iterator[tuple[Path_, str]]:
    for index, extra in enumerate(config.extra_steps):
        for field in ("title", "short", "text", "who", "time_limit"):
            yield ("extra_steps", index, field), local(getattr(extra, field), lang)
    for step_id, wording in config.wording.items():
        for field in ("text", "who", "time_limit", "note"):
            yield ("wording", step_id, field), local(getattr(wording, field), lang)
    for name, value in config.time_limits.items():
        yield ("time_limits", name), local(value, lang)


def kommune_problems(config: KommuneConfig, guides: GuideSet) -> list[Problem]:
    """What in a kommune file does not fit the guide, in any language."""
    problems: list[Problem] = []
    for lang in guides.by_lang:
        for problem in apply_kommune(guides.get(lang), config, lang)[1]:
            if problem not in problems:
                problems.append(problem)
    return problems


def placeholder_values(guide: Guide, config: KommuneConfig, lang: str) -> dict[str, str]:
    """The values of ``{name}`` placeholders: the guide's defaults, overridden by the kommune."""
    values = dict(guide.defaults)
    if config.kommune:
        values["kommune"] = config.kommune
    for key in CONTACT_KEYS:
        contact: Contact | None = getattr(config.contacts, key)
        if contact is None or not (contact.name or contact.phone):
            continue
        name = contact.name or values[key]
        values[key] = (
            fill(guide.ui.contact_with_phone, {"name": name, "phone": contact.phone})
            if contact.phone
            else name
        )
    for name, value in config.time_limits.items():
        values[name] = local(value, lang)
    return values


# Mermaid ---------------------------------------------------------------------------------------


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", " ") + '"'


def mermaid(guide: Guide) -> str:
    """A Mermaid flowchart of the guide: levels, steps, decision options, endings, acute path."""
    out = ["flowchart TD"]
    out.append(f"    {START}{{{{{_label(guide.start.title)}}}}}")
    out.append(f"    {ACUTE}[/{_label(guide.acute.title)}/]")
    for level_id, level in guide.levels.items():
        out.append(f"    subgraph {level_id} [{_label(level.title)}]")
        out.append("        direction TB")
        for step_id, step in level.steps.items():
            shape = "{{{}}}" if step.is_decision else "[{}]"
            out.append(f"        {step_id}{shape.format(_label(step.title))}")
        out.append("    end")
    for name, ending in guide.endings.items():
        out.append(f"    {name}([{_label(ending.title)}])")
    for choice in guide.start.options:
        out.append(f"    {START} -->|{_label(choice.label)}| {guide.resolve(choice.target)}")
    for _level_id, step_id, step in guide.iter_steps():
        if step.is_decision:
            for choice in step.options:
                node = guide.resolve(choice.target)
                out.append(f"    {step_id} -->|{_label(choice.label)}| {node}")
        else:
            following = guide.following(step_id)
            if following:
                out.append(f"    {step_id} --> {following}")
    for level_id in guide.levels:
        out.append(f"    {level_id} -.->|{_label(guide.ui.acute)}| {ACUTE}")
    return "\n".join(out) + "\n"


def guide_doc(guides: GuideSet) -> str:
    """The text of ``docs/guide.md``, generated from the bokmål guide."""
    guide = guides.get("nb")
    lines = [
        "# The guide (veileder ved uro)",
        "",
        "Generated from `dialogs/content/nb/guide.yaml` by `python -m dialogs.guide.model` —",
        "do not edit by hand; `tests/dialogs/test_guide.py` fails when this file is out of date.",
        "",
        f"Content version: **{guide.version}**. Every step also offers *{guide.ui.acute}*,",
        "which opens the acute path in one tap (dotted arrows).",
        "",
        "```mermaid",
        mermaid(guide).rstrip("\n"),
        "```",
        "",
        "## Change log",
        "",
    ]
    for entry in guide.changelog:
        lines.append(f"- **{entry.version}** ({entry.date})")
        lines.extend(f"  - {change}" for change in entry.changes)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m dialogs.guide.model [DIR]``: check a content folder and print docs/guide.md."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else CONTENT_DIR
    errors = check_content_dir(folder)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    print(guide_doc(load_guides(folder)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
