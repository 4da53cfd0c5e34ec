"""The table of send rates shared by every process on one database: one row per rate-limiter
bucket (tenant × bucket kind, e.g. ``slack:T0001`` × ``slack:chat.postMessage``).

A row is the bucket's GCRA state: ``tat``, the theoretical arrival time of its next call (a token
bucket in the "virtual scheduling" form, as ``bot.delivery.ratelimit`` keeps it in memory), and
``paused_until``, set by a 429's Retry-After for every process. Times are the database's clock,
so processes on machines whose clocks differ still share one schedule. Migration:
``0019_rate_buckets``. No message content, no user ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow


class RateBucket(Base):
    """One shared rate: the next free slot and a pause every process honours."""

    __tablename__ = "rate_buckets"

    tenant_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    tat: Mapped[datetime] = mapped_column(AwareDateTime())
    paused_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
