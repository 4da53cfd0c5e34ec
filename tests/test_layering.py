"""The core must not depend on any platform SDK: import it with slack and botbuilder blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
