"""Renders the onboarding messages: the steps with their status (shared by the chat screens) and the
outbox rows of kinds ``onboarding`` (welcome, notice to the BTS-kontakt, step reminders) and
``onboarding-done`` (the completion).

A row is rendered from the onboarding as it is at send time. Every sentence comes from
``content/<lang>/onboarding.yaml`` (dates and "om 3 dager" from ``arshjul.yaml``); the steps' titles
and texts from the steps file (``dialogs.onboarding.model.steps_for``), their links from the tenant's
kommune file (``handlingsveileder_url``, ``opplaeringsfilm_url``). Every message starts with the
acute exit and has at most six buttons. A row whose onboarding is gone raises ``UnknownNotice``
(the dispatcher skips it). No platform imports, nothing stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogs.arshjul.notices import Texts, UnknownNotice
from dialogs.content import Content
from dialogs.guide.kommune import DEFAULT_KOMMUNE_DIR, KommuneRegistry
from dialogs.messages import Button, Message, Reply
from dialogs.onboarding.flow import tenant_zone
from dialogs.onboarding.model import LINKS, Steps, steps_for
from dialogs.onboarding.planner import AGAIN, NEW, WELCOME, onboarding_id
from dialogs.surveys.dialog import acute_button
from storage.models import utcnow
from storage.onboarding import OnboardingRecord, StepRecord, get_onboarding, person_key
from storage.onboarding_models import CONTACT, EMPLOYEE
from storage.outbox import Notice
from storage.outbox_models import OutboxKind
from storage.repositories import Store

# Action ids of the onboarding buttons and forms (handled in dialogs.onboarding.chat).
A_DONE = "onboarding:done"
A_UNDO = "onboarding:undo"
A_SHOW = "onboarding:show"
A_FORM = "onboarding:form"
A_SAVE = "onboarding:save"
A_SELF = "onboarding:self"
A_SELF_SAVE = "onboarding:self_save"
TOPIC = "onboarding"
#: "Ferdig: …" buttons on one screen: with the acute exit and one more, Teams' six.
MARK_BUTTONS = 4
LABEL_MAX = 40  # a "Ferdig: <title>" button stays readable (Slack cuts at 75)
DONE = "done"
OPEN = "open"
LATE = "late"

_registries: dict[Path, KommuneRegistry] = {}


def _kommune_links(kommune_dir: Path | None, tenant_id: str) -> dict[str, str]:
    folder = kommune_dir or DEFAULT_KOMMUNE_DIR
    registry = _registries.setdefault(folder, KommuneRegistry(folder))
    config = registry.get(tenant_id)
    return {
        "handlingsveileder": config.handlingsveileder_url,
        "opplaeringsfilm": config.opplaeringsfilm_url,
    }


@dataclass(frozen=True)
class OnbTexts:
    """The ``onboarding.*`` texts of one language, with the steps file and the kommune's links."""

    content: Content
    lang: str
    steps: Steps
    links: Mapping[str, str]

    def __call__(self, key: str, **values: object) -> str:
        return self.content.text(
            self.lang, f"onboarding.{key}", **{k: str(v) for k, v in values.items()}
        )

    @property
    def dates(self) -> Texts:
        """The årshjul's date words ("fredag 15. desember", "om 3 dager")."""
        return Texts(self.content, self.lang)

    def date(self, day: date, today: date) -> str:
        return self.dates.long_date(day, today)

    def name(self, record: OnboardingRecord) -> str:
        return record.display_name or self("someone", user=record.user_id)

    def title(self, key: str) -> str:
        step = self.steps.get(key)
        return step.title.get(self.lang) if step is not None else key

    def step_text(self, key: str) -> str:
        """What to do, with the kommune's link (or where to ask for it)."""
        step = self.steps.get(key)
        if step is None:
            return ""
        text = step.text.get(self.lang)
        if step.link in LINKS:
            url = self.links.get(step.link, "")
            extra = self(f"link.{step.link}", url=url) if url else self(f"no_link.{step.link}")
            text = f"{text} {extra}"
        return text

    def who(self, owner: str) -> str:
        return self(f"who.{owner}") if owner in (EMPLOYEE, CONTACT) else owner

    def acute(self) -> Button:
        return acute_button(self.content, self.lang)

    def mark_button(self, record: OnboardingRecord, step: StepRecord) -> Button:
        title = self.title(step.key)
        if len(title) > LABEL_MAX:
            title = title[: LABEL_MAX - 1].rstrip() + "…"
        return Button(self("labels.mark", title=title), A_DONE, f"{record.id}:{step.key}")

    def show_button(self, record: OnboardingRecord) -> Button:
        return Button(self("labels.show"), A_SHOW, str(record.id))


