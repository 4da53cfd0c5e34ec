"""How the CLI runs one command: what each sub-parser's ``set_defaults(func=...)`` holds.

A ``Command`` is a function of the parsed arguments that returns the exit status. The wrappers here
give a command body what it needs first: the settings (a configuration error is one line on stderr
and exit 2) and, for the commands that work on the bot's data, the runtime — the one way a command
reaches the database: migrated and opened before the body, closed after it. Runtime commands log
only warnings, so what they print is all the operator sees.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:  # the parser is built for every command; the runtime only when one runs
    from bot.runtime import Runtime

Command = Callable[[argparse.Namespace], int]
SettingsBody = Callable[[Settings, argparse.Namespace], int]
RuntimeBody = Callable[["Runtime", argparse.Namespace], Awaitable[int]]


def tenant_option(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--tenant`` of the commands that work on one tenant."""
    parser.add_argument("--tenant", default="local", help="tenant id (default: local)")
    return parser


def with_settings(body: SettingsBody) -> Command:
    """A command that needs the settings (``serve``, ``db upgrade``, ``manifest``)."""

    def command(args: argparse.Namespace) -> int:
        settings = _settings(args)
        if settings is None:
            return 2
        setup_logging(settings.log_level)
        return _friendly(settings, lambda: body(settings, args))

    return command


def with_runtime(body: RuntimeBody, *, tenant: bool = True) -> Command:
    """A command on the bot's data; with ``tenant``, ``args.tenant`` is set up first (the first use
    of a tenant gives it the default template; idempotent)."""

    def command(args: argparse.Namespace) -> int:
        settings = _settings(args)
        if settings is None:
            return 2
        setup_logging("WARNING")
        return _friendly(settings, lambda: asyncio.run(_run(settings, body, args, tenant)))

    return command


def _settings(args: argparse.Namespace) -> Settings | None:
    """The settings with this command's overrides, or None after printing why they are wrong."""
    overrides: dict[str, object] = {}
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    if getattr(args, "host", None):
        overrides["host"] = args.host
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"bts-bot: {exc}", file=sys.stderr)
        return None
    from bot.admin.failures import database_url_problem
    from bot.admin.messages import say

    try:
        problem = database_url_problem(settings.effective_database_url())
    except ConfigError:  # not a postgresql:// or sqlite:// URL
        problem = say("failure.database_url", reason=say("failure.reason.url_scheme"))
    if problem:
        print(problem, file=sys.stderr)
        return None
    return settings


def _friendly(settings: Settings, run: Callable[[], int]) -> int:
    """``run()``, with a database or port the operator must fix told in one line (exit 2)."""
    try:
        return run()
    except Exception as exc:
        from bot.admin.failures import explain

        line = explain(exc, settings.effective_database_url(), settings.host, settings.port)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


async def _run(
    settings: Settings, body: RuntimeBody, args: argparse.Namespace, tenant: bool
) -> int:
    from bot.runtime import Runtime
    from dialogs.arshjul.tasks import ensure_tenant_setup

    runtime = await Runtime.start(settings)
    try:
        if tenant:
            await ensure_tenant_setup(runtime.store, args.tenant, timezone=settings.bot_timezone)
        return await body(runtime, args)
    finally:
        await runtime.close()
