"""Pulse surveys: runs, recipients, the answered record (keyed hashes only) and answers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
KEY = 64  # as storage.survey_models.KEY_CHARS when this was written


def upgrade() -> None:
    op.create_table(
        "survey_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("template_key", sa.String(60), nullable=False),
        sa.Column("template", sa.JSON, nullable=False),
        sa.Column("anonymity", sa.String(16), nullable=False),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("opens_at", TS, nullable=False),
        sa.Column("closes_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("post_to", sa.String(300), nullable=False),
        sa.Column("min_group", sa.Integer, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("launch_key", sa.String(200), nullable=True),
        sa.Column("launched_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
    )
    op.create_index("ix_survey_runs_tenant_status", "survey_runs", ["tenant_id", "status"])
    op.create_index(
        "ix_survey_runs_launch_key", "survey_runs", ["tenant_id", "launch_key"], unique=True
    )
    op.create_table(
        "survey_recipients",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("platform_user_id", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("last_nudged_at", TS, nullable=True),
    )
    op.create_table(
        "survey_answered",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("digest", sa.String(KEY), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "survey_answers",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(KEY), primary_key=True),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("respondent", sa.String(200), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("survey_answered")
    op.drop_table("survey_recipients")
    op.drop_index("ix_survey_runs_launch_key", table_name="survey_runs")
    op.drop_index("ix_survey_runs_tenant_status", table_name="survey_runs")
    op.drop_table("survey_runs")
