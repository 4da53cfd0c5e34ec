"""CLI for the implementation plan: ``plan list | import | export | use | done | reopen``.

Every command works on one tenant (``--tenant``, default ``local``). ``import`` validates the YAML
(also that every responsible role exists in the tenant) and replaces the whole plan, or changes
nothing and names each problem as ``file:line: message``; ``export`` prints YAML that ``import``
reads back; ``use`` replaces the plan with a built-in one from the seeds (Strand, Sirdal). Bad input
is one line and exit 1 (2 for a bad argument), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime
from dialogs.milestones.model import BUILTIN_PLANS, PlanError, dump_plan, load_plan
from dialogs.milestones.plans import (
    DONE,
    LATE,
    current_plan,
    import_plan,
    known_roles,
    state_of,
    tenant_today,
    use_builtin,
)
from storage.milestones import get_milestone, list_milestones, mark_done, reopen
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

STATES = {DONE: "done", LATE: "overdue"}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-05-31") from None


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan`` and its sub-commands to the main parser."""
    plan = sub.add_parser("plan", help="the tenant's implementation plan (milestones)")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    listing = tenant(plan_sub.add_parser("list", help="the milestones and their status"))
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=with_runtime(_list))
    imported = tenant(plan_sub.add_parser("import", help="replace the plan from a YAML file"))
    imported.add_argument("file", type=Path)
    imported.set_defaults(func=with_runtime(_import))
    exported = tenant(plan_sub.add_parser("export", help="print the plan as YAML (for import)"))
    exported.set_defaults(func=with_runtime(_export))
    use = tenant(plan_sub.add_parser("use", help="replace the plan with a built-in one"))
    use.add_argument("plan", choices=BUILTIN_PLANS)
    use.set_defaults(func=with_runtime(_use))
    done = tenant(plan_sub.add_parser("done", help="record a milestone's fullført dato"))
    done.add_argument("key")
    done.add_argument("--date", type=_day, default=None, help="YYYY-MM-DD (default: today)")
    done.set_defaults(func=with_runtime(_done))
    reopened = tenant(plan_sub.add_parser("reopen", help="clear a milestone's fullført dato"))
    reopened.add_argument("key")
    reopened.set_defaults(func=with_runtime(_reopen))


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    today = await tenant_today(store, args.tenant, utcnow())
    milestones = await list_milestones(store, args.tenant)
    if args.json:
        rows = [
            {
                "key": m.key,
                "title": m.title_nb,
                "role": m.role,
                "unit": m.unit,
                "due": m.due.isoformat(),
                "completed": m.completed.isoformat() if m.completed else None,
                "status": STATES.get(state_of(m, today), "open"),
            }
            for m in milestones
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not milestones:
        print("no plan yet (bts-bot plan use strand|sirdal, or plan import FILE.yaml)")
        return 0
    for m in milestones:
        state = state_of(m, today)
        status = f"done {m.completed}" if m.completed else STATES.get(state, "open")
        role = m.role + (f" ({m.unit})" if m.unit else "")
        print(f"{m.due}  {status:<15} {m.key}  {role}  {m.title_nb}")
    return 0


async def _import(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        plan = load_plan(args.file, await known_roles(runtime.store, args.tenant))
    except PlanError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return 1
    await import_plan(runtime.store, args.tenant, plan)
    print(f"imported {len(plan.milestones)} milestone(s)")
    return 0


async def _export(runtime: Runtime, args: argparse.Namespace) -> int:
    plan = await current_plan(runtime.store, args.tenant)
    header = (
        f"The implementation plan of {args.tenant}. Dates are YYYY-MM-DD; an empty completed\n"
        "means open. Edit it and read it back with: bts-bot plan import FILE.yaml"
    )
    sys.stdout.write(dump_plan(plan, header))
    return 0


async def _use(runtime: Runtime, args: argparse.Namespace) -> int:
    plan = await use_builtin(runtime.store, args.tenant, args.plan)
    print(f"plan replaced by the {args.plan} plan ({len(plan.milestones)} milestone(s))")
    return 0


async def _unknown(runtime: Runtime, args: argparse.Namespace) -> int:
    print(
        f"bts-bot: no milestone {args.key!r} in the plan of {args.tenant} (see: bts-bot plan list)",
        file=sys.stderr,
    )
    return 1


async def _done(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    day = args.date or await tenant_today(store, args.tenant, utcnow())
    if not await mark_done(store, args.tenant, args.key, day):
        return await _unknown(runtime, args)
    print(f"{args.key}: done {day.isoformat()}")
    return 0


async def _reopen(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    milestone = await get_milestone(store, args.tenant, args.key)
    if milestone is None or not await reopen(store, args.tenant, args.key):
        return await _unknown(runtime, args)
    print(f"{args.key}: open again, due {milestone.due.isoformat()}")
    return 0
