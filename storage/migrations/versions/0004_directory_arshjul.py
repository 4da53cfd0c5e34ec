"""Directory and årshjul: tenant settings, roles, units, role holders, admins, årshjul tasks.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
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
        "tenant_settings",
        _tenant_fk(),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("closed_days", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "roles",
        _tenant_fk(),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("name_nb", sa.String(120), nullable=False),
        sa.Column("name_nn", sa.String(120), nullable=False),
    )
    op.create_table(
        "units",
        _tenant_fk(),
        sa.Column("name", sa.String(200), primary_key=True),
    )
    op.create_table(
        "role_holders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.String(120),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role_key", sa.String(60), nullable=False),
        sa.Column("unit", sa.String(200), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("platform_user_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("deputy_user_id", sa.String(200), nullable=True),
        sa.Column("absent", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_key"],
            ["roles.tenant_id", "roles.key"],
            ondelete="CASCADE",
            name="fk_role_holders_role",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit"],
            ["units.tenant_id", "units.name"],
            ondelete="CASCADE",
            name="fk_role_holders_unit",
        ),
    )
    op.create_index("ix_role_holders_tenant_role", "role_holders", ["tenant_id", "role_key"])
    op.create_table(
        "tenant_admins",
        _tenant_fk(),
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("platform_user_id", sa.String(200), primary_key=True),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_table(
        "arshjul_tasks",
        _tenant_fk(),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("arshjul_tasks")
    op.drop_table("tenant_admins")
    op.drop_index("ix_role_holders_tenant_role", table_name="role_holders")
    op.drop_table("role_holders")
    op.drop_table("units")
    op.drop_table("roles")
    op.drop_table("tenant_settings")
