"""Repository of the onboarding of new staff: start one (once per person while it is open), read
them, mark steps done or open again, complete and cancel.

Each function opens its own short transaction like the other repositories. ``start_onboarding`` is
idempotent: a person has at most one open onboarding per tenant (a unique index over ``open_key``),
so two registrations at once give one onboarding and the second caller gets the first one back.
``complete_onboarding`` records the completion once, and only when every step is done. Records come
back as plain data; which steps there are, their due dates and who is told what is decided in
``dialogs.onboarding``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.onboarding_models import Onboarding, OnboardingStep
from storage.repositories import Store, aware, rowcount


@dataclass(frozen=True)
class StepRecord:
    """One step as stored; ``done_at`` None while open."""

    key: str
    position: int
    owner: str
    due: date
    done_at: datetime | None = None
    done_by: str = ""


@dataclass(frozen=True)
class OnboardingRecord:
    """One onboarding with its steps in order."""

    id: int
    tenant_id: str
    platform: str
    user_id: str
    display_name: str
    unit: str
    registered_by: str
    registered_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    steps: tuple[StepRecord, ...]

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None

    @property
    def open_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.done_at is None]

    def step(self, key: str) -> StepRecord | None:
        return next((s for s in self.steps if s.key == key), None)


@dataclass(frozen=True)
class NewStep:
    """A step to add at registration: its key, owner and due date."""

    key: str
    owner: str
    due: date


def person_key(platform: str, user_id: str) -> str:
    """``slack:U123``: how a person is named in ``registered_by``, ``done_by`` and ``open_key``."""
    return f"{platform}:{user_id}"


def _step(row: OnboardingStep) -> StepRecord:
    return StepRecord(
        key=row.key,
        position=row.position,
        owner=row.owner,
        due=row.due,
        done_at=aware(row.done_at) if row.done_at else None,
        done_by=row.done_by,
    )


async def _records(session: AsyncSession, rows: Sequence[Onboarding]) -> list[OnboardingRecord]:
    ids = [r.id for r in rows]
    steps: dict[int, list[StepRecord]] = {i: [] for i in ids}
    if ids:
        found = await session.scalars(
            select(OnboardingStep)
            .where(OnboardingStep.onboarding_id.in_(ids))
            .order_by(OnboardingStep.onboarding_id, OnboardingStep.position, OnboardingStep.key)
        )
        for s in found.all():
            steps[s.onboarding_id].append(_step(s))
    return [
        OnboardingRecord(
            id=r.id,
            tenant_id=r.tenant_id,
            platform=r.platform,
            user_id=r.user_id,
            display_name=r.display_name,
            unit=r.unit,
            registered_by=r.registered_by,
            registered_at=aware(r.registered_at),
            completed_at=aware(r.completed_at) if r.completed_at else None,
            cancelled_at=aware(r.cancelled_at) if r.cancelled_at else None,
            steps=tuple(steps[r.id]),
        )
        for r in rows
    ]


async def start_onboarding(
    store: Store,
    tenant_id: str,
    platform: str,
    user_id: str,
    *,
    display_name: str,
    unit: str,
    registered_by: str,
    steps: Sequence[NewStep],
    now: datetime,
) -> tuple[OnboardingRecord, bool]:
    """The person's open onboarding, started now with ``steps`` unless one is open already;
    ``True`` when this call started it."""
    open_key = person_key(platform, user_id)
    stmt = (
        store.insert(Onboarding)
        .values(
            tenant_id=tenant_id,
            platform=platform,
            user_id=user_id,
            display_name=display_name,
            unit=unit,
            registered_by=registered_by,
            registered_at=now,
            open_key=open_key,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "open_key"])
        .returning(Onboarding.id)
    )
    for _attempt in range(3):
        async with store.sessions.begin() as session:
            new_id = (await session.execute(stmt)).scalar_one_or_none()
            for position, step in enumerate(steps if new_id is not None else ()):
                session.add(
                    OnboardingStep(
                        onboarding_id=new_id,
                        key=step.key,
                        position=position,
                        owner=step.owner,
                        due=step.due,
                        done_by="",
                    )
                )
        record = await open_onboarding_of(store, tenant_id, platform, user_id)
        if record is not None:
            return record, record.id == new_id
        # The open one was completed or cancelled in the instant between: start afresh.
    raise RuntimeError("the person's onboarding kept changing under us")


async def get_onboarding(
    store: Store, tenant_id: str, onboarding_id: int
) -> OnboardingRecord | None:
    """One onboarding of the tenant (open, completed or cancelled)."""
    async with store.sessions() as session:
        row = await session.get(Onboarding, onboarding_id)
        if row is None or row.tenant_id != tenant_id:
            return None
        return (await _records(session, [row]))[0]


async def open_onboarding_of(
    store: Store, tenant_id: str, platform: str, user_id: str
) -> OnboardingRecord | None:
    """The person's open onboarding, if any."""
    async with store.sessions() as session:
        row = await session.scalar(
            select(Onboarding).where(
                Onboarding.tenant_id == tenant_id,
                Onboarding.open_key == person_key(platform, user_id),
            )
        )
        return None if row is None else (await _records(session, [row]))[0]


