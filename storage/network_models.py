"""Tables of the BTS-nettverk: a network (its channel, members' role, host role, meetings), the
rounds before each meeting (check-ins, topic votes, the host's key points) and the pairings.
Migration: ``0014_network``.

A check-in is shared with the network by design (its digest names the unit and the person), so it
is stored with the member; the personal-data guard keeps anything about a child out of it. The
network's own evaluation is a survey run (``storage.survey_models``) with its anonymity.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

#: Round statuses: check-ins open → digest posted (voting) → agenda posted → summary posted.
CHECKIN = "checkin"
VOTING = "voting"
AGENDA = "agenda"
SUMMARISED = "summarised"
ROUND_STATUSES = (CHECKIN, VOTING, AGENDA, SUMMARISED)


class Network(Base):
    """One BTS-nettverk of a tenant: where it talks and who is in it."""

    __tablename__ = "networks"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(200))
    member_role: Mapped[str] = mapped_column(String(60))
    host_role: Mapped[str] = mapped_column(String(60))
    #: Keys of the årshjul tasks that are this network's meetings.
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    checkin_days: Mapped[int] = mapped_column(Integer, default=7)
    #: Every N weeks members of different units are paired for a talk; 0 is off.
    pairing_weeks: Mapped[int] = mapped_column(Integer, default=0)
    pairing_across_sectors: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The first meeting of a year in one of these months carries the network's evaluation.
    evaluation_months: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class NetworkRound(Base):
    """Everything before and after one network meeting (an occurrence of a meeting task)."""

    __tablename__ = "network_rounds"
    __table_args__ = (
        Index(
            "ix_network_rounds_meeting",
            "tenant_id", "network_key", "task_key", "meeting", unique=True,
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    network_key: Mapped[str] = mapped_column(String(60))
    task_key: Mapped[str] = mapped_column(String(60))
    meeting: Mapped[date] = mapped_column(Date)
    evaluation: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=CHECKIN)
    #: The host's key points after the meeting (at most three).
    summary: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The evaluation's survey run, once launched.
    survey_run: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class NetworkCheckin(Base):
    """One member's "gjort, lurt, lært" (and proposed topic) before one meeting."""

    __tablename__ = "network_checkins"
    __table_args__ = (
        Index("ix_network_checkins_member", "round_id", "platform", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("network_rounds.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(200), default="")
    done: Mapped[str] = mapped_column(String(600), default="")
    smart: Mapped[str] = mapped_column(String(600), default="")
    learned: Mapped[str] = mapped_column(String(600), default="")
    topic: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class NetworkVote(Base):
    """One person's vote for one proposed topic (a check-in's topic) of a round."""

    __tablename__ = "network_votes"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("network_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("network_checkins.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class NetworkPairing(Base):
    """One pairing round of a network; ``label`` is its ISO week ("2027-W02")."""

    __tablename__ = "network_pairings"
    __table_args__ = (
        Index("ix_network_pairings_label", "tenant_id", "network_key", "label", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    network_key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(16))
    #: The round of "everyone meets everyone" this pairing belongs to (starts again when spent).
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class NetworkPair(Base):
    """Two (or, with an odd count, three) members introduced to each other."""

    __tablename__ = "network_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("network_pairings.id", ondelete="CASCADE"))
    #: ``[[platform, user_id, display_name, unit], …]``.
    members: Mapped[list[list[str]]] = mapped_column(JSON)
    #: Answers to "Fikk dere snakket sammen?": ``{"platform:user": true/false}``.
    met: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
