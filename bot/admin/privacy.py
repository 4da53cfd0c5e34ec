"""CLI of the privacy duties (GDPR): ``user export|delete PLATFORM USER_ID`` and ``purge``.

``user export`` prints everything the database holds about one person of the tenant (as text or
``--json``, for an access request); ``user delete`` erases it after showing what would go and
asking (``--yes`` skips the question; without a terminal to ask on it refuses, exit 2). ``purge``
deletes the bookkeeping older than the retention settings now (``serve`` does it by itself).
What is held and erased is ``storage.privacy``'s; this module only prints and asks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from bot.admin.command import tenant_option, with_runtime
from bot.retention import retention
from bot.survey_key import survey_key
from dialogs.arshjul.setup import parse_user_id
from storage.privacy import Person, PersonalData, erase_person, export_person, purge_old

if TYPE_CHECKING:
    from bot.runtime import Runtime

PLATFORMS = ("slack", "teams", "web", "terminal")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``user export|delete`` and ``purge`` to the main parser."""
    user = sub.add_parser("user", help="what the bot holds about one person: export or delete")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    export = tenant_option(user_sub.add_parser("export", help="everything held about a person"))
    export.add_argument("platform", choices=PLATFORMS)
    export.add_argument("user_id", help="the platform's user id (Slack U…, Teams AAD object id)")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(func=with_runtime(_export, tenant=False))
    erase = tenant_option(
        user_sub.add_parser("delete", help="erase everything held about a person")
    )
    erase.add_argument("platform", choices=PLATFORMS)
    erase.add_argument("user_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(func=with_runtime(_delete, tenant=False))
    purge = sub.add_parser(
        "purge", help="delete bookkeeping older than the RETENTION_* settings now"
    )
    purge.add_argument("--json", action="store_true", help="print one JSON object")
    purge.set_defaults(func=with_runtime(_purge, tenant=False))


def _person(args: argparse.Namespace) -> Person | None:
    """The person the arguments name (a Slack mention like ``<@U123>`` works too), or None after
    saying why the id is no user id."""
    user = parse_user_id(args.user_id, args.platform)
    if user is None:
        print(f"bts-bot: {args.user_id!r} is not a {args.platform} user id", file=sys.stderr)
        return None
    return Person(args.tenant, args.platform, user)


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def print_data(data: PersonalData) -> None:
    """The export as text: one block per section that holds something."""
    p = data.person
    print(f"{p.platform} {p.user_id} in tenant {p.tenant_id}")
    if data.empty:
        print("nothing is stored about this person")
        return
    for name, rows in data.sections.items():
        if not rows:
            continue
        print(f"\n{name} ({len(rows)})")
        for row in rows:
            print("  - " + ", ".join(f"{k}: {_value(v)}" for k, v in row.items()))


async def _export(runtime: Runtime, args: argparse.Namespace) -> int:
    person = _person(args)
    if person is None:
        return 2
    data = await export_person(runtime.store, person, survey_key(runtime.settings))
    if args.json:
        print(json.dumps(data.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_data(data)
    return 0


async def _delete(runtime: Runtime, args: argparse.Namespace) -> int:
    key = survey_key(runtime.settings)
    person = _person(args)
    if person is None:
        return 2
    data = await export_person(runtime.store, person, key)
    if data.empty:
        print(f"nothing is stored about {person.platform} {person.user_id} in {person.tenant_id}")
        return 0
    if not args.yes:
        print("would delete:")
        for name, count in data.counts().items():
            print(f"  {name}: {count}")
        if not sys.stdin.isatty():
            print(
                "bts-bot: not deleted: confirm with --yes (no terminal to ask on)", file=sys.stderr
            )
            return 2
        answer = await asyncio.to_thread(input, "Delete all of this? Type 'yes': ")
        answer = answer.strip().lower()
        if answer not in ("yes", "ja"):
            print("not deleted")
            return 1
    counts = await erase_person(runtime.store, person, key)
    print("deleted:")
    for name, count in counts.items():
        print(f"  {name}: {count}")
    return 0


async def _purge(runtime: Runtime, args: argparse.Namespace) -> int:
    counts = await purge_old(runtime.store, retention(runtime.settings))
    if args.json:
        print(json.dumps(counts))
    else:
        for name, count in counts.items():
            print(f"{name}: {count} deleted")
    return 0
