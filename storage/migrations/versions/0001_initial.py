"""Initial tables: tenants, users, conversation state and references, processed events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("platform_user_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "platform_user_id", name="uq_users_platform"),
    )
    op.create_table(
        "conversation_state",
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("platform_user_id", sa.String(200), primary_key=True),
        sa.Column("dialog", sa.String(64), nullable=False),
        sa.Column("step", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "conversation_refs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("reference", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "platform", "kind", "key", name="uq_conversation_refs_key"
        ),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_key", sa.String(300), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_processed_events_expires_at", "processed_events", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_events_expires_at", table_name="processed_events")
    for table in (
        "processed_events",
        "conversation_refs",
        "conversation_state",
        "users",
        "tenants",
    ):
        op.drop_table(table)
