"""CLI for the BTS-kontakt directory and the feedback counts: ``contacts import|export``, ``stats``.

``contacts import FILE.csv`` replaces a tenant's BTS-kontakter (role holders of ``bts-kontakt``) and
their work phone/e-mail in one transaction: every bad row is listed with its row number and nothing
is imported. The role checks are the ``roles import`` ones (``bot.admin.arshjul.parse_roles_csv``);
this module adds only what contacts have beyond a role holder. ``stats`` prints the "Var dette
nyttig?" votes per FAQ topic and guide level as a table (or ``--json``): counts only, no user ids
exist to print. Whoever runs the CLI on the server is trusted as operator.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.admin import changes
from bot.admin.arshjul import CSV_COLUMNS as ROLE_COLUMNS
from bot.admin.arshjul import parse_roles_csv
from bot.admin.command import tenant_option, with_runtime
from bot.admin.csvfile import CsvFile, dict_reader, header_problem
from bot.admin.messages import say
from storage import contacts as repo
from storage.contacts_models import EMAIL_MAX, PHONE_MAX
from storage.feedback import list_totals
from storage.feedback_models import KINDS
from storage.feedback_reports import count_reports
from storage.users import list_tenants

if TYPE_CHECKING:  # the parser is built on every command; the runtime only when one runs
    from bot.runtime import Runtime

CONTACT_COLUMNS = (
    "enhet",
    "navn",
    "plattform",
    "bruker_id",
    "stedfortreder_id",
    "telefon",
    "epost",
)
REQUIRED_COLUMNS = ("enhet", "navn", "plattform", "bruker_id")
OPTIONAL_COLUMNS = tuple(c for c in CONTACT_COLUMNS if c not in REQUIRED_COLUMNS)

_PHONE = re.compile(r"\+?[0-9][0-9 -]*[0-9]")
_EMAIL = re.compile(r"[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[A-Za-z]{2,}")
_ROW_ERROR = re.compile(r"row (\d+): (.*)")  # the shape of parse_roles_csv's error lines


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contacts`` and ``stats`` to the main parser."""
    contacts = sub.add_parser("contacts", help="the BTS-kontakt directory").add_subparsers(
        dest="sub", required=True
    )
    imported = contacts.add_parser(
        "import",
        help="replace the BTS-kontakter from CSV (shows the changes and asks first)",
        description="Replace the tenant's BTS-kontakter with the rows of a CSV file. Columns "
        f"(header row): {', '.join(REQUIRED_COLUMNS)}, optional {', '.join(OPTIONAL_COLUMNS)}. "
        "Separator , or ; or tab; UTF-8 (with or without BOM) or Windows-1252, as Excel saves "
        "it. The changes are shown first and confirmed.",
    )
    imported.add_argument("file", type=CsvFile.read, help=f"CSV: {', '.join(CONTACT_COLUMNS)}")
    changes.add_options(imported)
    tenant_option(imported).set_defaults(func=with_runtime(_import))
    exported = contacts.add_parser("export", help="print the BTS-kontakter as CSV")
    tenant_option(exported).set_defaults(func=with_runtime(_export))
    stats = sub.add_parser("stats", help='"Var dette nyttig?" votes per topic and guide level')
    stats.add_argument("--tenant", default=None, help="one tenant (default: all tenants)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=with_runtime(_stats, tenant=False))


async def _export(runtime: Runtime, args: argparse.Namespace) -> int:
    sys.stdout.write(contacts_csv(await repo.list_contacts(runtime.store, args.tenant)))
    return 0


async def _import(runtime: Runtime, args: argparse.Namespace) -> int:
    store = runtime.store
    file: CsvFile = args.file
    sep, _ = file.rows(CONTACT_COLUMNS)
    found, errors = parse_contacts_csv(file.text, sep)
    if errors:
        print("\n".join(f"{file.path}: {line}" for line in errors), file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return 1
    diff = contacts_diff(await repo.list_contacts(store, args.tenant), found)
    if (status := await changes.confirm(diff, args, say("contacts.what"))) is not None:
        return status
    await repo.replace_contacts(store, args.tenant, found)
    print(f"imported {len(found)} BTS-kontakt(er) in {len({c.unit for c in found})} unit(s)")
    return 0


def contacts_diff(before: list[repo.Contact], after: list[repo.Contact]) -> changes.Diff:
    """What replacing the BTS-kontakter ``before`` with ``after`` changes (a contact being a
    person in a unit)."""

    def key(c: repo.Contact) -> tuple[str | None, str, str]:
        return c.unit, c.holder.platform, c.holder.user_id

    def label(c: repo.Contact) -> str:
        h = c.holder
        return say(
            "contacts.contact", name=c.name or h.user_id, unit=c.unit or "-",
            platform=h.platform, user=h.user_id,
        )  # fmt: skip

    def details(old: repo.Contact, new: repo.Contact) -> list[str]:
        pairs = (
            ("contacts.name", old.name, new.name),
            ("contacts.deputy", old.holder.deputy_user_id or "", new.holder.deputy_user_id or ""),
            ("contacts.phone", old.phone, new.phone),
            ("contacts.email", old.email, new.email),
        )
        return [changes.arrow(say(name), a, b) for name, a, b in pairs if a != b]

    return changes.diff_by_key(
        {key(c): c for c in before}, {key(c): c for c in after}, label, details
    )


# CSV ----------------------------------------------------------------------------------------------


def _detail_problems(cells: dict[str, str]) -> list[str]:
    problems = []
    if not cells.get("navn"):
        problems.append("navn is empty")
    phone, email = cells.get("telefon", ""), cells.get("epost", "")
    digits = sum(ch.isdigit() for ch in phone)
    if phone and (not _PHONE.fullmatch(phone) or not 5 <= digits <= 15 or len(phone) > PHONE_MAX):
        problems.append(f"telefon {phone!r} is not a phone number")
    if email and (not _EMAIL.fullmatch(email) or len(email) > EMAIL_MAX):
        problems.append(f"epost {email!r} is not an e-mail address")
    return problems


def parse_contacts_csv(text: str, sep: str = ",") -> tuple[list[repo.Contact], list[str]]:
    """Contacts from CSV text with separator ``sep``, and one error line per bad row (``row N:
    …``, N counted like a spreadsheet: the header is row 1)."""
    reader = dict_reader(text, sep)
    header = list(reader.fieldnames or [])
    if missing := [c for c in REQUIRED_COLUMNS if c not in header]:
        problem = header_problem(missing, header, sep, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
        return [], [problem]
    rows = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    rows = [row for row in rows if any(row.values())]  # Excel's trailing ";;;;" rows
    # The same rows as a roles CSV, so role holder rules stay the roles import's own.
    as_roles = io.StringIO()
    writer = csv.DictWriter(as_roles, ROLE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({"stedfortreder_id": "", **row, "rolle": repo.CONTACT_ROLE} for row in rows)
    holders, role_errors = parse_roles_csv(as_roles.getvalue(), {repo.CONTACT_ROLE})
    role_problems: dict[int, str] = {}
    for line in role_errors:
        matched = _ROW_ERROR.fullmatch(line)
        assert matched, line  # no header problem: we wrote the header ourselves
        role_problems[int(matched.group(1))] = matched.group(2)
    good = iter(holders)  # parse_roles_csv keeps the order of the good rows
    found: list[repo.Contact] = []
    errors: list[str] = []
    details: dict[tuple[str, str], tuple[int, str, str]] = {}
    for number, cells in enumerate(rows, start=2):
        problems = [role_problems[number]] if number in role_problems else []
        problems += _detail_problems(cells)
        phone, email = cells.get("telefon", ""), cells.get("epost", "")
        person = (cells["plattform"], cells["bruker_id"])
        first, *given = details.setdefault(person, (number, phone, email))
        if tuple(given) != (phone, email):
            problems.append(f"telefon/epost differ from row {first} for the same person")
        holder = None if number in role_problems else next(good)
        if problems:
            errors.append(f"row {number}: " + "; ".join(problems))
        elif holder is not None:
            found.append(repo.Contact(holder, phone=phone, email=email))
    return ([], errors) if errors else (found, [])


def contacts_csv(contacts: list[repo.Contact]) -> str:
    """The directory as CSV in the import's columns (a round trip gives the same directory)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CONTACT_COLUMNS)
    for c in contacts:
        h = c.holder
        writer.writerow(
            [c.unit or "", c.name, h.platform, h.user_id, h.deputy_user_id or "", c.phone, c.email]
        )
    return out.getvalue()


# stats --------------------------------------------------------------------------------------------


@dataclass
class StatsRow:
    """The votes on one topic or level, over languages."""

    kind: str
    key: str
    up: int = 0
    down: int = 0
    by_lang: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def share_useful(self) -> float:
        return self.up / (self.up + self.down) if self.up + self.down else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "up": self.up,
            "down": self.down,
            "share_useful": round(self.share_useful, 3),
            "by_lang": self.by_lang,
        }


async def stats_rows(runtime: Runtime, tenant: str | None) -> list[StatsRow]:
    """Votes per (kind, key), topics first, each language's counts kept beside the total."""
    rows: dict[tuple[str, str], StatsRow] = {}
    for t in await list_totals(runtime.store, tenant):
        row = rows.setdefault((t.kind, t.key), StatsRow(t.kind, t.key))
        row.up += t.up
        row.down += t.down
        row.by_lang[t.lang] = {"up": t.up, "down": t.down}
    return sorted(rows.values(), key=lambda r: (KINDS.index(r.kind), r.key))


async def _stats(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.tenant is not None:
        known = [t.id for t in await list_tenants(runtime.store)]
        if args.tenant not in known:
            names = ", ".join(known) or say("stats.no_tenants")
            print(say("stats.unknown_tenant", tenant=args.tenant, known=names), file=sys.stderr)
            return 1
    rows = await stats_rows(runtime, args.tenant)
    reports = await count_reports(runtime.store, args.tenant)
    if args.json:
        print(
            json.dumps(
                {"tenant": args.tenant, "rows": [r.as_json() for r in rows], "reports": reports},
                ensure_ascii=False,
            )
        )
        return 0
    from rich.console import Console
    from rich.table import Table

    scope = args.tenant or "all tenants"
    if reports:  # the texts themselves: ``bts-bot feedback list``
        print(f'"Meld feil eller forslag": {reports} report(s) ({scope}): bts-bot feedback list')
    if not rows:
        print(f"no feedback yet ({scope})")
        return 0
    table = Table(title=f"Var dette nyttig? ({scope})")
    table.add_column("kind")
    table.add_column("topic / level")
    for heading in ("👍", "👎", "useful"):
        table.add_column(heading, justify="right")
    for r in rows:
        table.add_row(r.kind, r.key, str(r.up), str(r.down), f"{r.share_useful:.0%}")
    Console(soft_wrap=False).print(table)
    return 0
