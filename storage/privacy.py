"""The GDPR duties on one person: what we hold about them (``export_person``), erasing it
(``erase_person``), and the retention purge of old bookkeeping (``purge_old``).

A person is a platform and a platform user id within one tenant. ``PERSON_COLUMNS`` names, for
every table, each column that can hold a person's id or name and what export and erasure do with
it; ``NO_PERSON`` names the tables that hold none, and why. A test checks both against the
metadata, so a new table or column with a user id cannot be forgotten here.

Erasure deletes what is only about the person and blanks their id where a row is the kommune's
record of something else (a task marked done, a step of another's onboarding, a unit's report):
counts and anonymous data stay. Anonymous survey answers are neither exported nor erased: they
cannot be tied to anyone without the survey secret, which is not in the database.
This module must not import ``dialogs`` or ``bot``; it returns plain dicts for any caller.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.contacts_models import ContactDetails, UserUnit
from storage.directory_models import RoleHolder, TenantAdmin
from storage.followup_models import PersonalFollowup
from storage.inbox_models import CLAIMED, SENDING, InboxItem
from storage.inbox_models import DONE as INBOX_DONE
from storage.inbox_models import FAILED as INBOX_FAILED
from storage.models import ConversationRef, ConversationState, ProcessedEvent, User, utcnow
from storage.network_models import (
    NetworkCheckin,
    NetworkPair,
    NetworkPairing,
    NetworkRound,
    NetworkVote,
)
from storage.onboarding_models import Onboarding, OnboardingStep
from storage.outbox_models import FINAL_STATUSES, OutboxItem, OutboxKind, TaskProgress
from storage.repositories import Store, rowcount
from storage.survey_models import (
    ANONYMOUS,
    OPEN,
    SurveyAnswer,
    SurveyAnswered,
    SurveyRecipient,
    SurveyRun,
)
from storage.surveys import answered_digest

# What export and erasure do with a column that can hold a person.
DELETE = "exported; the row is deleted"
BLANK = "exported; blanked (the row is the kommune's record of something else)"
SCRUBBED = "exported; the person is taken out of the list"
TRANSIENT = "exported while unhandled; erased by the inbox within minutes, purged by retention"
NOT_EXPORTED = "a keyed hash: cannot be tied to the person without the survey secret; stays"

#: table -> {column: what happens}: every column that can hold a person's id or name.
PERSON_COLUMNS: dict[str, dict[str, str]] = {
    "users": {"platform_user_id": DELETE},
    "conversation_state": {"platform_user_id": DELETE},
    "conversation_refs": {
        "key": DELETE + " (a user's own address)",
        "reference": SCRUBBED + " (who wrote last in a channel; a personal chat is deleted)",
    },
    "contact_details": {"platform_user_id": DELETE},
    "user_units": {"platform_user_id": DELETE},
    "role_holders": {
        "platform_user_id": DELETE,
        "display_name": DELETE,
        "deputy_user_id": BLANK,
    },
    "tenant_admins": {"platform_user_id": DELETE},
    "personal_followups": {"platform_user_id": DELETE},
    "outbox": {
        "target_id": DELETE + " (sends to the person, or a group DM with them)",
        "dedupe_key": DELETE + " (the key of a send to the person)",
        "payload": DELETE + " (an escalation or report to someone else that names the person)",
    },
    "task_progress": {"updated_by": BLANK},
    "survey_runs": {"launched_by": BLANK},
    "survey_recipients": {"platform_user_id": DELETE},
    "survey_answered": {"digest": DELETE + " (recomputed for the person's open runs)"},
    "survey_answers": {
        "respondent": BLANK + " (a unit's report or a named survey; anonymous rows have none)",
        "key": NOT_EXPORTED + " (named runs: re-keyed at random on erasure)",
    },
    "network_checkins": {"user_id": DELETE, "display_name": DELETE},
    "network_votes": {"user_id": DELETE},
    "network_pairs": {"members": SCRUBBED, "met": SCRUBBED},
    "onboardings": {
        "user_id": DELETE,
        "display_name": DELETE,
        "open_key": DELETE,
        "registered_by": BLANK,
    },
    "onboarding_steps": {"done_by": BLANK},
    "inbox": {"order_key": TRANSIENT, "body": TRANSIENT},
}

#: Tables without any column that holds a person, and why.
NO_PERSON: dict[str, str] = {
    "tenants": "a workspace or Teams tenant",
    "processed_events": "event keys of a conversation and activity id, no user id; purged",
    "tenant_settings": "time zone, template, closed days",
    "roles": "the tenant's role names",
    "units": "the tenant's unit names",
    "arshjul_tasks": "the kommune's own task texts",
    "feedback_counts": "counters only",
    "signing_keys": "server secrets",
    "feedback_reports": "free text without any user id (personal data is refused before storing)",
    "digest_targets": "a channel id",
    "calendar_feeds": "a secret token",
    "milestones": "the kommune's plan (role keys, dates)",
    "networks": "a channel id and role keys",
    "network_rounds": "meetings, the host's key points (no user id)",
    "network_pairings": "pairing rounds (weeks)",
    "usage_counts": "counts per month",
    "leader_digests": "a channel id and task keys",
    "slack_installations": "a workspace's bot (its own user id) and encrypted bot tokens",
    "slack_oauth_states": "one-time install states",
    "rate_buckets": "send-rate slots per tenant and API method",
    "alembic_version": "the schema revision",
}

#: Outbox kinds whose payload may name a person other than the recipient.
NAMING_KINDS = (OutboxKind.ESCALATION, OutboxKind.REPORT)

SECTIONS = (
    "user",
    "conversation",
    "addresses",
    "contact_details",
    "remembered_unit",
    "roles",
    "admin",
    "followups",
    "outbox",
    "surveys",
    "survey_answers",
    "network_checkins",
    "network_votes",
    "network_pairs",
    "onboardings",
    "recorded_by",
    "inbox",
)


@dataclass(frozen=True)
class Person:
    """One person: platform and platform user id within a tenant."""

    tenant_id: str
    platform: str
    user_id: str

    @property
    def who(self) -> str:
        """How ``updated_by``, ``registered_by``, ``done_by`` and ``launched_by`` name them."""
        return f"{self.platform}:{self.user_id}"


@dataclass
class PersonalData:
    """Everything held about one person, by section (see ``SECTIONS``); empty sections are []."""

    person: Person
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.sections.items() if rows}

    @property
    def empty(self) -> bool:
        return not any(self.sections.values())

    def to_dict(self) -> dict[str, Any]:
        p = self.person
        return {
            "tenant": p.tenant_id,
            "platform": p.platform,
            "user_id": p.user_id,
            "exported_at": utcnow().isoformat(),
            **{name: self.sections.get(name, []) for name in SECTIONS},
        }


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(**values: Any) -> dict[str, Any]:
    return {k: _iso(v) for k, v in values.items()}


def _in_group(target_id: str, user_id: str) -> bool:
    return user_id in target_id.split(",")


def _channel_ref_names(reference: dict[str, Any], user_id: str) -> bool:
    """A channel's stored address names who wrote last (Teams: by channel id and Entra id)."""
    user = reference.get("user")
    return isinstance(user, dict) and user_id in (user.get("id"), user.get("aadObjectId"))


