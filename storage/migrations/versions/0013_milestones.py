"""Implementation milestones: a tenant's plan of milestones with responsible role, due date and
the date each was completed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "milestones",
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title_nb", sa.String(300), nullable=False),
        sa.Column("title_nn", sa.String(300), nullable=False),
        sa.Column("role_key", sa.String(60), nullable=False),
        sa.Column("unit", sa.String(200), nullable=True),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("completed", sa.Date, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("milestones")
