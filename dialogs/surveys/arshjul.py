"""An årshjul task that carries a survey: its first reminder of an occurrence launches the survey
(once: the launch key is the task and the due date), open until the due date, to the template's
roles (or everyone known, when the template names none); every reminder of that occurrence then
carries "Svar nå" for those who were asked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping

from dialogs.arshjul.model import Task
from dialogs.arshjul.notices import TenantView
from dialogs.content import Content
from dialogs.messages import Button, Reply
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.dialog import A_OPEN
from dialogs.surveys.launch import Audience, AudienceError
from dialogs.surveys.model import SurveyTemplate
from storage import outbox, surveys
from storage.outbox import Notice
from storage.outbox_models import REMINDER_KINDS
from storage.repositories import Store
from storage.surveys import LaunchRefused, Run

log = logging.getLogger(__name__)

#: A survey launched from the årshjul closes at this local time on the due date.
CLOSE_TIME = dt.time(16, 0)
#: …or, when the due date's close is (nearly) past, this long after the reminder.
LAST_CHANCE = dt.timedelta(days=1)


def launch_key(task: Task, occurrence: dt.date) -> str:
    return f"arshjul:{task.key}:{occurrence.isoformat()}"


async def survey_for_reminder(
    store: Store,
    templates: Mapping[str, SurveyTemplate],
    *,
    tenant_id: str,
    task: Task,
    occurrence: dt.date,
    zone: dt.tzinfo,
    now: dt.datetime,
    min_group: int,
) -> Run | None:
    """The run of this task occurrence, launched now if it was not; None when the task has no
    survey or it cannot be launched (logged: too few recipients, no such template or role)."""
    if task.survey is None:
        return None
    template = templates.get(task.survey)
    if template is None:
        log.warning("årshjul task names an unknown survey", extra={"task": task.key})
        return None
    audience = (
        Audience("role", ",".join(template.audience)) if template.audience else Audience("all")
    )
    closes = dt.datetime.combine(occurrence, CLOSE_TIME, tzinfo=zone)
    if closes <= now + dt.timedelta(hours=1):
        closes = now + LAST_CHANCE
    try:
        run, new = await survey_launch.launch(
            store,
            tenant_id=tenant_id,
            template=template,
            audience=audience,
            closes_at=closes,
            now=now,
            min_group=min_group,
            launch_key=launch_key(task, occurrence),
            launched_by=f"arshjul:{task.key}",
        )
    except (LaunchRefused, AudienceError) as exc:
        log.warning(
            "årshjul survey not launched",
            extra={"task": task.key, "tenant": tenant_id, "reason": type(exc).__name__},
        )
        return None
    if new:
        log.info("årshjul survey launched", extra={"task": task.key, "run": run.id})
    return run


async def with_survey_button(
    store: Store,
    content: Content,
    reply: Reply,
    notice: Notice,
    view: TenantView,
    templates: Mapping[str, SurveyTemplate],
    *,
    now: dt.datetime,
    min_group: int,
) -> Reply:
    """``reply`` (a rendered reminder) with "Svar nå" when its task carries a survey and the
    person it goes to was asked; launching the survey first if this is the first reminder."""
    if notice.kind not in REMINDER_KINDS:
        return reply
    task = view.find_task(str(notice.payload.get("task", "")))
    try:
        occurrence = dt.date.fromisoformat(str(notice.payload.get("occurrence", "")))
    except ValueError:
        return reply
    if task is None or task.survey is None:
        return reply
    run = await survey_for_reminder(
        store, templates, tenant_id=notice.tenant_id, task=task, occurrence=occurrence,
        zone=view.zone, now=now, min_group=min_group,
    )  # fmt: skip
    row = await outbox.get_item(store, notice.item_id)
    if run is None or row is None or await surveys.recipient(store, run.id, row.target_id) is None:
        return reply
    label = content.text(reply.lang, "surveys.labels.answer")
    button = Button(label, A_OPEN, run.id, style="primary")
    first, *rest = reply.messages
    return dataclasses.replace(
        reply, messages=(dataclasses.replace(first, buttons=(*first.buttons, button)), *rest)
    )
