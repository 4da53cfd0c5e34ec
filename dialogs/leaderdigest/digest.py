"""The leaders' monthly digest: what the bot already knows about the month before a leader group
meeting, as one message for the group's channel.

* the årshjul per unit: done, open and late tasks (late ones named with their date);
* surveys closed or open in the period with their response rate and, for the questions marked
  ``compare``, the mean or total and its trend — under the minimum group rules of
  ``dialogs.surveys.results`` (nothing but the rate below it); the latest halvårsrapport too;
* the BTS-nettverk: its meetings of the period (check-ins, topics, the host's key points) and how
  many pairs met;
* anonymous use of the guide and the FAQ: levels opened and answers per topic, the topics
  unanswered questions were nearest to (never their text), the 👍/👎 so far;
* milestones of the implementation plan that are overdue or due within a month.

Nothing identifying: counts, titles, dates, units; never a person or a question's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.arshjul.notices import TenantView, Texts, UnitStatus, unit_status
from dialogs.content import Content
from dialogs.messages import Message
from dialogs.milestones.plans import overdue_and_due
from dialogs.surveys.chart import number_text
from dialogs.surveys.dialog import acute_button
from dialogs.surveys.model import SurveyTemplate
from dialogs.surveys.notices import summarise_run
from dialogs.surveys.results import QuestionResult
from storage import feedback, surveys, usage
from storage import network as net
from storage.repositories import Store
from storage.surveys import Run
from storage.usage_models import LEVEL, TOPIC, UNKNOWN_NEAR

TOPIC_ID = "ledergruppe"
HALF_YEAR_REPORT = "halvarsrapport"
#: Keys shown per list of counts (the rest are left out, not summed into a number that misleads).
TOP = 6
#: Compare questions shown per survey.
QUESTIONS_SHOWN = 3
MILESTONES_WITHIN_DAYS = 31


@dataclass(frozen=True)
class Period:
    """The days the digest is about: from the day after the previous meeting (or a month back)
    to the day before this one."""

    start: date
    end: date
    meeting: date

    @classmethod
    def before(cls, meeting: date, previous: date | None = None) -> Period:
        start = previous + timedelta(days=1) if previous else _month_before(meeting)
        return cls(start, meeting - timedelta(days=1), meeting)

    def months(self) -> list[str]:
        found, day = [], self.start.replace(day=1)
        while day <= self.end:
            found.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
        return found


def _month_before(day: date) -> date:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class _Say:
    def __init__(self, content: Content, lang: str) -> None:
        self.content, self.lang = content, lang
        self.dates = Texts(content, lang)

    def __call__(self, key: str, **values: object) -> str:
        return self.content.text(
            self.lang, f"leaders.{key}", **{k: str(v) for k, v in values.items()}
        )

    def day(self, day: date, today: date) -> str:
        return self.dates.long_date(day, today)


async def build_digest(
    store: Store,
    content: Content,
    lang: str,
    view: TenantView,
    period: Period,
    now: datetime,
) -> Message:
    say = _Say(content, lang)
    today = now.astimezone(view.zone).date()
    parts = [
        say("heading", date=say.day(period.meeting, today)),
        say(
            "intro", start=say.dates.short_date(period.start), end=say.dates.short_date(period.end)
        ),
        _arshjul(say, await unit_status(store, view, period.start, period.end, today, lang)),
        await _surveys(store, say, view, period, today),
    ]
    network = await _network(store, say, view, period, today)
    if network:
        parts.append(network)
    parts.append(await _use(store, say, view.tenant_id, period))
    milestones = await _milestones(store, say, view.tenant_id, today)
    if milestones:
        parts.append(milestones)
    return Message(
        text="\n\n".join(p for p in parts if p),
        buttons=(acute_button(content, lang),),
        topic=TOPIC_ID,
    )


def _arshjul(say: _Say, by_unit: Mapping[str | None, UnitStatus]) -> str:
    lines = [say("arshjul.heading")]
    if not by_unit:
        lines.append(say("arshjul.none"))
    for unit in sorted(by_unit, key=lambda u: (u is not None, u or "")):
        counts = by_unit[unit]
        lines.append(
            say.dates(
                "digest.unit_line",
                unit=say.dates.unit_name(unit),
                done=counts.done,
                open=counts.open,
                late=counts.late,
            )
        )
        late = sorted(counts.late_items)[:5]
        if late:
            items = ", ".join(f"{title} ({say.dates.short_date(day)})" for day, title in late)
            lines.append("  " + say.dates("digest.late_line", items=items))
    return "\n".join(lines)


async def _run_lines(store: Store, say: _Say, run: Run, today: date, zone: ZoneInfo) -> list[str]:
    template = SurveyTemplate.model_validate(run.template)
    title = template.title.get(say.lang)
    closes = run.closes_at.astimezone(zone).date()
    if run.is_open:
        answered = await surveys.answer_count(store, run.id)
        return [
            say("surveys.open", title=title, date=say.day(closes, today), answered=answered,
                recipients=run.recipients)
        ]  # fmt: skip
    summary = await summarise_run(store, run, template)
    percent = round(100 * summary.rate) if summary.recipients else 0
    lines = [
        say("surveys.closed", title=title, date=say.day(closes, today), answered=summary.answered,
            recipients=summary.recipients, percent=percent)
    ]  # fmt: skip
    if summary.hidden:
        return [*lines, say("surveys.hidden", min=summary.min_group)]
    lines += _question_lines(say, template, summary.questions)
    return lines


def _question_lines(
    say: _Say, template: SurveyTemplate, results: Sequence[QuestionResult]
) -> list[str]:
    lines: list[str] = []
    for question, result in zip(template.questions, results, strict=True):
        if not question.compare or len(lines) >= QUESTIONS_SHOWN:
            continue
        sc = say.content
        if result.total is not None:
            value = sc.text(say.lang, "surveys.summary.total", total=str(result.total))
        elif result.mean is not None:
            value = sc.text(say.lang, "surveys.summary.mean", mean=number_text(result.mean))
        else:
            continue
        if result.trend is not None and result.previous is not None:
            before = number_text(result.previous)
            value += ", " + sc.text(
                say.lang, f"surveys.summary.trend.{result.trend}", previous=before
            )
        lines.append(say("surveys.question", question=question.text.get(say.lang), value=value))
    return lines


async def _surveys(store: Store, say: _Say, view: TenantView, period: Period, today: date) -> str:
    lines = [say("surveys.heading")]
    shown = 0
    report_seen = False
    runs = await surveys.runs(store, view.tenant_id)
    for run in runs:
        closes = run.closes_at.astimezone(view.zone).date()
        opened = run.opens_at.astimezone(view.zone).date()
        in_period = (
            period.start <= closes <= period.end if not run.is_open else opened <= period.end
        )
        if not in_period:
            continue
        lines += await _run_lines(store, say, run, today, view.zone)
        shown += 1
        report_seen |= run.template_key == HALF_YEAR_REPORT and not run.is_open
    if not report_seen:
        latest = next(
            (r for r in runs if r.template_key == HALF_YEAR_REPORT and not r.is_open), None
        )
        if latest is not None:
            template = SurveyTemplate.model_validate(latest.template)
            summary = await summarise_run(store, latest, template)
            closes = latest.closes_at.astimezone(view.zone).date()
            lines.append(
                say("surveys.latest_report", title=template.title.get(say.lang),
                    date=say.day(closes, today))
            )  # fmt: skip
            if summary.hidden:
                lines.append(say("surveys.hidden", min=summary.min_group))
            else:
                lines += _question_lines(say, template, summary.questions)
            shown += 1
    if not shown:
        lines.append(say("surveys.none"))
    return "\n".join(lines)


async def _network(store: Store, say: _Say, view: TenantView, period: Period, today: date) -> str:
    network = await net.get_network(store, view.tenant_id, net.DEFAULT_KEY)
    if network is None:
        return ""
    lines = [say("network.heading")]
    for round_ in await net.rounds(store, view.tenant_id, network.key, since=period.start):
        if round_.meeting > period.end:
            continue
        checkins = await net.checkins(store, round_.id)
        lines.append(
            say("network.meeting", date=say.day(round_.meeting, today), n=len(checkins),
                topics=sum(1 for c in checkins if c.topic))
        )  # fmt: skip
        if round_.summary:
            lines.append(say("network.points", points="; ".join(round_.summary)))
    if network.pairing_weeks:
        since = datetime.combine(period.start, datetime.min.time(), view.zone)
        pairs, met = await net.pairing_stats(store, view.tenant_id, network.key, since)
        if pairs:
            lines.append(say("network.pairs", pairs=pairs, met=met))
    return "\n".join(lines) if len(lines) > 1 else ""


async def _use(store: Store, say: _Say, tenant_id: str, period: Period) -> str:
    months = period.months()
    lines = [say("use.heading")]
    names = say.content.get(say.lang, "leaders.use.level_names") or {}

    def items(counts: Mapping[str, int], name: object) -> str:
        top = list(counts.items())[:TOP]
        return ", ".join(say("use.item", name=name(k), n=n) for k, n in top)  # type: ignore[operator]

    def topic_name(key: str) -> str:
        found = say.content.get(say.lang, f"faq.unsure.labels.{key}")
        return str(found) if found else key

    levels = await usage.use_counts(store, tenant_id, months, LEVEL)
    topics = await usage.use_counts(store, tenant_id, months, TOPIC)
    unknown = await usage.use_counts(store, tenant_id, months, UNKNOWN_NEAR)
    if levels:
        lines.append(say("use.levels", items=items(levels, lambda k: names.get(k, k))))
    if topics:
        lines.append(say("use.topics", items=items(topics, topic_name)))
    if unknown:
        lines.append(say("use.unknown", items=items(unknown, topic_name)))
    totals = await feedback.list_totals(store, tenant_id)
    up, down = sum(t.up for t in totals), sum(t.down for t in totals)
    if up or down:
        lines.append(say("use.votes", up=up, down=down))
    if len(lines) == 1:
        lines.append(say("use.none"))
    return "\n".join(lines)


async def _milestones(store: Store, say: _Say, tenant_id: str, today: date) -> str:
    due = await overdue_and_due(store, tenant_id, today, MILESTONES_WITHIN_DAYS)
    if not due:
        return ""
    lines = [say("milestones.heading")]
    for item in due[:8]:
        m = item.milestone
        title = m.title_nn if say.lang == "nn" else m.title_nb
        key = "milestones.overdue" if item.overdue else "milestones.due"
        lines.append(say(key, title=title, date=say.day(m.due, today)))
    return "\n".join(lines)
