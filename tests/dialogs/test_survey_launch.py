"""Launching a survey run (SQLite and PostgreSQL): the audience, the outbox rows it plans (invite,
two nudges), which rows are no longer wanted when due, closing, and the messages those rows become
(invitation with "Svar nå", nudge, and the summary under the minimum group rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.content import Content
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.launch import Audience, AudienceError
from dialogs.surveys.model import load_templates
from dialogs.surveys.notices import render_survey_notice
from storage import directory, outbox, surveys
from storage.outbox import Notice
from storage.outbox_models import OutboxKind
from storage.records import Holder
from storage.repositories import Store
from storage.surveys import LaunchRefused

KEY = b"l" * 32
TENANT = "slack:T1"
NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
CLOSES = NOW + timedelta(days=10)
TEMPLATES = load_templates()
CONTENT = Content.load()


async def tenant(store: Store, leaders: int = 6) -> None:
    await directory.setup_tenant(
        store, TENANT, template="hadsel", roles=[], tasks=[], timezone="Europe/Oslo",
        platform="slack",
    )  # fmt: skip
    for i in range(leaders):
        unit = "Sortland skole" if i % 2 else "Lia barnehage"
        await directory.put_holder(
            store, TENANT, Holder("virksomhetsleder", unit, "slack", f"L{i}")
        )
    # Away, with a deputy: the deputy gets it.
    await directory.put_holder(
        store,
        TENANT,
        Holder(
            "virksomhetsleder", "Kvitnes skole", "slack", "AWAY", deputy_user_id="DEP", absent=True
        ),
    )


async def start(store: Store, key: str = "puls", **kw: object) -> surveys.Run:
    run, new = await survey_launch.launch(
        store,
        tenant_id=TENANT,
        template=TEMPLATES[key],
        audience=Audience.parse("role:virksomhetsleder"),
        closes_at=CLOSES,
        now=NOW,
        min_group=5,
        **kw,  # type: ignore[arg-type]
    )
    assert new
    return run


def test_audiences_are_parsed_or_refused_with_what_to_write() -> None:
    assert Audience.parse("role:bts-kontakt", ["Lia"]) == Audience("role", "bts-kontakt", ("Lia",))
    assert Audience.parse("all") == Audience("all")
    assert Audience.parse("users:U1, U2") == Audience("users", "U1,U2")
    assert Audience.parse("channel:C1", ["Lia"]) == Audience("channel", "C1", ("Lia",))
    with pytest.raises(AudienceError, match="role:NAME"):
        Audience.parse("alle sammen")


async def test_a_launch_plans_an_invitation_and_two_nudges_for_everyone_once(store: Store) -> None:
    await tenant(store)
    run = await start(store, launch_key="arshjul:x:2026-09-01")
    people = {r.platform_user_id for r in await surveys.recipients(store, run.id)}
    assert people == {f"L{i}" for i in range(6)} | {"DEP"}
    invites = await outbox.list_items(store, TENANT, kind=OutboxKind.SURVEY.value)
    nudges = await outbox.list_items(store, TENANT, kind=OutboxKind.SURVEY_NUDGE.value)
    assert len(invites) == 7 and {i.send_at for i in invites} == {NOW}
    assert len(nudges) == 14
    assert {n.send_at for n in nudges} == {NOW + timedelta(days=3), CLOSES - timedelta(days=1)}
    again, new = await survey_launch.launch(
        store, tenant_id=TENANT, template=TEMPLATES["puls"],
        audience=Audience.parse("role:virksomhetsleder"), closes_at=CLOSES, now=NOW,
        min_group=5, launch_key="arshjul:x:2026-09-01",
    )  # fmt: skip
    assert (new, again.id) == (False, run.id)
    assert len(await outbox.list_items(store, TENANT)) == 21


async def test_too_small_an_audience_or_an_unknown_role_launches_nothing(store: Store) -> None:
    await tenant(store, leaders=3)
    with pytest.raises(LaunchRefused):
        await start(store)
    with pytest.raises(AudienceError, match="unknown role 'rektor'"):
        await survey_launch.launch(
            store, tenant_id=TENANT, template=TEMPLATES["puls"], audience=Audience.parse("role:rektor"),
            closes_at=CLOSES, now=NOW, min_group=5,
        )  # fmt: skip
    assert await outbox.list_items(store, TENANT) == []
    # A unit's report has no minimum: it names who reported.
    assert (await start(store, "halvarsrapport")).recipients == 4


async def test_nudges_skip_those_who_answered_or_were_nudged_lately_and_stop_at_close(
    store: Store,
) -> None:
    await tenant(store)
    run = await start(store)
    await surveys.submit(
        store, key=KEY, tenant_id=TENANT, run_id=run.id, platform_user_id="L1",
        values={"trygg": 4, "anbefale": 8}, day=NOW.date(), now=NOW,
    )  # fmt: skip
    nudges = {
        (n.target_id, n.send_at): n
        for n in await outbox.list_items(store, TENANT, kind=OutboxKind.SURVEY_NUDGE.value)
    }
    first = NOW + timedelta(days=3)
    at = first + timedelta(minutes=1)
    assert await survey_launch.obsolete(store, KEY, nudges[("L1", first)], at)
    assert not await survey_launch.obsolete(store, KEY, nudges[("L2", first)], at)
    await survey_launch.after_sent(store, nudges[("L2", first)], at)
    # The day-before nudge is more than three days later: it goes; a second one at once would not.
    assert not await survey_launch.obsolete(
        store, KEY, nudges[("L2", CLOSES - timedelta(days=1))], CLOSES - timedelta(days=1)
    )
    assert await survey_launch.obsolete(
        store, KEY, nudges[("L2", CLOSES - timedelta(days=1))], at + timedelta(hours=1)
    )
    (invite,) = [
        i for i in await outbox.list_items(store, TENANT, kind="survey") if i.target_id == "L3"
    ]
    assert not await survey_launch.obsolete(store, KEY, invite, NOW)
    closed = await survey_launch.close_due(store, CLOSES)
    assert [r.id for r in closed] == [run.id]
    assert await survey_launch.obsolete(store, KEY, invite, CLOSES)
    assert await survey_launch.obsolete(store, KEY, nudges[("L2", first)], CLOSES)


def notice(item: outbox.OutboxItem, lang: str = "nb") -> Notice:
    return Notice.of(item, lang)


async def test_the_invitation_has_the_acute_exit_first_and_svar_na(store: Store) -> None:
    await tenant(store)
    run = await start(store)
    invite = (await outbox.list_items(store, TENANT, kind="survey"))[0]
    reply = await render_survey_notice(store, CONTENT, notice(invite), NOW)
    (message,) = reply.messages
    assert "Ny undersøkelse: Puls" in message.text and "Svarfrist" in message.text
    assert [b.action for b in message.buttons] == ["guide:acute", "survey:open"]
    assert message.buttons[1].value == run.id
    nudge = (await outbox.list_items(store, TENANT, kind="survey-nudge"))[0]
    nn = await render_survey_notice(store, CONTENT, notice(nudge, "nn"), NOW)
    assert "Påminning" in nn.messages[0].text and "ikkje svart enno" in nn.messages[0].text


async def answer_all(store: Store, run: surveys.Run, n: int) -> None:
    for i in range(n):
        await surveys.submit(
            store, key=KEY, tenant_id=TENANT, run_id=run.id, platform_user_id=f"L{i}",
            values={"trygg": 1 + i % 5, "anbefale": 9, "hjelpe-mest": f"Mer tid {i}"},
            day=NOW.date(), now=NOW,
        )  # fmt: skip


async def test_the_summary_is_posted_to_the_channel_and_honours_the_minimum(store: Store) -> None:
    await tenant(store)
    run = await start(store, post_to="C-LEDERE")
    await answer_all(store, run, 4)
    await survey_launch.close(store, TENANT, run.id, CLOSES)
    (row,) = await outbox.list_items(store, TENANT, kind="survey-summary")
    assert (row.target_kind, row.target_id, row.platform) == ("channel", "C-LEDERE", "slack")
    text = (await render_survey_notice(store, CONTENT, notice(row), CLOSES)).messages[0].text
    assert "4 av 7 svarte (57 %)" in text and "Færre enn 5" in text and "Mer tid" not in text

    second = await start(store, post_to="C-LEDERE", launch_key="second")
    await answer_all(store, second, 6)
    await survey_launch.close(store, TENANT, second.id, CLOSES)
    rows = await outbox.list_items(store, TENANT, kind="survey-summary")
    text = (await render_survey_notice(store, CONTENT, notice(rows[-1]), CLOSES)).messages[0].text
    assert "6 av 7 svarte (86 %)" in text and "snitt" in text and "Kommentarer" in text
    assert "Mer tid 0" in text and "Færre enn" not in text


def report_values(count: int) -> dict[str, object]:
    values: dict[str, object] = {}
    for question in TEMPLATES["halvarsrapport"].questions:
        if question.kind == "number":
            values[question.key] = count
        elif question.kind == "multi":
            values[question.key] = [question.option_keys[0]]
        elif question.kind in ("single", "yesno"):
            values[question.key] = question.option_keys[0]
    return values


async def test_a_units_report_nudges_only_units_that_have_not_reported_and_names_them(
    store: Store,
) -> None:
    await tenant(store)
    run = await start(store, "halvarsrapport", post_to="C-LEDERE")
    assert run.units == ("Kvitnes skole", "Lia barnehage", "Sortland skole")
    await surveys.submit(
        store, key=KEY, tenant_id=TENANT, run_id=run.id, platform_user_id="L1",
        values=report_values(3), day=NOW.date(), now=NOW,
    )  # fmt: skip
    first = NOW + timedelta(days=3)
    nudges = {
        n.target_id: n
        for n in await outbox.list_items(store, TENANT, kind=OutboxKind.SURVEY_NUDGE.value)
        if n.send_at == first
    }
    at = first + timedelta(minutes=1)
    # L1 sent Sortland skole's report: L3 and L5 of the same unit are not nudged; Lia barnehage's
    # leaders and Kvitnes skole's deputy are.
    assert [u for u in sorted(nudges) if await survey_launch.obsolete(store, KEY, nudges[u], at)] == [
        "L1", "L3", "L5"
    ]  # fmt: skip
    assert await surveys.units_not_reported(store, run) == ["Kvitnes skole", "Lia barnehage"]

    await survey_launch.close(store, TENANT, run.id, CLOSES)
    (row,) = await outbox.list_items(store, TENANT, kind="survey-summary")
    text = (await render_survey_notice(store, CONTENT, notice(row), CLOSES)).messages[0].text
    assert "Ikke rapportert ennå: Kvitnes skole, Lia barnehage." in text  # after close, too
    nn = (await render_survey_notice(store, CONTENT, notice(row, "nn"), CLOSES)).messages[0].text
    assert "Ikkje rapportert enno: Kvitnes skole, Lia barnehage." in nn


async def test_the_chat_summary_shows_a_sample_of_comments_the_export_has_them_all(
    store: Store,
) -> None:
    await tenant(store, leaders=26)
    run = await start(store, post_to="C-LEDERE")
    await answer_all(store, run, 25)
    await survey_launch.close(store, TENANT, run.id, CLOSES)
    (row,) = await outbox.list_items(store, TENANT, kind="survey-summary")
    text = (await render_survey_notice(store, CONTENT, notice(row), CLOSES)).messages[0].text
    assert text.count("\n- Mer tid ") == 20
    assert "… og 5 til. Alle står i eksporten" in text


async def test_a_template_sets_its_own_nudges_or_none(store: Store) -> None:
    await tenant(store)
    custom = TEMPLATES["puls"].model_copy(
        update={"key": "puls", "nudge_after_days": 5, "nudge_before_close_days": 0}
    )
    run, _ = await survey_launch.launch(
        store, tenant_id=TENANT, template=custom, audience=Audience.parse("role:virksomhetsleder"),
        closes_at=CLOSES, now=NOW, min_group=5,
    )  # fmt: skip
    nudges = await outbox.list_items(store, TENANT, kind=OutboxKind.SURVEY_NUDGE.value)
    assert {n.send_at for n in nudges} == {NOW + timedelta(days=5)}  # none the day before close
    assert len(nudges) == run.recipients
