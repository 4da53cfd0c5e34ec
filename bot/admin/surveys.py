"""CLI for pulse surveys: ``survey templates | launch | list | close | results``.

``launch`` prints the new run's id; ``results`` prints what the channel summary says, or JSON, or a
CSV of the counts per question (and per unit), always under the minimum group rules: an anonymous
survey is never exported answer by answer. Templates are the built-in ones plus
``<KOMMUNE_DIR>/surveys/*.yaml``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.admin.command import tenant_option as tenant
from bot.admin.command import with_runtime, with_settings
from bot.config import Settings
from dialogs.surveys.model import SurveyFileError, SurveyTemplate, load_templates
from dialogs.surveys.results import Summary

if TYPE_CHECKING:
    from bot.runtime import Runtime

_CLOSE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")
#: A close given as a day means the end of the working day, local time.
CLOSE_TIME = dt.time(16, 0)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    survey = sub.add_parser("survey", help="pulse surveys: templates, launch, close, results")
    survey_sub = survey.add_subparsers(dest="survey_command", required=True)
    templates = survey_sub.add_parser("templates", help="the survey templates that can be launched")
    templates.add_argument("--json", action="store_true", help="print JSON")
    templates.set_defaults(func=with_settings(_templates))
    launch = tenant(survey_sub.add_parser("launch", help="send a survey; prints the run id"))
    launch.add_argument("template", help="template key (see: survey templates)")
    launch.add_argument(
        "--audience",
        required=True,
        help="role:NAME, channel:ID (its members, Slack), all, or users:ID,ID (platform user ids)",
    )
    launch.add_argument("--units", nargs="*", default=[], help="only these units")
    launch.add_argument(
        "--close", required=True, help="YYYY-MM-DD (16:00) or YYYY-MM-DDTHH:MM, tenant's time zone"
    )
    launch.add_argument("--post-to", default="", help="channel id for the summary at close")
    launch.add_argument("--json", action="store_true", help="print JSON")
    launch.set_defaults(func=with_runtime(_launch))
    listing = tenant(survey_sub.add_parser("list", help="the tenant's survey runs, newest first"))
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=with_runtime(_list))
    close = tenant(survey_sub.add_parser("close", help="close a run now and post its summary"))
    close.add_argument("id")
    close.set_defaults(func=with_runtime(_close))
    results = tenant(survey_sub.add_parser("results", help="a run's results (minimum group rules)"))
    results.add_argument("id")
    out = results.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", type=Path, default=None, help="write counts per question to FILE")
    out.add_argument("--xlsx", type=Path, default=None, help="the same as an Excel workbook")
    results.set_defaults(func=with_runtime(_results))


def _load(settings: Settings) -> dict[str, SurveyTemplate] | None:
    try:
        return load_templates([settings.kommune_dir / "surveys"])
    except SurveyFileError as exc:
        print("\n".join(exc.errors), file=sys.stderr)
        return None


def _templates(settings: Settings, args: argparse.Namespace) -> int:
    templates = _load(settings)
    if templates is None:
        return 1
    if args.json:
        rows = [
            {
                "key": t.key,
                "title": t.title.nb,
                "anonymity": t.anonymity,
                "audience": t.audience,
                "questions": len(t.questions),
                "source": t.source,
            }
            for t in templates.values()
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for t in templates.values():
        roles = ", ".join(t.audience) or "alle"
        print(
            f"{t.key:<24} {t.anonymity:<10} {len(t.questions):>2} spørsmål  {roles:<28} {t.title.nb}"
        )
    return 0


def _close_at(text: str, zone: ZoneInfo) -> dt.datetime | None:
    if not _CLOSE.match(text):
        return None
    try:
        if "T" in text:
            return dt.datetime.fromisoformat(text).replace(tzinfo=zone)
        return dt.datetime.combine(dt.date.fromisoformat(text), CLOSE_TIME, tzinfo=zone)
    except ValueError:
        return None


async def _zone(runtime: Runtime, tenant_id: str) -> ZoneInfo:
    from storage import directory

    config = await directory.get_settings(runtime.store, tenant_id)
    return ZoneInfo(config.timezone if config is not None else runtime.settings.bot_timezone)


async def _launch(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.surveys import launch as survey_launch
    from storage.models import utcnow
    from storage.surveys import LaunchRefused

    templates = _load(runtime.settings)
    if templates is None:
        return 1
    template = templates.get(args.template)
    if template is None:
        print(
            f"bts-bot: unknown template {args.template!r} (see: bts-bot survey templates)",
            file=sys.stderr,
        )
        return 1
    zone = await _zone(runtime, args.tenant)
    closes = _close_at(args.close, zone)
    now = utcnow()
    if closes is None:
        print("bts-bot: --close must be YYYY-MM-DD or YYYY-MM-DDTHH:MM", file=sys.stderr)
        return 1
    if closes <= now:
        print("bts-bot: --close is in the past", file=sys.stderr)
        return 1
    try:
        audience = survey_launch.Audience.parse(args.audience, args.units)
        run, new = await survey_launch.launch(
            runtime.store,
            tenant_id=args.tenant,
            template=template,
            audience=audience,
            closes_at=closes,
            now=now,
            min_group=runtime.settings.survey_min_group,
            post_to=args.post_to,
            launched_by="cli",
            members=runtime.channel_members,
        )
    except survey_launch.AudienceError as exc:
        print(f"bts-bot: {exc}", file=sys.stderr)
        return 1
    except LaunchRefused as exc:
        if exc.reason == "too_few":
            print(
                f"bts-bot: an anonymous survey needs at least {exc.minimum} recipients; "
                f"this audience has {exc.recipients}",
                file=sys.stderr,
            )
        else:
            print("bts-bot: nobody in this audience (no holders of the role yet?)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"id": run.id, "recipients": run.recipients, "new": new}))
    else:
        print(run.id)
    return 0


def _run_row(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "template": run.template_key,
        "status": run.status,
        "anonymity": run.anonymity,
        "opens_at": run.opens_at.isoformat(),
        "closes_at": run.closes_at.isoformat(),
        "recipients": run.recipients,
        "post_to": run.post_to,
    }


async def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import surveys

    runs = await surveys.runs(runtime.store, args.tenant)
    if args.json:
        print(json.dumps([_run_row(r) for r in runs], ensure_ascii=False))
        return 0
    if not runs:
        print(f"no surveys yet ({args.tenant})")
    for r in runs:
        print(
            f"{r.id}  {r.status:<6} {r.template_key:<24} {r.recipients:>5} asked  "
            f"closes {r.closes_at:%Y-%m-%d %H:%M} UTC"
        )
    return 0


async def _close(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.surveys import launch as survey_launch
    from storage.models import utcnow

    run = await survey_launch.close(runtime.store, args.tenant, args.id, utcnow())
    if run is None:
        print(f"bts-bot: no survey {args.id!r} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    print(f"closed: {run.answered} of {run.recipients} answered")
    return 0


HEADER = ("enhet", "spørsmål", "svar", "antall", "snitt", "sum", "endring")


def _result_rows(summary: Summary) -> list[list[Any]]:
    """Counts per question (and per unit shown), the same rows for CSV and XLSX: never one answer
    of an anonymous survey, nothing below the minimum group, no hidden unit."""
    rows: list[list[Any]] = []
    scopes = [("", summary.questions)] + [
        (u.unit or "-", tuple(u.questions.values())) for u in summary.units if not u.hidden
    ]
    for unit, questions in scopes:
        for q in questions:
            trend = q.trend or ""
            if q.counts:
                rows += [[unit, q.key, v, n, q.mean, q.total, trend] for v, n in q.counts.items()]
            elif not summary.hidden and q.kind != "text":
                rows.append([unit, q.key, "", q.answered, q.mean, q.total, trend])
    return rows


def _write_xlsx(
    path: Path, template: SurveyTemplate, run: Any, summary: Summary, rows: list[list[Any]]
) -> None:
    from openpyxl import Workbook  # only for this export

    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "Om"
    about.append(["Undersøkelse", template.title.nb])
    about.append(["Anonymitet", run.anonymity])
    about.append(["Svar", summary.answered])
    about.append(["Spurt", summary.recipients])
    about.append(["Minste gruppe", summary.min_group])
    if summary.hidden:
        about.append(["Merknad", f"Færre enn {summary.min_group} svar: resultatene vises ikke."])
    sheet = book.create_sheet("Resultater")
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row)
    book.save(path)


def _plain(text: str) -> str:
    return text.replace("**", "")


async def _results(runtime: Runtime, args: argparse.Namespace) -> int:
    from dialogs.surveys.notices import summarise_run, summary_message
    from storage import surveys

    run = await surveys.get_run(runtime.store, args.tenant, args.id)
    if run is None:
        print(f"bts-bot: no survey {args.id!r} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    template = SurveyTemplate.model_validate(run.template)
    if args.json or args.csv or args.xlsx:
        summary = await summarise_run(runtime.store, run, template)
        if args.json:
            print(json.dumps({"run": _run_row(run), **asdict(summary)}, ensure_ascii=False))
            return 0
        rows = _result_rows(summary)
        if args.csv:
            with args.csv.open("w", newline="", encoding="utf-8-sig") as handle:
                csv.writer(handle, delimiter=";").writerows([list(HEADER), *rows])
            print(f"wrote {args.csv}")
        else:
            _write_xlsx(args.xlsx, template, run, summary, rows)
            print(f"wrote {args.xlsx}")
        return 0
    message = await summary_message(runtime.store, runtime.router.content, "nb", run, template)
    print(_plain(message.text))
    return 0
