"""A person's own privacy requests in chat (issue #14 §5), over the real router and store (SQLite
and PostgreSQL): "hva vet du om meg" lists what is stored by section, "slett dataene mine" (and
nynorsk "slett dataa mine", English "delete my data") asks first and erases only after the asker
presses "Ja, slett alt", saying what went; "Avbryt" keeps everything; a confirmation pressed by
someone else deletes nothing; asked in a channel, the bot answers that it takes this in a direct
message; a sentence that merely contains the words still goes to the FAQ and its acute pass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dialogs.app import build_router
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.messages import Reply, Turn
from dialogs.privacy import A_CANCEL, A_DELETE
from dialogs.router import Router
from storage import directory
from storage.contacts import remember_unit
from storage.privacy import Person, export_person
from storage.records import Holder
from storage.repositories import Store
from storage.users import set_user_language

TENANT = "slack:TPRIVCHAT"
ME = "UKARI"
KEY = b"s" * 32


@pytest.fixture
async def router(store: Store) -> AsyncIterator[Router]:
    await ensure_tenant_setup(store, TENANT, platform="slack")
    await directory.replace_holders(
        store, TENANT, [Holder("bts-kontakt", "Nord skole", "slack", ME, "Kari Kontakt")]
    )
    yield build_router(store, survey_key=KEY)


async def say(router: Router, text: str, user: str = ME, direct: bool = True) -> Reply:
    return await router.handle(
        Turn(platform="slack", tenant_id=TENANT, user_id=user, channel_id="D1" if direct else "C1",
             is_direct=direct, text=text)
    )  # fmt: skip


async def press(router: Router, action: str, value: str, user: str = ME) -> Reply:
    return await router.handle(
        Turn(platform="slack", tenant_id=TENANT, user_id=user, channel_id="D1", action=action,
             value=value)
    )  # fmt: skip


async def held(store: Store, user: str = ME) -> dict[str, int]:
    return (await export_person(store, Person(TENANT, "slack", user), KEY)).counts()


async def test_show_then_delete_after_confirmation(router: Router, store: Store) -> None:
    await say(router, "hei")
    assert await remember_unit(store, TENANT, ME, "Nord skole")
    shown = await say(router, "Hva vet du om meg?")
    assert shown.topic == "personvern"
    text = shown.plain_text()
    assert "Dette har jeg lagret om deg" in text
    assert "- Roller i kommunens katalog (også som stedfortreder): 1" in text
    assert "- Virksomheten du ba meg huske: 1" in text
    assert "Anonyme svar" in text
    (ask,) = shown.messages[0].buttons
    asked = await press(router, ask.action, ask.value)
    assert "Vil du at jeg skal slette dette?" in asked.plain_text()
    assert "må kommunen sette inn en ny" in asked.plain_text()  # they hold a role
    yes, no = asked.messages[0].buttons
    assert (yes.label, yes.action, yes.style, no.action) == (
        "Ja, slett alt", A_DELETE, "danger", A_CANCEL,
    )  # fmt: skip
    assert (await held(store))["roles"] == 1, "asking deletes nothing"

    done = await press(router, yes.action, yes.value)
    assert "Slettet" in done.plain_text()
    assert "- Roller i kommunens katalog (også som stedfortreder): 1" in done.plain_text()
    assert await held(store) == {}
    assert await directory.list_holders(store, TENANT) == []
    again = await say(router, "slett meg")  # a new start: only that they write now
    assert "- Språkvalg og når du sist skrev til meg: 1" in again.plain_text()


async def test_nynorsk_english_cancel_and_someone_elses_button(
    router: Router, store: Store
) -> None:
    await say(router, "hei")
    await set_user_language(store, TENANT, ME, "nn")
    asked = await say(router, "Slett dataa mine")
    assert "Vil du at eg skal slette dette?" in asked.plain_text()
    yes, no = asked.messages[0].buttons
    assert (
        "Greitt, eg slettar ingenting." in (await press(router, no.action, no.value)).plain_text()
    )
    assert (await held(store))["roles"] == 1

    await say(router, "hei", user="UOLA")
    stranger = await press(router, yes.action, yes.value, user="UOLA")
    assert "Denne knappen var til en annen" in stranger.plain_text()  # UOLA writes bokmål
    assert (await held(store))["roles"] == 1 and (await held(store, "UOLA"))["user"] == 1

    english = await say(router, "delete my data", user="UOLA")
    assert english.topic == "personvern" and "slette dette" in english.plain_text()


async def test_channel_and_sentences_that_are_no_command(router: Router, store: Store) -> None:
    await say(router, "hei")
    in_channel = await say(router, "slett dataene mine", direct=False)
    assert "direktemelding" in in_channel.plain_text() and not in_channel.messages[0].buttons
    assert (await held(store))["roles"] == 1
    acute = await say(router, "jeg er redd barnet blir slått hjemme, slett meg")
    assert acute.topic != "personvern"
    assert (await held(store))["roles"] == 1
