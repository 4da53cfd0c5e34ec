"""``/bts undersøkelse`` over the real router (SQLite and PostgreSQL): admins see the tenant's
surveys, launch one from a form (the minimum group size holds here too), see results and close;
anyone else who types the word gets the FAQ answer about surveys."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.app import build_router
from dialogs.messages import Message, Reply, Turn
from dialogs.surveys.admin import A_CLOSE, A_LAUNCH, A_NEW, A_RESULTS
from dialogs.surveys.dialog import A_MINE
from dialogs.surveys.launch import AudienceError
from storage import directory, outbox, surveys
from storage.repositories import Store
from storage.users import touch_user

TENANT = "slack:T1"
NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def say(text: str, user: str = "ADMIN") -> Turn:
    return Turn("slack", TENANT, user, "C-LEDERE", is_direct=False, text=text)


def press(action: str, value: str = "", form: dict[str, str] | None = None) -> Turn:
    return Turn(
        "slack", TENANT, "ADMIN", "C-LEDERE", is_direct=False, action=action, value=value,
        form_values=form or {},
    )  # fmt: skip


def last(reply: Reply) -> Message:
    return reply.messages[-1]


async def test_someone_who_is_no_admin_gets_the_faq_answer(store: Store) -> None:
    router = build_router(store, clock=lambda: NOW, survey_key=b"k" * 32)
    answer = last(await router.handle(say("undersøkelse", user="U9")))
    assert any(b.action == A_MINE for b in answer.buttons)
    assert not any(b.action == A_NEW for b in answer.buttons)


async def test_an_admin_launches_sees_results_and_closes(store: Store) -> None:
    router = build_router(store, clock=lambda: NOW, survey_key=b"k" * 32)
    await router.handle(say("hei"))  # the tenant exists
    await directory.add_admin(store, TENANT, "slack", "ADMIN")
    overview = last(await router.handle(say("undersøkelse")))
    assert "Ingen undersøkelser" in overview.text
    assert [b.action for b in overview.buttons] == ["guide:acute", A_NEW]
    form = last(await router.handle(press(A_NEW)))
    assert form.form is not None and form.form.action == A_LAUNCH
    fields = {f.name: f for f in form.form.fields}
    assert len(fields["template"].options) == 9
    assert fields["audience"].options[0].value == "all"
    assert "virksomhetsleder" in {o.value for o in fields["audience"].options}
    # Only the admin is known yet: an anonymous survey to one person is refused.
    few = last(
        await router.handle(
            press(A_LAUNCH, form={"template": "puls", "audience": "all", "days": "7"})
        )
    )
    assert "minst 5" in few.text and few.form is not None
    bad = last(
        await router.handle(
            press(A_LAUNCH, form={"template": "puls", "audience": "all", "days": "0"})
        )
    )
    assert "1 til 120" in bad.text
    for i in range(5):
        await touch_user(store, TENANT, "slack", f"U{i}")
    sent = last(
        await router.handle(
            press(A_LAUNCH, form={"template": "puls", "audience": "all", "days": ""})
        )
    )
    assert "er sendt til 6" in sent.text and "15.09.2026" in sent.text
    (run,) = await surveys.runs(store, TENANT)
    assert run.post_to == "C-LEDERE" and run.launched_by == "slack:ADMIN"
    assert len(await outbox.list_items(store, TENANT, kind="survey")) == 6
    assert "åpen, 0 av 6" in sent.text
    actions = [(b.action, b.value) for b in sent.buttons]
    assert (A_CLOSE, run.id) in actions and (A_RESULTS, run.id) in actions
    results = last(await router.handle(press(A_RESULTS, run.id)))
    assert "0 av 6 svarte" in results.text and "Færre enn 5" in results.text
    closed = last(await router.handle(press(A_CLOSE, run.id)))
    assert "0 av 6 svarte" in closed.text
    (after,) = await surveys.runs(store, TENANT)
    assert after.status == "closed"
    assert len(await outbox.list_items(store, TENANT, kind="survey-summary")) == 1
    stale = last(await router.handle(press(A_RESULTS, "0" * 32)))
    assert "finner ikke" in stale.text


async def test_an_admin_in_a_channel_can_send_to_everyone_in_it(store: Store) -> None:
    asked: list[tuple[str, str]] = []

    async def members(tenant_id: str, channel: str) -> list[str]:
        asked.append((tenant_id, channel))
        if channel != "C-LEDERE":
            raise AudienceError("Slack did not give the members of it: not_in_channel")
        return [f"M{i}" for i in range(7)]

    router = build_router(store, clock=lambda: NOW, survey_key=b"k" * 32, channel_members=members)
    await router.handle(say("hei"))
    await directory.add_admin(store, TENANT, "slack", "ADMIN")
    form = last(await router.handle(press(A_NEW))).form
    assert form is not None
    audience = {f.name: f for f in form.fields}["audience"]
    assert audience.options[0].label == "Alle i denne kanalen"  # offered first, in a channel
    sent = last(
        await router.handle(
            press(A_LAUNCH, form={"template": "puls", "audience": audience.options[0].value})
        )
    )
    assert "er sendt til 7" in sent.text and asked == [(TENANT, "C-LEDERE")]
    invites = await outbox.list_items(store, TENANT, kind="survey")
    assert sorted(i.target_id for i in invites) == [f"M{i}" for i in range(7)]

    elsewhere = Turn(
        "slack", TENANT, "ADMIN", "C-ANNEN", is_direct=False, action=A_LAUNCH,
        form_values={"template": "puls", "audience": audience.options[0].value},
    )  # fmt: skip
    refused = last(await router.handle(elsewhere))
    assert "fikk ikke lest hvem som er med" in refused.text and refused.form is not None
    # In a DM there is no channel to send to: not offered.
    dm = Turn("slack", TENANT, "ADMIN", "D-ADMIN", is_direct=True, action=A_NEW)
    dm_form = last(await router.handle(dm)).form
    assert dm_form is not None
    assert "Alle i denne kanalen" not in {
        o.label for o in {f.name: f for f in dm_form.fields}["audience"].options
    }
