"""CLI for the free-text reports ("Meld feil eller forslag"): ``feedback list [--tenant] [--json]``.

Prints what ``storage.feedback_reports`` keeps: when, tenant, language, the screen or topic the
report was written on, and the text. There is no user id to print; a report cannot be traced back
to the person who wrote it.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from bot.admin.command import with_runtime
from storage.feedback_reports import LIST_LIMIT, list_reports

if TYPE_CHECKING:
    from bot.runtime import Runtime


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``feedback list`` to the main parser."""
    feedback = sub.add_parser("feedback", help='"Meld feil eller forslag" reports from users')
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    listing = feedback_sub.add_parser("list", help="the newest reports first")
    listing.add_argument("--tenant", default=None, help="one tenant (default: all tenants)")
    listing.add_argument(
        "--limit", type=int, default=LIST_LIMIT, help=f"at most this many (default {LIST_LIMIT})"
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=with_runtime(_list, tenant=False))


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    reports = await list_reports(runtime.store, args.tenant, limit=max(1, args.limit))
    if args.json:
        rows = [
            {
                "id": r.id,
                "tenant": r.tenant_id,
                "created_at": r.created_at.isoformat(),
                "lang": r.lang,
                "origin": r.origin,
                "text": r.text,
            }
            for r in reports
        ]
        print(json.dumps({"tenant": args.tenant, "reports": rows}, ensure_ascii=False))
        return 0
    scope = args.tenant or "all tenants"
    if not reports:
        print(f"no reports yet ({scope})")
        return 0
    for r in reports:
        print(f"#{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.tenant_id}  {r.lang}  {r.origin}")
        for line in r.text.splitlines() or [""]:
            print(f"    {line}")
    return 0
