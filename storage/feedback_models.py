"""Tables of the "Var dette nyttig? 👍 / 👎" votes: the counters and the key that signs vote ids.

A counter row is a pair of counters and nothing else: no user id, no message text, no time of a
single vote (only when the row last changed). ``kind`` is ``topic`` (an FAQ answer) or ``level`` (the
decision screen that ends a guide level). The signing key is one random secret per purpose, shared by
every server process on the database and kept across restarts. Migrations: ``0006_contacts_feedback``
(counters) and ``0008_vote_key`` (keys); Alembic's env imports this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

KIND_TOPIC = "topic"
KIND_LEVEL = "level"
KINDS = (KIND_TOPIC, KIND_LEVEL)


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
