"""BTS-kontakt extras (work contact details, remembered virksomhet) and feedback counters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant_fk() -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(120),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "contact_details",
        _tenant_fk(),
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("platform_user_id", sa.String(200), primary_key=True),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "user_units",
        _tenant_fk(),
        sa.Column("platform_user_id", sa.String(200), primary_key=True),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit"],
            ["units.tenant_id", "units.name"],
            ondelete="CASCADE",
            name="fk_user_units_unit",
        ),
    )
    op.create_table(
        "feedback_counts",
        _tenant_fk(),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("lang", sa.String(2), primary_key=True),
        sa.Column("up", sa.Integer, nullable=False),
        sa.Column("down", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback_counts")
    op.drop_table("user_units")
    op.drop_table("contact_details")
