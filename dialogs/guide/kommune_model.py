"""Kommune override files for the guide (``kommuner/<tenant>.yaml``) as validated data.

A kommune file adds contacts, time limits, links, extra steps and local wording to the guide;
``apply_kommune`` merges it into one language's guide and says what does not fit (paths into the
kommune file), and ``placeholder_values`` gives the ``{name}`` values the guide's texts are filled
with. Finding, caching and reloading the files is ``dialogs.guide.kommune``. This module only
validates data: no files of its own, no database, no platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator

from dialogs.guide.model import (
    CONTACT_KEYS,
    ID_PATTERN,
    RESERVED_IDS,
    Guide,
    GuideError,
    GuideSet,
    Step,
    StrictModel,
    graph_problems,
)
from dialogs.timezones import known_timezone
from dialogs.yaml_source import (
    KeyPath,
    Problem,
    YamlSource,
    fill,
    placeholders,
    validation_problems,
)


class LangText(StrictModel):
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
STAFETT_LEVELS = (1, 2)


class Contact(StrictModel):
    """A service the user may need to call; every field is optional."""

    name: str = ""
    phone: str = Field(default="", pattern=r"^(\+\d{1,3} ?)?[\d ]{3,20}$")
    url: str = Field(default="", pattern=rf"{_URL}|^$")


class Contacts(StrictModel):
    barnevern: Contact | None = None
    barnevernvakt: Contact | None = None
    helsestasjon: Contact | None = None
    ppt: Contact | None = None


class ExtraStep(StrictModel):
    """A kommune's own step, inserted after an existing (non-decision) step of the same level."""

    id: str = Field(pattern=ID_PATTERN)
    after: str
    title: LocalText
    short: LocalText
    text: LocalText
    who: LocalText = ""
    time_limit: LocalText = ""
    tips: list[LocalText] = Field(default_factory=list)
    followup: bool = False


class StepWording(StrictModel):
    """Local wording for one step: replace ``text``/``who``/``time_limit`` or add a ``note``."""

    text: LocalText | None = None
    who: LocalText | None = None
    time_limit: LocalText | None = None
    note: LocalText | None = None


class KommuneConfig(StrictModel):
    """One kommune's settings for the guide, as in ``kommuner/<tenant>.yaml``."""

    kommune: str = ""
    version: str = ""
    timezone: str = "Europe/Oslo"
    contacts: Contacts = Contacts()
    handlingsveileder_url: str = Field(default="", pattern=rf"{_URL}|^$")
    bekymringsmelding_url: str = Field(default="", pattern=rf"{_URL}|^$")
    #: The training film of the onboarding of new staff (``dialogs.onboarding``).
    opplaeringsfilm_url: str = Field(default="", pattern=rf"{_URL}|^$")
    tool_urls: dict[str, str] = Field(default_factory=dict)
    time_limits: dict[str, LocalText] = Field(default_factory=dict)
    extra_steps: list[ExtraStep] = Field(default_factory=list)
    wording: dict[str, StepWording] = Field(default_factory=dict)
    #: The nivå where the stafettholder and the stafettlogg start (None: the guide's default).
    stafett_start_level: int | None = None

    @field_validator("stafett_start_level", mode="before")
    @classmethod
    def _stafett_level(cls, value: object) -> object:
        # YAML gives 1, "1" or "nivå 1"; only the two levels the guide can start the log on pass.
        if value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value in STAFETT_LEVELS
        ):
            return value
        raise ValueError(
            "must be 1 or 2: the nivå where the stafettholder and the stafettlogg start "
            f"(got {value!r})"
        )

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
        raise GuideError(source.format(validation_problems(exc))) from None


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
        path: KeyPath = ("extra_steps", index)
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
    if config.stafett_start_level is not None:
        problems += _stafett_problems(guide, config.stafett_start_level)
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
    if problems:
        return guide, problems
    level = stafett_level(guide, config)
    return with_stafett_start(merged, level, note=config.stafett_start_level is not None), []


def stafett_level(guide: Guide, config: KommuneConfig) -> int:
    """The nivå where this kommune starts the stafettlogg: its own setting, else the guide's."""
    return config.stafett_start_level or guide.stafett.default_level


def _stafett_problems(guide: Guide, level: int) -> list[Problem]:
    if level not in guide.stafett.levels:
        known = ", ".join(str(n) for n in sorted(guide.stafett.levels))
        return [
            Problem(
                ("stafett_start_level",),
                f"the guide has no stafett start at nivå {level} (known: {known})",
            )
        ]
    return []


def with_stafett_start(guide: Guide, level: int, note: bool = False) -> Guide:
    """The guide with the stafettlogg coming in on ``level``: that level's start step says so and
    it and the plain steps after it offer the tool; a later level's start step says to carry on in
    the same log. The guide's own default level is the content as written. With ``note`` (the
    kommune chose the level) the tool's own text says which level it is in this kommune."""
    stafett = guide.stafett
    tools = guide.tools
    if note and stafett.tool in tools:
        tool = tools[stafett.tool]
        line = fill(stafett.tool_note, {"level": str(level)}).strip()
        tools = {
            **tools,
            stafett.tool: tool.model_copy(update={"text": f"{tool.text.rstrip()}\n- {line}\n"}),
        }
    if level == stafett.default_level or level not in stafett.levels:
        return guide.model_copy(update={"tools": tools}) if note else guide
    levels = {lv: dict(item.steps) for lv, item in guide.levels.items()}
    for start_level, start in stafett.levels.items():
        steps = levels[f"nivaa{start_level}"]
        if start_level == level:
            ids = list(steps)
            for step_id in ids[ids.index(start.step) :]:
                step = steps[step_id]
                if step.is_decision or stafett.tool in step.tools:
                    continue
                steps[step_id] = step.model_copy(update={"tools": [*step.tools, stafett.tool]})
            added = start.text
        elif start_level > level:
            added = start.continued
        else:
            continue
        if added.strip():
            step = steps[start.step]
            text = f"{step.text.rstrip()}\n\n{added.strip()}\n"
            steps[start.step] = step.model_copy(update={"text": text})
    return guide.model_copy(
        update={
            "tools": tools,
            "levels": {
                lv: item.model_copy(update={"steps": levels[lv]})
                for lv, item in guide.levels.items()
            },
        }
    )


def _kommune_texts(config: KommuneConfig, lang: str) -> Iterator[tuple[KeyPath, str]]:
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
