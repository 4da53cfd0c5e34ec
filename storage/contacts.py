"""Repository for the BTS-kontakt directory: who is BTS-kontakt where, how to reach them at work,
and the virksomhet a user asked us to remember.

The people are role holders (role ``bts-kontakt``, see ``storage.directory``), so a ``roles import``
and a ``contacts import`` edit the same truth; ``replace_contacts`` only swaps the BTS-kontakt holders
and the work contact details, in one transaction (all or nothing). A remembered virksomhet is stored as
platform user id + unit name only. Nothing here is about a child.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from storage.contacts_models import ContactDetails, UserUnit
from storage.directory_models import DirectoryRole, RoleHolder, Unit
from storage.models import utcnow
from storage.records import COORDINATOR_ROLE, Holder
from storage.repositories import Store, rowcount

CONTACT_ROLE = "bts-kontakt"


@dataclass(frozen=True)
class Contact:
    """A role holder as colleagues may see them: name, unit and the work phone/e-mail if given."""

    holder: Holder
    phone: str = ""
    email: str = ""

    @property
    def unit(self) -> str | None:
        return self.holder.unit

    @property
    def name(self) -> str:
        return self.holder.display_name


def _person(holder: Holder) -> tuple[str, str]:
    return holder.platform, holder.user_id


async def list_contacts(store: Store, tenant_id: str, role: str = CONTACT_ROLE) -> list[Contact]:
    """Holders of ``role`` (default BTS-kontakt) with their work contact details, in import order."""
    async with store.sessions() as session:
        rows = (
            await session.execute(
                select(RoleHolder, ContactDetails)
                .outerjoin(
                    ContactDetails,
                    (ContactDetails.tenant_id == RoleHolder.tenant_id)
                    & (ContactDetails.platform == RoleHolder.platform)
                    & (ContactDetails.platform_user_id == RoleHolder.platform_user_id),
                )
                .where(RoleHolder.tenant_id == tenant_id, RoleHolder.role_key == role)
                .order_by(RoleHolder.id)
            )
        ).all()
    return [
        Contact(
            Holder(
                role=h.role_key,
                unit=h.unit,
                platform=h.platform,
                user_id=h.platform_user_id,
                display_name=h.display_name,
                deputy_user_id=h.deputy_user_id,
                absent=h.absent,
            ),
            phone=d.phone if d else "",
            email=d.email if d else "",
        )
        for h, d in rows
    ]


async def list_coordinators(store: Store, tenant_id: str) -> list[Contact]:
    """The tenant's BTS-koordinator(s): who to ask when the directory cannot answer."""
    return await list_contacts(store, tenant_id, COORDINATOR_ROLE)


async def replace_contacts(store: Store, tenant_id: str, contacts: Sequence[Contact]) -> None:
    """Make ``contacts`` the tenant's BTS-kontakter and their work details, in one transaction.

    Other roles' holders stay as they are; units are created as needed. Raises ``ValueError`` (and
    changes nothing) when a contact has another role, one person has two different sets of details,
    or the tenant has no BTS-kontakt role (not set up)."""
    details: dict[tuple[str, str], tuple[str, str]] = {}
    for contact in contacts:
        if contact.holder.role != CONTACT_ROLE:
            raise ValueError(f"not a {CONTACT_ROLE}: role {contact.holder.role!r}")
        given = (contact.phone, contact.email)
        if details.setdefault(_person(contact.holder), given) != given:
            raise ValueError(f"different phone/e-mail for {contact.holder.user_id!r}")
    now = utcnow()
    async with store.sessions.begin() as session:
        role = await session.get(DirectoryRole, (tenant_id, CONTACT_ROLE))
        if role is None:
            raise ValueError(f"tenant {tenant_id!r} has no role {CONTACT_ROLE!r}")
        existing = set(
            (await session.scalars(select(Unit.name).where(Unit.tenant_id == tenant_id))).all()
        )
        wanted = {c.unit for c in contacts if c.unit}
        session.add_all(Unit(tenant_id=tenant_id, name=name) for name in sorted(wanted - existing))
        await session.flush()
        await session.execute(
            delete(RoleHolder).where(
                RoleHolder.tenant_id == tenant_id, RoleHolder.role_key == CONTACT_ROLE
            )
        )
        await session.execute(delete(ContactDetails).where(ContactDetails.tenant_id == tenant_id))
        session.add_all(
            RoleHolder(
                tenant_id=tenant_id,
                role_key=CONTACT_ROLE,
                unit=c.unit,
                platform=c.holder.platform,
                platform_user_id=c.holder.user_id,
                display_name=c.name,
                deputy_user_id=c.holder.deputy_user_id,
                absent=c.holder.absent,
            )
            for c in contacts
        )
        session.add_all(
            ContactDetails(
                tenant_id=tenant_id,
                platform=platform,
                platform_user_id=user_id,
                phone=phone,
                email=email,
                updated_at=now,
            )
            for (platform, user_id), (phone, email) in details.items()
            if phone or email
        )


# the user's own virksomhet ------------------------------------------------------------------------


async def remembered_unit(store: Store, tenant_id: str, user_id: str) -> str | None:
    """The unit this user asked us to remember, if any."""
    async with store.sessions() as session:
        row = await session.get(UserUnit, (tenant_id, user_id))
    return row.unit if row else None


async def remember_unit(store: Store, tenant_id: str, user_id: str, unit: str) -> bool:
    """Remember ``unit`` for this user (replacing an earlier one); False when no such unit."""
    stmt = store.insert(UserUnit).values(
        tenant_id=tenant_id, platform_user_id=user_id, unit=unit, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "platform_user_id"],
        set_={"unit": stmt.excluded.unit, "updated_at": stmt.excluded.updated_at},
    )
    async with store.sessions.begin() as session:
        if await session.get(Unit, (tenant_id, unit)) is None:
            return False
        await session.execute(stmt)
    return True


async def forget_unit(store: Store, tenant_id: str, user_id: str) -> bool:
    """Forget the user's unit; False when none was remembered."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(UserUnit).where(
                UserUnit.tenant_id == tenant_id, UserUnit.platform_user_id == user_id
            )
        )
    return rowcount(result) == 1
