"""CLI for the directory and the årshjul: ``admin``, ``roles``, ``arshjul``, ``settings`` and
``reminders preview`` (the commands that send are in ``bot.admin.outbox``).

Every command works on one tenant (``--tenant``, default ``local``); the first use of a tenant sets it
up with the Hadsel template (idempotent). Whoever runs the CLI on the server is trusted as operator;
in chat, only ``storage.directory.is_admin`` people may change things.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.admin import changes, outbox
from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime
from bot.admin.csvfile import CsvFile, dict_reader, header_problem
from bot.admin.messages import say
from dialogs.arshjul.ics import closed_day_name, tenant_calendar
from dialogs.arshjul.model import (
    TEMPLATES,
    ArshjulError,
    Task,
    dump_arshjul,
    load_arshjul,
    load_template,
    task_to_data,
)
from dialogs.arshjul.notices import TenantView, load_tenant
from dialogs.arshjul.recurrence import Holder, PlannedReminder, planned_reminders
from dialogs.arshjul.tasks import get_arshjul, list_tasks, replace_arshjul
from dialogs.content import Content
from dialogs.timezones import known_timezone
from storage import directory

if TYPE_CHECKING:
    from bot.runtime import Runtime

CSV_COLUMNS = ("rolle", "enhet", "plattform", "bruker_id", "navn", "stedfortreder_id")
PLATFORMS = ("slack", "teams", "web", "local")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``admin``, ``roles``, ``arshjul``, ``settings`` and ``reminders`` to the main parser."""
    admin = sub.add_parser("admin", help="admins of a tenant").add_subparsers(
        dest="sub", required=True
    )
    for name in ("add", "remove"):
        p = tenant(admin.add_parser(name, help=f"{name} an admin"))
        p.add_argument("platform", choices=PLATFORMS)
        p.add_argument("user_id")
        p.set_defaults(func=with_runtime(_admin))
    listed = tenant(
        admin.add_parser("list", help="list admins (named, and BTS-koordinator holders)")
    )
    listed.set_defaults(func=with_runtime(_admin))
    roles = sub.add_parser("roles", help="who holds which role").add_subparsers(
        dest="sub", required=True
    )
    imported = tenant(
        roles.add_parser(
            "import",
            help="replace role holders from CSV (shows the changes and asks first)",
            description="Replace every role holder of the tenant with the rows of a CSV file. "
            f"Columns (header row): {', '.join(CSV_COLUMNS)}; enhet, navn and stedfortreder_id "
            "may be empty. Separator , or ; or tab; UTF-8 (with or without BOM) or "
            "Windows-1252, as Excel saves it. The changes are shown first and confirmed.",
        )
    )
    imported.add_argument("file", type=CsvFile.read, help=f"CSV: {', '.join(CSV_COLUMNS)}")
    changes.add_options(imported)
    exported = tenant(roles.add_parser("export", help="print role holders as CSV"))
    for p in (imported, exported):
        p.set_defaults(func=with_runtime(_roles))
    arshjul = sub.add_parser("arshjul", help="the tenant's årshjul").add_subparsers(
        dest="sub", required=True
    )
    imported = tenant(
        arshjul.add_parser(
            "import",
            help="replace the årshjul from YAML (shows the changes and asks first)",
            description="Replace the tenant's årshjul with a YAML file in the format of "
            "'arshjul export': name, then tasks with key, title, text, roles, recurrence and "
            "optional unit, lead_days, send_time, link, done, done_link, survey. The changes "
            "are shown first and confirmed.",
        )
    )
    imported.add_argument("file", type=Path, help="YAML file (as written by arshjul export)")
    changes.add_options(imported)
    use = tenant(arshjul.add_parser("use", help="replace the årshjul with a built-in template"))
    use.add_argument("template", choices=TEMPLATES)
    settings = tenant(sub.add_parser("settings", help="the tenant's time zone and closed days"))
    settings.add_argument("--timezone", help="IANA zone, e.g. Europe/Oslo")
    for flag, what in (("--closed-days", "replace"), ("--add-closed", "add to")):
        settings.add_argument(
            flag,
            metavar="DAYS",
            help=f"{what} the tenant's own closed days: YYYY-MM-DD or FROM..TO, comma-separated",
        )
    settings.set_defaults(func=with_runtime(_settings))
    export = tenant(arshjul.add_parser("export", help="print the årshjul (YAML or --ics)"))
    export.add_argument("--ics", action="store_true", help="iCalendar of the next 12 months")
    export.add_argument("--from", dest="start", type=date.fromisoformat, default=None)
    export.add_argument(
        "--lang", choices=("nb", "nn"), default=None, help="language of --ics (BOT_LANGUAGE)"
    )
    for p in (imported, use, export):
        p.set_defaults(func=with_runtime(_arshjul))
    reminders = sub.add_parser("reminders", help="planned reminders").add_subparsers(
        dest="sub", required=True
    )
    preview = tenant(reminders.add_parser("preview", help="reminders sent in a window"))
    preview.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    preview.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    preview.add_argument("--json", action="store_true", help="print a JSON list")
    preview.add_argument(
        "--lang", choices=("nb", "nn"), default=None, help="language of the table (BOT_LANGUAGE)"
    )
    preview.set_defaults(func=with_runtime(_reminders))
    outbox.add_parsers(reminders, arshjul)  # reminders status|run, arshjul feed


