"""Issue #9, point 7: ways around the PII guard. Disguised fødselsnumre, phone numbers, e-mail
addresses and names must be refused like the plain ones, ordinary BTS questions and labels must
not be, and a disguised label is neither stored as a personal follow-up nor echoed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stdnum.no import fodselsnummer

from dialogs.app import build_router
from dialogs.messages import Turn
from dialogs.pii import find_personal_data
from storage.db import create_engine
from storage.followups import list_personal_followups
from storage.migrate import upgrade
from storage.repositories import Store

ZWSP, WORD_JOINER = "\u200b", "\u2060"
FNR = "17091864886"  # valid (check digits right), made up
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_the_numbers_in_the_table_are_valid() -> None:
    assert fodselsnummer.is_valid(FNR) and fodselsnummer.is_valid("24121762745")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # fødselsnummer
        (f"{FNR[:6]}{ZWSP}{FNR[6:]}", "fodselsnummer"),
        (f"fnr {FNR[:3]}{WORD_JOINER}{FNR[3:]}", "fodselsnummer"),
        (ZWSP.join(FNR), "fodselsnummer"),
        ("24/12/17 62745", "fodselsnummer"),
        ("170918_64886", "fodselsnummer"),
        ("17 / 09 / 18 - 64886", "fodselsnummer"),
        (FNR.translate(ARABIC_INDIC), "fodselsnummer"),
        ("17O918 64886", "fodselsnummer"),  # letter O for zero
        ("17o918-64886", "fodselsnummer"),
        ("17\u041e918 64886", "fodselsnummer"),  # Cyrillic О for zero
        ("１７０９１８６４８８６", "fodselsnummer"),  # full-width digits
        # phone
        ("9345 6789", "phone"),
        ("ring 934 567 88", "phone"),
        ("93 456 789", "phone"),
        (f"93{ZWSP}45{ZWSP}67{ZWSP}89", "phone"),
        (f"934{ZWSP}56{ZWSP}789", "phone"),
        ("93 4567 89", "phone"),
        ("93 - 45 - 67 - 89", "phone"),
        ("9345 678O", "phone"),
        ("+47 93 4567 89", "phone"),
        ("934567 89".translate(ARABIC_INDIC), "phone"),
        # e-mail
        ("kari@example.n\u043e", "email"),  # Cyrillic о
        ("k\u0430ri@ex\u0430mple.no", "email"),  # Cyrillic а
        (f"kari{ZWSP}@example.no", "email"),
        # names
        ("sofie ahmadi", "name"),
        ("\u041ela Nordmann", "name"),  # Cyrillic О
        ("O. Nordmann", "name"),
        ("K.Hansen sier", "name"),
        ("Emma 7 år", "name"),
        ("emma (7 år)", "name"),
        ("Emma, 7-åring", "name"),
        (f"Ola{ZWSP} Nord{ZWSP}mann", "name"),
        ("O\u00adla Nordmann", "name"),  # soft hyphen
        ("Ola Ν\u03bfrdmann", "name"),  # Greek Ν and ο
        ("mia petrovic", "name"),
        ("noah yilmaz", "name"),
    ],
)
def test_disguised_personal_data_is_found(text: str, kind: str) -> None:
    assert kind in find_personal_data(text)


@pytest.mark.parametrize(
    "text",
    [
        "hva gjør jeg ved uro?",
        "evaluering om 14 dager",
        "Evaluering om 14 dager",
        "møte 12.03 kl 14",
        "møte 24.12.2025 kl 09.00",
        "møte 24. 12. 2025",
        "møte 2025-03-12 kl 14",
        "møte kl 20.00-21.30",
        "kl 20.00 - 21.00",
        "skoleåret 2023 2024",
        "skoleåret 2023/2024",
        "skoleåret 2023 - 2024",
        "årshjul for 2026",
        "nivå 2",
        "nivå 0, 1, 2 og 3",
        "trinn 5 6 7",
        "stafettlogg for 3 barn",
        "Sortland skole",
        "BTS-kontakt på Sortland skole",
        "Oppfølging etter 6 uker",
        "Evaluering av tiltak, nivå 1",
        "barnet er 7 år",
        "en jente på 7 år",
        "hans 7 år gamle bror",
        "kan vera 7 år",
        "Per 3 år",
        "i 3 år",
        "stafettlogg o2",
        "Oslo kommune",
        "Ola ringer i morgen",
        "ring BTS-koordinator",
        "Plan A. Ny plan",
        "100 prosent",
        "Vi ses 10.10",
        "Hva gjør jeg når Emma gråter?",
        "Kari og Ola",
        "Kontakt barnevernvakta på 112",
        "Привет, как дела?",  # Cyrillic that is no disguise
        "Καλημέρα",
    ],
)
def test_ordinary_text_is_not_refused(text: str) -> None:
    assert find_personal_data(text) == []


# --- end to end: the follow-up label -----------------------------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> Store:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pii.sqlite3'}"
    await upgrade(url)
    return Store(create_engine(url))


@pytest.mark.parametrize(
    ("label", "secret"),
    [
        ("Evaluering sofie ahmadi", "ahmadi"),
        ("Ring 934 567 88", "567"),
        (f"Ring 93{ZWSP}45{ZWSP}67{ZWSP}89", "67"),
        ("Oppfølging 24/12/17 62745", "62745"),
        ("Møte om \u041ela Nordmann", "Nordmann"),
        ("Emma 7 år", "Emma"),
    ],
)
async def test_disguised_label_is_neither_stored_nor_echoed(
    sqlite_store: Store, label: str, secret: str
) -> None:
    router = build_router(sqlite_store)
    await router.handle(Turn("web", "local", "u1", "c1", text="hei"))
    await router.handle(Turn("web", "local", "u1", "c1", action="guide:goto", value="n1_evaluer"))
    await router.handle(
        Turn("web", "local", "u1", "c1", action="guide:followup", value="n1_evaluer")
    )
    reply = await router.handle(
        Turn(
            "web",
            "local",
            "u1",
            "c1",
            action="guide:followup_save",
            form_values={"label": label, "days": "14"},
        )
    )
    shown = json.dumps(reply.to_dict(), ensure_ascii=False)
    assert secret not in shown and label not in shown
    assert await list_personal_followups(sqlite_store, "local", "u1") == []
    await sqlite_store.engine.dispose()


async def test_a_clean_label_is_still_stored(sqlite_store: Store) -> None:
    router = build_router(sqlite_store)
    await router.handle(Turn("web", "local", "u1", "c1", text="hei"))
    await router.handle(
        Turn("web", "local", "u1", "c1", action="guide:followup", value="n1_evaluer")
    )
    await router.handle(
        Turn(
            "web",
            "local",
            "u1",
            "c1",
            action="guide:followup_save",
            form_values={"label": "Evaluering om 14 dager, nivå 1", "days": "14"},
        )
    )
    rows = await list_personal_followups(sqlite_store, "local", "u1")
    assert [r.label for r in rows] == ["Evaluering om 14 dager, nivå 1"]
    await sqlite_store.engine.dispose()