def _personal_chat(reference: dict[str, Any]) -> bool:
    """A Teams 1:1 chat with the person: the whole address is theirs."""
    conversation = reference.get("conversation")
    return isinstance(conversation, dict) and conversation.get("conversationType") == "personal"


def _pair_member(member: Sequence[str], person: Person) -> bool:
    return len(member) >= 2 and member[0] == person.platform and member[1] == person.user_id


async def _outbox_rows(session: AsyncSession, p: Person) -> list[OutboxItem]:
    rows = await session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.tenant_id == p.tenant_id,
            OutboxItem.platform == p.platform,
            or_(
                (OutboxItem.target_kind == "user") & (OutboxItem.target_id == p.user_id),
                (OutboxItem.target_kind == "group") & OutboxItem.target_id.contains(p.user_id),
            ),
        )
        .order_by(OutboxItem.send_at)
    )
    return [r for r in rows if r.target_kind == "user" or _in_group(r.target_id, p.user_id)]


def _mentions(value: Any, needles: set[str]) -> bool:
    """Whether a payload holds one of ``needles`` as a whole string (an id or a name)."""
    if isinstance(value, str):
        return value in needles
    if isinstance(value, dict):
        return any(_mentions(v, needles) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needles) for v in value)
    return False


async def _names(session: AsyncSession, p: Person) -> set[str]:
    """The names the person is stored under (role holdings, onboarding, network check-ins)."""
    names: set[str] = set()
    for model, user_column in (
        (RoleHolder, RoleHolder.platform_user_id),
        (Onboarding, Onboarding.user_id),
    ):
        names.update(
            (
                await session.scalars(
                    select(model.display_name).where(
                        model.tenant_id == p.tenant_id,
                        model.platform == p.platform,
                        user_column == p.user_id,
                    )
                )
            ).all()
        )
    names.update(
        (
            await session.scalars(
                select(NetworkCheckin.display_name)
                .join(NetworkRound, NetworkRound.id == NetworkCheckin.round_id)
                .where(
                    NetworkRound.tenant_id == p.tenant_id,
                    NetworkCheckin.platform == p.platform,
                    NetworkCheckin.user_id == p.user_id,
                )
            )
        ).all()
    )
    return {n for n in names if len(n.strip()) >= 3}


