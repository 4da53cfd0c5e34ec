"""Personal follow-up reminders from the guide (label, due time, status; nothing about a child).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "personal_followups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("platform_user_id", sa.String(200), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_personal_followups_status_due", "personal_followups", ["status", "due_at"])
    op.create_index(
        "ix_personal_followups_user", "personal_followups", ["tenant_id", "platform_user_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_personal_followups_user", table_name="personal_followups")
    op.drop_index("ix_personal_followups_status_due", table_name="personal_followups")
    op.drop_table("personal_followups")
