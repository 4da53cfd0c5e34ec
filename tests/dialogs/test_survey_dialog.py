"""Answering a survey over the real router (web chat model, SQLite and PostgreSQL): "Svar nå"
opens the form with the anonymity notice and the acute exit, a submit stores the answer, a second
one replaces it, misfits and personal data show the form again with nothing stored, and closed
runs, strangers and forged run ids are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.platforms.slack.render import render_message as slack_message
from bot.platforms.teams.render import render_card as teams_card
from dialogs.app import build_router
from dialogs.messages import Message, Reply, Turn
from dialogs.router import Router
from dialogs.surveys.dialog import A_ANSWER, A_MINE, A_OPEN
from dialogs.surveys.model import load_templates
from storage import surveys
from storage.repositories import Store
from storage.surveys import Recipient, Run
from storage.users import ensure_tenant

KEY = b"s" * 32
NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
PULS = load_templates()["puls"]


def press(action: str, value: str = "", user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", action=action, value=value)


def submit(run_id: str, values: dict[str, str], user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", action=A_ANSWER, value=run_id, form_values=values)


def last(reply: Reply) -> Message:
    return reply.messages[-1]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def setup(
    store: Store, template: Any = PULS, anonymity: str = "anonymous"
) -> tuple[Router, Run, Clock]:
    await ensure_tenant(store, "local", "local", "local")
    clock = Clock()
    router = build_router(store, clock=clock, survey_key=KEY)
    run, _ = await surveys.launch(
        store,
        tenant_id="local",
        template_key=template.key,
        template=template.model_dump(mode="json"),
        anonymity=anonymity,
        audience={"kind": "all"},
        recipients=[Recipient("web", f"u{i}", "Sortland skole") for i in range(1, 7)],
        opens_at=NOW,
        closes_at=NOW + timedelta(days=7),
        min_group=5,
    )
    return router, run, clock


async def test_svar_na_opens_the_form_says_how_anonymous_it_is_and_keeps_the_acute_exit(
    store: Store,
) -> None:
    router, run, _ = await setup(store)
    form = last(await router.handle(press(A_OPEN, run.id)))
    assert form.form is not None and form.form.action == A_ANSWER and form.form.value == run.id
    assert [f.name for f in form.form.fields] == ["trygg", "anbefale", "hjelpe-mest"]
    assert [f.kind for f in form.form.fields] == ["scale", "scale", "text"]
    trygg = form.form.fields[0]
    assert trygg.options[0].label.startswith("1 – ") and trygg.options[2].label == "3"
    assert len(form.form.fields[1].options) == 11 and form.form.fields[2].required is False
    assert "anonyme" in form.text and "minst 5" in form.text and "Svarfrist" in form.text
    assert form.buttons[0].action == "guide:acute"


async def test_a_submit_is_stored_once_and_a_second_one_replaces_it(store: Store) -> None:
    router, run, _ = await setup(store)
    thanks = last(
        await router.handle(submit(run.id, {"trygg": "4", "anbefale": "9", "hjelpe-mest": ""}))
    )
    assert "Takk for svaret" in thanks.text and thanks.buttons[0].action == "guide:acute"
    assert any(b.action == A_OPEN and b.value == run.id for b in thanks.buttons)
    again = last(await router.handle(press(A_OPEN, run.id)))
    assert "erstatter" in again.text
    await router.handle(submit(run.id, {"trygg": "2", "anbefale": "3", "hjelpe-mest": "Mer tid"}))
    answers = await surveys.answers(store, "local", run.id)
    assert [a.values for a in answers] == [{"trygg": 2, "anbefale": 3, "hjelpe-mest": "Mer tid"}]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"trygg": "7", "anbefale": "9"}, "høyst 5"),
        ({"trygg": "", "anbefale": "9"}, "Svar på «"),
        ({"trygg": "3", "anbefale": "ti"}, "helt tall"),
    ],
)
async def test_a_misfit_shows_the_form_again_with_what_to_fix(
    store: Store, values: dict[str, str], says: str
) -> None:
    router, run, _ = await setup(store)
    reply = last(await router.handle(submit(run.id, values)))
    assert reply.form is not None and says in reply.text
    assert await surveys.answer_count(store, run.id) == 0


async def test_a_misfit_keeps_what_fitted_and_names_the_field_that_did_not(store: Store) -> None:
    router, run, _ = await setup(store)
    values = {"trygg": "4", "anbefale": "11", "hjelpe-mest": "Mer tid"}
    reply = await router.handle(submit(run.id, values))
    form = last(reply).form
    assert form is not None
    # The answers that fitted are filled in again; the one that did not is asked afresh.
    assert dict(form.values) == {"trygg": "4", "hjelpe-mest": "Mer tid"}
    ((field, problem),) = reply.field_errors
    assert field == "anbefale" and "høyst 10" in problem
    # Every platform shows the form filled in: Slack, Teams and the web chat's JSON.
    slack = {b.get("block_id"): b for b in slack_message(last(reply)).blocks}
    assert slack["field:trygg"]["element"]["initial_option"]["value"] == "4"
    assert slack["field:hjelpe-mest"]["element"]["initial_value"] == "Mer tid"
    assert "initial_option" not in slack["field:anbefale"]["element"]
    inputs = {e["id"]: e for e in teams_card(last(reply))["body"] if e.get("id")}
    assert inputs["trygg"]["value"] == "4" and "value" not in inputs["anbefale"]
    as_json = json.loads(json.dumps(last(reply).to_dict()))
    assert ["hjelpe-mest", "Mer tid"] in as_json["form"]["values"]


async def test_personal_data_in_a_free_text_answer_stores_nothing(store: Store) -> None:
    router, run, _ = await setup(store)
    values = {"trygg": "3", "anbefale": "5", "hjelpe-mest": "Snakk med Kari Nordmann, 12057812345"}
    reply = last(await router.handle(submit(run.id, values)))
    assert "Takk for svaret" not in reply.text
    assert "Kari" not in reply.text and "12057812345" not in reply.text
    assert await surveys.answer_count(store, run.id) == 0
    # A form that stays open (a Slack modal) gets the refusal at the field it is about.
    refused = await router.handle(submit(run.id, values))
    assert [name for name, _ in refused.field_errors] == ["hjelpe-mest"]
    assert "Kari" not in str(refused.field_errors)


async def test_closed_runs_strangers_and_forged_ids_are_refused(store: Store) -> None:
    router, run, clock = await setup(store)
    stranger = last(await router.handle(press(A_OPEN, run.id, user="someone-else")))
    assert "ikke sendt til deg" in stranger.text and stranger.form is None
    forged = last(await router.handle(press(A_OPEN, "0" * 32)))
    assert "finner ikke" in forged.text
    ok = {"trygg": "3", "anbefale": "5"}
    assert "finner ikke" in last(await router.handle(submit("", ok))).text
    clock.now = NOW + timedelta(days=8)
    late = last(await router.handle(submit(run.id, ok)))
    assert "stengt" in late.text
    assert await surveys.answer_count(store, run.id) == 0


async def test_nynorsk_users_get_the_form_in_nynorsk(store: Store) -> None:
    router, run, _ = await setup(store)
    await router.handle(Turn("web", "local", "u2", "c1", action="lang:set", value="nn"))
    form = last(await router.handle(press(A_OPEN, run.id, user="u2")))
    assert "Svara er anonyme" in form.text and form.form is not None
    assert form.form.fields[0].label == PULS.questions[0].text.nn


async def test_a_unit_report_says_it_is_not_anonymous(store: Store) -> None:
    router, run, _ = await setup(store, load_templates()["halvarsrapport"], "unit")
    form = last(await router.handle(press(A_OPEN, run.id)))
    assert "enhetens rapport" in form.text and form.form is not None
    numbers = [f for f in form.form.fields if f.kind == "number"]
    assert numbers and all(f.minimum == 0 for f in numbers)
    multi = next(f for f in form.form.fields if f.kind == "multi")
    values = {f.name: "1" for f in numbers} | {
        multi.name: f"{multi.options[0].value},{multi.options[1].value}"
    }
    thanks = last(await router.handle(submit(run.id, values)))
    assert "Takk" in thanks.text
    (answer,) = await surveys.answers(store, "local", run.id)
    assert answer.unit == "Sortland skole" and answer.respondent == "u1"
    assert answer.values[multi.name] == [multi.options[0].value, multi.options[1].value]


async def test_mine_undersokelser_lists_the_open_surveys_i_was_asked(store: Store) -> None:
    router, run, clock = await setup(store)
    typed = last(await router.handle(Turn("web", "local", "u1", "c1", text="mine undersøkelser")))
    assert typed.buttons[0].action == "guide:acute"
    (button,) = [b for b in typed.buttons if b.action == A_OPEN]
    assert button.value == run.id and button.label.startswith("Puls")
    stranger = last(await router.handle(press(A_MINE, user="someone-else")))
    assert "ingen åpne undersøkelser" in stranger.text
    clock.now = NOW + timedelta(days=8)  # past the close: nothing to answer any more
    assert "ingen åpne" in last(await router.handle(press(A_MINE))).text


async def test_the_faq_answer_about_surveys_leads_to_mine(store: Store) -> None:
    router, _run, _ = await setup(store)
    answer = last(
        await router.handle(
            Turn(
                "web", "local", "u1", "c1", text="hvordan svarer jeg på en undersøkelse i chatten?"
            )
        )
    )
    assert any(b.action == A_MINE for b in answer.buttons), answer.text
