"""Survey runs, recipients, answers and the answered record (tables in ``survey_models``).

The anonymity of an anonymous run rests on two keyed hashes of (run, person) with different
purposes: ``answer_key`` names the person's answer row while the run is open (so a second submit
replaces the first), ``answered_digest`` marks that they answered (so nudges skip them). The key
comes from the caller (a secret setting, never the database), so a dump of every table cannot
recompute either. ``close`` counts the answers, deletes the answered record and the recipient list,
and gives every answer a random key, written anew in random order: after close not even the key's
holder can join an answer to a person.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from storage import outbox
from storage.contacts_models import UserUnit
from storage.models import User
from storage.outbox import NewItem
from storage.repositories import Store, aware, rowcount
from storage.survey_models import (
    ANONYMOUS,
    BY_UNIT,
    CLOSED,
    OPEN,
    SurveyAnswer,
    SurveyAnswered,
    SurveyRecipient,
    SurveyRun,
)

#: What an answer is, read as plain rows (a big run has 100,000; ORM objects cost seconds).
_ANSWER_FIELDS = (SurveyAnswer.unit, SurveyAnswer.respondent, SurveyAnswer.day, SurveyAnswer.values)
#: Answers written back per statement when a run is closed (in random order).
CLOSE_CHUNK = 1000


def _keyed(key: bytes, purpose: str, run_id: str, person: str) -> str:
    message = f"{purpose}\0{run_id}\0{person}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def answer_key(key: bytes, run_id: str, person: str) -> str:
    """The key of ``person``'s answer row in an open anonymous run."""
    return _keyed(key, "answer", run_id, person)


def answered_digest(key: bytes, run_id: str, person: str) -> str:
    """What the answered record holds for ``person``: shares nothing with ``answer_key``."""
    return _keyed(key, "answered", run_id, person)


@dataclass(frozen=True)
class Recipient:
    platform: str
    platform_user_id: str
    unit: str = ""


@dataclass(frozen=True)
class Run:
    """A survey run as the dialogs see it."""

    id: str
    tenant_id: str
    template_key: str
    template: dict[str, Any]
    anonymity: str
    audience: dict[str, Any]
    opens_at: datetime
    closes_at: datetime
    status: str
    post_to: str
    min_group: int
    recipients: int
    answered: int
    launched_by: str
    closed_at: datetime | None
    #: A unit's report: the units it was sent to.
    units: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


@dataclass(frozen=True)
class Answer:
    """One answer set as results read it (no key: it names nothing)."""

    unit: str
    respondent: str
    day: date
    values: dict[str, Any]


def _run(row: SurveyRun) -> Run:
    return Run(
        id=row.id,
        tenant_id=row.tenant_id,
        template_key=row.template_key,
        template=dict(row.template),
        anonymity=row.anonymity,
        audience=dict(row.audience),
        opens_at=aware(row.opens_at),
        closes_at=aware(row.closes_at),
        status=row.status,
        post_to=row.post_to,
        min_group=row.min_group,
        recipients=row.recipients,
        answered=row.answered,
        launched_by=row.launched_by,
        closed_at=aware(row.closed_at) if row.closed_at else None,
        units=tuple(row.units or ()),
    )


class LaunchRefused(ValueError):
    """A run that may not start; ``reason`` is ``too_few`` (an anonymous run below the minimum
    group size) or ``no_recipients``."""

    def __init__(self, reason: str, recipients: int, minimum: int) -> None:
        super().__init__(f"{reason}: {recipients} recipients, minimum {minimum}")
        self.reason = reason
        self.recipients = recipients
        self.minimum = minimum


