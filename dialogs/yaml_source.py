"""Reads content YAML files keeping the line of every key, and reports problems as ``file:line``.

Every content model (the guide, kommune files, årshjul files) parses its file with ``read_yaml``,
validates the data with pydantic and turns what is wrong into ``Problem``s (a path of keys and list
indexes plus a message); ``YamlSource.format`` gives them the line they stand on. ``placeholders``
and ``fill`` handle the ``{name}`` placeholders in content texts. This module only reads text: no
schema of its own, no database, no platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# libyaml's parser when PyYAML has it (its wheels do): the content files are parsed at every start
# and every CLI call, and the pure-Python parser spent seconds on them.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` on the fast parser."""
    return yaml.load(text, Loader=_LOADER)


def compose(text: str) -> yaml.Node | None:
    """``yaml.compose`` (nodes with their lines) on the fast parser."""
    return yaml.compose(text, Loader=_LOADER)


#: Where something is in a YAML file: its keys and list indexes from the top.
KeyPath = tuple[str | int, ...]


class Problem(NamedTuple):
    """One thing wrong with a file: where (a path of keys and list indexes) and what."""

    path: KeyPath
    message: str


class ContentFileError(Exception):
    """A content file cannot be used; ``errors`` are ``file:line: message`` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML file: its data and the 1-based line of every key path in it."""

    file: str
    data: Any
    lines: dict[KeyPath, int]

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


def _dotted(path: KeyPath) -> str:
    return (".".join(str(p) for p in path) + ": ") if path else ""


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], dupes: list[Problem]) -> None:
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


def _bad_date_line(text: str) -> int:
    """The line of the first scalar YAML takes for a date that is none (1 when none is found)."""
    constructor = yaml.constructor.SafeConstructor()
    stack = [compose(text)]
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":timestamp"):
            try:
                constructor.construct_yaml_timestamp(node)
            except ValueError:
                return node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            stack[:0] = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack[:0] = list(node.value)
    return 1


def read_yaml(path: Path, text: str | None = None) -> YamlSource:
    """Parse ``path`` keeping line numbers; raise ContentFileError on syntax errors or duplicate
    keys."""
    name = str(path)
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        node = compose(text)
        data = safe_load(text)
    except OSError as exc:
        raise ContentFileError([f"{name}: cannot read file: {exc.strerror or exc}"]) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        context = ""
        if exc.context and exc.context_mark:
            context = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise ContentFileError(
            [f"{name}:{line}: YAML syntax error: {exc.problem}{context}"]
        ) from exc
    except yaml.YAMLError as exc:
        raise ContentFileError([f"{name}: YAML error: {exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ContentFileError([f"{name}: cannot read file: not UTF-8 text"]) from exc
    except ValueError as exc:  # a value YAML reads as a date but is none, e.g. 2026-13-01
        raise ContentFileError(
            [f"{name}:{_bad_date_line(text or '')}: not a valid date: {exc}"]
        ) from exc
    lines: dict[KeyPath, int] = {(): 1}
    dupes: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, dupes)
    source = YamlSource(name, data, lines)
    if dupes:
        raise ContentFileError(source.format(dupes))
    return source


def validation_problems(exc: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems, so they can be given their lines."""
    return [Problem(tuple(err["loc"]), err["msg"]) for err in exc.errors()]


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders used in ``text``."""
    return set(_PLACEHOLDER.findall(text))


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders that ``values`` knows; leave everything else alone."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_model(
    text: str, name: str, model: type[ModelT], error: type[ContentFileError], shape: str
) -> ModelT:
    """``text`` (a YAML mapping) validated as ``model``; every problem raised as ``error`` with
    ``file:line: message`` lines (``shape`` says what the file must be when it is no mapping)."""
    try:
        source = read_yaml(Path(name), text)
    except ContentFileError as exc:
        raise error(exc.errors) from None
    if not isinstance(source.data, dict):
        raise error([f"{name}:1: {shape}"])
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        raise error(source.format(validation_problems(exc))) from None


def read_text(path: Path, error: type[ContentFileError]) -> str:
    """The file's text, or ``error`` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error([f"{path}: cannot read file: {exc.strerror or exc}"]) from exc
