"""CLI for the BTS-nettverk: ``network setup | show | remove``.

``setup`` creates the network (or changes what is given) for a channel; ``show`` prints its
settings and its rounds (meeting, phase, check-ins); ``remove`` stops it. The same settings as
``/bts nettverk`` in chat.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime

if TYPE_CHECKING:
    from bot.runtime import Runtime


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    network = sub.add_parser("network", help="the BTS-nettverk: check-ins, digest, pairing")
    network_sub = network.add_subparsers(dest="network_command", required=True)
    setup = tenant(network_sub.add_parser("setup", help="create the network or change it"))
    setup.add_argument("--channel", help="channel id the network posts to (needed to create it)")
    setup.add_argument("--platform", choices=("slack", "teams"), help="default: the tenant's")
    setup.add_argument("--member-role", help="role of the members (default bts-kontakt)")
    setup.add_argument("--host-role", help="role of the host (default bts-koordinator)")
    setup.add_argument("--tasks", help="årshjul task keys of the meetings, comma-separated")
    setup.add_argument("--checkin-days", type=int, help="days before a meeting (3–30; default 7)")
    setup.add_argument("--pairing-weeks", type=int, help="pair members every N weeks (0 = off)")
    setup.add_argument(
        "--across-sectors", choices=("yes", "no"), help="pair barnehage × skole … first"
    )
    setup.add_argument(
        "--evaluation-months", help="months whose first meeting evaluates the network (1,2)"
    )
    setup.set_defaults(func=with_runtime(_setup))
    show = tenant(network_sub.add_parser("show", help="settings and rounds of the network"))
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=with_runtime(_show))
    remove = tenant(network_sub.add_parser("remove", help="stop the network"))
    remove.set_defaults(func=with_runtime(_remove))


def _numbers(text: str) -> tuple[int, ...] | None:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() and 1 <= int(p) <= 12 for p in parts):
        return None
    return tuple(int(p) for p in parts)


async def _setup(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.arshjul.tasks import list_tasks
    from storage import directory
    from storage import network as net

    store, tenant_id = runtime.store, args.tenant
    current = await net.get_network(store, tenant_id, net.DEFAULT_KEY)
    if current is None:
        if not args.channel:
            print("bts-bot: a new network needs --channel (the channel id)", file=sys.stderr)
            return 1
        platform = args.platform or (tenant_id.partition(":")[0] if ":" in tenant_id else "slack")
        current = net.NetworkSettings(
            tenant_id=tenant_id, key=net.DEFAULT_KEY, platform=platform, channel_id=args.channel
        )
        known = {t.key for t in await list_tasks(store, tenant_id)}
        current = replace(current, tasks=tuple(k for k in sorted(known) if "nettverk" in k))
    roles = {r.key for r in await directory.list_roles(store, tenant_id)}
    changes: dict[str, object] = {}
    for option, field in (("member_role", "member_role"), ("host_role", "host_role")):
        value = getattr(args, option)
        if value is not None:
            if value not in roles:
                print(
                    f"bts-bot: unknown role {value!r} (known: {', '.join(sorted(roles))})",
                    file=sys.stderr,
                )
                return 1
            changes[field] = value
    if args.tasks is not None:
        known = {t.key for t in await list_tasks(store, tenant_id)}
        tasks = tuple(k.strip() for k in args.tasks.split(",") if k.strip())
        if unknown := [k for k in tasks if k not in known]:
            print(f"bts-bot: no such årshjul task: {', '.join(unknown)}", file=sys.stderr)
            return 1
        changes["tasks"] = tasks
    if args.checkin_days is not None:
        if not 3 <= args.checkin_days <= 30:
            print("bts-bot: --checkin-days must be 3–30", file=sys.stderr)
            return 1
        changes["checkin_days"] = args.checkin_days
    if args.pairing_weeks is not None:
        if not 0 <= args.pairing_weeks <= 26:
            print("bts-bot: --pairing-weeks must be 0–26", file=sys.stderr)
            return 1
        changes["pairing_weeks"] = args.pairing_weeks
    if args.across_sectors is not None:
        changes["pairing_across_sectors"] = args.across_sectors == "yes"
    if args.evaluation_months is not None:
        months = _numbers(args.evaluation_months)
        if months is None:
            print("bts-bot: --evaluation-months are month numbers 1–12, e.g. 1,2", file=sys.stderr)
            return 1
        changes["evaluation_months"] = months
    if args.channel:
        changes["channel_id"] = args.channel
    if args.platform:
        changes["platform"] = args.platform
    network = replace(current, **changes)  # type: ignore[arg-type]
    await net.put_network(store, network)
    print(_describe(network))
    return 0


def _describe(network: object) -> str:
    from storage.network import NetworkSettings

    assert isinstance(network, NetworkSettings)
    return (
        f"network {network.key}: {network.platform} channel {network.channel_id}, "
        f"members {network.member_role}, host {network.host_role}, "
        f"meetings {', '.join(network.tasks) or '(none)'}, check-in {network.checkin_days} days before, "
        f"pairing {'every ' + str(network.pairing_weeks) + ' weeks' if network.pairing_weeks else 'off'}"
        f"{' across sectors' if network.pairing_across_sectors else ''}, "
        f"evaluation in months {', '.join(map(str, network.evaluation_months)) or '(none)'}"
    )


async def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import network as net

    network = await net.get_network(runtime.store, args.tenant, net.DEFAULT_KEY)
    if network is None:
        print(
            f"bts-bot: tenant {args.tenant} has no network (bts-bot network setup)", file=sys.stderr
        )
        return 1
    rounds = await net.rounds(runtime.store, args.tenant, network.key)
    rows = []
    for r in rounds:
        checkins = await net.checkins(runtime.store, r.id)
        rows.append(
            {
                "meeting": r.meeting.isoformat(),
                "task": r.task_key,
                "status": r.status,
                "checkins": len(checkins),
                "topics": sum(1 for c in checkins if c.topic),
                "evaluation": r.evaluation,
                "summary": list(r.summary),
            }
        )
    if args.json:
        data = {
            "key": network.key,
            "platform": network.platform,
            "channel": network.channel_id,
            "member_role": network.member_role,
            "host_role": network.host_role,
            "tasks": list(network.tasks),
            "checkin_days": network.checkin_days,
            "pairing_weeks": network.pairing_weeks,
            "pairing_across_sectors": network.pairing_across_sectors,
            "evaluation_months": list(network.evaluation_months),
            "rounds": rows,
        }
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(_describe(network))
    for row in rows:
        print(
            f"  {row['meeting']}  {row['task']:<24} {row['status']:<11} "
            f"{row['checkins']} check-ins, {row['topics']} topics"
            f"{'  (evaluation)' if row['evaluation'] else ''}"
        )
    return 0


async def _remove(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import network as net

    if not await net.remove_network(runtime.store, args.tenant, net.DEFAULT_KEY):
        print(f"bts-bot: tenant {args.tenant} has no network", file=sys.stderr)
        return 1
    print("network removed: no more check-ins or pairings")
    return 0
