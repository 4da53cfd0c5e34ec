"""Issue #15: a personal reminder typed as free text — «minn meg på evaluering om 14 dager» — is
understood and saved like one from the form, through the whole router: in bokmål, nynorsk and
without æøå; without a time it opens the form; an acute message in the same words gets the acute
path and nothing is stored; personal data is refused before anything is read."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialogs.app import build_router
from dialogs.content import Content
from dialogs.guide.typed_followup import RequestWords, TypedFollowup, parse
from dialogs.messages import Reply, Turn
from dialogs.router import Router
from storage.followups import list_personal_followups
from storage.repositories import Store

NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # a Thursday
OSLO = ZoneInfo("Europe/Oslo")
WORDS = RequestWords.from_content(Content.load())


@pytest.mark.parametrize(
    ("typed", "label", "days"),
    [
        ("minn meg på evaluering om 14 dager", "evaluering", 14),
        ("Minn meg på å evaluere tiltaket om to uker!", "evaluere tiltaket", 14),
        ("minn meg om 3 veker på evalueringsmøtet", "evalueringsmøtet", 21),
        ("minn meg pa oppfolging om 14 dagar", "oppfolging", 14),
        ("Påminnelse om stafettlogg neste uke", "stafettlogg", 7),
        ("kan du minne meg på å ringe PPT i morgen?", "ringe PPT", 1),
        ("gje meg ei påminning om samarbeidsmøte om ein månad", "samarbeidsmøte", 30),
        ("minn meg på evaluering", "evaluering", None),
        ("minn meg på evaluering om 400 dager", "evaluering", None),  # more than max_days
    ],
)
def test_the_words_give_a_label_and_days(typed: str, label: str, days: int | None) -> None:
    assert parse(typed, WORDS) == TypedFollowup(label, days)


@pytest.mark.parametrize(
    "typed", ["hva gjør jeg ved uro", "hva er en påminnelse", "kan du minne meg", "minn"]
)
def test_other_text_is_no_request(typed: str) -> None:
    assert parse(typed, WORDS) is None


class Chat:
    def __init__(self, router: Router, platform: str = "slack") -> None:
        self.router, self.platform = router, platform

    async def say(self, text: str) -> Reply:
        return await self.router.handle(Turn(self.platform, "local", "u1", "D1", text=text))


async def chat(store: Store, platform: str = "slack") -> Chat:
    talk = Chat(build_router(store, clock=lambda: NOW), platform)
    await talk.say("hei")  # first contact out of the way
    return talk


async def test_a_typed_reminder_is_saved_for_the_day_asked_at_nine(store: Store) -> None:
    talk = await chat(store)
    reply = await talk.say("Minn meg på evaluering av tiltak om 14 dager")
    text = reply.messages[0].text
    assert "Påminnelsen er lagret" in text and "«evaluering av tiltak» 17.12.2026" in text
    assert "direktemelding" in text  # in Slack the reminder comes as a DM
    assert any(b.action == "guide:acute" for b in reply.messages[0].buttons)
    (row,) = await list_personal_followups(store, "local", "u1")
    assert row.label == "evaluering av tiltak"
    assert row.due_at.astimezone(OSLO) == datetime(2026, 12, 17, 9, 0, tzinfo=OSLO)
    assert row.due_at.astimezone(OSLO).time() == time(9, 0)


async def test_without_a_time_the_form_asks_when_and_a_nynorsk_time_then_saves_it(
    store: Store,
) -> None:
    talk = await chat(store, platform="web")
    reply = await talk.say("minn meg på evalueringsmøte")
    message = reply.messages[0]
    assert message.form is not None and message.form.action == "guide:followup_save"
    assert "«evalueringsmøte»" in message.text and "om 14 dager" in message.text
    assert await list_personal_followups(store, "local", "u1") == []
    saved = await talk.say("minn meg på evalueringsmøte om ei veke")
    assert (
        "Påminnelsen er lagret" in saved.messages[0].text and "10.12.2026" in saved.messages[0].text
    )
    # the web chat cannot be written to later: it says so
    assert "direktemelding i Slack eller Teams" in saved.messages[0].text


async def test_an_acute_message_in_the_same_words_gets_the_acute_path(store: Store) -> None:
    talk = await chat(store)
    reply = await talk.say("minn meg på å ringe barnevernvakta om 2 dager, far slår ham")
    assert reply.topic == "akutt"
    assert await list_personal_followups(store, "local", "u1") == []


async def test_personal_data_in_a_typed_reminder_is_refused(store: Store) -> None:
    talk = await chat(store)
    reply = await talk.say("minn meg på oppfølging av 01019010046 om 14 dager")
    assert "fødselsnummer" in reply.messages[0].text
    assert await list_personal_followups(store, "local", "u1") == []


def test_a_long_text_is_a_question_not_a_request() -> None:
    assert parse("minn meg på evaluering om 14 dager " + "og så videre " * 20, WORDS) is None