def onb_texts(content: Content, lang: str, tenant_id: str, kommune_dir: Path | None) -> OnbTexts:
    lang = lang if lang in content.by_lang else "nb"
    return OnbTexts(content, lang, steps_for(kommune_dir), _kommune_links(kommune_dir, tenant_id))


def state_of(step: StepRecord, today: date) -> str:
    """done | open | late, as of ``today`` (a step due today is still open)."""
    if step.done_at is not None:
        return DONE
    return LATE if step.due < today else OPEN


def step_lines(texts: OnbTexts, record: OnboardingRecord, zone: ZoneInfo, today: date) -> str:
    """Every step with who does it and its status; what to do under each open one."""
    lines: list[str] = []
    for number, step in enumerate(record.steps, start=1):
        state = state_of(step, today)
        day = step.done_at.astimezone(zone).date() if step.done_at is not None else step.due
        lines.append(
            texts(
                "step_line",
                number=number,
                title=texts.title(step.key),
                who=texts.who(step.owner),
                status=texts(f"status.{state}", date=texts.date(day, today)),
            )
        )
        if state != DONE and texts.step_text(step.key):
            lines.append(texts.step_text(step.key))
    return "\n".join(lines)


def steps_message(
    texts: OnbTexts,
    record: OnboardingRecord,
    zone: ZoneInfo,
    today: date,
    *,
    heading: str,
    intro: Sequence[str] = (),
    markable: Sequence[StepRecord] = (),
    extra: Sequence[Button] = (),
    topic: str = TOPIC,
) -> Message:
    """A screen with the onboarding's steps: the acute exit, "Ferdig" for at most
    ``MARK_BUTTONS`` of ``markable`` (the rest stay text), then ``extra``; six buttons at most."""
    done = sum(1 for s in record.steps if s.done_at is not None)
    parts = [heading, *intro, texts("progress", done=done, total=len(record.steps))]
    parts.append(step_lines(texts, record, zone, today))
    marks = [texts.mark_button(record, s) for s in markable if s.done_at is None][:MARK_BUTTONS]
    if record.completed_at is not None:
        parts.append(texts("completed", date=texts.date(_local(record.completed_at, zone), today)))
        marks = []
    elif record.cancelled_at is not None:
        parts.append(texts("cancelled", date=texts.date(_local(record.cancelled_at, zone), today)))
        marks = []
    elif marks:
        parts.append(texts("can_mark"))
    buttons = (texts.acute(), *marks, *extra)[:6]
    return Message(text="\n\n".join(p for p in parts if p), buttons=buttons, topic=topic)


def heading(texts: OnbTexts, record: OnboardingRecord, own: bool) -> str:
    if own:
        return texts("own_heading", unit=record.unit)
    return texts("heading", name=texts.name(record), unit=record.unit)


