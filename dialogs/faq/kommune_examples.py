"""A kommune's own training examples for the free-text router: ``<KOMMUNE_DIR>/training/*.yaml``.

Each file maps topic ids to example questions, written the way staff in that kommune write them
(local words, service names, dialect)::

    uro:
      - barnet sovner på matta hver dag
    stafettlogg:
      - hvor finner jeg BTI-loggen i Visma

They join the shipped examples when the router is built (at start; restart after a change). The
examples serve the whole installation: they describe how people ask, never a child. A file with a
problem (unknown topic, not a list of strings, personal data in an example) is reported as
``file:line: message`` by ``bts-bot content check --kommuner`` and at start, and its good examples
are still used.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

from dialogs.pii import find_personal_data
from dialogs.yaml_source import ContentFileError, Problem, read_yaml

log = logging.getLogger(__name__)

FOLDER = "training"
#: An example is a question, not a document.
MAX_EXAMPLE_CHARS = 300


def load_kommune_examples(
    kommune_dir: Path, topics: Collection[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """(examples per topic, problems as ``file:line: message``) from every file in the folder."""
    examples: dict[str, list[str]] = {}
    errors: list[str] = []
    folder = kommune_dir / FOLDER
    if not folder.is_dir():
        return examples, errors
    for path in sorted(folder.glob("*.yaml")):
        try:
            source = read_yaml(path)
        except ContentFileError as exc:
            errors.extend(exc.errors)
            continue
        problems: list[Problem] = []
        data = source.data or {}
        if not isinstance(data, dict):
            errors.extend(source.format([Problem((), "must map topic ids to lists of examples")]))
            continue
        for topic, texts in data.items():
            if topic not in topics:
                problems.append(Problem((topic,), f"unknown topic (known: {', '.join(topics)})"))
                continue
            if not isinstance(texts, list):
                problems.append(Problem((topic,), "must be a list of example questions"))
                continue
            for i, text in enumerate(texts):
                problem = _problem(text)
                if problem:
                    problems.append(Problem((topic, i), problem))
                else:
                    examples.setdefault(str(topic), []).append(str(text).strip())
        errors.extend(source.format(problems))
    return examples, errors


def _problem(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return "an example must be a non-empty text"
    if len(text) > MAX_EXAMPLE_CHARS:
        return f"longer than {MAX_EXAMPLE_CHARS} characters"
    kinds = find_personal_data(text)
    if kinds:
        return f"looks like personal data ({', '.join(kinds)}): write it without"
    return None
