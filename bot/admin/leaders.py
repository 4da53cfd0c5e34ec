"""CLI for the leader group's monthly digest: ``leaders setup | show | preview | remove``.

``preview`` prints the digest a meeting day would get, from what the database holds now (the same
text the channel gets; nothing is sent).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime

if TYPE_CHECKING:
    from bot.runtime import Runtime


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    leaders = sub.add_parser("leaders", help="the leader group's monthly digest")
    leaders_sub = leaders.add_subparsers(dest="leaders_command", required=True)
    setup = tenant(leaders_sub.add_parser("setup", help="where and on which meetings it is posted"))
    setup.add_argument("--channel", help="channel id (needed the first time)")
    setup.add_argument("--platform", choices=("slack", "teams"), help="default: the tenant's")
    setup.add_argument("--tasks", help="årshjul task keys of the meetings, comma-separated")
    setup.set_defaults(func=with_runtime(_setup))
    show = tenant(leaders_sub.add_parser("show", help="the setting and the next meeting days"))
    show.add_argument(
        "--from", dest="start", help="list meeting days from YYYY-MM-DD (default: today)"
    )
    show.set_defaults(func=with_runtime(_show))
    preview = tenant(leaders_sub.add_parser("preview", help="print the digest of a meeting day"))
    preview.add_argument("--date", help="the meeting day, YYYY-MM-DD (default: today)")
    preview.add_argument("--lang", choices=("nb", "nn"), default=None)
    preview.set_defaults(func=with_runtime(_preview))
    remove = tenant(leaders_sub.add_parser("remove", help="stop the digest"))
    remove.set_defaults(func=with_runtime(_remove))


def _fail(text: str) -> int:
    print(f"bts-bot: {text}", file=sys.stderr)
    return 1


async def _setup(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.arshjul.tasks import list_tasks
    from storage import usage

    store, tenant_id = runtime.store, args.tenant
    current = await usage.get_leader_digest(store, tenant_id)
    if current is None and not args.channel:
        return _fail("the first setup needs --channel (the channel id)")
    known = {t.key for t in await list_tasks(store, tenant_id)}
    if args.tasks is not None:
        tasks = tuple(k.strip() for k in args.tasks.split(",") if k.strip())
        if unknown := [k for k in tasks if k not in known]:
            return _fail(
                f"no such årshjul task: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
    elif current is not None:
        tasks = current.tasks
    else:
        tasks = tuple(k for k in sorted(known) if "ledergruppe" in k or "lederm" in k)
    platform = args.platform or (
        current.platform
        if current
        else tenant_id.partition(":")[0]
        if ":" in tenant_id
        else "slack"
    )
    channel = args.channel or (current.channel_id if current else "")
    await usage.put_leader_digest(store, usage.DigestTarget(tenant_id, platform, channel, tasks))
    print(f"leader digest: {platform} channel {channel}, meetings {', '.join(tasks) or '(none)'}")
    return 0


async def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.arshjul.notices import load_tenant
    from dialogs.arshjul.recurrence import occurrences
    from dialogs.leaderdigest.planner import send_time
    from storage import usage

    target = await usage.get_leader_digest(runtime.store, args.tenant)
    if target is None:
        return _fail(f"tenant {args.tenant} has no leader digest (bts-bot leaders setup)")
    view = await load_tenant(runtime.store, args.tenant)
    today = dt.datetime.now(dt.UTC).astimezone(view.zone).date()
    print(
        f"leader digest: {target.platform} channel {target.channel_id}, meetings {', '.join(target.tasks) or '(none)'}"
    )
    days = sorted(
        d
        for t in view.tasks
        if t.key in target.tasks
        for d in occurrences(t.recurrence, today, today + dt.timedelta(days=300))
    )
    for day in days[:8]:
        print(f"  {day.isoformat()}  posted {send_time(day, view.zone, view.closed).isoformat()}")
    return 0


async def _preview(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.arshjul.notices import load_tenant
    from dialogs.leaderdigest.digest import Period, build_digest
    from dialogs.leaderdigest.planner import previous_meeting
    from storage import usage

    view = await load_tenant(runtime.store, args.tenant)
    now = dt.datetime.now(dt.UTC)
    try:
        day = dt.date.fromisoformat(args.date) if args.date else now.astimezone(view.zone).date()
    except ValueError:
        return _fail(f"--date {args.date!r} is not YYYY-MM-DD")
    target = await usage.get_leader_digest(runtime.store, args.tenant)
    keys = target.tasks if target is not None else ()
    period = Period.before(day, previous_meeting(view.tasks, keys, day))
    content = runtime.router.content
    lang = args.lang or runtime.settings.bot_language
    message = await build_digest(runtime.store, content, lang, view, period, now)
    print(message.text)
    return 0


async def _remove(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import usage

    if not await usage.remove_leader_digest(runtime.store, args.tenant):
        return _fail(f"tenant {args.tenant} has no leader digest")
    print("leader digest removed")
    return 0