async def launch(
    store: Store,
    *,
    tenant_id: str,
    template_key: str,
    template: dict[str, Any],
    anonymity: str,
    audience: dict[str, Any],
    recipients: Sequence[Recipient],
    opens_at: datetime,
    closes_at: datetime,
    min_group: int,
    post_to: str = "",
    launch_key: str | None = None,
    launched_by: str = "",
    plan: Callable[[Run, Sequence[Recipient]], Sequence[NewItem]] | None = None,
) -> tuple[Run, bool]:
    """Store a new run with its recipients and the outbox rows ``plan`` makes for it, in one
    transaction (a crash cannot leave a run whose invitations were never planned); ``(run,
    False)`` when ``launch_key`` was launched before (nothing changes). LaunchRefused when an
    anonymous run has fewer recipients than ``min_group``, or any run has none."""
    unique = {r.platform_user_id: r for r in recipients}
    if not unique:
        raise LaunchRefused("no_recipients", 0, min_group)
    if anonymity == ANONYMOUS and len(unique) < min_group:
        raise LaunchRefused("too_few", len(unique), min_group)
    if closes_at <= opens_at:
        raise ValueError("a survey closes after it opens")
    async with store.sessions.begin() as session:
        if launch_key is not None:
            existing = await session.scalar(
                select(SurveyRun).where(
                    SurveyRun.tenant_id == tenant_id, SurveyRun.launch_key == launch_key
                )
            )
            if existing is not None:
                return _run(existing), False
        row = SurveyRun(
            id=secrets.token_hex(16),
            tenant_id=tenant_id,
            template_key=template_key,
            template=template,
            anonymity=anonymity,
            audience=audience,
            opens_at=opens_at,
            closes_at=closes_at,
            status=OPEN,
            post_to=post_to,
            min_group=min_group,
            recipients=len(unique),
            answered=0,
            launch_key=launch_key,
            launched_by=launched_by,
            units=sorted({r.unit for r in unique.values() if r.unit})
            if anonymity == BY_UNIT
            else [],
        )
        session.add(row)
        await session.flush()
        session.add_all(
            SurveyRecipient(
                run_id=row.id,
                platform_user_id=r.platform_user_id,
                platform=r.platform,
                unit=r.unit,
            )
            for r in unique.values()
        )
        if plan is not None:
            await outbox.enqueue_in(store, session, plan(_run(row), list(unique.values())))
    return _run(row), True


async def get_run(store: Store, tenant_id: str, run_id: str) -> Run | None:
    """The run, only within its own tenant."""
    async with store.sessions() as session:
        row = await session.get(SurveyRun, run_id)
    return _run(row) if row is not None and row.tenant_id == tenant_id else None


async def run_by_id(store: Store, run_id: str) -> Run | None:
    """The run whatever its tenant: only for an address that was signed for this very run (the
    chart link of ``dialogs.surveys.chart``)."""
    async with store.sessions() as session:
        row = await session.get(SurveyRun, run_id)
    return _run(row) if row is not None else None


async def runs(store: Store, tenant_id: str, status: str | None = None) -> list[Run]:
    """A tenant's runs, newest first."""
    query = select(SurveyRun).where(SurveyRun.tenant_id == tenant_id)
    if status is not None:
        query = query.where(SurveyRun.status == status)
    async with store.sessions() as session:
        rows = (await session.scalars(query.order_by(SurveyRun.created_at.desc()))).all()
    return [_run(r) for r in rows]


async def due_to_close(store: Store, now: datetime) -> list[Run]:
    """Open runs (every tenant) whose close time has come."""
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(SurveyRun).where(SurveyRun.status == OPEN, SurveyRun.closes_at <= now)
            )
        ).all()
    return [_run(r) for r in rows]


async def recipient(store: Store, run_id: str, platform_user_id: str) -> Recipient | None:
    """The person as a recipient of the run, or None when they were not asked."""
    async with store.sessions() as session:
        row = await session.get(SurveyRecipient, (run_id, platform_user_id))
    return Recipient(row.platform, row.platform_user_id, row.unit) if row is not None else None


async def recipients(store: Store, run_id: str) -> list[Recipient]:
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(SurveyRecipient)
                .where(SurveyRecipient.run_id == run_id)
                .order_by(SurveyRecipient.platform_user_id)
            )
        ).all()
    return [Recipient(r.platform, r.platform_user_id, r.unit) for r in rows]