async def _outbox_about(session: AsyncSession, p: Person) -> list[OutboxItem]:
    """Sends to others that name the person: escalations list the holders of a task, reports
    the person a send could not reach."""
    needles = {p.user_id, p.who} | await _names(session, p)
    rows = await session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.tenant_id == p.tenant_id,
            OutboxItem.platform == p.platform,
            OutboxItem.kind.in_(NAMING_KINDS),
            ~((OutboxItem.target_kind == "user") & (OutboxItem.target_id == p.user_id)),
        )
        .order_by(OutboxItem.send_at)
    )
    return [r for r in rows if _mentions(r.payload, needles)]


async def _survey_marks(
    session: AsyncSession, p: Person, survey_key: bytes | None
) -> list[tuple[SurveyRun, bool, SurveyRecipient | None]]:
    """(run, answered, recipient row) of every run the person is linked to."""
    runs = (
        await session.scalars(
            select(SurveyRun).where(SurveyRun.tenant_id == p.tenant_id).order_by(SurveyRun.opens_at)
        )
    ).all()
    found: list[tuple[SurveyRun, bool, SurveyRecipient | None]] = []
    for run in runs:
        recipient = await session.get(SurveyRecipient, (run.id, p.user_id))
        if recipient is not None and recipient.platform != p.platform:
            recipient = None
        answered = False
        if run.status == OPEN and survey_key is not None:
            digest = answered_digest(survey_key, run.id, p.user_id)
            answered = await session.get(SurveyAnswered, (run.id, digest)) is not None
        if recipient is not None or answered or run.launched_by == p.who:
            found.append((run, answered, recipient))
    return found


