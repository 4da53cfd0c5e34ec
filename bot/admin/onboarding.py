"""CLI for the onboarding of new staff: ``onboarding start | list | done | cancel``.

Every command works on one tenant (``--tenant``, default ``local``). ``start`` registers a new
employee (a platform user id) in one of the tenant's units with the steps and due dates the chat
gives (a second start of someone with an open onboarding shows that one); ``done`` marks a step
(the last one completes the onboarding and tells the unit's leader); ``cancel`` stops one (its
reminders are dropped). Bad input is one line and exit 1 (2 for a bad argument), never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime
from dialogs.arshjul.setup import parse_user_id
from dialogs.onboarding.flow import cancel, finish_step, start, tenant_zone
from dialogs.onboarding.model import StepsError
from dialogs.pii import find_personal_data
from storage import directory
from storage.models import utcnow
from storage.onboarding import OnboardingRecord, get_onboarding, list_onboardings

if TYPE_CHECKING:
    from bot.runtime import Runtime

PLATFORMS = ("slack", "teams", "web", "terminal")
NAME_MAX = 200
CLI = "cli"


def _id(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not an onboarding id (see: onboarding list)")
    return int(text)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``onboarding`` and its sub-commands to the main parser."""
    onboarding = sub.add_parser("onboarding", help="the onboarding of new staff")
    onboarding_sub = onboarding.add_subparsers(dest="onboarding_command", required=True)
    started = tenant(onboarding_sub.add_parser("start", help="register a new employee"))
    started.add_argument("platform", choices=PLATFORMS)
    started.add_argument("user_id", help="the employee's platform user id (Slack: U…)")
    started.add_argument("--unit", required=True, help="the unit the employee works in")
    started.add_argument("--name", default="", help="the employee's display name")
    started.set_defaults(func=with_runtime(_start))
    listing = tenant(onboarding_sub.add_parser("list", help="the onboardings and their steps"))
    listing.add_argument("--all", action="store_true", help="completed and cancelled ones too")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=with_runtime(_list))
    done = tenant(onboarding_sub.add_parser("done", help="mark a step done"))
    done.add_argument("id", type=_id)
    done.add_argument("step", help="the step's key (see: onboarding list)")
    done.set_defaults(func=with_runtime(_done))
    cancelled = tenant(onboarding_sub.add_parser("cancel", help="stop an open onboarding"))
    cancelled.add_argument("id", type=_id)
    cancelled.set_defaults(func=with_runtime(_cancel))


def _fail(message: str) -> int:
    print(f"bts-bot: {message}", file=sys.stderr)
    return 1


def _status(record: OnboardingRecord) -> str:
    if record.completed_at is not None:
        return "completed"
    return "cancelled" if record.cancelled_at is not None else "open"


async def _start(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    units = await directory.list_units(store, args.tenant)
    if not units:
        return _fail(f"{args.tenant} has no units yet (add them with: bts-bot roles import FILE)")
    if args.unit not in units:
        return _fail(f"unknown unit {args.unit!r} (known: {', '.join(units)})")
    user = parse_user_id(args.user_id, args.platform)
    if user is None:
        return _fail(f"{args.user_id!r} is not a {args.platform} user id")
    name = " ".join(args.name.split())
    if len(name) > NAME_MAX or any(kind != "name" for kind in find_personal_data(name)):
        return _fail("--name takes only the employee's name (no phone, e-mail or fødselsnummer)")
    try:
        record, created = await start(
            store, args.tenant, args.platform, user, display_name=name, unit=args.unit,
            registered_by=CLI, now=utcnow(), kommune_dir=runtime.settings.kommune_dir,
        )  # fmt: skip
    except StepsError as exc:
        return _fail("; ".join(exc.errors))
    who = record.display_name or record.user_id
    if created:
        print(f"onboarding {record.id}: {who} in {record.unit}, {len(record.steps)} steps")
    else:
        zone, _closed = await tenant_zone(store, args.tenant)
        day = record.registered_at.astimezone(zone).date().isoformat()
        print(f"{who} already has onboarding {record.id} (registered {day})")
    for step in record.steps:
        print(f"  {step.due.isoformat()}  {step.key}  ({step.owner})")
    return 0


def _row(record: OnboardingRecord, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": record.id,
        "platform": record.platform,
        "user_id": record.user_id,
        "name": record.display_name,
        "unit": record.unit,
        "status": _status(record),
        "registered": record.registered_at.astimezone(zone).date().isoformat(),
        "completed": (
            record.completed_at.astimezone(zone).date().isoformat() if record.completed_at else None
        ),
        "steps": [
            {
                "key": s.key,
                "owner": s.owner,
                "due": s.due.isoformat(),
                "done": s.done_at.astimezone(zone).date().isoformat() if s.done_at else None,
            }
            for s in record.steps
        ],
    }


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    zone, _closed = await tenant_zone(store, args.tenant)
    records = await list_onboardings(store, args.tenant, include_closed=args.all)
    rows = [_row(r, zone) for r in records]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("no onboardings" + ("" if args.all else " in progress (--all shows every one)"))
        return 0
    for row in rows:
        done = sum(1 for s in row["steps"] if s["done"])
        who = row["name"] or row["user_id"]
        print(
            f"{row['id']}  {row['status']:<9} {row['registered']}  {row['unit']}  {who} "
            f"({row['platform']}:{row['user_id']})  {done}/{len(row['steps'])} steps"
        )
        for s in row["steps"]:
            state = f"done {s['done']}" if s["done"] else f"due {s['due']}"
            print(f"    {s['key']:<20} {s['owner']:<12} {state}")
    return 0


async def _done(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    record = await get_onboarding(store, args.tenant, args.id)
    if record is None:
        return _fail(f"no onboarding {args.id} in {args.tenant} (see: bts-bot onboarding list)")
    if record.step(args.step) is None:
        keys = ", ".join(s.key for s in record.steps)
        return _fail(f"onboarding {args.id} has no step {args.step!r} (steps: {keys})")
    outcome = await finish_step(store, args.tenant, args.id, args.step, CLI, utcnow())
    if outcome.result == "closed":
        return _fail(f"onboarding {args.id} is {_status(outcome.record or record)}")
    said = "already done" if outcome.result == "already" else "done"
    print(f"onboarding {args.id}: {args.step} {said}")
    if outcome.completed:
        print(f"onboarding {args.id} is complete; the unit's leader and the employee are told")
    return 0


async def _cancel(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    record = await get_onboarding(store, args.tenant, args.id)
    if record is None:
        return _fail(f"no onboarding {args.id} in {args.tenant} (see: bts-bot onboarding list)")
    if not await cancel(store, args.tenant, args.id, utcnow()):
        return _fail(f"onboarding {args.id} is {_status(record)} already")
    print(f"onboarding {args.id} cancelled; its reminders are dropped")
    return 0
