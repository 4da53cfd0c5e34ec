"""Tables of the feedback: the "Var dette nyttig? 👍 / 👎" counters, the key that signs vote ids,
and the free-text reports ("Meld feil eller forslag").

A counter row is a pair of counters and nothing else: no user id, no message text, no time of a
single vote (only when the row last changed). ``kind`` is ``topic`` (an FAQ answer) or ``level`` (the
decision screen that ends a guide level). The signing key is one random secret per purpose, shared by
every server process on the database and kept across restarts. Migrations: ``0006_contacts_feedback``
(counters), ``0008_vote_key`` (keys) and ``0010_feedback_reports``; Alembic's env imports this
module next to ``storage.models``. A report row has no user id either: only the tenant, when, the
language, the screen or topic it was written on and the text (capped, refused when it holds personal
data before it gets here).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

KIND_TOPIC = "topic"
KIND_LEVEL = "level"
KINDS = (KIND_TOPIC, KIND_LEVEL)
#: The longest report text kept (the form field says so too).
REPORT_MAX_CHARS = 1000
ORIGIN_MAX_CHARS = 80


class FeedbackCount(Base):
    """How often one answer or guide level was found useful (``up``) or not (``down``)."""

    __tablename__ = "feedback_counts"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    lang: Mapped[str] = mapped_column(String(2), primary_key=True)
    up: Mapped[int] = mapped_column(Integer, default=0)
    down: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class SigningKey(Base):
    """A server-side secret (hex), created once by whichever process needs it first."""

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class FeedbackReport(Base):
    """One "Meld feil eller forslag" text, as written, with where it was written and nothing of who."""

    __tablename__ = "feedback_reports"
    __table_args__ = (Index("ix_feedback_reports_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    lang: Mapped[str] = mapped_column(String(2))
    origin: Mapped[str] = mapped_column(String(ORIGIN_MAX_CHARS))
    text: Mapped[str] = mapped_column(String(REPORT_MAX_CHARS))
