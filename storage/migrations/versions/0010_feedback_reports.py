"""Free-text reports ("Meld feil eller forslag"): tenant, time, language, screen and text, no user.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As storage.feedback_models.REPORT_MAX_CHARS when this was written; a migration never imports it.
TEXT_MAX = 1000


def upgrade() -> None:
    op.create_table(
        "feedback_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("origin", sa.String(80), nullable=False),
        sa.Column("text", sa.String(TEXT_MAX), nullable=False),
    )
    op.create_index(
        "ix_feedback_reports_tenant_created", "feedback_reports", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_reports_tenant_created", table_name="feedback_reports")
    op.drop_table("feedback_reports")