async def _admin(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    if args.sub == "add":
        added = await directory.add_admin(store, args.tenant, args.platform, args.user_id)
        print("admin added" if added else "already an admin")
    elif args.sub == "remove":
        removed = await directory.remove_admin(store, args.tenant, args.platform, args.user_id)
        print("admin removed" if removed else "not an admin")
    else:
        for platform, user in await directory.list_admins(store, args.tenant):
            print(f"{platform}\t{user}\tadmin")
        for h in await directory.list_holders(store, args.tenant):
            if h.role == "bts-koordinator":
                print(f"{h.platform}\t{h.user_id}\tbts-koordinator")
    return 0


def parse_roles_csv(
    text: str, known_roles: set[str], sep: str = ","
) -> tuple[list[Holder], list[str]]:
    """Holders from CSV text with separator ``sep``, and one error line per bad row (``row N:
    …``) or one for the header."""
    reader = dict_reader(text, sep)
    header = list(reader.fieldnames or [])
    if missing := [c for c in CSV_COLUMNS if c not in header]:
        return [], [header_problem(missing, header, sep, CSV_COLUMNS)]
    holders: list[Holder] = []
    errors: list[str] = []
    seen: set[tuple[str, str | None, str, str]] = set()
    for number, row in enumerate(reader, start=2):
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue  # Excel leaves rows of empty cells (";;;;;") after the data
        problems = []
        role, unit = cells["rolle"], cells["enhet"] or None
        platform, user = cells["plattform"], cells["bruker_id"]
        if role not in known_roles:
            problems.append(f"unknown role {role!r} (known: {', '.join(sorted(known_roles))})")
        if platform not in PLATFORMS:
            problems.append(f"plattform must be one of {', '.join(PLATFORMS)}")
        if not user:
            problems.append("bruker_id is empty")
        if cells["stedfortreder_id"] and cells["stedfortreder_id"] == user:
            problems.append("stedfortreder_id is the same person")
        key = (role, unit, platform, user)
        if not problems and key in seen:
            problems.append("the same person holds this role in this unit twice")
        seen.add(key)
        if problems:
            errors.append(f"row {number}: " + "; ".join(problems))
            continue
        holders.append(
            Holder(
                role=role,
                unit=unit,
                platform=platform,
                user_id=user,
                display_name=cells["navn"],
                deputy_user_id=cells["stedfortreder_id"] or None,
            )
        )
    return holders, errors


def roles_diff(
    before: Sequence[Holder], after: Sequence[Holder], role_names: dict[str, str]
) -> changes.Diff:
    """What replacing the holders ``before`` with ``after`` changes, a holding being a person in
    a role and unit."""

    def key(h: Holder) -> tuple[str, str | None, str, str]:
        return h.role, h.unit, h.platform, h.user_id

    def label(h: Holder) -> str:
        unit = say("roles.in_unit", unit=h.unit) if h.unit else ""
        role = role_names.get(h.role, h.role)
        return say(
            "roles.holder", role=role, unit=unit, name=h.display_name or h.user_id,
            platform=h.platform, user=h.user_id,
        )  # fmt: skip

    def details(old: Holder, new: Holder) -> list[str]:
        found = []
        if old.display_name != new.display_name:
            found.append(changes.arrow(say("roles.name"), old.display_name, new.display_name))
        if old.deputy_user_id != new.deputy_user_id:
            found.append(
                changes.arrow(
                    say("roles.deputy"), old.deputy_user_id or "", new.deputy_user_id or ""
                )
            )
        if old.absent and not new.absent:  # an import knows no absence: it ends
            found.append(say("roles.absent"))
        return found

    return changes.diff_by_key(
        {key(h): h for h in before}, {key(h): h for h in after}, label, details
    )


async def _roles(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    if args.sub == "export":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for h in await directory.list_holders(store, args.tenant):
            writer.writerow(
                [
                    h.role,
                    h.unit or "",
                    h.platform,
                    h.user_id,
                    h.display_name,
                    h.deputy_user_id or "",
                ]
            )
        sys.stdout.write(out.getvalue())
        return 0
    file: CsvFile = args.file
    roles = await directory.list_roles(store, args.tenant)
    sep, _ = file.rows(CSV_COLUMNS)
    holders, errors = parse_roles_csv(file.text, {r.key for r in roles}, sep)
    if errors:
        for line in errors:
            print(f"{file.path}: {line}", file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return 1
    current = await directory.list_holders(store, args.tenant)
    diff = roles_diff(current, holders, {r.key: r.name_nb for r in roles})
    if (status := await changes.confirm(diff, args, say("roles.what"))) is not None:
        return status
    await directory.replace_holders(store, args.tenant, holders)
    print(f"imported {len(holders)} role holder(s)")
    return 0


def parse_days(text: str) -> list[date]:
    """Dates from "2026-12-23, 2026-12-28..2026-12-31" (ranges inclusive); ValueError if bad."""
    days: list[date] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, _, last = part.partition("..")
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
        if end < start or (end - start).days > 366:
            raise ValueError(f"bad range {part!r}")
        days += [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return days


async def _settings(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    current = await directory.get_settings(store, args.tenant)
    assert current is not None
    closed: list[date] | None = None
    try:
        if args.timezone is not None:
            known_timezone(args.timezone)
        if args.closed_days is not None:
            closed = parse_days(args.closed_days)
        if args.add_closed is not None:
            closed = [*(closed if closed is not None else current.closed_days)]
            closed += parse_days(args.add_closed)
    except ValueError as exc:
        print(f"bts-bot: {exc}; nothing was changed", file=sys.stderr)
        return 2
    if args.timezone is not None or closed is not None:
        await directory.set_settings(store, args.tenant, timezone=args.timezone, closed_days=closed)
        current = await directory.get_settings(store, args.tenant)
        assert current is not None
    print(f"timezone     {current.timezone}")
    print(f"template     {current.template}")
    days = ", ".join(d.isoformat() for d in current.closed_days) or "(none)"
    print(f"closed days  {days}")
    return 0


async def _arshjul(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    if args.sub == "use":
        arshjul = load_template(args.template)
        await replace_arshjul(store, args.tenant, arshjul)
        print(f"årshjul replaced by the {args.template} template ({len(arshjul.tasks)} task(s))")
        return 0
    if args.sub == "import":
        try:
            arshjul = load_arshjul(args.file)
        except ArshjulError as exc:
            for line in exc.errors:
                print(line, file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return 1
        current = await list_tasks(store, args.tenant)
        diff = arshjul_diff(current, arshjul.tasks)
        if (status := await changes.confirm(diff, args, say("arshjul.what"))) is not None:
            return status
        await replace_arshjul(store, args.tenant, arshjul)
        print(f"imported {len(arshjul.tasks)} task(s)")
        return 0
    if not args.ics:
        sys.stdout.write(dump_arshjul(await get_arshjul(store, args.tenant)))
        return 0
    lang = args.lang or runtime.settings.bot_language
    sys.stdout.write(
        await tenant_calendar(
            store, args.tenant, Content.load(), lang, args.start, runtime.settings.kommune_dir
        )
    )
    return 0


def arshjul_diff(before: Sequence[Task], after: Sequence[Task]) -> changes.Diff:
    """What replacing the tasks ``before`` with ``after`` changes: tasks by key, a changed task
    with the names of the fields that differ (and a new place in the order)."""
    old_data = {t.key: (i, task_to_data(t)) for i, t in enumerate(before)}
    new_data = {t.key: (i, task_to_data(t)) for i, t in enumerate(after)}
    titles = {t.key: t.title.nb for t in [*before, *after]}

    def details(old: tuple[int, dict[str, Any]], new: tuple[int, dict[str, Any]]) -> list[str]:
        fields = [f for f in dict.fromkeys([*old[1], *new[1]]) if old[1].get(f) != new[1].get(f)]
        names = [say(f"arshjul.field.{f}") for f in fields]
        if not fields and old[0] != new[0] and _order(before, after, new[1]["key"]):
            names.append(say("arshjul.field.position"))
        return [say("arshjul.fields", fields=", ".join(names))] if names else []

    def label(item: tuple[int, dict[str, Any]]) -> str:
        key = item[1]["key"]
        return say("arshjul.task", title=titles[key], key=key)

    return changes.diff_by_key(old_data, new_data, label, details)


def _order(before: Sequence[Task], after: Sequence[Task], key: str) -> bool:
    """True when ``key`` moved among the tasks both lists have (not only because of additions or
    removals around it)."""
    common = {t.key for t in before} & {t.key for t in after}
    old = [t.key for t in before if t.key in common]
    new = [t.key for t in after if t.key in common]
    return old.index(key) != new.index(key)


async def _reminders(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    if args.end < args.start:
        print("bts-bot: --to is before --from", file=sys.stderr)
        return 2
    view = await load_tenant(store, args.tenant, runtime.settings.bot_timezone)
    planned = planned_reminders(
        view.tasks, view.holders, (args.start, args.end), view.zone, view.closed
    )
    if args.json:
        print(json.dumps([r.as_json() for r in planned], ensure_ascii=False))
        return 0
    lang = args.lang or runtime.settings.bot_language
    print(preview_text(planned, view, Content.load(), lang, args), end="")
    return 0


def preview_text(
    planned: list[PlannedReminder],
    view: TenantView,
    content: Content,
    lang: str,
    args: argparse.Namespace,
) -> str:
    """The preview as a table with a header, why a send or a due date moved, and what to do about
    a reminder that has nobody to go to."""

    def text(key: str, **values: str) -> str:
        return content.text(lang, f"arshjul.preview.{key}", **values)

    def day(d: date) -> str:
        return f"{d.day}.{d.month}.{d.year}"

    if not planned:
        return text("empty", start=day(args.start), end=day(args.end)) + "\n"
    rows: list[list[str]] = [content.words(lang, "arshjul.preview.columns")]
    missing: dict[tuple[str, str, str | None], list[str]] = {}
    for r in planned:
        role = view.role_name(r.role, lang)
        if r.recipient is not None:
            who = f"{r.recipient.platform}:{r.recipient.user_id}"
            if r.deputy:
                who += " " + text("deputy")
        else:
            who = text(f"reason.{r.reason}")
            tasks = missing.setdefault((r.reason, role, r.unit), [])
            if r.task_key not in tasks:
                tasks.append(r.task_key)
        notes = []
        if r.due_day != r.occurrence:
            notes.append(
                text(
                    "due_moved",
                    reason=closed_day_name(r.occurrence, content, lang),
                    date=day(r.occurrence),
                )
            )
        wanted = r.due_day - timedelta(days=r.lead_days)
        if r.send_at.date() != wanted:
            notes.append(text("send_moved", reason=closed_day_name(wanted, content, lang)))
        rows.append(
            [
                r.send_at.strftime("%Y-%m-%d %H:%M"),
                r.kind,
                r.task_key,
                role + (f" ({r.unit})" if r.unit else ""),
                who,
                r.due_day.isoformat() + (f" – {'; '.join(notes)}" if notes else ""),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    for (reason, role, unit), tasks in missing.items():
        lines.append("")
        lines.append(
            text(
                f"hint.{reason}",
                role=role,
                unit=text("in_unit", unit=unit) if unit else "",
                tasks=", ".join(tasks),
                tenant=args.tenant,
            )
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"
