"""CLI commands on the outbox and the calendar link: ``reminders status|run``, ``arshjul feed``.

They use what serving uses (content to render with, platform senders, the public URL); the directory
commands around them are in ``bot.admin.arshjul``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime
from storage import directory, outbox
from storage.outbox_models import FINAL_STATUSES, SENT

if TYPE_CHECKING:
    from bot.runtime import Runtime

PROBLEMS_SHOWN = 20


def add_parsers(
    reminders: argparse._SubParsersAction[argparse.ArgumentParser],
    arshjul: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``status`` and ``run`` to ``reminders``, ``feed`` to ``arshjul``."""
    status = tenant(reminders.add_parser("status", help="the outbox: what was sent, what failed"))
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=with_runtime(_status))
    run = tenant(reminders.add_parser("run", help="plan and send what is due now, then exit"))
    run.set_defaults(func=with_runtime(_run))
    feed = tenant(arshjul.add_parser("feed", help="the calendar subscription URL"))
    feed.add_argument("--rotate", action="store_true", help="replace the secret link")
    feed.set_defaults(func=with_runtime(_feed))


async def _feed(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.arshjul.ics import feed_url

    token = await directory.feed_token(runtime.store, args.tenant, rotate=args.rotate)
    print(feed_url(runtime.settings.public_url, token))
    return 0


async def _run(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.reminders import ReminderService

    service = ReminderService(runtime)
    try:
        stats = await service.plan_and_dispatch()
    finally:
        await service.stop()
    print(json.dumps(stats.counts, sort_keys=True))
    return 0


async def _status(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    counts = await outbox.status_counts(store, args.tenant)
    problems = [
        row
        for status in FINAL_STATUSES
        if status != SENT
        for row in await outbox.list_items(store, args.tenant, status=status, limit=PROBLEMS_SHOWN)
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "counts": counts,
                    "problems": [
                        {
                            "kind": r.kind,
                            "status": r.status,
                            "error": r.last_error,
                            "platform": r.platform,
                            "target": r.target_id,
                            "send_at": r.send_at.isoformat(),
                            "task": r.payload.get("task"),
                        }
                        for r in problems
                    ],
                },
                ensure_ascii=False,
            )
        )
        return 0
    if not counts:
        print("the outbox is empty")
    for status, n in sorted(counts.items()):
        print(f"{status:<12} {n}")
    for r in problems:
        print(
            f"{r.send_at.isoformat()}  {r.status:<11} {r.kind:<10} {r.platform}:{r.target_id}"
            f"  {r.payload.get('task') or ''}  {r.last_error}"
        )
    return 0
