"""Tables of proactive delivery: the outbox, årshjul task progress, digest channels, calendar feeds.

The outbox is the truth of every proactive send (reminder, escalation, follow-up, report, digest):
one row per (task, occurrence, recipient, kind) under a unique ``dedupe_key``. Rows hold what to
render (task keys, dates, role and unit names, a follow-up label), never message text about a child.
What a row is comes from its ``kind`` column (``OutboxKind``; ``row_kind`` reads it); the
``payload["type"]`` of earlier releases repeats it and is not read.
Migration: ``0005_outbox``. Alembic's env imports this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

# Outbox statuses. ``claimed``: a dispatcher took the row but has not started the platform call;
# ``sending``: the call may have happened (in doubt after a crash); the rest are final.
PENDING = "pending"
CLAIMED = "claimed"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
EXPIRED = "expired"  # older than the grace window when we got to it: reported, not sent
SKIPPED = "skipped"  # no longer needed (task marked done, follow-up cancelled)
UNREACHABLE = "unreachable"  # nobody to send to (no Teams reference, user left): reported
IN_DOUBT = "in-doubt"  # crashed mid-send and the platform cannot tell us: reported, not resent
FINAL_STATUSES = (SENT, FAILED, EXPIRED, SKIPPED, UNREACHABLE, IN_DOUBT)

# How late a row may still go out (after downtime); older ones are reported instead. The planner
# does not plan what is already this old. ``OUTBOX_GRACE_HOURS`` overrides it.
DEFAULT_GRACE = timedelta(hours=12)


class OutboxKind(StrEnum):
    """What an outbox row is, as its ``kind`` column says."""

    REMINDER = "reminder"  # also ``lead-<days>``: the reminder that many days before the due date
    POSTPONED = "postponed"  # the re-send a week after "Utsett 1 uke"
    ESCALATION = "escalation"
    FOLLOWUP = "followup"
    REPORT = "report"
    DIGEST = "digest"
    SURVEY = "survey"  # the invitation to answer a survey run
    SURVEY_NUDGE = "survey-nudge"  # a reminder to someone who has not answered yet
    SURVEY_SUMMARY = "survey-summary"  # the results, posted to a channel when the run closes
    MILESTONE = "milestone"  # a reminder of a milestone of the implementation plan
    NETWORK_CHECKIN = "network-checkin"  # "gjort, lurt, lært" before a network meeting
    NETWORK_NUDGE = "network-nudge"  # to a member who has not checked in
    NETWORK_DIGEST = "network-digest"  # the check-ins in the network's channel, with topic votes
    NETWORK_AGENDA = "network-agenda"  # the meeting's agenda from the votes
    NETWORK_HOST = "network-host"  # asks the host for the meeting's key points
    NETWORK_SUMMARY = "network-summary"  # the key points, posted to the channel
    NETWORK_PAIR = "network-pair"  # introduces two (or three) members for a talk
    NETWORK_PAIR_FOLLOWUP = "network-pair-followup"  # "did you meet?"
    LEADER_DIGEST = "leader-digest"  # the leader group's monthly digest, on its meeting day
    ONBOARDING = "onboarding"  # a new employee's welcome, or a reminder of an onboarding step
    ONBOARDING_DONE = "onboarding-done"  # an onboarding is complete: to the leader and employee


LEAD_PREFIX = "lead-"
REMINDER_KINDS = frozenset({OutboxKind.REMINDER, OutboxKind.POSTPONED})
SURVEY_KINDS = frozenset({OutboxKind.SURVEY, OutboxKind.SURVEY_NUDGE, OutboxKind.SURVEY_SUMMARY})


def row_kind(column: str) -> OutboxKind | None:
    """The kind of a row from its ``kind`` column; None for one this release does not know (a newer
    release planned it)."""
    if column.startswith(LEAD_PREFIX):
        return OutboxKind.REMINDER
    try:
        return OutboxKind(column)
    except ValueError:
        return None


# Task progress statuses.
OPEN = "open"
DONE = "done"
NOT_RELEVANT = "not-relevant"


class OutboxItem(Base):
    """One proactive send."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_tenant_kind", "tenant_id", "kind"),
        Index("ix_outbox_target", "tenant_id", "platform", "target_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(16))  # "user" or "channel"
    target_id: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_message_id: Mapped[str | None] = mapped_column(String(120), default=None)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class TaskProgress(Base):
    """What became of one occurrence of an årshjul task in one unit ("" = tenant-wide)."""

    __tablename__ = "task_progress"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    task_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    occurrence: Mapped[date] = mapped_column(Date, primary_key=True)
    unit: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    postponed_until: Mapped[date | None] = mapped_column(Date, default=None)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class DigestTarget(Base):
    """The channel where a tenant's coordinator wants the weekly status digest."""

    __tablename__ = "digest_targets"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class CalendarFeed(Base):
    """The secret token of a tenant's iCalendar subscription URL (``/arshjul/<token>.ics``)."""

    __tablename__ = "calendar_feeds"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
