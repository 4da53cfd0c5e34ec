"""Issue #11 §3: "Meld feil eller forslag" — a one-field form whose text is kept without any user id.

Over the real router in the web chat model: the form round trip from the help menu, a guide step's
"Mer …" screen and the ``tilbakemelding`` FAQ answer; personal data refused (by the router's guard
and again by the handler) with nothing stored; empty and too long texts refused; a forged screen id
stored as "ukjent". The repository on SQLite and PostgreSQL, the table's columns (no user id), and
``bts-bot feedback list`` / ``bts-bot stats`` after a report.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from sqlalchemy import inspect

from dialogs.app import build_router
from dialogs.feedback import A_REPORT, A_REPORT_SEND, ORIGIN_KEY, REPORT_FIELD
from dialogs.messages import Message, Reply, Turn
from dialogs.router import Router
from storage.conversations import load_state
from storage.db import create_engine
from storage.feedback_models import REPORT_MAX_CHARS, FeedbackReport
from storage.feedback_reports import add_report, count_reports, list_reports
from storage.repositories import Store
from storage.users import ensure_tenant
from tests.admin.test_cli import bts

USER = "u1"


def say(text: str) -> Turn:
    return Turn("web", "local", USER, "c1", text=text)


def press(action: str, value: str = "") -> Turn:
    return Turn("web", "local", USER, "c1", action=action, value=value)


def submit(text: str) -> Turn:
    return Turn("web", "local", USER, "c1", action=A_REPORT_SEND, form_values={REPORT_FIELD: text})


def last(reply: Reply) -> Message:
    return reply.messages[-1]


def report_value(message: Message) -> str:
    (value,) = [b.value for b in message.buttons if b.action == A_REPORT]
    return value


async def greeted(store: Store) -> Router:
    router = build_router(store)
    await router.handle(say("hei"))
    return router


async def open_form(router: Router, value: str) -> Message:
    form = last(await router.handle(press(A_REPORT, value)))
    assert form.form is not None and form.form.action == A_REPORT_SEND
    (field,) = form.form.fields
    assert (field.name, field.kind, field.max_length) == (REPORT_FIELD, "text", REPORT_MAX_CHARS)
    assert form.buttons[0].action == "guide:acute"
    return form


# the form round trip ---------------------------------------------------------------------------


async def test_report_from_the_help_menu_is_stored_without_user_and_thanked(store: Store) -> None:
    router = await greeted(store)
    menu = last(await router.handle(press("help:menu")))
    await open_form(router, report_value(menu))
    thanks = last(await router.handle(submit("Menyen  burde nevne\n  årshjulet tydeligere ")))
    assert thanks.text.startswith("**Takk!**") and thanks.topic == "tilbakemelding"
    assert thanks.buttons[0].action == "guide:acute"
    (stored,) = await list_reports(store, "local")
    assert (stored.origin, stored.lang) == ("hjelp", "nb")
    assert stored.text == "Menyen burde nevne\nårshjulet tydeligere"
    assert ORIGIN_KEY not in (await load_state(store, "local", USER)).data


async def test_report_from_a_guide_step_names_the_step_and_back_returns_to_it(
    store: Store,
) -> None:
    router = await greeted(store)
    await router.handle(press("guide:goto", "n1_mote"))
    more = last(await router.handle(press("guide:more", "n1_mote")))
    assert more.topic == "uro:n1_mote:mer" and len(more.buttons) <= 6
    await open_form(router, report_value(more))
    await router.handle(submit("Steg 2 sier ikke hvem som kaller inn"))
    back = last(await router.handle(press("help:back")))
    assert back.topic == "uro:n1_mote", "the guide position survived the form"
    (stored,) = await list_reports(store, "local")
    assert stored.origin == "uro:n1_mote"


async def test_the_tilbakemelding_answer_is_found_and_opens_the_form(store: Store) -> None:
    router = await greeted(store)
    for question in (
        "hvordan gir jeg tilbakemelding",
        "meld feil",
        "korleis gir eg tilbakemelding",
    ):
        reply = await router.handle(say(question))
        assert reply.topic == "tilbakemelding", question
    answer = last(await router.handle(say("jeg vil melde en feil i boten")))
    await open_form(router, report_value(answer))
    await router.handle(submit("Forslag: vis fristene i egen liste"))
    assert [r.origin for r in await list_reports(store, "local")] == ["tilbakemelding"]


async def test_nynorsk_report_keeps_its_language(store: Store) -> None:
    router = await greeted(store)
    await router.handle(press("lang:set", "nn"))
    menu = last(await router.handle(press("help:menu")))
    form = await open_form(router, report_value(menu))
    assert "Meld feil eller forslag" in form.text and "Eg lagrar" in form.text
    await router.handle(submit("Rettleiaren manglar ei oversikt over fristane"))
    assert [r.lang for r in await list_reports(store, "local")] == ["nn"]


# what is refused -------------------------------------------------------------------------------


async def test_personal_data_is_refused_and_nothing_is_kept(store: Store) -> None:
    router = await greeted(store)
    await open_form(router, "hjelp")
    for text in (
        "Ring meg på 912 34 567 om dette",
        "Skriv til kari.hansen@kommune.no",
        "Gjelder Ola Nordmann i 3. klasse",
        "Fødselsnummer 01017010170",
    ):
        refused = last(await router.handle(submit(text)))
        assert refused.topic == "personopplysninger", text
        assert text not in refused.text
    assert await list_reports(store) == []


async def test_the_handler_refuses_personal_data_even_without_the_routers_guard(
    store: Store,
) -> None:
    router = await greeted(store)
    router.hooks = replace(router.hooks, text_guard=None)
    await open_form(router, "hjelp")
    refused = last(await router.handle(submit("Ring meg på 912 34 567")))
    assert refused.form is not None and "personopplysninger" in refused.text
    assert await list_reports(store) == []


async def test_empty_and_too_long_texts_are_refused(store: Store) -> None:
    router = await greeted(store)
    await open_form(router, "hjelp")
    empty = last(await router.handle(submit("   ")))
    assert empty.form is not None and "Skriv noen ord" in empty.text
    long = last(await router.handle(submit("forslag " * 200)))
    assert long.form is not None and str(REPORT_MAX_CHARS) in long.text
    assert await list_reports(store) == []


async def test_a_forged_screen_id_is_stored_as_unknown(store: Store) -> None:
    router = await greeted(store)
    await open_form(router, "<script>alert(1)</script>")
    await router.handle(submit("Knappen virket ikke"))
    (stored,) = await list_reports(store)
    assert stored.origin == "ukjent"


# storage, both backends ------------------------------------------------------------------------


async def test_reports_per_tenant_newest_first_and_capped(store: Store) -> None:
    for tenant in ("local", "slack:T1"):
        await ensure_tenant(store, tenant, "local", tenant)
    first = await add_report(store, tenant_id="local", lang="nb", origin="hjelp", text="en")
    second = await add_report(store, tenant_id="local", lang="nn", origin="uro:n0_del", text="to")
    await add_report(store, tenant_id="slack:T1", lang="nb", origin="ukjent", text="tre")
    assert [r.id for r in await list_reports(store, "local")] == [second, first]
    assert len(await list_reports(store)) == 3 and await count_reports(store) == 3
    assert await count_reports(store, "slack:T1") == 1
    for bad in ("", "x" * (REPORT_MAX_CHARS + 1)):
        try:
            await add_report(store, tenant_id="local", lang="nb", origin="hjelp", text=bad)
        except ValueError:
            continue
        raise AssertionError(f"stored a report of {len(bad)} characters")
    full = await add_report(
        store, tenant_id="local", lang="nb", origin="hjelp", text="æ" * REPORT_MAX_CHARS
    )
    assert full in [r.id for r in await list_reports(store, "local")]


async def test_the_table_has_no_user_column(db_url: str) -> None:
    allowed = {"id", "tenant_id", "created_at", "lang", "origin", "text"}
    assert {c.name for c in FeedbackReport.__table__.columns} == allowed
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("feedback_reports")}
            )
    finally:
        await engine.dispose()
    assert columns == allowed, "the migration made the same table as the model"
    assert not any(word in c for c in columns for word in ("user", "channel", "platform"))


# the admin commands ----------------------------------------------------------------------------


async def test_feedback_list_and_stats_show_the_reports(tmp_path: Path) -> None:
    assert bts(tmp_path, "db", "upgrade").returncode == 0
    assert bts(tmp_path, "feedback", "list").stdout.strip() == "no reports yet (all tenants)"
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bts-bot.sqlite3'}")
    try:
        router = await greeted(Store(engine))
        await router.handle(press(A_REPORT, "uro:n2_plan"))
        await router.handle(submit("Stafettloggen kommer inn for sent hos oss"))
    finally:
        await engine.dispose()

    listed = json.loads(bts(tmp_path, "feedback", "list", "--json").stdout)
    (row,) = listed["reports"]
    assert (row["tenant"], row["lang"], row["origin"]) == ("local", "nb", "uro:n2_plan")
    assert row["text"] == "Stafettloggen kommer inn for sent hos oss"
    assert set(row) == {"id", "tenant", "created_at", "lang", "origin", "text"}
    plain = bts(tmp_path, "feedback", "list", "--tenant", "local").stdout
    assert "uro:n2_plan" in plain and "Stafettloggen kommer inn for sent hos oss" in plain
    other = bts(tmp_path, "feedback", "list", "--tenant", "slack:T0NONE").stdout
    assert other.strip() == "no reports yet (slack:T0NONE)"
    assert json.loads(bts(tmp_path, "stats", "--json").stdout)["reports"] == 1
    assert "1 report(s)" in bts(tmp_path, "stats").stdout
