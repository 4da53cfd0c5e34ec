"""BTS-nettverk: networks, the rounds before each meeting (check-ins, topic votes, the host's key
points) and the pairings of members across units.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant(primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(120),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "networks",
        _tenant(primary_key=True),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(200), nullable=False),
        sa.Column("member_role", sa.String(60), nullable=False),
        sa.Column("host_role", sa.String(60), nullable=False),
        sa.Column("tasks", sa.JSON, nullable=False),
        sa.Column("checkin_days", sa.Integer, nullable=False),
        sa.Column("pairing_weeks", sa.Integer, nullable=False),
        sa.Column("pairing_across_sectors", sa.Boolean, nullable=False),
        sa.Column("evaluation_months", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "network_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("network_key", sa.String(60), nullable=False),
        sa.Column("task_key", sa.String(60), nullable=False),
        sa.Column("meeting", sa.Date, nullable=False),
        sa.Column("evaluation", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("survey_run", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_network_rounds_meeting",
        "network_rounds",
        ["tenant_id", "network_key", "task_key", "meeting"],
        unique=True,
    )
    op.create_table(
        "network_checkins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey("network_rounds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("done", sa.String(600), nullable=False),
        sa.Column("smart", sa.String(600), nullable=False),
        sa.Column("learned", sa.String(600), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_network_checkins_member",
        "network_checkins",
        ["round_id", "platform", "user_id"],
        unique=True,
    )
    op.create_table(
        "network_votes",
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey("network_rounds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "checkin_id",
            sa.Integer,
            sa.ForeignKey("network_checkins.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
    )
    op.create_table(
        "network_pairings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("network_key", sa.String(60), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_network_pairings_label",
        "network_pairings",
        ["tenant_id", "network_key", "label"],
        unique=True,
    )
    op.create_table(
        "network_pairs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "pairing_id",
            sa.Integer,
            sa.ForeignKey("network_pairings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("members", sa.JSON, nullable=False),
        sa.Column("met", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "network_pairs", "network_pairings", "network_votes", "network_checkins",
        "network_rounds", "networks",
    ):  # fmt: skip
        op.drop_table(table)
