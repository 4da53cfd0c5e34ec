"""Send rates shared across processes (``rate_buckets``), and an index on the outbox's target so a
claim can see who else is sending to the same conversation.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("tenant_id", sa.String(120), primary_key=True),
        sa.Column("bucket", sa.String(80), primary_key=True),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_target", "outbox", ["tenant_id", "platform", "target_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_target", table_name="outbox")
    op.drop_table("rate_buckets")
