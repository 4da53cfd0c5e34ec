"""CLI commands on the outbox and the calendar link: ``reminders status|run``, ``arshjul feed``.

They need the whole runtime (content to render with, platform senders), unlike the directory
commands in ``bot.admin.arshjul``.
"""

from __future__ import annotations

import argparse
import json

from bot.http.calendar_feed import feed_url
from bot.runtime import Runtime
from dialogs.arshjul.tasks import ensure_tenant_setup
from storage import directory, outbox
from storage.outbox_models import FINAL_STATUSES, SENT

PROBLEMS_SHOWN = 20


async def run(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    await ensure_tenant_setup(store, args.tenant, timezone=runtime.settings.bot_timezone)
    if args.command == "arshjul":
        token = await directory.feed_token(store, args.tenant, rotate=args.rotate)
        print(feed_url(runtime.settings.public_url, token))
        return 0
    if args.sub == "run":
        from bot.reminders import ReminderService

        service = ReminderService(runtime)
        try:
            stats = await service.plan_and_dispatch()
        finally:
            await service.stop()
        print(json.dumps(stats.counts, sort_keys=True))
        return 0
    return await _status(runtime, args)


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
