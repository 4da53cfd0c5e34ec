"""Tables of the onboarding of new staff: one onboarding per new employee (a platform user of the
tenant) in a unit, and its steps with due date and when and by whom each was done.
Migration: ``0015_onboarding``.

The employee's display name is a staff member's name (like a role holder's); nothing about a child
or a case is stored here. ``open_key`` is the person (``platform:user id``) while the onboarding is
open and NULL once it is completed or cancelled: a unique index over it gives one open onboarding
per person and tenant on SQLite and PostgreSQL alike (NULLs never collide).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

#: Who does a step: the new employee, or the unit's BTS-kontakt.
EMPLOYEE = "ansatt"
CONTACT = "bts-kontakt"
OWNERS = (EMPLOYEE, CONTACT)


class Onboarding(Base):
    """One new employee's onboarding in a unit, from registration to completion."""

    __tablename__ = "onboardings"
    __table_args__ = (
        Index("ix_onboardings_open", "tenant_id", "open_key", unique=True),
        Index("ix_onboardings_person", "tenant_id", "platform", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(200))
    #: ``platform:user id`` of whoever registered the employee (the employee themselves, a leader,
    #: a BTS-kontakt or an admin), or ``cli``.
    registered_by: Mapped[str] = mapped_column(String(240))
    registered_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    open_key: Mapped[str | None] = mapped_column(String(240), default=None)


class OnboardingStep(Base):
    """One step of an onboarding: its key in the steps file, owner, due date and when it was done."""

    __tablename__ = "onboarding_steps"

    onboarding_id: Mapped[int] = mapped_column(
        ForeignKey("onboardings.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: The order of the steps file at registration.
    position: Mapped[int] = mapped_column(Integer)
    #: ``ansatt`` or ``bts-kontakt`` (``OWNERS``).
    owner: Mapped[str] = mapped_column(String(16))
    due: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    #: ``platform:user id`` of whoever pressed "Ferdig", or ``cli``.
    done_by: Mapped[str] = mapped_column(String(240), default="")