async def list_onboardings(
    store: Store,
    tenant_id: str,
    *,
    include_closed: bool = False,
    completed_since: datetime | None = None,
) -> list[OnboardingRecord]:
    """The tenant's open onboardings by registration (with ``include_closed`` every one; with
    ``completed_since`` also those completed since then)."""
    query = select(Onboarding).where(Onboarding.tenant_id == tenant_id)
    if not include_closed:
        is_open = Onboarding.open_key.is_not(None)
        if completed_since is not None:
            query = query.where(or_(is_open, Onboarding.completed_at >= completed_since))
        else:
            query = query.where(is_open)
    async with store.sessions() as session:
        rows = await session.scalars(query.order_by(Onboarding.registered_at, Onboarding.id))
        return await _records(session, rows.all())


def _open(onboarding_id: int, tenant_id: str) -> list[ColumnElement[bool]]:
    """The conditions of "this tenant's onboarding, still open"."""
    return [
        Onboarding.id == onboarding_id,
        Onboarding.tenant_id == tenant_id,
        Onboarding.open_key.is_not(None),
    ]


async def _set_step(
    store: Store, tenant_id: str, onboarding_id: int, key: str, done: datetime | None, by: str
) -> bool:
    """Mark one step of an open onboarding done at ``done`` (None: open again); False when
    nothing changed."""
    still_open = exists().where(*_open(onboarding_id, tenant_id))
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(OnboardingStep)
            .where(
                OnboardingStep.onboarding_id == onboarding_id,
                OnboardingStep.key == key,
                OnboardingStep.done_at.is_(None) if done else OnboardingStep.done_at.is_not(None),
                still_open,
            )
            .values(done_at=done, done_by=by)
        )
    return rowcount(result) == 1


async def mark_step_done(
    store: Store, tenant_id: str, onboarding_id: int, key: str, by: str, now: datetime
) -> bool:
    """Record the step as done now by ``by``; False when it was done already, or the onboarding is
    not open (completed, cancelled, another tenant's) or has no such step."""
    return await _set_step(store, tenant_id, onboarding_id, key, now, by)


async def reopen_step(store: Store, tenant_id: str, onboarding_id: int, key: str) -> bool:
    """Open a done step of an open onboarding again ("Angre"); False when nothing changed."""
    return await _set_step(store, tenant_id, onboarding_id, key, None, "")


async def complete_onboarding(
    store: Store, tenant_id: str, onboarding_id: int, now: datetime
) -> bool:
    """Record the onboarding as completed now when every step is done; True only for the call that
    did (a second click, or two at once, get False)."""
    any_open_step = exists().where(
        OnboardingStep.onboarding_id == onboarding_id, OnboardingStep.done_at.is_(None)
    )
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(Onboarding)
            .where(*_open(onboarding_id, tenant_id), ~any_open_step)
            .values(completed_at=now, open_key=None)
        )
    return rowcount(result) == 1


async def cancel_onboarding(
    store: Store, tenant_id: str, onboarding_id: int, now: datetime
) -> bool:
    """Stop an open onboarding (no more reminders); False when it was not open."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(Onboarding)
            .where(*_open(onboarding_id, tenant_id))
            .values(cancelled_at=now, open_key=None)
        )
    return rowcount(result) == 1
