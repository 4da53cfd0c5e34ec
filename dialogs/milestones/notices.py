"""Renders milestone reminders (outbox rows of kind ``milestone``), and the text helpers the plan
screens share with them.

``render_milestone_notice`` is what the dispatcher calls for such a row: it reads the milestone at
send time, so the message says what the plan says when it goes out. Every sentence comes from
``content/<lang>/milestones.yaml`` (dates and "om 14 dager" from ``arshjul.yaml``). A row whose
milestone is gone raises ``UnknownNotice`` (the dispatcher skips it). No platform imports, nothing
stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from dialogs.arshjul.notices import Texts, UnknownNotice
from dialogs.content import Content
from dialogs.messages import Button, Message, Reply
from dialogs.milestones.planner import OVERDUE
from dialogs.milestones.plans import tenant_today
from dialogs.surveys.dialog import acute_button
from storage import directory
from storage.milestones import MilestoneRecord, get_milestone
from storage.models import utcnow
from storage.outbox import Notice, get_item
from storage.records import BUILTIN_ROLES
from storage.repositories import Store

# Action ids of the milestone buttons (handled in dialogs.milestones.chat).
A_DONE = "milestone:done"
A_REOPEN = "milestone:reopen"
A_PLAN = "milestone:plan"
TOPIC = "milestones"
LABEL_MAX = 40  # a "Fullført: <title>" button stays readable (Slack cuts at 75)


@dataclass(frozen=True)
class PlanTexts:
    """The ``milestones.*`` texts of one language, with the tenant's role names."""

    content: Content
    lang: str
    roles: Mapping[str, tuple[str, str]]

    def __call__(self, key: str, **values: object) -> str:
        return self.content.text(
            self.lang, f"milestones.{key}", **{k: str(v) for k, v in values.items()}
        )

    @property
    def dates(self) -> Texts:
        """The årshjul's date words ("fredag 15. desember", "om 14 dager")."""
        return Texts(self.content, self.lang)

    def date(self, day: date) -> str:
        """ "28. februar 2022": plans span years, so the year is always there."""
        month = self.dates.words("months")[day.month - 1]
        return self("date", day=day.day, month=month, year=day.year)

    def title(self, milestone: MilestoneRecord) -> str:
        return milestone.title_nn if self.lang == "nn" else milestone.title_nb

    def role(self, key: str) -> str:
        nb, nn = self.roles.get(key) or BUILTIN_ROLES.get(key) or (key, key)
        return nn if self.lang == "nn" else nb

    def unit(self, unit: str | None) -> str:
        return self.dates.unit(unit)

    def acute(self) -> Button:
        return acute_button(self.content, self.lang)

    def mark_button(self, milestone: MilestoneRecord) -> Button:
        title = self.title(milestone)
        if len(title) > LABEL_MAX:
            title = title[: LABEL_MAX - 1].rstrip() + "…"
        return Button(self("labels.mark", title=title), A_DONE, milestone.key)

    def plan_button(self) -> Button:
        return Button(self("labels.plan"), A_PLAN)


async def plan_texts(store: Store, content: Content, lang: str, tenant_id: str) -> PlanTexts:
    lang = lang if lang in content.by_lang else "nb"
    roles = {r.key: (r.name_nb, r.name_nn) for r in await directory.list_roles(store, tenant_id)}
    return PlanTexts(content, lang, roles)


async def render_milestone_notice(
    store: Store, content: Content, notice: Notice, now: datetime | None = None
) -> Reply:
    """The reminder of one outbox row: 14 days ahead, on the due date, or one week overdue."""
    payload = notice.payload
    milestone = await get_milestone(store, notice.tenant_id, str(payload.get("milestone")))
    if milestone is None:
        raise UnknownNotice(f"milestone {payload.get('milestone')!r} is not in the plan")
    texts = await plan_texts(store, content, notice.lang, notice.tenant_id)
    today = await tenant_today(store, notice.tenant_id, now or utcnow())
    title, due = texts.title(milestone), milestone.due
    if payload.get("stage") == OVERDUE:
        parts = [
            texts("notice.overdue_heading", title=title),
            texts(
                "notice.overdue", date=texts.dates.long_date(due, today), days=(today - due).days
            ),
        ]
    else:
        left = texts.dates.days_left(due, today)
        parts = [
            texts("notice.heading", title=title),
            texts("notice.due", date=texts.dates.long_date(due, today), left=left),
        ]
    parts.append(await _why_you(store, texts, notice, milestone))
    parts.append(texts("notice.how"))
    if notice.late:
        parts.append(texts("notice.late_note"))
    buttons = (
        texts.acute(),
        Button(texts("labels.done"), A_DONE, milestone.key, "primary"),
        texts.plan_button(),
    )
    message = Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:reminder")
    return Reply(messages=(message,), lang=texts.lang, topic=message.topic)


async def _why_you(
    store: Store, texts: PlanTexts, notice: Notice, milestone: MilestoneRecord
) -> str:
    """Why this person gets the reminder: their role, as a deputy, or as coordinator."""
    role, unit = texts.role(milestone.role), texts.unit(milestone.unit)
    if notice.payload.get("fallback"):
        return texts("notice.fallback", role=role, unit=unit)
    if not notice.payload.get("deputy"):
        return texts("notice.role", role=role, unit=unit)
    row = await get_item(store, notice.item_id)
    if row is not None:
        for h in await directory.list_holders(store, notice.tenant_id):
            if (
                h.absent
                and h.role == milestone.role
                and milestone.unit in (None, h.unit)
                and (h.platform, h.deputy_user_id) == (row.platform, row.target_id)
            ):
                name = h.display_name or h.user_id
                return texts("notice.deputy", name=name, role=role, unit=texts.unit(h.unit))
    return texts("notice.deputy_unknown", role=role, unit=unit)