def _local(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def open_of(record: OnboardingRecord, owner: str) -> list[StepRecord]:
    """The open steps of one owner, in order."""
    return [s for s in record.open_steps if s.owner == owner]


# the outbox rows ---------------------------------------------------------------------------------


async def render_onboarding_notice(
    store: Store,
    content: Content,
    notice: Notice,
    kommune_dir: Path | None = None,
    now: datetime | None = None,
) -> Reply:
    """The message of one ``onboarding`` or ``onboarding-done`` row."""
    payload = notice.payload
    number = onboarding_id(payload.get("onboarding"))
    record = await get_onboarding(store, notice.tenant_id, number) if number is not None else None
    if record is None:
        raise UnknownNotice(f"onboarding {payload.get('onboarding')!r} does not exist")
    texts = onb_texts(content, notice.lang, notice.tenant_id, kommune_dir)
    zone, _closed = await tenant_zone(store, notice.tenant_id)
    today = (now or utcnow()).astimezone(zone).date()
    stage = payload.get("stage")
    if notice.kind is OutboxKind.ONBOARDING_DONE:
        message = done_message(texts, record, zone, today, payload)
    elif stage == WELCOME:
        message = steps_message(
            texts, record, zone, today,
            heading=texts("notice.welcome_heading", unit=record.unit),
            intro=[texts("notice.welcome")], markable=open_of(record, EMPLOYEE),
            extra=[texts.show_button(record)], topic=f"{TOPIC}:welcome",
        )  # fmt: skip
    elif stage == NEW:
        name = texts.name(record)
        message = steps_message(
            texts, record, zone, today,
            heading=texts("notice.new_heading", unit=record.unit, name=name),
            intro=[texts("notice.new", name=name), _why(texts, record, payload)],
            markable=open_of(record, CONTACT), extra=[texts.show_button(record)],
            topic=f"{TOPIC}:new",
        )  # fmt: skip
    else:
        message = step_message(texts, record, today, payload)
    if notice.late:
        text = f"{message.text}\n\n{texts('notice.late_note')}"
        message = Message(text=text, buttons=message.buttons, topic=message.topic)
    return Reply(messages=(message,), lang=texts.lang, topic=message.topic)


def _why(texts: OnbTexts, record: OnboardingRecord, payload: Mapping[str, object]) -> str:
    """Why a BTS-kontakt gets this: their role, as a deputy, or as coordinator."""
    if payload.get("fallback"):
        return texts("notice.fallback", unit=record.unit)
    if payload.get("deputy"):
        return texts("notice.deputy", unit=record.unit)
    return texts("notice.role", unit=record.unit)


def step_message(
    texts: OnbTexts, record: OnboardingRecord, today: date, payload: Mapping[str, object]
) -> Message:
    key = str(payload.get("step"))
    step = record.step(key)
    if step is None:
        raise UnknownNotice(f"onboarding {record.id} has no step {key!r}")
    number = record.steps.index(step) + 1
    if step.owner == EMPLOYEE:
        about = texts("notice.own", number=number, total=len(record.steps))
    else:
        about = texts("notice.for", name=texts.name(record), unit=record.unit)
    when = texts.date(step.due, today)
    if payload.get("stage") == AGAIN:
        deadline = texts("notice.again", date=when)
    else:
        deadline = texts("notice.due", date=when, left=texts.dates.days_left(step.due, today))
    parts = [texts("notice.step_heading", title=texts.title(key)), about, texts.step_text(key)]
    parts.append(deadline)
    if step.owner != EMPLOYEE:
        parts.append(_why(texts, record, payload))
    parts.append(texts("notice.how"))
    buttons = (
        texts.acute(),
        Button(texts("labels.done"), A_DONE, f"{record.id}:{key}", "primary"),
        texts.show_button(record),
    )
    topic = f"{TOPIC}:reminder"
    return Message(text="\n\n".join(p for p in parts if p), buttons=buttons, topic=topic)


def done_message(
    texts: OnbTexts,
    record: OnboardingRecord,
    zone: ZoneInfo,
    today: date,
    payload: Mapping[str, object],
) -> Message:
    buttons = (texts.acute(), texts.show_button(record))
    if payload.get("employee"):
        parts = [
            texts("notice.done_own_heading"),
            texts("notice.done_own", unit=record.unit),
        ]
        return Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:done-own")
    completed = record.completed_at or record.registered_at
    if payload.get("fallback"):
        why = texts("notice.done_fallback", unit=record.unit)
    elif payload.get("deputy"):
        why = texts("notice.done_deputy", unit=record.unit)
    else:
        why = texts("notice.done_role", unit=record.unit)
    parts = [
        texts("notice.done_heading", name=texts.name(record), unit=record.unit),
        texts(
            "notice.done",
            name=texts.name(record),
            registered=texts.date(_local(record.registered_at, zone), today),
            completed=texts.date(_local(completed, zone), today),
        ),
        why,
        step_lines(texts, record, zone, today),
    ]
    return Message(text="\n\n".join(parts), buttons=buttons, topic=f"{TOPIC}:done")


def is_employee(record: OnboardingRecord, platform: str, user_id: str) -> bool:
    return person_key(platform, user_id) == person_key(record.platform, record.user_id)
