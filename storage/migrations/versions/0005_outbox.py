"""Outbox, årshjul task progress, digest channels, calendar feeds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant_fk(primary_key: bool = True) -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(120),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _tenant_fk(primary_key=False),
        sa.Column("dedupe_key", sa.String(400), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(300), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("send_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("platform_message_id", sa.String(120), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_tenant_kind", "outbox", ["tenant_id", "kind"])
    op.create_table(
        "task_progress",
        _tenant_fk(),
        sa.Column("task_key", sa.String(60), primary_key=True),
        sa.Column("occurrence", sa.Date, primary_key=True),
        sa.Column("unit", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("postponed_until", sa.Date, nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "digest_targets",
        _tenant_fk(),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(300), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "calendar_feeds",
        _tenant_fk(),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_table("digest_targets")
    op.drop_table("task_progress")
    op.drop_index("ix_outbox_tenant_kind", table_name="outbox")
    op.drop_index("ix_outbox_status_next", table_name="outbox")
    op.drop_table("outbox")
