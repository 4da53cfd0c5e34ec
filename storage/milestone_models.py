"""Table of a tenant's implementation plan: its milestones (title, responsible role, due date and
the date it was completed, *fullført dato*). Migration: ``0013_milestones``.

Only the kommune's own plan texts, role keys and unit names: nothing about a child or a case.
Kept apart from ``storage.models`` so the milestone feature owns its table; Alembic's env imports
this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow


class Milestone(Base):
    """One milestone of a tenant's plan under its stable key; ``completed`` None while open."""

    __tablename__ = "milestones"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: The order of the plan file (ties of one due date keep it).
    position: Mapped[int] = mapped_column(Integer)
    title_nb: Mapped[str] = mapped_column(String(300))
    title_nn: Mapped[str] = mapped_column(String(300))
    #: The responsible role (a key of the tenant's ``roles``).
    role_key: Mapped[str] = mapped_column(String(60))
    #: The unit whose holder of the role is responsible; None: the role's holders anywhere.
    unit: Mapped[str | None] = mapped_column(String(200), default=None)
    due: Mapped[date] = mapped_column(Date)
    completed: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
