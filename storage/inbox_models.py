"""The inbox: every acknowledged platform event, stored before the 200 and handled from here.

One row per incoming event under a unique ``event_key`` (which is also the dedupe claim: a retry or
replay of the same event finds the row and does nothing). The request body is kept only until the
turn has been handled and its reply planned; then it is erased and the row holds the rendered reply
to send (bot text, never the user's) until it was sent, and afterwards only the key, so that a
redelivery within ``expires_at`` is still recognised. Migration: ``0007_inbox``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

# ``pending``: stored, not yet taken; ``claimed``: a worker handles the turn (its database changes
# are not committed yet, so a crash here means the turn is simply handled again); ``sending``: the
# turn is handled and ``reply`` holds what to send (a crash here is resolved by asking the platform
# whether it arrived); ``done`` and ``failed`` are final.
PENDING = "pending"
CLAIMED = "claimed"
SENDING = "sending"
DONE = "done"
FAILED = "failed"


class InboxItem(Base):
    """One incoming event (Slack event, button click or slash command)."""

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_status_next", "status", "next_attempt_at"),
        Index("ix_inbox_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str] = mapped_column(String(120))
    order_key: Mapped[str] = mapped_column(String(200))  # one user's turns are handled in order
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_error: Mapped[str] = mapped_column(String(80), default="")
