"""Layers point down: storage needs nothing above it, dialogs nothing of bot/, and only
bot/platforms/slack/ and bot/platforms/teams/ touch their platform's SDK.

Two checks: an ``ast`` walk over every import in bot/, dialogs/ and storage/ (also the ones inside
functions and ``if TYPE_CHECKING:`` blocks, which merely importing a module does not run), and the
core really imported and run with the SDKs blocked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "dialogs", "storage")


@dataclass(frozen=True)
class Rule:
    """Files under ``scope`` (except those under ``allowed_in``) must not import ``forbidden``."""

    name: str
    scope: str
    forbidden: frozenset[str]
    allowed_in: str | None = None

    def breaks(self, path: str, module: str) -> bool:
        return (
            path.startswith(self.scope)
            and not (self.allowed_in and path.startswith(self.allowed_in))
            and module.split(".")[0] in self.forbidden
        )


RULES = (
    Rule("storage-below-dialogs-and-bot", "storage/", frozenset({"dialogs", "bot"})),
    Rule("dialogs-below-bot", "dialogs/", frozenset({"bot"})),
    Rule(
        "slack-sdk-in-its-adapter",
        "",
        frozenset({"slack_bolt", "slack_sdk"}),
        "bot/platforms/slack/",
    ),
    Rule(
        "teams-sdk-in-its-adapter",
        "",
        frozenset({"botbuilder", "botframework"}),
        "bot/platforms/teams/",
    ),
)


def _imports(tree: ast.AST, path: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``; relative ones are resolved."""
    package = path.removesuffix(".py").split("/")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])


def layering_violations(root: Path, rules: Sequence[Rule] = RULES) -> list[str]:
    """``file:line imports X (rule)`` for every import in bot/, dialogs/, storage/ that breaks a rule."""
    found = []
    for package in PACKAGES:
        for file in sorted((root / package).rglob("*.py")):
            path = file.relative_to(root).as_posix()
            tree = ast.parse(file.read_text(encoding="utf-8"), path)
            for line, module in sorted(_imports(tree, path)):
                found += [
                    f"{path}:{line} imports {module} ({r.name})"
                    for r in rules
                    if r.breaks(path, module)
                ]
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_layers_point_down(rule: Rule) -> None:
    violations = layering_violations(ROOT, [rule])
    assert not violations, "\n".join(violations)


def test_checker_finds_violations(tmp_path: Path) -> None:
    files = {
        "storage/repo.py": "from dialogs import x\n",
        "storage/sub/deep.py": "def f():\n    from .. import db\n    import bot.cli\n",
        "dialogs/chat.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.config\n",
        "bot/delivery/send.py": "import slack_sdk.web\nfrom botbuilder.core import TurnContext\n",
        "bot/platforms/slack/adapter.py": "from slack_bolt import App\n",
        "bot/platforms/teams/adapter.py": "import botframework.connector\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert layering_violations(tmp_path) == [
        "bot/delivery/send.py:1 imports slack_sdk.web (slack-sdk-in-its-adapter)",
        "bot/delivery/send.py:2 imports botbuilder.core (teams-sdk-in-its-adapter)",
        "dialogs/chat.py:3 imports bot.config (dialogs-below-bot)",
        "storage/repo.py:1 imports dialogs (storage-below-dialogs-and-bot)",
        "storage/sub/deep.py:3 imports bot.cli (storage-below-dialogs-and-bot)",
    ]


BLOCKER = textwrap.dedent(
    """
    import sys
    import importlib.abc

    BLOCKED = ("slack_bolt", "slack_sdk", "botbuilder", "botframework")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"core imported platform SDK {name}")
            return None

    sys.meta_path.insert(0, Block())
    import asyncio, pkgutil, importlib
    import dialogs, storage
    for package in (dialogs, storage):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name:
                continue
            importlib.import_module(info.name)
    import bot.config, bot.runtime, bot.platforms.terminal, bot.logs
    from dialogs.messages import Turn
    from bot.config import load_settings
    from bot.runtime import Runtime

    async def main():
        runtime = await Runtime.start(load_settings(database_url="sqlite:///" + sys.argv[1]))
        reply = await runtime.router.handle(Turn("terminal", "local", "u", "c", text="hjelp"))
        await runtime.close()
        print(reply.topic)

    asyncio.run(main())
    """
)


def test_core_runs_without_platform_sdks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(tmp_path / "db.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("hjelp")


def test_blocker_really_blocks() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER.split("import asyncio")[0] + "import slack_bolt\n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "core imported platform SDK" in result.stderr
