"""Command line: ``bts-bot serve | chat | ask | db upgrade | manifest``.

Configuration errors print one line and exit with status 2; nothing here prints secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bts-bot", description="BTS-bot: BTI/BTS chat-bot for Slack, Teams, web and terminal"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (Slack, Teams, web chat)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 3978)")
    serve.add_argument("--host", help="interface to bind (default: HOST or 0.0.0.0)")
    sub.add_parser("chat", help="chat with the bot in this terminal")
    ask = sub.add_parser("ask", help="ask one question and print the answer")
    ask.add_argument("text", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ev = sub.add_parser("eval", help="accuracy of the FAQ classifier on a labelled TSV")
    ev.add_argument("file", type=Path, help="TSV with header question<TAB>topic")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    content = sub.add_parser("content", help="content files (texts, guide, kommune overrides)")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate a content folder (nb/ and nn/)")
    check.add_argument("dir", type=Path)
    check.add_argument("--kommuner", type=Path, default=None, help="also check kommune files")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations")
    manifest = sub.add_parser("manifest", help="write the Slack or Teams app manifest")
    manifest.add_argument("kind", choices=["slack", "teams"])
    manifest.add_argument("--base-url", required=True, help="public https URL of this bot")
    manifest.add_argument("--out", type=Path, default=Path("."), help="output folder")
    manifest.add_argument(
        "--app-id", default=None, help="Teams bot app id (default MICROSOFT_APP_ID)"
    )
    from bot.admin.arshjul import add_parsers

    add_parsers(sub)  # admin, roles, arshjul, reminders
    from bot.admin.contacts import add_parsers as add_contacts_parsers

    add_contacts_parsers(sub)  # contacts, stats
    return parser


async def _with_runtime(settings: Settings, body: Callable[..., Awaitable[int]]) -> int:
    from bot.runtime import Runtime

    runtime = await Runtime.start(settings)
    try:
        return await body(runtime)
    finally:
        await runtime.close()


def _check_content(content_dir: Path, kommune_dir: Path | None) -> int:
    """Validate a content folder (and optionally kommune files); errors name file and line."""
    from dialogs.guide.kommune import check_kommune_dir
    from dialogs.guide.model import check_content_dir

    errors = check_content_dir(content_dir)
    if kommune_dir is not None and not errors:
        errors += check_kommune_dir(kommune_dir, content_dir)
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        return 1
    print("content is valid")
    return 0


# commands of bot.admin.arshjul (directory, årshjul, reminders preview, settings)
ADMIN_COMMANDS = ("admin", "roles", "arshjul", "reminders", "settings")
OUTBOX_COMMANDS = {("reminders", "status"), ("reminders", "run"), ("arshjul", "feed")}


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "eval":  # needs no settings and no database
        from bot.admin.faq_eval import run_eval

        return run_eval(args.file, args.json)
    if args.command == "content":
        return _check_content(args.dir, args.kommuner)
    overrides: dict[str, object] = {}
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    if getattr(args, "host", None):
        overrides["host"] = args.host
    try:
        settings = load_settings(**overrides)
        settings.effective_database_url()
    except ConfigError as exc:
        print(f"bts-bot: {exc}", file=sys.stderr)
        return 2
    quiet = args.command in ("ask", "chat", *ADMIN_COMMANDS)
    quiet = quiet or args.command in ("contacts", "stats")
    setup_logging("WARNING" if quiet else settings.log_level)
    if (args.command, getattr(args, "sub", "")) in OUTBOX_COMMANDS:
        from bot.admin import outbox as admin_outbox

        async def _outbox(runtime: object) -> int:
            return await admin_outbox.run(runtime, args)  # type: ignore[arg-type]

        return asyncio.run(_with_runtime(settings, _outbox))
    if args.command in ("contacts", "stats"):
        from bot.admin import contacts as admin_contacts

        return asyncio.run(_with_runtime(settings, partial(admin_contacts.run, args=args)))
    if args.command in ADMIN_COMMANDS:
        from bot.admin import arshjul as admin_arshjul

        return admin_arshjul.run(
            args, settings.effective_database_url(), settings.bot_timezone, settings.bot_language
        )

    if args.command == "serve":
        from bot.http.server import serve

        try:
            asyncio.run(serve(settings))
        except ConfigError as exc:  # e.g. Teams auth settings that do not fit together
            print(f"bts-bot: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "chat":
        from bot.platforms import terminal

        return asyncio.run(_with_runtime(settings, terminal.chat))
    if args.command == "ask":
        from bot.platforms import terminal

        async def _ask(runtime: object) -> int:
            return await terminal.ask(runtime, args.text, args.json)  # type: ignore[arg-type]

        return asyncio.run(_with_runtime(settings, _ask))
    if args.command == "db":
        from storage.migrate import upgrade_sync

        upgrade_sync(settings.effective_database_url())
        print("database is up to date")
        return 0
    if args.command == "manifest":
        from bot.admin.manifests import write_manifest

        app_id = args.app_id if args.app_id is not None else settings.microsoft_app_id
        try:
            paths = write_manifest(args.kind, args.base_url, args.out, app_id=app_id)
        except ValueError as exc:
            print(f"bts-bot: {exc}", file=sys.stderr)
            return 2
        for path in paths:
            print(path)
        return 0
    return 2


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
