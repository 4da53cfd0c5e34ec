"""Tables of the leaders' monthly digest: anonymous use counts of the guide and the FAQ, and where
and when the digest is posted. Migration: ``0016_leader_digest``.

A use count is a number per (tenant, month, kind, key): how many answers a FAQ topic got, how many
times a guide level was opened, which topics unanswered questions were nearest to. No user id, no
time finer than the month, never a question's text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

#: Kinds of use counted.
TOPIC = "topic"  # a FAQ answer of this topic
LEVEL = "level"  # a guide level (or the acute path) opened
UNKNOWN_NEAR = "unknown"  # a question answered "ukjent", by the topic it was nearest to
KINDS = (TOPIC, LEVEL, UNKNOWN_NEAR)


class UsageCount(Base):
    __tablename__ = "usage_counts"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``YYYY-MM`` in the tenant's zone.
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class LeaderDigest(Base):
    """Where a tenant's leader group gets its monthly digest, and on which årshjul task's days."""

    __tablename__ = "leader_digests"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(200))
    #: Keys of the årshjul tasks that are the leader group's meetings.
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
