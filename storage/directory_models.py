"""Tables of the per-tenant directory and årshjul: settings, roles, units, role holders, admins, tasks.

Only platform ids, display names and the tenant's own task texts: nothing about a child or a case.
Migration: ``0004_directory_arshjul``. Kept apart from ``storage.models`` so the årshjul feature owns
its tables; Alembic's env imports this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow


class TenantSettings(Base):
    """A tenant's time zone, chosen årshjul template and own closed days (ISO dates)."""

    __tablename__ = "tenant_settings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(40))
    closed_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class DirectoryRole(Base):
    """A role a tenant uses (built-in ones and any its årshjul adds)."""

    __tablename__ = "roles"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    name_nb: Mapped[str] = mapped_column(String(120))
    name_nn: Mapped[str] = mapped_column(String(120))


class Unit(Base):
    """A virksomhet (school, kindergarten, health station …) of a tenant."""

    __tablename__ = "units"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


class RoleHolder(Base):
    """Who holds a role, tenant-wide (``unit`` None) or in one unit, with an optional deputy."""

    __tablename__ = "role_holders"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "role_key"],
            ["roles.tenant_id", "roles.key"],
            ondelete="CASCADE",
            name="fk_role_holders_role",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "unit"],
            ["units.tenant_id", "units.name"],
            ondelete="CASCADE",
            name="fk_role_holders_unit",
        ),
        Index("ix_role_holders_tenant_role", "tenant_id", "role_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    role_key: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str | None] = mapped_column(String(200), default=None)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    deputy_user_id: Mapped[str | None] = mapped_column(String(200), default=None)
    absent: Mapped[bool] = mapped_column(Boolean, default=False)


class TenantAdmin(Base):
    """A person named admin of a tenant (holders of BTS-koordinator are admins too)."""

    __tablename__ = "tenant_admins"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    platform_user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class ArshjulTask(Base):
    """One årshjul task of a tenant under its stable key; ``data`` is the validated task."""

    __tablename__ = "arshjul_tasks"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
