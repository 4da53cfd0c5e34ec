"""``bts-bot content check``: links that still point at a placeholder, as warnings with file:line.

A template or a kommune file copied from an example may keep ``https://example.invalid/…``,
``example.com``, ``example.org``, ``localhost`` or a ``TODO`` where the kommune's real address
belongs; staff would then get a dead link in a reminder or an answer. Every string in every YAML file
of the content folder and of the kommune folder (except the example file, which is never used) is
looked at. Warnings, not errors: the bot runs, but somebody should fill in the address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dialogs.guide.kommune import EXAMPLE_FILES
from dialogs.yaml_source import ContentFileError, read_yaml

PLACEHOLDER_HOSTS = re.compile(
    r"^https?://(?:[^/]*\.)?(?:example\.(?:invalid|com|org|net)|localhost)(?:[:/]|$)", re.I
)
_URL = re.compile(r"https?://[^\s)\]>\"']+", re.I)
_TODO = re.compile(r"\bTODO\b")
#: Keys whose value is an address even when it is not (yet) a URL, e.g. ``link: TODO``.
_LINK_KEY = re.compile(r"(?:url|link|lenke)$", re.I)


def _strings(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def placeholders_in(text: str, key: str = "") -> list[str]:
    """The placeholder links in one string: URLs on a placeholder host or with a TODO in them, or
    the whole value of a link field that says TODO."""
    found = [u for u in _URL.findall(text) if PLACEHOLDER_HOSTS.match(u) or _TODO.search(u)]
    if not found and _LINK_KEY.search(key) and _TODO.search(text):
        found.append(text.strip())
    return found


def _files(content_dir: Path, kommune_dir: Path | None) -> list[Path]:
    files = sorted(content_dir.rglob("*.yaml"))
    if kommune_dir is not None and kommune_dir.is_dir():
        files += sorted(p for p in kommune_dir.rglob("*.yaml") if p.name not in EXAMPLE_FILES)
    return files


def check_placeholder_links(content_dir: Path, kommune_dir: Path | None = None) -> list[str]:
    """One ``file:line: key: placeholder link '…'`` warning per placeholder link found."""
    warnings: list[str] = []
    for path in _files(content_dir, kommune_dir):
        try:
            source = read_yaml(path)
        except ContentFileError:
            continue  # a broken file is reported as an error by the other checks
        for key_path, text in _strings(source.data):
            last = str(key_path[-1]) if key_path and isinstance(key_path[-1], str) else ""
            dotted = ".".join(str(p) for p in key_path)
            for link in placeholders_in(text, last):
                warnings.append(
                    f"{path}:{source.line_of(key_path)}: {dotted}: placeholder link {link!r} "
                    "(give the kommune's real address)"
                )
    return warnings