async def export_person(
    store: Store, person: Person, survey_key: bytes | None = None
) -> PersonalData:
    """Everything the database holds about ``person`` (``survey_key``: to find their answered
    markers of open surveys; never their anonymous answers)."""
    p = person
    data = PersonalData(p, {name: [] for name in SECTIONS})
    s = data.sections
    async with store.sessions() as session:
        user = await session.scalar(
            select(User).where(User.tenant_id == p.tenant_id, User.platform_user_id == p.user_id)
        )
        if user is not None and user.platform == p.platform:
            s["user"].append(
                _row(
                    language=user.language, first_seen=user.created_at, last_seen=user.last_seen_at
                )
            )
        state = await session.get(ConversationState, (p.tenant_id, p.user_id))
        if state is not None:
            s["conversation"].append(
                _row(
                    dialog=state.dialog, step=state.step, data=state.data, updated=state.updated_at
                )
            )
        for ref in await session.scalars(
            select(ConversationRef)
            .where(ConversationRef.tenant_id == p.tenant_id, ConversationRef.platform == p.platform)
            .order_by(ConversationRef.id)
        ):
            if ref.kind == "user" and ref.key == p.user_id:
                s["addresses"].append(_row(kind="direct message", updated=ref.updated_at))
            elif ref.kind == "channel" and _channel_ref_names(ref.reference or {}, p.user_id):
                kind = "personal chat" if _personal_chat(ref.reference) else "last writer"
                s["addresses"].append(_row(kind=kind, channel=ref.key, updated=ref.updated_at))
        details = await session.get(ContactDetails, (p.tenant_id, p.platform, p.user_id))
        if details is not None:
            s["contact_details"].append(
                _row(phone=details.phone, email=details.email, updated=details.updated_at)
            )
        unit = await session.get(UserUnit, (p.tenant_id, p.user_id))
        if unit is not None:
            s["remembered_unit"].append(_row(unit=unit.unit, updated=unit.updated_at))
        for holder in await session.scalars(
            select(RoleHolder)
            .where(
                RoleHolder.tenant_id == p.tenant_id,
                RoleHolder.platform == p.platform,
                or_(
                    RoleHolder.platform_user_id == p.user_id, RoleHolder.deputy_user_id == p.user_id
                ),
            )
            .order_by(RoleHolder.role_key, RoleHolder.unit)
        ):
            s["roles"].append(
                _row(
                    role=holder.role_key,
                    unit=holder.unit,
                    holds_as="holder" if holder.platform_user_id == p.user_id else "deputy",
                    display_name=holder.display_name
                    if holder.platform_user_id == p.user_id
                    else "",
                    absent=holder.absent if holder.platform_user_id == p.user_id else False,
                )
            )
        admin = await session.get(TenantAdmin, (p.tenant_id, p.platform, p.user_id))
        if admin is not None:
            s["admin"].append(_row(added=admin.added_at))
        for f in await session.scalars(
            select(PersonalFollowup)
            .where(
                PersonalFollowup.tenant_id == p.tenant_id,
                PersonalFollowup.platform == p.platform,
                PersonalFollowup.platform_user_id == p.user_id,
            )
            .order_by(PersonalFollowup.due_at)
        ):
            s["followups"].append(_row(label=f.label, due=f.due_at, status=f.status))
        for o in await _outbox_rows(session, p):
            s["outbox"].append(
                _row(
                    kind=o.kind,
                    to="group" if o.target_kind == "group" else "you",
                    send_at=o.send_at,
                    status=o.status,
                    sent_at=o.sent_at,
                )
            )
        for o in await _outbox_about(session, p):
            s["outbox"].append(
                _row(kind=o.kind, to="someone else, about you", send_at=o.send_at,
                     status=o.status, sent_at=o.sent_at)
            )  # fmt: skip
        for run, answered, recipient in await _survey_marks(session, p, survey_key):
            s["surveys"].append(
                _row(
                    run=run.id,
                    survey=run.template_key,
                    status=run.status,
                    asked=recipient is not None,
                    unit=recipient.unit if recipient is not None else "",
                    answered=answered,
                    launched_by_you=run.launched_by == p.who,
                )
            )
        for answer, template_key, anonymity in await session.execute(
            select(SurveyAnswer, SurveyRun.template_key, SurveyRun.anonymity)
            .join(SurveyRun, SurveyRun.id == SurveyAnswer.run_id)
            .where(
                SurveyRun.tenant_id == p.tenant_id,
                SurveyRun.anonymity != ANONYMOUS,
                SurveyAnswer.respondent == p.user_id,
            )
        ):
            s["survey_answers"].append(
                _row(
                    run=answer.run_id,
                    survey=template_key,
                    kind=anonymity,
                    unit=answer.unit,
                    day=answer.day,
                    values=answer.values,
                )
            )
        rounds = NetworkRound
        for checkin, meeting in await session.execute(
            select(NetworkCheckin, rounds.meeting)
            .join(rounds, rounds.id == NetworkCheckin.round_id)
            .where(
                rounds.tenant_id == p.tenant_id,
                NetworkCheckin.platform == p.platform,
                NetworkCheckin.user_id == p.user_id,
            )
            .order_by(rounds.meeting)
        ):
            s["network_checkins"].append(
                _row(
                    meeting=meeting,
                    name=checkin.display_name,
                    unit=checkin.unit,
                    done=checkin.done,
                    smart=checkin.smart,
                    learned=checkin.learned,
                    topic=checkin.topic,
                )
            )
        for meeting, topic in await session.execute(
            select(rounds.meeting, NetworkCheckin.topic)
            .select_from(NetworkVote)
            .join(rounds, rounds.id == NetworkVote.round_id)
            .join(NetworkCheckin, NetworkCheckin.id == NetworkVote.checkin_id)
            .where(
                rounds.tenant_id == p.tenant_id,
                NetworkVote.platform == p.platform,
                NetworkVote.user_id == p.user_id,
            )
            .order_by(rounds.meeting)
        ):
            s["network_votes"].append(_row(meeting=meeting, topic=topic))
        for pair, label in await _pairs(session, p):
            others = [m[2] or m[1] for m in pair.members if not _pair_member(m, p)]
            s["network_pairs"].append({"week": label, "with": others, "met": pair.met.get(p.who)})
        for ob in await session.scalars(
            select(Onboarding)
            .where(
                Onboarding.tenant_id == p.tenant_id,
                Onboarding.platform == p.platform,
                Onboarding.user_id == p.user_id,
            )
            .order_by(Onboarding.registered_at)
        ):
            steps = await session.scalars(
                select(OnboardingStep)
                .where(OnboardingStep.onboarding_id == ob.id)
                .order_by(OnboardingStep.position)
            )
            s["onboardings"].append(
                _row(
                    id=ob.id,
                    name=ob.display_name,
                    unit=ob.unit,
                    registered=ob.registered_at,
                    completed=ob.completed_at,
                    cancelled=ob.cancelled_at,
                    steps=[_row(step=st.key, due=st.due, done=st.done_at) for st in steps],
                )
            )
        s["recorded_by"].extend(await _recorded_by(session, p))
        for status, received in await session.execute(
            select(InboxItem.status, InboxItem.received_at).where(
                InboxItem.tenant_id == p.tenant_id, InboxItem.order_key == _order_key(p)
            )
        ):
            s["inbox"].append(_row(status=status, received=received))
    return data


