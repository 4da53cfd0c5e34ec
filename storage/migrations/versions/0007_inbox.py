"""The inbox: acknowledged platform events, stored before the 200 and handled from there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(200), nullable=False, unique=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("tenant_id", sa.String(120), nullable=False),
        sa.Column("order_key", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON, nullable=True),
        sa.Column("reply", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_error", sa.String(80), nullable=False),
    )
    op.create_index("ix_inbox_status_next", "inbox", ["status", "next_attempt_at"])
    op.create_index("ix_inbox_expires", "inbox", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_expires", table_name="inbox")
    op.drop_index("ix_inbox_status_next", table_name="inbox")
    op.drop_table("inbox")
