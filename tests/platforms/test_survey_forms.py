"""Every built-in survey, in nb and nn, as Slack Block Kit and as a Teams Adaptive Card (checked
against the official 1.5 schema): one input per question, several choices as checkboxes or a
multi-select, the acute exit shown first, and the run id and the chosen values coming back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms.slack.intake import action_turn
from bot.platforms.slack.render import decode_action_id, form_values, render_message
from bot.platforms.teams.render import MAX_ACTIONS, render_card, turn_from_activity_value
from dialogs.content import Content
from dialogs.messages import Button, Message
from dialogs.surveys.dialog import A_ANSWER
from dialogs.surveys.form import survey_form
from dialogs.surveys.model import load_templates
from tests.platforms.test_teams import assert_valid_card

CONTENT = Content.load()
TEMPLATES = load_templates()
RUN = "c0ffee" * 5 + "00"
ACUTE = Button("Akutt fare?", "guide:acute", style="danger")


def survey_message(key: str, lang: str) -> Message:
    form = survey_form(TEMPLATES[key], CONTENT, lang, A_ANSWER, RUN)
    return Message(text="**Undersøkelse**", buttons=(ACUTE,), form=form)


@pytest.mark.parametrize("lang", ["nb", "nn"])
@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_survey_renders_on_slack_within_its_limits(key: str, lang: str) -> None:
    blocks = render_message(survey_message(key, lang), lang).blocks
    assert len(blocks) <= 50
    inputs = [b for b in blocks if b["type"] == "input"]
    assert len(inputs) == len(TEMPLATES[key].questions)
    for question, block in zip(TEMPLATES[key].questions, inputs, strict=True):
        element = block["element"]["type"]
        expected = {
            "multi": ("checkboxes", "multi_static_select"),
            "number": ("number_input",),
            "text": ("plain_text_input",),
        }.get(question.kind, ("radio_buttons", "static_select"))
        assert element in expected, (question.key, element)
        assert block["optional"] is not question.required
    (actions, *_) = [b for b in blocks if b["type"] == "actions"]
    submit, acute = actions["elements"][:2]
    assert submit["value"] == RUN and decode_action_id(submit["action_id"])[0] == A_ANSWER
    assert decode_action_id(acute["action_id"])[0] == "guide:acute"


@pytest.mark.parametrize("lang", ["nb", "nn"])
@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_survey_is_a_valid_teams_card_with_the_acute_exit_shown(key: str, lang: str) -> None:
    card = render_card(survey_message(key, lang), lang)
    assert_valid_card(card)
    inputs = [e for e in card["body"] if str(e.get("type", "")).startswith("Input.")]
    assert len(inputs) == len(TEMPLATES[key].questions)
    for question, element in zip(TEMPLATES[key].questions, inputs, strict=True):
        assert element.get("isMultiSelect", False) is (question.kind == "multi")
    actions = card.get("actions") or card["body"][-1]["actions"]
    assert len(actions) <= MAX_ACTIONS
    assert actions[0]["data"] == {"action": A_ANSWER, "value": RUN}
    assert actions[1]["data"]["action"] == "guide:acute"


def test_slack_sends_checked_boxes_and_the_run_id_back() -> None:
    blocks = render_message(survey_message("halvarsrapport", "nb")).blocks
    multi = next(b for b in blocks if b["type"] == "input" and b["element"]["type"] == "checkboxes")
    options = multi["element"]["options"]
    state: dict[str, Any] = {
        multi["block_id"]: {
            multi["element"]["action_id"]: {"type": "checkboxes", "selected_options": options[:2]}
        }
    }
    assert form_values(state) == {
        multi["block_id"].removeprefix("field:"): f"{options[0]['value']},{options[1]['value']}"
    }
    submit = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "D1"},
        "container": {"type": "message", "message_ts": "1.5", "channel_id": "D1"},
        "state": {"values": state},
        "actions": [{"action_id": submit["action_id"], "value": submit["value"]}],
    }
    turn, _ = action_turn(payload, "T1")
    assert (turn.kind, turn.action, turn.value) == ("form", A_ANSWER, RUN)


def test_teams_sends_the_run_id_and_the_joined_choices_back() -> None:
    action, value, values = turn_from_activity_value(
        {"action": A_ANSWER, "value": RUN, "type-saker": "atferd,sprak", "msteams": {"x": 1}}
    )
    assert (action, value, values) == (A_ANSWER, RUN, {"type-saker": "atferd,sprak"})
