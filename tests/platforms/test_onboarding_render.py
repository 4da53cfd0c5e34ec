"""Every onboarding message, in nb and nn, as Slack Block Kit and as a Teams Adaptive Card (checked
against the official 1.5 schema): the acute exit first among the actions shown (after a form's
submit; Teams shows at most six), the forms with their unit choice within Slack's limits, and the steps with their links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.platforms.slack.render import decode_action_id, render_message
from bot.platforms.teams.render import MAX_ACTIONS, render_card
from dialogs.content import Content
from dialogs.messages import Button, Message
from dialogs.onboarding import notices
from dialogs.onboarding.chat import registration_form, self_form
from dialogs.onboarding.model import steps_for
from dialogs.onboarding.notices import A_FORM, A_SELF, OnbTexts, open_of, steps_message
from storage.onboarding import OnboardingRecord, StepRecord
from storage.onboarding_models import CONTACT, EMPLOYEE
from tests.platforms.test_teams import assert_valid_card

CONTENT = Content.load()
OSLO = ZoneInfo("Europe/Oslo")
TODAY = date(2027, 1, 14)
UNITS = [f"Enhet nummer {n} med et ganske langt navn for en barnehage" for n in range(120)]


def record(done: int = 1, completed: bool = False) -> OnboardingRecord:
    steps = steps_for(None).steps
    return OnboardingRecord(
        id=7, tenant_id="slack:T1", platform="slack", user_id="UNORA",
        display_name="Nora Ny", unit="Bekkevegen barnehage", registered_by="slack:ULEDER",
        registered_at=datetime(2027, 1, 11, 9, 0, tzinfo=UTC),
        completed_at=datetime(2027, 9, 20, 9, 0, tzinfo=UTC) if completed else None,
        cancelled_at=None,
        steps=tuple(
            StepRecord(
                s.key, n, s.who, date(2027, 1, 14 + n),
                datetime(2027, 1, 13, 12, 0, tzinfo=UTC) if n < done or completed else None,
                "slack:UKONTAKT" if n < done or completed else "",
            )
            for n, s in enumerate(steps)
        ),
    )  # fmt: skip


def messages(lang: str, links: dict[str, str]) -> dict[str, Message]:
    t = OnbTexts(CONTENT, lang, steps_for(None), links)
    r, finished = record(), record(completed=True)
    acute = (t.acute(),)
    return {
        "form": Message(text=t("form.text"), buttons=acute, form=registration_form(t, UNITS)),
        "self_form": Message(text=t("self_form.text"), buttons=acute, form=self_form(t, UNITS)),
        "refused": Message(t("refuse.not_allowed"), (*acute, Button(t("labels.self"), A_SELF))),
        "screen": steps_message(
            t, r, OSLO, TODAY, heading=notices.heading(t, r, own=False),
            intro=[t("confirm.registered", name="Nora Ny", unit=r.unit)],
            markable=r.open_steps, extra=[Button(t("labels.register"), A_FORM)],
        ),
        "own": steps_message(t, r, OSLO, TODAY, heading=notices.heading(t, r, own=True),
                             markable=open_of(r, EMPLOYEE)),
        "new": steps_message(t, r, OSLO, TODAY, heading=t("notice.new_heading", unit=r.unit,
                             name="Nora Ny"), markable=open_of(r, CONTACT),
                             extra=[t.show_button(r)]),
        "reminder": notices.step_message(
            t, r, TODAY, {"step": "bts-modellen", "stage": "due", "fallback": True}
        ),
        "again": notices.step_message(t, r, TODAY, {"step": "opplaeringsfilm", "stage": "again"}),
        "done": notices.done_message(t, finished, OSLO, TODAY, {"deputy": True}),
        "done_own": notices.done_message(t, finished, OSLO, TODAY, {"employee": True}),
    }  # fmt: skip


LINKS = [{}, {"handlingsveileder": "https://k.no/bti", "opplaeringsfilm": "https://k.no/film"}]


@pytest.mark.parametrize("links", LINKS)
@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_onboarding_message_is_a_valid_teams_card_with_the_acute_exit_first(
    lang: str, links: dict[str, str]
) -> None:
    for name, message in messages(lang, links).items():
        assert message.buttons[0].action == "guide:acute" and len(message.buttons) <= 6, name
        card = render_card(message, lang)
        assert_valid_card(card)
        actions = card.get("actions") or card["body"][-1].get("actions", [])
        assert 0 < len(actions) <= MAX_ACTIONS, name
        # A form's submit comes first on a card; the acute exit right after it.
        shown = [a.get("data", {}).get("action") for a in actions[:2]]
        assert shown[0 if message.form is None else 1] == "guide:acute", (name, shown)


@pytest.mark.parametrize("links", LINKS)
@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_onboarding_message_fits_slack(lang: str, links: dict[str, str]) -> None:
    for name, message in messages(lang, links).items():
        blocks = render_message(message, lang).blocks
        assert len(blocks) <= 50, name
        ids = [
            decode_action_id(str(e.get("action_id", "")))[0]
            for b in blocks
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert "guide:acute" in ids[:2] and (message.form or ids[0] == "guide:acute"), (name, ids)
        for block in blocks:
            assert len(block.get("text", {}).get("text", "")) <= 3000, name
            if block["type"] == "input":
                options = block["element"].get("options", [])
                assert len(options) <= 100, name
                assert all(len(o["text"]["text"]) <= 75 for o in options), name


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_the_steps_show_status_and_the_kommunes_links(lang: str) -> None:
    shown = messages(lang, LINKS[1])
    screen = shown["screen"]
    assert [b.action for b in screen.buttons] == ["guide:acute"] + ["onboarding:done"] * 4 + [
        A_FORM
    ]
    assert "onboarding:done" not in {b.action for b in shown["done"].buttons}
    if lang == "nb":
        assert (
            "**1. Introduksjon til BTS-modellen** (BTS-kontakten) – ✅ ferdig onsdag 13. januar"
            in (screen.text)
        )
        assert "**5. Felles kurs for nyansatte** (den nyansatte) – frist mandag 18. januar" in (
            screen.text
        )
        assert "Les [kommunens handlingsveileder](https://k.no/bti)." not in screen.text  # done
        assert "Se [opplæringsfilmen](https://k.no/film)." in screen.text
        assert "Ingen er BTS-kontakt i Bekkevegen barnehage i boten ennå" in shown["reminder"].text
        assert "[kommunens handlingsveileder](https://k.no/bti)" in shown["reminder"].text
        assert "stedfortreder for lederen i Bekkevegen barnehage" in shown["done"].text
    else:
        assert "**5. Felles kurs for nytilsette** (den nytilsette) – frist måndag 18. januar" in (
            screen.text
        )
        assert "Sjå [opplæringsfilmen](https://k.no/film)." in screen.text
        assert "**Påminning:** fristen var" in shown["again"].text
    without = messages(lang, {})["screen"].text
    assert "https://" not in without and "BTS-kontakten." in without
