"""The messages of the survey rows in the outbox: an invitation with "Svar nå", a nudge, and the
summary of a closed run for its channel (response rate, each question's distribution, mean or
total and trend, per unit, comments), all under the minimum group size rules of ``results``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from dialogs.arshjul.notices import Texts
from dialogs.content import Content
from dialogs.messages import Button, Image, Message, Reply
from dialogs.surveys.chart import ChartLinks, chart_alt, number_text, option_label, render_chart
from dialogs.surveys.dialog import A_OPEN, TOPIC, acute_button, tenant_zone
from dialogs.surveys.model import SurveyTemplate
from dialogs.surveys.results import NO_UNIT, QuestionResult, Summary, summarise
from storage import surveys
from storage.outbox import Notice
from storage.outbox_models import OutboxKind
from storage.repositories import Store
from storage.surveys import Run

#: Comments shown in the chat summary; the export has them all.
MAX_COMMENTS = 20


class GoneRun(LookupError):
    """The row names a run that is not (or no longer) there."""


async def render_survey_notice(
    store: Store,
    content: Content,
    notice: Notice,
    now: datetime,
    charts: ChartLinks | None = None,
) -> Reply:
    """The message for one survey row of the outbox (a summary with its chart)."""
    lang = notice.lang if notice.lang in content.by_lang else "nb"
    run = await surveys.get_run(store, notice.tenant_id, str(notice.payload.get("run", "")))
    if run is None:
        raise GoneRun("survey run not found")
    template = SurveyTemplate.model_validate(run.template)
    if notice.kind is OutboxKind.SURVEY_SUMMARY:
        message = await summary_message(store, content, lang, run, template, charts)
    else:
        message = await _invitation(store, content, lang, run, template, notice.kind, now)
    return Reply(messages=(message,), lang=lang, topic=TOPIC)


async def _invitation(
    store: Store,
    content: Content,
    lang: str,
    run: Run,
    template: SurveyTemplate,
    kind: OutboxKind,
    now: datetime,
) -> Message:
    texts = Texts(content, lang)
    local = run.closes_at.astimezone(await tenant_zone(store, run.tenant_id))
    when = {
        "date": texts.long_date(local.date(), now.astimezone(local.tzinfo).date()),
        "time": texts.clock_time(local),
    }
    closes = content.text(lang, "surveys.form.closes", **when)
    key = "surveys.nudge.text" if kind is OutboxKind.SURVEY_NUDGE else "surveys.invite.text"
    text = content.get(lang, key)
    body = text["text"] if isinstance(text, dict) else str(text)
    filled = body.format(
        title=template.title.get(lang), intro=template.intro.get(lang), closes=closes
    )
    return Message(
        text=filled.strip(),
        buttons=(
            acute_button(content, lang),
            Button(content.text(lang, "surveys.labels.answer"), A_OPEN, run.id, style="primary"),
        ),
        topic=TOPIC,
    )


async def summarise_run(store: Store, run: Run, template: SurveyTemplate) -> Summary:
    """The results of ``run`` with the trend against the previous closed round. The counting
    runs in a worker thread: 100,000 answers take seconds, and the event loop answers Slack."""
    previous: Summary | None = None
    before = await surveys.previous_run(store, run)
    if before is not None:
        old = SurveyTemplate.model_validate(before.template)
        earlier = await surveys.answers(store, run.tenant_id, before.id)
        previous = await asyncio.to_thread(
            summarise,
            old,
            [(a.unit, a.values) for a in earlier],
            anonymity=before.anonymity,
            recipients=before.recipients,
            min_group=before.min_group,
            comments=False,
        )
    answers = await surveys.answers(store, run.tenant_id, run.id)
    return await asyncio.to_thread(
        summarise,
        template,
        [(a.unit, a.values) for a in answers],
        anonymity=run.anonymity,
        recipients=run.recipients,
        min_group=run.min_group,
        previous=previous,
    )


def _label(content: Content, lang: str, template: SurveyTemplate, qkey: str, value: str) -> str:
    question = template.question(qkey)
    return value if question is None else option_label(content, lang, question, value)


def _question_text(template: SurveyTemplate, key: str, lang: str) -> str:
    question = template.question(key)
    return question.text.get(lang) if question is not None else key


def _question_line(
    content: Content, lang: str, template: SurveyTemplate, result: QuestionResult
) -> str:
    say = content.text
    parts = []
    if result.counts and result.kind != "number":
        parts.append(
            " · ".join(
                f"{_label(content, lang, template, result.key, k)}: {n}"
                for k, n in result.counts.items()
            )
        )
    if result.total is not None:
        parts.append(say(lang, "surveys.summary.total", total=str(result.total)))
    elif result.mean is not None:
        parts.append(say(lang, "surveys.summary.mean", mean=number_text(result.mean)))
    if result.trend is not None and result.previous is not None:
        parts.append(
            say(
                lang, f"surveys.summary.trend.{result.trend}", previous=number_text(result.previous)
            )
        )
    parts.append(say(lang, "surveys.summary.answered", n=str(result.answered)))
    return " – ".join(parts)


async def summary_message(
    store: Store,
    content: Content,
    lang: str,
    run: Run,
    template: SurveyTemplate,
    charts: ChartLinks | None = None,
) -> Message:
    """The results as one chat message (the same rules as exports and the CLI), with the chart
    as its picture when there is anything to draw; ``charts`` gives the picture its address."""
    summary = await summarise_run(store, run, template)
    say = content.text
    answered = summary.answered
    percent = round(100 * summary.rate) if summary.recipients else 0
    lines = [
        say(lang, "surveys.summary.heading", title=template.title.get(lang)),
        say(
            lang,
            "surveys.summary.rate",
            answered=str(answered),
            recipients=str(summary.recipients),
            percent=str(percent),
        ),
    ]
    missing = await surveys.units_not_reported(store, run)
    if missing:
        # A unit's report names who has not sent it (the units were told it shows who reported).
        lines.append(say(lang, "surveys.summary.not_reported", units=", ".join(missing)))
    elif run.units:
        lines.append(say(lang, "surveys.summary.all_reported"))
    if summary.hidden:
        lines.append(say(lang, "surveys.summary.hidden", min=str(summary.min_group)))
        return Message(text="\n\n".join(lines), topic=TOPIC)
    if not answered:
        lines.append(say(lang, "surveys.summary.none"))
        return Message(text="\n\n".join(lines), topic=TOPIC)
    comments: list[str] = []
    for question, result in zip(template.questions, summary.questions, strict=True):
        if question.kind == "text":
            comments += [f"- {c}" for c in result.comments]
            continue
        lines.append(
            f"**{question.text.get(lang)}**\n{_question_line(content, lang, template, result)}"
        )
    units = [u for u in summary.units if u.unit != NO_UNIT or u.hidden or u.questions]
    if len(units) > 1 or (units and units[0].unit != NO_UNIT):
        unit_lines = [say(lang, "surveys.summary.units")]
        for unit in units:
            name = unit.unit or say(lang, "surveys.summary.no_unit")
            if unit.hidden:
                unit_lines.append(say(lang, "surveys.summary.unit_hidden", unit=name))
                continue
            numbers = [
                f"{_question_text(template, k, lang)}: {_question_line(content, lang, template, r)}"
                for k, r in unit.questions.items()
                if r.answered
            ]
            unit_lines.append(f"- **{name}**: " + "; ".join(numbers))
        lines.append("\n".join(unit_lines))
    if comments:
        # A chat message holds a sample (they come in random order); every comment that may be
        # shown is in the CSV/XLSX export. 100,000 answers would otherwise be a 2-MB message.
        shown = comments[:MAX_COMMENTS]
        if len(comments) > MAX_COMMENTS:
            shown.append(
                say(lang, "surveys.summary.more_comments", n=str(len(comments) - MAX_COMMENTS))
            )
        lines.append("\n".join([say(lang, "surveys.summary.comments"), *shown]))
    # The chart only once the run is closed: a picture fetched again and again while answers
    # arrive would show what each new answer changed (its address can be opened repeatedly).
    png = None
    if not run.is_open:
        png = await asyncio.to_thread(render_chart, content, lang, template, summary)
    image = None
    if png is not None:
        url = charts.url(run.id, lang) if charts is not None else ""
        image = Image(alt=chart_alt(content, lang, template), png=png, url=url)
    return Message(text="\n\n".join(lines), topic=TOPIC, image=image)
