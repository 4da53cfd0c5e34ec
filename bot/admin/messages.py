"""The admin CLI's Norwegian texts (``bot/admin/messages.yaml``): ``say("diff.none", what=...)``.

The table is read once, on first use, so commands that never print one of these texts do not pay
for it. A missing key is a programming error and raises ``KeyError``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from dialogs import yaml_source

MESSAGES = Path(__file__).with_name("messages.yaml")


@cache
def _table() -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node)

    walk("", yaml_source.safe_load(MESSAGES.read_text(encoding="utf-8")))
    return flat


def say(key: str, /, **values: object) -> str:
    """The text ``key`` with its ``{placeholders}`` filled in."""
    text = _table()[key]
    return text.format(**values) if values else text
