"""Table of personal follow-up reminders ("minn meg på evaluering om 14 dager").

A row holds who asked (platform ids), the label they chose, when to remind them and a delivery
status: never anything about the child or the case (the guide refuses labels with personal data
before they get here). Migration: ``0002_personal_followups``. Kept apart from ``storage.models`` so
the guide feature owns its table; Alembic's env imports this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.models import Base, utcnow

FOLLOWUP_LABEL_MAX = 60
FOLLOWUP_QUEUED = "queued"
FOLLOWUP_SENT = "sent"
FOLLOWUP_CANCELLED = "cancelled"


class AwareDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware datetimes as UTC and always returns them aware (also on SQLite,
    whose driver drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PersonalFollowup(Base):
    """A reminder one user asked for, delivered later by the reminder machinery."""

    __tablename__ = "personal_followups"
    __table_args__ = (
        Index("ix_personal_followups_status_due", "status", "due_at"),
        Index("ix_personal_followups_user", "tenant_id", "platform_user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(FOLLOWUP_LABEL_MAX))
    due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=FOLLOWUP_QUEUED)