def _order_key(p: Person) -> str:
    """The inbox's per-user order key (``bot.platforms.slack.intake``)."""
    team = p.tenant_id.partition(":")[2]
    return f"{p.platform}:{team}:{p.user_id}"[:200]


async def _pairs(session: AsyncSession, p: Person) -> list[tuple[NetworkPair, str]]:
    rows = await session.execute(
        select(NetworkPair, NetworkPairing.label)
        .join(NetworkPairing, NetworkPairing.id == NetworkPair.pairing_id)
        .where(NetworkPairing.tenant_id == p.tenant_id)
        .order_by(NetworkPairing.label)
    )
    return [
        (pair, label) for pair, label in rows if any(_pair_member(m, p) for m in pair.members or [])
    ]


async def _recorded_by(session: AsyncSession, p: Person) -> list[dict[str, Any]]:
    """Things the person did that the kommune keeps a record of (their id is blanked on erasure)."""
    out: list[dict[str, Any]] = []
    for task, occurrence, unit, status in await session.execute(
        select(
            TaskProgress.task_key, TaskProgress.occurrence, TaskProgress.unit, TaskProgress.status
        ).where(TaskProgress.tenant_id == p.tenant_id, TaskProgress.updated_by == p.who)
    ):
        out.append(
            _row(what="arshjul task", task=task, occurrence=occurrence, unit=unit, status=status)
        )
    for ob_id, unit in await session.execute(
        select(Onboarding.id, Onboarding.unit).where(
            Onboarding.tenant_id == p.tenant_id, Onboarding.registered_by == p.who
        )
    ):
        out.append(_row(what="registered an onboarding", onboarding=ob_id, unit=unit))
    for ob_id, key, done in await session.execute(
        select(OnboardingStep.onboarding_id, OnboardingStep.key, OnboardingStep.done_at)
        .join(Onboarding, Onboarding.id == OnboardingStep.onboarding_id)
        .where(Onboarding.tenant_id == p.tenant_id, OnboardingStep.done_by == p.who)
    ):
        out.append(_row(what="onboarding step done", onboarding=ob_id, step=key, done=done))
    return out


