"""Tables of the BTS-kontakt directory's extras: work contact details and each user's virksomhet.

Who is BTS-kontakt where lives in ``role_holders`` (role ``bts-kontakt``, one row per unit and
person), so the årshjul reminders and the "Hvem er BTS-kontakt?" answer read one truth. These tables
only add what that table lacks: a work phone and e-mail the admin gave for a person, and the unit a
user chose to have remembered (platform user id and unit name, nothing else). Nothing about a child.
Migration: ``0006_contacts_feedback``; Alembic's env imports this module next to ``storage.models``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow

PHONE_MAX = 40
EMAIL_MAX = 200


class ContactDetails(Base):
    """The work phone and e-mail an admin gave for one person (by platform id) of a tenant."""

    __tablename__ = "contact_details"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    platform_user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    phone: Mapped[str] = mapped_column(String(PHONE_MAX), default="")
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class UserUnit(Base):
    """The virksomhet a user asked us to remember (gone with the unit, or when they say "glem")."""

    __tablename__ = "user_units"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "unit"],
            ["units.tenant_id", "units.name"],
            ondelete="CASCADE",
            name="fk_user_units_unit",
        ),
    )

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    platform_user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
