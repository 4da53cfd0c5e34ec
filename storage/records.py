"""Plain records the storage repositories take and return, and the role keys they rely on.

They live here, below the dialogs, so that storage needs nothing from the layers above it: the
årshjul code maps a ``TaskRecord`` to its validated ``Task`` and plans with ``Holder`` as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Built-in roles (key -> nb name, nn name) every tenant gets; a tenant's årshjul may add more.
BUILTIN_ROLES: dict[str, tuple[str, str]] = {
    "bts-koordinator": ("BTS-koordinator", "BTS-koordinator"),
    "arbeidsgruppe": ("Arbeidsgruppe", "Arbeidsgruppe"),
    "styringsgruppe": ("Styringsgruppe", "Styringsgruppe"),
    "driftsstyre": ("Driftsstyre", "Driftsstyre"),
    "referansegruppe": ("Referansegruppe", "Referansegruppe"),
    "prosjektgruppe": ("Prosjektgruppe", "Prosjektgruppe"),
    "tefbus": ("TEFBUS – tverrfaglig forum", "TEFBUS – tverrfagleg forum"),
    "kommunalsjef": ("Kommunalsjef", "Kommunalsjef"),
    "ledergruppe": ("Ledergruppe", "Leiargruppe"),
    "oppvekstsjef": ("Oppvekstsjef", "Oppvekstsjef"),
    "helse-og-omsorgssjef": ("Helse- og omsorgssjef", "Helse- og omsorgssjef"),
    "virksomhetsleder": ("Virksomhetsleder", "Verksemdsleiar"),
    "bts-kontakt": ("BTS-kontakt", "BTS-kontakt"),
    "superbruker": ("Superbruker", "Superbrukar"),
    "stafettholder": ("Stafettholder", "Stafetthaldar"),
    "alle-ansatte": ("Alle ansatte", "Alle tilsette"),
}
COORDINATOR_ROLE = "bts-koordinator"


@dataclass(frozen=True)
class Holder:
    """Who holds a role (in a unit, or tenant-wide when ``unit`` is None)."""

    role: str
    unit: str | None
    platform: str
    user_id: str
    display_name: str = ""
    deputy_user_id: str | None = None
    absent: bool = False


def acting_for(holders: Iterable[Holder]) -> list[tuple[str, str]]:
    """Who acts for each holder, as unique (platform, user id): the holder, or their deputy while
    they are marked absent (nobody when there is no deputy)."""
    found = []
    for h in holders:
        user = h.deputy_user_id if h.absent else h.user_id
        if user:
            found.append((h.platform, user))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class TaskRecord:
    """One årshjul task as stored: its key and the task as plain JSON data. A tenant's tasks are
    stored and returned as a list in årshjul order."""

    key: str
    data: dict[str, Any]