async def erase_person(
    store: Store, person: Person, survey_key: bytes | None = None
) -> dict[str, int]:
    """Erase what ``export_person`` shows, in one transaction; the count per section."""
    p = person
    counts: dict[str, int] = {}

    def add(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    async with store.sessions.begin() as session:

        async def gone(name: str, statement: Any) -> None:
            add(name, rowcount(await session.execute(statement)))

        # Before the holdings go: the names they give are how escalations mention the person.
        sends = await _outbox_rows(session, p) + await _outbox_about(session, p)
        await gone(
            "user",
            delete(User).where(
                User.tenant_id == p.tenant_id,
                User.platform == p.platform,
                User.platform_user_id == p.user_id,
            ),
        )
        await gone(
            "conversation",
            delete(ConversationState).where(
                ConversationState.tenant_id == p.tenant_id,
                ConversationState.platform_user_id == p.user_id,
            ),
        )
        for ref in await session.scalars(
            select(ConversationRef).where(
                ConversationRef.tenant_id == p.tenant_id, ConversationRef.platform == p.platform
            )
        ):
            if ref.kind == "user" and ref.key == p.user_id:
                await session.delete(ref)
                add("addresses", 1)
            elif ref.kind == "channel" and _channel_ref_names(ref.reference or {}, p.user_id):
                if _personal_chat(ref.reference):
                    await session.delete(ref)
                else:  # a channel's address still reaches the channel without who wrote last
                    ref.reference = {k: v for k, v in ref.reference.items() if k != "user"}
                add("addresses", 1)
        details = (ContactDetails.tenant_id == p.tenant_id, ContactDetails.platform == p.platform)
        await gone(
            "contact_details",
            delete(ContactDetails).where(*details, ContactDetails.platform_user_id == p.user_id),
        )
        await gone(
            "remembered_unit",
            delete(UserUnit).where(
                UserUnit.tenant_id == p.tenant_id, UserUnit.platform_user_id == p.user_id
            ),
        )
        holders = (RoleHolder.tenant_id == p.tenant_id, RoleHolder.platform == p.platform)
        await gone(
            "roles", delete(RoleHolder).where(*holders, RoleHolder.platform_user_id == p.user_id)
        )
        await gone(
            "roles",
            update(RoleHolder)
            .where(*holders, RoleHolder.deputy_user_id == p.user_id)
            .values(deputy_user_id=None),
        )
        await gone(
            "admin",
            delete(TenantAdmin).where(
                TenantAdmin.tenant_id == p.tenant_id,
                TenantAdmin.platform == p.platform,
                TenantAdmin.platform_user_id == p.user_id,
            ),
        )
        await gone(
            "followups",
            delete(PersonalFollowup).where(
                PersonalFollowup.tenant_id == p.tenant_id,
                PersonalFollowup.platform == p.platform,
                PersonalFollowup.platform_user_id == p.user_id,
            ),
        )
        for row in sends:
            await session.delete(row)
            add("outbox", 1)
        for run, answered, recipient in await _survey_marks(session, p, survey_key):
            if recipient is not None:
                await session.delete(recipient)
            if answered and survey_key is not None:
                digest = answered_digest(survey_key, run.id, p.user_id)
                await session.execute(
                    delete(SurveyAnswered).where(
                        SurveyAnswered.run_id == run.id, SurveyAnswered.digest == digest
                    )
                )
            if run.launched_by == p.who:
                run.launched_by = ""
            add("surveys", 1)
        for answer in await session.scalars(
            select(SurveyAnswer)
            .join(SurveyRun, SurveyRun.id == SurveyAnswer.run_id)
            .where(
                SurveyRun.tenant_id == p.tenant_id,
                SurveyRun.anonymity != ANONYMOUS,
                SurveyAnswer.respondent == p.user_id,
            )
        ):
            # The unit's report stays the unit's; a named answer's key was a hash of the user id.
            answer.respondent = ""
            if answer.key == hashlib.sha256(f"person\0{p.user_id}".encode()).hexdigest():
                answer.key = secrets.token_hex(32)
            add("survey_answers", 1)
        round_ids = select(NetworkRound.id).where(NetworkRound.tenant_id == p.tenant_id)
        await gone(
            "network_votes",
            delete(NetworkVote).where(
                NetworkVote.round_id.in_(round_ids),
                NetworkVote.platform == p.platform,
                NetworkVote.user_id == p.user_id,
            ),
        )
        await gone(
            "network_checkins",
            delete(NetworkCheckin).where(
                NetworkCheckin.round_id.in_(round_ids),
                NetworkCheckin.platform == p.platform,
                NetworkCheckin.user_id == p.user_id,
            ),
        )
        for pair, _label in await _pairs(session, p):
            pair.members = [m for m in pair.members if not _pair_member(m, p)]
            pair.met = {k: v for k, v in (pair.met or {}).items() if k != p.who}
            add("network_pairs", 1)
        await gone(
            "onboardings",
            delete(Onboarding).where(
                Onboarding.tenant_id == p.tenant_id,
                Onboarding.platform == p.platform,
                Onboarding.user_id == p.user_id,
            ),
        )
        recorded = 0
        recorded += rowcount(
            await session.execute(
                update(TaskProgress)
                .where(TaskProgress.tenant_id == p.tenant_id, TaskProgress.updated_by == p.who)
                .values(updated_by="")
            )
        )
        recorded += rowcount(
            await session.execute(
                update(Onboarding)
                .where(Onboarding.tenant_id == p.tenant_id, Onboarding.registered_by == p.who)
                .values(registered_by="")
            )
        )
        ours = select(Onboarding.id).where(Onboarding.tenant_id == p.tenant_id)
        recorded += rowcount(
            await session.execute(
                update(OnboardingStep)
                .where(OnboardingStep.onboarding_id.in_(ours), OnboardingStep.done_by == p.who)
                .values(done_by="")
            )
        )
        add("recorded_by", recorded)
        # Unhandled events wait in the inbox for seconds; one being handled now (this very
        # request, when asked in chat) is left to the worker, which erases its body itself.
        await gone(
            "inbox",
            delete(InboxItem).where(
                InboxItem.tenant_id == p.tenant_id,
                InboxItem.order_key == _order_key(p),
                InboxItem.status.not_in((CLAIMED, SENDING)),
            ),
        )
    return counts


# retention -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """How long bookkeeping is kept (days); see ``bot.config`` for the settings and defaults."""

    events_days: int = 30
    outbox_days: int = 90
    conversation_days: int = 90
    users_days: int = 730


async def purge_old(
    store: Store, retention: Retention, now: datetime | None = None
) -> dict[str, int]:
    """Delete processed event ids, finished inbox rows, finished outbox rows, dialog positions and
    people not seen for longer than ``retention`` says; the count per kind."""
    now = now or utcnow()
    events_before = now - timedelta(days=retention.events_days)
    async with store.sessions.begin() as session:
        events = rowcount(
            await session.execute(
                delete(ProcessedEvent).where(
                    or_(ProcessedEvent.expires_at < now, ProcessedEvent.received_at < events_before)
                )
            )
        )
        inbox = rowcount(
            await session.execute(
                delete(InboxItem).where(
                    InboxItem.status.in_((INBOX_DONE, INBOX_FAILED)),
                    or_(InboxItem.expires_at < now, InboxItem.received_at < events_before),
                )
            )
        )
        outbox_before = now - timedelta(days=retention.outbox_days)
        # A final row older than the window: the planner never plans that far back, so its
        # dedupe key is not needed to keep it from being sent twice.
        outbox = rowcount(
            await session.execute(
                delete(OutboxItem).where(
                    OutboxItem.status.in_(FINAL_STATUSES),
                    OutboxItem.send_at < outbox_before,
                    or_(OutboxItem.sent_at.is_(None), OutboxItem.sent_at < outbox_before),
                )
            )
        )
        conversations = rowcount(
            await session.execute(
                delete(ConversationState).where(
                    ConversationState.updated_at < now - timedelta(days=retention.conversation_days)
                )
            )
        )
        users = rowcount(
            await session.execute(
                delete(User).where(User.last_seen_at < now - timedelta(days=retention.users_days))
            )
        )
    return {
        "processed_events": events,
        "inbox": inbox,
        "outbox": outbox,
        "conversation_state": conversations,
        "users": users,
    }
