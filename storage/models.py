"""Table definitions (SQLAlchemy 2 declarative). Changes here need an Alembic migration too.

No table holds message text or anything about a child: only platform ids, preferences, dialog
positions and delivery bookkeeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Tenant(Base):
    """One organisation (usually one kommune): a Slack workspace, a Teams tenant, or the local one."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person as a platform knows them; ``language`` is their chosen nb/nn (None: tenant default)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "platform_user_id", name="uq_users_platform"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(2), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationState(Base):
    """Where a user is in a dialog; ``version`` guards against two processes advancing it at once."""

    __tablename__ = "conversation_state"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform_user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    dialog: Mapped[str] = mapped_column(String(64), default="")
    step: Mapped[str] = mapped_column(String(128), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationRef(Base):
    """A platform's address for later proactive sends (Teams ConversationReference, Slack channel)."""

    __tablename__ = "conversation_refs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "platform", "kind", "key", name="uq_conversation_refs_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # "user" or "channel"
    key: Mapped[str] = mapped_column(String(300))
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Ids of platform events already handled, so retries and redeliveries do nothing twice."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_expires_at", "expires_at"),)

    event_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
