"""BTS-kontakt directory: the repository (both backends), the chat answer over the real router, the
``contacts import|export`` commands, and one web chat run against the real server."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from bot.platforms.slack import render as slack_render
from bot.platforms.teams import render as teams_render
from dialogs.app import build_router
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup
from dialogs.contacts import unit_token
from dialogs.messages import Message, Reply, Turn
from dialogs.pii import find_personal_data
from dialogs.router import Router
from storage import contacts as repo
from storage import directory
from storage.contacts_models import UserUnit
from storage.repositories import Store
from storage.users import set_user_language
from tests.admin.test_cli import bts
from tests.platforms.test_teams import assert_valid_card
from tests.support.server import BotServer

KARI = repo.Contact(
    Holder("bts-kontakt", "Sortland skole", "slack", "U1", "Kari Hansen"),
    phone="12 34 56 78",
    email="kari.hansen@sortland.kommune.no",
)
PER = repo.Contact(Holder("bts-kontakt", "Hadsel barnehage", "slack", "U2", "Per Olsen"))
# A unit whose name the personal-data guard reads as a person's name: it must still be choosable.
NAMED_UNIT = "Kari Nordmann barnehage"
COORDINATOR = Holder("bts-koordinator", None, "slack", "UK", "Anne Berg")


def contact(unit: str | None, name: str, user: str, phone: str = "") -> repo.Contact:
    return repo.Contact(Holder("bts-kontakt", unit, "slack", user, name), phone=phone)


async def setup_tenant(store: Store, *contacts: repo.Contact, tenant: str = "local") -> None:
    await ensure_tenant_setup(store, tenant)
    if contacts:
        await repo.replace_contacts(store, tenant, contacts)


# repository ----------------------------------------------------------------------------------------


async def test_replace_contacts_swaps_only_bts_kontakter(store: Store) -> None:
    await ensure_tenant_setup(store, "local")
    leader = Holder("virksomhetsleder", "Sortland skole", "teams", "T9", "Leder")
    await directory.replace_holders(store, "local", [COORDINATOR, leader])
    await repo.replace_contacts(store, "local", [KARI, PER])
    assert [
        (c.unit, c.name, c.phone, c.email) for c in await repo.list_contacts(store, "local")
    ] == [
        ("Sortland skole", "Kari Hansen", "12 34 56 78", "kari.hansen@sortland.kommune.no"),
        ("Hadsel barnehage", "Per Olsen", "", ""),
    ]
    assert set(await directory.list_units(store, "local")) == {"Sortland skole", "Hadsel barnehage"}
    await repo.replace_contacts(store, "local", [contact("Melbu skole", "Ola Olsen", "U3")])
    assert [c.name for c in await repo.list_contacts(store, "local")] == ["Ola Olsen"]
    others = {(h.role, h.user_id) for h in await directory.list_holders(store, "local")}
    assert others == {("bts-koordinator", "UK"), ("virksomhetsleder", "T9"), ("bts-kontakt", "U3")}
    assert [c.name for c in await repo.list_coordinators(store, "local")] == ["Anne Berg"]


async def test_replace_contacts_is_all_or_nothing(store: Store) -> None:
    await setup_tenant(store, KARI)
    clash = repo.Contact(
        Holder("bts-kontakt", "Melbu skole", "slack", "U1", "Kari Hansen"), phone="99 99 99 99"
    )
    with pytest.raises(ValueError, match="different phone"):
        await repo.replace_contacts(store, "local", [PER, KARI, clash])
    with pytest.raises(ValueError, match="not a bts-kontakt"):
        await repo.replace_contacts(store, "local", [repo.Contact(COORDINATOR)])
    assert [c.name for c in await repo.list_contacts(store, "local")] == ["Kari Hansen"]
    assert "Hadsel barnehage" not in await directory.list_units(store, "local")


async def test_work_details_stay_with_the_person_through_a_roles_import(store: Store) -> None:
    await setup_tenant(store, KARI)
    # ``roles import`` replaces every holder; the same person keeps their phone and e-mail.
    await directory.replace_holders(store, "local", [KARI.holder, COORDINATOR])
    [kari] = await repo.list_contacts(store, "local")
    assert (kari.phone, kari.email) == (KARI.phone, KARI.email)


async def test_remembered_unit_is_user_id_and_unit_only(store: Store) -> None:
    await setup_tenant(store, KARI, PER)
    assert await repo.remembered_unit(store, "local", "u1") is None
    assert not await repo.remember_unit(store, "local", "u1", "Finnes ikke skole")
    assert await repo.remember_unit(store, "local", "u1", "Sortland skole")
    assert await repo.remember_unit(store, "local", "u1", "Hadsel barnehage")  # replaces
    assert await repo.remembered_unit(store, "local", "u1") == "Hadsel barnehage"
    async with store.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("user_units")}
        )
    assert columns == {"tenant_id", "platform_user_id", "unit", "updated_at"}
    assert await repo.forget_unit(store, "local", "u1")
    assert not await repo.forget_unit(store, "local", "u1")
    assert await repo.remembered_unit(store, "local", "u1") is None


# the chat answer -----------------------------------------------------------------------------------


def say(text: str, user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", text=text)


def press(action: str, value: str = "", user: str = "u1", **form: str) -> Turn:
    return Turn("web", "local", user, "c1", action=action, value=value, form_values=form)


def only(reply: Reply) -> Message:
    assert len(reply.messages) == 1, [m.text[:60] for m in reply.messages]
    return reply.messages[0]


def button(message: Message, action: str) -> tuple[str, str]:
    found = [(b.action, b.value) for b in message.buttons if b.action == action]
    assert found, f"no {action} button in {[b.action for b in message.buttons]}"
    return found[0]


async def greeted(store: Store, user: str = "u1") -> Router:
    router = build_router(store)
    await router.handle(say("hei", user))
    return router


async def test_empty_directory_says_so_and_names_the_coordinator(store: Store) -> None:
    await setup_tenant(store)
    router = await greeted(store)
    reply = await router.handle(say("hvem er bts-kontakt hos oss?"))
    text = only(reply).text
    assert reply.topic == "bts-kontakt"
    assert "ikke lagt inn BTS-kontaktene" in text and "Spør lederen din" in text
    assert "BTS-koordinatoren:" not in text  # none known: none invented
    await directory.replace_holders(store, "local", [COORDINATOR])
    text = only(await router.handle(say("hvem er bts-kontakt hos oss?"))).text
    assert "Du kan også spørre BTS-koordinatoren: Anne Berg." in text


async def test_choose_remember_and_forget_the_unit(store: Store) -> None:
    await setup_tenant(store, KARI, PER)
    router = await greeted(store)
    ask = only(await router.handle(say("hvem er bts-kontakt hos oss?")))
    assert ask.form is not None and ask.form.action == "contacts:chosen"
    options = {o.label: o.value for o in ask.form.fields[0].options}
    assert list(options) == ["Hadsel barnehage", "Sortland skole"]
    assert not any(b.action.startswith("feedback:") for b in ask.buttons), "a question, no vote"

    shown = only(await router.handle(press("contacts:chosen", unit=options["Sortland skole"])))
    # The answer first, with "på": who it is, then how to reach them.
    assert shown.text.startswith("**BTS-kontakt på Sortland skole er Kari Hansen.**")
    assert "- Kari Hansen · tlf. 12 34 56 78 · e-post kari.hansen@sortland.kommune.no" in shown.text
    assert "Per Olsen" not in shown.text
    assert await repo.remembered_unit(store, "local", "u1") is None, "remembered only when asked"

    remembered = only(await router.handle(press(*button(shown, "contacts:remember"))))
    assert "jeg husker at du jobber i Sortland skole" in remembered.text
    assert await repo.remembered_unit(store, "local", "u1") == "Sortland skole"

    again = only(await router.handle(say("hvem er bts-kontakt?")))
    assert "Kari Hansen" in again.text and again.form is None
    assert "Du jobber i Sortland skole" in again.text
    assert {b.action for b in again.buttons} >= {"contacts:choose", "contacts:all", "feedback:up"}

    forgot = only(await router.handle(press("contacts:forget")))
    assert "glemt" in forgot.text and forgot.form is not None
    assert await repo.remembered_unit(store, "local", "u1") is None
    async with store.sessions() as session:
        assert (await session.scalars(select(UserUnit))).all() == []


async def test_unit_named_in_the_question_wins(store: Store) -> None:
    await setup_tenant(store, KARI, PER)
    router = await greeted(store)
    await repo.remember_unit(store, "local", "u1", "Sortland skole")
    reply = only(await router.handle(say("Hvem er BTS-kontakt i Hadsel barnehage?")))
    assert "Per Olsen" in reply.text and "Kari" not in reply.text


async def test_show_all_units_with_gaps_and_tenant_wide_contacts(store: Store) -> None:
    await setup_tenant(store, KARI, PER, contact(None, "Kommunens BTS-kontakt", "U7"))
    await directory.replace_holders(
        store,
        "local",
        [*(c.holder for c in await repo.list_contacts(store, "local")), COORDINATOR],
    )
    await repo.remember_unit(store, "local", "u1", "Hadsel barnehage")
    router = await greeted(store)
    listing = only(await router.handle(press("contacts:all"))).text
    lines = listing.splitlines()
    assert lines[0] == "**BTS-kontakter i kommunen**"
    assert lines.index("**Hadsel barnehage**") < lines.index("**Sortland skole**")
    assert "**Hele kommunen**" in lines and "- Kommunens BTS-kontakt" in lines


async def test_unit_without_contact_falls_back_to_tenant_wide_and_coordinator(
    store: Store,
) -> None:
    await setup_tenant(store, KARI)
    await directory.replace_holders(
        store,
        "local",
        [
            KARI.holder,
            COORDINATOR,
            Holder("virksomhetsleder", "Melbu skole", "slack", "U8", "Leder"),
        ],
    )
    router = await greeted(store)
    shown = only(await router.handle(press("contacts:chosen", unit=unit_token("Melbu skole"))))
    assert "Melbu skole har ingen BTS-kontakt i katalogen ennå." in shown.text
    assert "Du kan også spørre BTS-koordinatoren: Anne Berg." in shown.text


async def test_unit_that_looks_like_a_name_can_be_chosen(store: Store) -> None:
    assert find_personal_data(NAMED_UNIT), "the premise: the guard reads this as a name"
    await setup_tenant(store, contact(NAMED_UNIT, "Liv Berg", "U5"))
    router = await greeted(store)
    shown = only(await router.handle(press("contacts:chosen", unit=unit_token(NAMED_UNIT))))
    assert "Liv Berg" in shown.text


async def test_forged_or_stale_unit_asks_again(store: Store) -> None:
    await setup_tenant(store, KARI)
    router = await greeted(store)
    reply = only(await router.handle(press("contacts:chosen", unit="zzzzzzzzzz")))
    assert "finner jeg ikke" in reply.text and reply.form is not None
    reply = only(await router.handle(press("contacts:remember", "Sortland skole")))  # a name
    assert "finner jeg ikke" in reply.text
    assert await repo.remembered_unit(store, "local", "u1") is None


async def test_nynorsk(store: Store) -> None:
    await setup_tenant(store, KARI)
    router = await greeted(store)
    await set_user_language(store, "local", "u1", "nn")
    ask = only(await router.handle(say("kven er bts-kontakt hos oss?")))
    assert "Kvar verksemd" in ask.text and ask.form is not None
    assert ask.form.fields[0].label == "Verksemd"
    shown = only(await router.handle(press("contacts:chosen", unit=unit_token("Sortland skole"))))
    assert {b.label for b in shown.buttons} >= {"Hugs valet", "Vel verksemd", "Vis alle"}


async def test_answers_render_on_slack_and_teams(store: Store) -> None:
    units = [contact(f"Skole nr {n}", f"Kontakt {n}", f"U{n}", "12 34 56 78") for n in range(12)]
    await setup_tenant(store, *units)
    router = await greeted(store)
    ask = only(await router.handle(say("hvem er bts-kontakt?")))
    shown = only(await router.handle(press("contacts:chosen", unit=unit_token("Skole nr 3"))))
    listing = only(await router.handle(press("contacts:all")))
    for message in (ask, shown, listing):
        assert slack_render.render_message(message).blocks  # slack_sdk validates every limit
        assert_valid_card(teams_render.render_card(message, "nb"))
    blocks = slack_render.render_message(ask).blocks
    [select] = [b["element"] for b in blocks if "element" in b]
    assert len(select["options"]) == 12


# CLI -----------------------------------------------------------------------------------------------


GOOD_CSV = """\
enhet,navn,plattform,bruker_id,stedfortreder_id,telefon,epost
Sortland skole,Kari Hansen,slack,U1,U9,12 34 56 78,kari.hansen@sortland.kommune.no
Hadsel barnehage,Per Olsen,slack,U2,,,
Stokmarknes skole,Kari Hansen,slack,U1,,12 34 56 78,kari.hansen@sortland.kommune.no
"""

BAD_CSV = """\
enhet,navn,plattform,bruker_id,telefon,epost
Sortland skole,Kari Hansen,slack,U1,12 34 56 78,
Sortland skole,Kari Hansen,slack,U1,12 34 56 78,
Melbu skole,,teams,U3,12,ikke-en-adresse
Melbu skole,Ola,fax,U4,,
Stokmarknes skole,Kari Hansen,slack,U1,99 99 99 99,
"""


def test_import_lists_every_bad_row_and_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text(BAD_CSV, encoding="utf-8")
    result = bts(tmp_path, "contacts", "import", "bad.csv", "--yes")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "bad.csv: row 3: the same person holds this role in this unit twice",
        "bad.csv: row 4: navn is empty; telefon '12' is not a phone number; "
        "epost 'ikke-en-adresse' is not an e-mail address",
        "bad.csv: row 5: plattform must be one of slack, teams, web, local",
        "bad.csv: row 6: telefon/epost differ from row 2 for the same person",
        "nothing was imported",
    ]
    export = bts(tmp_path, "contacts", "export")
    assert export.stdout.splitlines() == [
        "enhet,navn,plattform,bruker_id,stedfortreder_id,telefon,epost"
    ]
    (tmp_path / "header.csv").write_text("enhet,navn\nX,Y\n", encoding="utf-8")
    header = bts(tmp_path, "contacts", "import", "header.csv", "--yes")
    assert header.returncode == 1 and "missing column(s) plattform, bruker_id;" in header.stderr
    missing = bts(tmp_path, "contacts", "import", "finnes-ikke.csv", "--yes")
    assert missing.returncode == 2 and "cannot read finnes-ikke.csv" in missing.stderr


def test_import_export_round_trip_and_ask(tmp_path: Path) -> None:
    (tmp_path / "kontakter.csv").write_text(GOOD_CSV, encoding="utf-8")
    result = bts(tmp_path, "contacts", "import", "kontakter.csv", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Legges til (3):" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "imported 3 BTS-kontakt(er) in 3 unit(s)"
    export = bts(tmp_path, "contacts", "export")
    assert export.stdout == GOOD_CSV
    (tmp_path / "again.csv").write_text(export.stdout, encoding="utf-8")
    assert bts(tmp_path, "contacts", "import", "again.csv", "--yes").returncode == 0
    assert bts(tmp_path, "contacts", "export").stdout == GOOD_CSV
    bts(tmp_path, "ask", "hei")
    answer = json.loads(
        bts(tmp_path, "ask", "hvem er bts-kontakt på Hadsel barnehage", "--json").stdout
    )
    assert answer["topic"] == "bts-kontakt" and "Per Olsen" in answer["answer"]
    roles = bts(tmp_path, "roles", "export").stdout
    assert "bts-kontakt,Sortland skole,slack,U1,Kari Hansen,U9" in roles, "one truth with roles"


# web chat against the real server ------------------------------------------------------------------


def web_turn(server: BotServer, session: str, **payload: Any) -> dict[str, Any]:
    body = json.dumps({"session": session, **payload}).encode()
    request = urllib.request.Request(
        server.base_url + "/api/webchat/turn",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as resp:
        reply: dict[str, Any] = json.loads(resp.read())["reply"]
    return reply


def test_web_chat_choose_remember_and_rate(
    tmp_path: Path, bot_server: Callable[..., BotServer]
) -> None:
    data_dir = tmp_path / "botdata"  # the bot_server fixture's folder: the same SQLite database
    data_dir.mkdir(exist_ok=True)
    (data_dir / "kontakter.csv").write_text(GOOD_CSV, encoding="utf-8")
    data = {"DATA_DIR": str(data_dir)}
    assert bts(data_dir, "contacts", "import", "kontakter.csv", "--yes", **data).returncode == 0
    server = bot_server()
    session = "contacts-web-1"
    web_turn(server, session, text="hei")
    [ask] = web_turn(server, session, text="Hvem er BTS-kontakt hos oss?")["messages"]
    field = ask["form"]["fields"][0]
    token = {o["label"]: o["value"] for o in field["options"]}["Hadsel barnehage"]
    reply = web_turn(server, session, action="contacts:chosen", form={field["name"]: token})
    [shown] = reply["messages"]
    assert "Per Olsen" in shown["text"] and reply["replace"] is True
    buttons = {b["action"]: b["value"] for b in shown["buttons"]}
    web_turn(server, session, action="contacts:remember", value=buttons["contacts:remember"])
    [later] = web_turn(server, session, text="hvem er bts-kontakt?")["messages"]
    assert "Du jobber i Hadsel barnehage" in later["text"]
    vote = {b["action"]: b["value"] for b in later["buttons"]}["feedback:up"]
    [thanked] = web_turn(server, session, action="feedback:up", value=vote)["messages"]
    assert "Takk for svaret" in thanked["text"] and "Per Olsen" in thanked["text"]
    assert not any(b["action"].startswith("feedback:") for b in thanked["buttons"])
    stats = json.loads(bts(data_dir, "stats", "--json", **data).stdout)
    assert stats["rows"] == [
        {
            "kind": "topic",
            "key": "bts-kontakt",
            "up": 1,
            "down": 0,
            "share_useful": 1.0,
            "by_lang": {"nb": {"up": 1, "down": 0}},
        }
    ]
