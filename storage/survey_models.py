"""Tables of the pulse surveys: a launched survey (a *run*), whom it was sent to, who has answered
and the answers. Migration: ``0011_surveys``.

Anonymity lives in the shape of these tables (docs/surveys.md explains the whole design):

* ``survey_answers`` of an anonymous run hold no user id, no platform id and no time finer than
  the day. Their key, while the run is open, is a keyed hash of (run, person) under a key that is
  not in the database, so a second submit finds and replaces the first; on close every key is
  replaced by a random one and the rows are written anew in random order. SQLite keeps the table
  ordered by that key (``WITHOUT ROWID``), so the order of the rows says nothing about the order of
  the answers.
* ``survey_answered`` (who has answered, for nudges and the response rate) holds only another keyed
  hash of the same pair, with a different purpose in the hash: the two tables share no value, id
  or order. It is deleted on close, with the recipient list.
* A run in ``unit`` or ``named`` mode says so to every respondent before they answer; there the
  answer row does carry the unit or person, by design (a halvårsrapport is a unit's report).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

OPEN = "open"
CLOSED = "closed"
STATUSES = (OPEN, CLOSED)
ANONYMOUS = "anonymous"
BY_UNIT = "unit"
NAMED = "named"
ANONYMITIES = (ANONYMOUS, BY_UNIT, NAMED)
#: Length of the keys: 64 hex characters (a SHA-256 digest, keyed or random).
KEY_CHARS = 64


class SurveyRun(Base):
    """One launch of a survey template to an audience, from open to close."""

    __tablename__ = "survey_runs"
    __table_args__ = (
        Index("ix_survey_runs_tenant_status", "tenant_id", "status"),
        Index("ix_survey_runs_launch_key", "tenant_id", "launch_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    template_key: Mapped[str] = mapped_column(String(60))
    #: The template as it was at launch: results stay readable when the file changes later.
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    anonymity: Mapped[str] = mapped_column(String(16))
    #: ``{"kind": "role" | "channel" | "all", "value": …, "units": [...]}``.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(AwareDateTime())
    closes_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    #: Channel the summary goes to on close ('' for none).
    post_to: Mapped[str] = mapped_column(String(300), default="")
    min_group: Mapped[int] = mapped_column(Integer)
    #: How many were asked: kept after close, when the recipient rows are gone.
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    #: How many answered: counted on close, when the answered record is deleted.
    answered: Mapped[int] = mapped_column(Integer, default=0)
    #: A unit's report: the units it went to (names of units, never people), so the summary
    #: can list who did not report after the recipient rows are gone. Empty for other runs.
    units: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Makes a launch idempotent (e.g. ``arshjul:<task>:<due date>``); None for a manual launch.
    launch_key: Mapped[str | None] = mapped_column(String(200), default=None)
    launched_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)


class SurveyRecipient(Base):
    """One person a run was sent to (not whether they answered); deleted on close."""

    __tablename__ = "survey_recipients"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("survey_runs.id", ondelete="CASCADE"), primary_key=True
    )
    platform_user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(200), default="")
    last_nudged_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), default=None)


class SurveyAnswered(Base):
    """That someone answered a run: a keyed hash and nothing else; deleted on close."""

    __tablename__ = "survey_answered"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("survey_runs.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)


class SurveyAnswer(Base):
    """One submitted answer set; see the module docstring for what an anonymous row may hold."""

    __tablename__ = "survey_answers"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("survey_runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)
    #: The respondent's unit: in an anonymous run only when that unit had at least the minimum
    #: group size of recipients, else ''.
    unit: Mapped[str] = mapped_column(String(200), default="")
    #: The person who answered: '' in an anonymous run.
    respondent: Mapped[str] = mapped_column(String(200), default="")
    day: Mapped[date] = mapped_column(Date)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
