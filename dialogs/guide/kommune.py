"""Per-kommune override files for the guide: contacts, links, time limits, extra steps, wording.

A tenant's file is ``<folder>/<tenant id with ':' replaced by '_'>.yaml`` (``slack_T0123.yaml``),
else ``<folder>/local.yaml``, else built-in defaults. Files are validated when first used and again
whenever they change on disk (checked by mtime and size on every lookup, which is one ``stat``). A bad
file is logged with its line number and the last good version of it stays in use, so a typo made on
a running server never takes the guide down. The folder comes from the caller (settings); this
module never reads the environment and never writes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialogs.content import CONTENT_DIR
from dialogs.guide.kommune_model import (
    DEFAULT_KOMMUNE,
    KommuneConfig,
    kommune_from_source,
    kommune_problems,
)
from dialogs.guide.model import GuideError, load_guides, read_guide_file
from dialogs.yaml_source import Problem

log = logging.getLogger(__name__)

DEFAULT_KOMMUNE_DIR = Path("kommuner")
FALLBACK_FILE = "local.yaml"
# Files in the folder that document the format and are never a tenant's configuration.
EXAMPLE_FILES = frozenset({"example.yaml"})

Checker = Callable[[KommuneConfig], list[Problem]]


def tenant_file_name(tenant_id: str) -> str:
    """``slack:T0123`` → ``slack_T0123.yaml`` (no path separators get through)."""
    safe = tenant_id.replace(":", "_").replace("/", "_").replace("\\", "_")
    return f"{safe.lstrip('.') or 'local'}.yaml"


def load_kommune_file(path: Path, check: Checker | None = None) -> KommuneConfig:
    """Read and validate one kommune file; raise GuideError with ``file:line: message`` lines."""
    source = read_guide_file(path)
    config = kommune_from_source(source)
    if check is not None:
        problems = check(config)
        if problems:
            raise GuideError(source.format(problems))
    return config


@dataclass
class _Cached:
    stamp: tuple[int, int]
    config: KommuneConfig | None  # None: this version of the file is bad
    good: KommuneConfig | None  # the last version that loaded


class KommuneRegistry:
    """Kommune settings per tenant, reloaded when their file changes; bad files never replace good."""

    def __init__(self, folder: Path = DEFAULT_KOMMUNE_DIR, check: Checker | None = None) -> None:
        self.folder = folder
        self.check = check
        self._cache: dict[Path, _Cached] = {}

    def file_for(self, tenant_id: str) -> Path | None:
        """The file that configures ``tenant_id``, or None when there is none."""
        for name in (tenant_file_name(tenant_id), FALLBACK_FILE):
            path = self.folder / name
            if name not in EXAMPLE_FILES and path.is_file():
                return path
        return None

    def get(self, tenant_id: str) -> KommuneConfig:
        """The tenant's settings: its file if valid, else the last good version, else defaults."""
        path = self.file_for(tenant_id)
        if path is None:
            return DEFAULT_KOMMUNE
        try:
            info = path.stat()
        except OSError:
            return DEFAULT_KOMMUNE
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached.config or cached.good or DEFAULT_KOMMUNE
        previous = cached.good if cached else None
        try:
            config = load_kommune_file(path, self.check)
        except GuideError as exc:
            log.error(
                "kommune file rejected, %s: %s",
                "keeping the previous version" if previous else "using defaults",
                exc,
                extra={"kommune_file": str(path)},
            )
            self._cache[path] = _Cached(stamp, None, previous)
            return previous or DEFAULT_KOMMUNE
        self._cache[path] = _Cached(stamp, config, config)
        return config

    def errors(self, tenant_id: str) -> list[str]:
        """Problems with the tenant's current file ([] when it is fine or absent)."""
        path = self.file_for(tenant_id)
        if path is None:
            return []
        try:
            load_kommune_file(path, self.check)
        except GuideError as exc:
            return exc.errors
        return []

    def check_all(self) -> list[str]:
        """Validate every ``*.yaml`` in the folder (the example too); [] when all are fine."""
        if not self.folder.is_dir():
            return []
        errors: list[str] = []
        for path in sorted(self.folder.glob("*.yaml")):
            try:
                load_kommune_file(path, self.check)
            except GuideError as exc:
                errors.extend(exc.errors)
        return errors


def check_kommune_dir(folder: Path, content_dir: Path | None = None) -> list[str]:
    """Every problem in a folder of kommune files, checked against the guide in ``content_dir``."""
    try:
        guides = load_guides(content_dir or CONTENT_DIR)
    except GuideError as exc:
        return exc.errors
    if not folder.is_dir():
        return [f"{folder}: not a folder"]
    registry = KommuneRegistry(folder, check=lambda config: kommune_problems(config, guides))
    return registry.check_all()
