"""Loads user-facing text from ``dialogs/content/<lang>/*.yaml`` and builds messages from it.

Content is data: every sentence a user reads lives in these YAML files, in bokmål (nb) and nynorsk (nn),
with the same keys in both. Each file's top-level keys are namespaced by the file name, so
``help.yaml``'s ``welcome`` is ``help.welcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dialogs import yaml_source
from dialogs.messages import Button, Link, Message

LANGUAGES = ("nb", "nn")
CONTENT_DIR = Path(__file__).with_name("content")


class ContentError(Exception):
    """A content folder is missing, unreadable or inconsistent."""


def _flatten(prefix: str, node: Any, out: dict[str, Any]) -> None:
    out[prefix] = node
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}", value, out)


@dataclass(frozen=True)
class Content:
    """All texts of all languages, addressed as ``content.get("nn", "help.welcome.text")``."""

    by_lang: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, root: Path = CONTENT_DIR) -> Content:
        by_lang: dict[str, dict[str, Any]] = {}
        for lang in LANGUAGES:
            folder = root / lang
            if not folder.is_dir():
                raise ContentError(f"content folder missing: {folder}")
            flat: dict[str, Any] = {}
            for path in sorted(folder.glob("*.yaml")):
                try:
                    data = yaml_source.safe_load(path.read_text(encoding="utf-8"))
                except yaml.YAMLError as exc:
                    raise ContentError(f"{path}: {exc}") from exc
                if not isinstance(data, dict):
                    raise ContentError(f"{path}: top level must be a mapping")
                _flatten(path.stem, data, flat)
            by_lang[lang] = flat
        missing = set(by_lang["nb"]) ^ set(by_lang["nn"])
        if missing:
            raise ContentError(f"keys not in both nb and nn: {', '.join(sorted(missing))}")
        return cls(by_lang)

    def get(self, lang: str, key: str) -> Any:
        texts = self.by_lang.get(lang) or self.by_lang["nb"]
        if key not in texts:
            raise KeyError(f"no content {key!r} for {lang}")
        return texts[key]

    def text(self, lang: str, key: str, **values: str) -> str:
        value = self.get(lang, key)
        if not isinstance(value, str):
            raise ContentError(f"content {key!r} is not a text")
        return value.format(**values).strip() if values else value.strip()

    def words(self, lang: str, key: str) -> list[str]:
        """A list of phrases (e.g. commands) in one language."""
        value = self.get(lang, key)
        return [str(v) for v in value] if isinstance(value, list) else []

    def message(self, lang: str, key: str, topic: str = "", **values: str) -> Message:
        """A message from a content node with ``text`` and optional ``buttons``/``links``."""
        node = self.get(lang, key)
        if not isinstance(node, Mapping) or "text" not in node:
            raise ContentError(f"content {key!r} has no text")
        text = str(node["text"]).strip()
        if values:
            text = text.format(**values)
        buttons = tuple(
            Button(
                label=str(b["label"]),
                action=str(b["action"]),
                value=str(b.get("value", "")),
                style=b.get("style", "default"),
            )
            for b in node.get("buttons") or ()
        )
        links = tuple(Link(str(li["label"]), str(li["url"])) for li in node.get("links") or ())
        return Message(text=text, buttons=buttons, links=links, topic=topic)

    def all_button_actions(self) -> set[str]:
        """Every action id that some content button sends (checked against the router at start)."""
        actions: set[str] = set()
        for flat in self.by_lang.values():
            for value in flat.values():
                if isinstance(value, Mapping):
                    for button in value.get("buttons") or ():
                        actions.add(str(button["action"]))
        return actions