class AnswerRefused(ValueError):
    """``closed`` (after close), ``not_recipient`` (outside the audience) or ``no_unit`` (a unit
    report from someone without a unit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _unit_sizes(session: Any, run_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(SurveyRecipient.unit, func.count())
        .where(SurveyRecipient.run_id == run_id)
        .group_by(SurveyRecipient.unit)
    )
    return {unit: int(n) for unit, n in rows}


async def submit(
    store: Store,
    *,
    key: bytes,
    tenant_id: str,
    run_id: str,
    platform_user_id: str,
    values: dict[str, Any],
    day: date,
    now: datetime,
) -> bool:
    """Store one person's answers (already checked against the template); True when it replaced
    an earlier answer of theirs. AnswerRefused when the run is closed or they were not asked.

    Anonymous: the row's key is ``answer_key`` and it holds no person; its unit only when that unit
    had at least the minimum group size of recipients. Unit: one row per unit (the latest report
    wins, with who sent it). Named: one row per person, with their id.
    """
    async with store.sessions.begin() as session:
        run = await session.get(SurveyRun, run_id, with_for_update=True)
        if run is None or run.tenant_id != tenant_id:
            raise AnswerRefused("not_recipient")
        if run.status != OPEN or aware(run.closes_at) <= now:
            raise AnswerRefused("closed")
        person = await session.get(SurveyRecipient, (run_id, platform_user_id))
        if person is None:
            raise AnswerRefused("not_recipient")
        if run.anonymity == ANONYMOUS:
            sizes = await _unit_sizes(session, run_id)
            unit = person.unit if person.unit and sizes.get(person.unit, 0) >= run.min_group else ""
            row_key, respondent = answer_key(key, run_id, platform_user_id), ""
        elif run.anonymity == BY_UNIT:
            if not person.unit:
                raise AnswerRefused("no_unit")
            unit, respondent = person.unit, platform_user_id
            row_key = _unit_key(person.unit)
        else:
            unit, respondent = person.unit, platform_user_id
            row_key = hashlib.sha256(f"person\0{platform_user_id}".encode()).hexdigest()
        existing = await session.get(SurveyAnswer, (run_id, row_key))
        if existing is not None:
            existing.values = values
            existing.unit = unit
            existing.respondent = respondent
            replaced = True
        else:
            # The day it was first given: a change later says nothing finer either.
            session.add(
                SurveyAnswer(
                    run_id=run_id,
                    key=row_key,
                    unit=unit,
                    respondent=respondent,
                    day=day,
                    values=values,
                )
            )
            replaced = False
        digest = answered_digest(key, run_id, platform_user_id)
        if await session.get(SurveyAnswered, (run_id, digest)) is None:
            session.add(SurveyAnswered(run_id=run_id, digest=digest))
    return replaced


def _unit_key(unit: str) -> str:
    return hashlib.sha256(f"unit\0{unit}".encode()).hexdigest()


async def unit_reported(store: Store, run_id: str, unit: str) -> bool:
    """A unit's report: whether the unit has sent it (by anyone of it)."""
    async with store.sessions() as session:
        return await session.get(SurveyAnswer, (run_id, _unit_key(unit))) is not None


async def units_not_reported(store: Store, run: Run) -> list[str]:
    """A unit's report: the units it went to that have not sent it, in name order."""
    if run.anonymity != BY_UNIT:
        return []
    async with store.sessions() as session:
        reported = set(
            (
                await session.scalars(
                    select(SurveyAnswer.unit).where(SurveyAnswer.run_id == run.id)
                )
            ).all()
        )
    return [u for u in run.units if u not in reported]


async def has_answered(store: Store, key: bytes, run_id: str, platform_user_id: str) -> bool:
    digest = answered_digest(key, run_id, platform_user_id)
    async with store.sessions() as session:
        return await session.get(SurveyAnswered, (run_id, digest)) is not None


async def own_answer(
    store: Store, key: bytes, run: Run, platform_user_id: str
) -> dict[str, Any] | None:
    """What this person answered (to fill the form again while the run is open), or None."""
    if run.anonymity == ANONYMOUS:
        row_key = answer_key(key, run.id, platform_user_id)
    elif run.anonymity == BY_UNIT:
        person = await recipient(store, run.id, platform_user_id)
        if person is None or not person.unit:
            return None
        row_key = _unit_key(person.unit)
    else:
        row_key = hashlib.sha256(f"person\0{platform_user_id}".encode()).hexdigest()
    async with store.sessions() as session:
        row = await session.get(SurveyAnswer, (run.id, row_key))
    return dict(row.values) if row is not None else None


async def not_answered(
    store: Store, key: bytes, run_id: str, nudged_before: datetime | None = None
) -> list[Recipient]:
    """Recipients who have not answered (and, with ``nudged_before``, were not nudged since)."""
    async with store.sessions() as session:
        done = set(
            (
                await session.scalars(
                    select(SurveyAnswered.digest).where(SurveyAnswered.run_id == run_id)
                )
            ).all()
        )
        query = select(SurveyRecipient).where(SurveyRecipient.run_id == run_id)
        if nudged_before is not None:
            query = query.where(
                (SurveyRecipient.last_nudged_at.is_(None))
                | (SurveyRecipient.last_nudged_at < nudged_before)
            )
        rows = (await session.scalars(query.order_by(SurveyRecipient.platform_user_id))).all()
    return [
        Recipient(r.platform, r.platform_user_id, r.unit)
        for r in rows
        if answered_digest(key, run_id, r.platform_user_id) not in done
    ]


async def nudge_due(store: Store, run_id: str, platform_user_id: str, before: datetime) -> bool:
    """The person is a recipient of the run and was not nudged at or after ``before``."""
    async with store.sessions() as session:
        row = await session.get(SurveyRecipient, (run_id, platform_user_id))
    if row is None:
        return False
    return row.last_nudged_at is None or aware(row.last_nudged_at) < before


