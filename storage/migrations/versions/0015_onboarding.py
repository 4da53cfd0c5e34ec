"""Onboarding of new staff: one onboarding per new employee in a unit, and its steps with due date
and when and by whom each was done.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "onboardings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("registered_by", sa.String(240), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("open_key", sa.String(240), nullable=True),
    )
    op.create_index("ix_onboardings_open", "onboardings", ["tenant_id", "open_key"], unique=True)
    op.create_index("ix_onboardings_person", "onboardings", ["tenant_id", "platform", "user_id"])
    op.create_table(
        "onboarding_steps",
        sa.Column(
            "onboarding_id",
            sa.Integer,
            sa.ForeignKey("onboardings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.Column("done_by", sa.String(240), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("onboarding_steps")
    op.drop_index("ix_onboardings_person", table_name="onboardings")
    op.drop_index("ix_onboardings_open", table_name="onboardings")
    op.drop_table("onboardings")