async def mark_nudged(store: Store, run_id: str, user_ids: Iterable[str], at: datetime) -> int:
    ids = list(user_ids)
    if not ids:
        return 0
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(SurveyRecipient)
            .where(SurveyRecipient.run_id == run_id, SurveyRecipient.platform_user_id.in_(ids))
            .values(last_nudged_at=at)
        )
    return rowcount(result)


async def answer_count(store: Store, run_id: str) -> int:
    async with store.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.run_id == run_id)
            )
            or 0
        )


async def answers(store: Store, tenant_id: str, run_id: str) -> list[Answer]:
    """Every answer of the run, in an order that says nothing (by key: a hash or random). Read
    as plain rows, not ORM objects: a big run has 100,000 of them."""
    async with store.sessions() as session:
        run = await session.get(SurveyRun, run_id)
        if run is None or run.tenant_id != tenant_id:
            return []
        rows = (
            await session.execute(
                select(*_ANSWER_FIELDS)
                .where(SurveyAnswer.run_id == run_id)
                .order_by(SurveyAnswer.key)
            )
        ).all()
    return [Answer(unit, respondent, day, dict(values)) for unit, respondent, day, values in rows]


async def close(store: Store, tenant_id: str, run_id: str, now: datetime) -> Run | None:
    """Close the run (idempotent): count its answers, delete the answered record and the
    recipients, and re-key its answers at random, written anew in random order. None when the
    run is not the tenant's."""
    async with store.sessions.begin() as session:
        run = await session.get(SurveyRun, run_id, with_for_update=True)
        if run is None or run.tenant_id != tenant_id:
            return None
        if run.status == CLOSED:
            return _run(run)
        # Plain rows and bulk inserts, not ORM objects: a big run has 100,000 answers.
        kept = [
            {"unit": unit, "respondent": respondent, "day": day, "values": values}
            for unit, respondent, day, values in (
                await session.execute(select(*_ANSWER_FIELDS).where(SurveyAnswer.run_id == run_id))
            ).all()
        ]
        random.SystemRandom().shuffle(kept)
        await session.execute(delete(SurveyAnswer).where(SurveyAnswer.run_id == run_id))
        await session.execute(delete(SurveyAnswered).where(SurveyAnswered.run_id == run_id))
        await session.execute(delete(SurveyRecipient).where(SurveyRecipient.run_id == run_id))
        for start in range(0, len(kept), CLOSE_CHUNK):
            chunk = kept[start : start + CLOSE_CHUNK]
            for row in chunk:
                row.update(run_id=run_id, key=secrets.token_hex(32))
            await session.execute(insert(SurveyAnswer), chunk)
        run.status = CLOSED
        run.answered = len(kept)
        run.closed_at = now
        await session.flush()
        return _run(run)


async def previous_run(store: Store, run: Run) -> Run | None:
    """The last closed run of the same template in the tenant before this one (for trends)."""
    async with store.sessions() as session:
        row = await session.scalar(
            select(SurveyRun)
            .where(
                SurveyRun.tenant_id == run.tenant_id,
                SurveyRun.template_key == run.template_key,
                SurveyRun.status == CLOSED,
                SurveyRun.id != run.id,
                SurveyRun.opens_at < run.opens_at,
            )
            .order_by(SurveyRun.opens_at.desc())
            .limit(1)
        )
    return _run(row) if row is not None else None


async def known_people(store: Store, tenant_id: str) -> list[Recipient]:
    """Everyone the bot knows in the tenant (they have written to it), with the unit they asked it
    to remember, if any: the audience "all"."""
    async with store.sessions() as session:
        rows = await session.execute(
            select(User.platform, User.platform_user_id, UserUnit.unit)
            .outerjoin(
                UserUnit,
                (UserUnit.tenant_id == User.tenant_id)
                & (UserUnit.platform_user_id == User.platform_user_id),
            )
            .where(User.tenant_id == tenant_id)
            .order_by(User.platform_user_id)
        )
        return [Recipient(p, u, unit or "") for p, u, unit in rows]


async def open_runs_for(store: Store, tenant_id: str, platform_user_id: str) -> list[Run]:
    """The open runs this person was asked to answer, soonest close first."""
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(SurveyRun)
                .join(SurveyRecipient, SurveyRecipient.run_id == SurveyRun.id)
                .where(
                    SurveyRun.tenant_id == tenant_id,
                    SurveyRun.status == OPEN,
                    SurveyRecipient.platform_user_id == platform_user_id,
                )
                .order_by(SurveyRun.closes_at)
            )
        ).all()
    return [_run(r) for r in rows]
