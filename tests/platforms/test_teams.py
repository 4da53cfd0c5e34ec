"""Teams: scenario tests over real HTTP (real ``bts-bot serve`` against the fake Bot Connector) and
unit tests of the Adaptive Card rendering and of reading activities.

The server handles an activity before it answers the HTTP request (replies go out through the
connector first), so once ``post`` returns, every call the activity caused has reached the fake.
Positive checks still wait on the fake (``wait_for``); to show that something was *not* sent, a
test sends a later activity that must be answered (``barrier``) and then counts the calls.
Cards are validated against the official Adaptive Card 1.5.0 schema and sent activities against
the Bot Framework protocol schema's ``Activity`` (from ``../shared/schemas`` or $BTS_SHARED_DIR).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator, Draft7Validator

from bot.config import ConfigError, load_settings
from bot.platforms.teams.auth import adapter_config, credentials_factory
from bot.platforms.teams.intake import clean_text, describe, tenant_of
from bot.platforms.teams.render import (
    CARD_CONTENT_TYPE,
    EXPANDED_CHOICES_MAX,
    render_card,
    render_input,
    summary,
    text_blocks,
    to_plain,
    turn_from_activity_value,
)
from dialogs.content import LANGUAGES, Content
from dialogs.messages import Button, Form, FormField, Link, Message, Option
from tests.support.fake_connector import Call, FakeConnector
from tests.support.server import BotServer

SHARED = Path(os.environ.get("BTS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
BOT_ID = "28:bts-bot-0001"
USER_ID = "29:1kari-teams-user-id"
USER_AAD = "6c1f3a2b-0000-4000-8000-00000000aa01"
APP_ID = "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
PERSONAL = "a:1personal-chat-with-kari"
CHANNEL = "19:general-channel@thread.tacv2;messageid=1700000000000"
_ids = itertools.count(1)

StartServer = Callable[..., BotServer]


# schemas -----------------------------------------------------------------------------------------


@cache
def card_validator() -> Draft6Validator:
    schema = json.loads((SHARED / "schemas" / "adaptive-card-1.5.0.schema.json").read_text())
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


@cache
def activity_validator() -> Draft7Validator:
    protocol = json.loads((SHARED / "schemas" / "botframework-protocol.schema.json").read_text())
    return Draft7Validator(
        {"$ref": "#/definitions/Activity", "definitions": protocol["definitions"]}
    )


def assert_valid_card(card: dict[str, Any]) -> None:
    errors = sorted(card_validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


def assert_valid_activity(activity: dict[str, Any]) -> None:
    errors = list(activity_validator().iter_errors(activity))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


# helpers -----------------------------------------------------------------------------------------


def start(bot_server: StartServer, **env: str) -> BotServer:
    return bot_server(**env)


def post(
    server: BotServer,
    body: bytes | dict[str, Any],
    content_type: str = "application/json; charset=utf-8",
    **headers: str,
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        server.base_url + "/api/messages",
        data=data,
        headers={"Content-Type": content_type, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def activity(
    fake: FakeConnector,
    kind: str = "message",
    conversation: str = PERSONAL,
    conversation_type: str = "personal",
    **fields: Any,
) -> dict[str, Any]:
    """An activity as Teams sends it (only what botbuilder and we read)."""
    return {
        "type": kind,
        "id": f"1700000{next(_ids):06d}",
        "timestamp": datetime.now(UTC).isoformat(),
        "serviceUrl": fake.service_url,
        "channelId": "msteams",
        "from": {"id": USER_ID, "name": "Kari Nordmann", "aadObjectId": USER_AAD},
        "recipient": {"id": BOT_ID, "name": "BTS-bot"},
        "conversation": {
            "id": conversation,
            "conversationType": conversation_type,
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "nb-NO",
        **fields,
    }


def message(fake: FakeConnector, text: str, **fields: Any) -> dict[str, Any]:
    return activity(fake, text=text, textFormat="plain", **fields)


def submit(fake: FakeConnector, value: Any, reply_to: str, **fields: Any) -> dict[str, Any]:
    """What Teams sends for an Action.Submit click: data (+ inputs) in ``value``, no text."""
    return activity(fake, value=value, replyToId=reply_to, **fields)


def install(fake: FakeConnector, **fields: Any) -> dict[str, Any]:
    return activity(
        fake,
        "conversationUpdate",
        membersAdded=[{"id": BOT_ID}],
        **fields,
    )


def replies_to(conversation: str, activity_id: str | None = None) -> str:
    """Path regex of a POST to the conversation (a reply when ``activity_id`` is given)."""
    tail = f"/{re.escape(activity_id)}" if activity_id else ""
    return rf"^/v3/conversations/{re.escape(conversation)}/activities{tail}$"


def card_of(call: Call) -> dict[str, Any]:
    attachments = call.json.get("attachments") or []
    assert len(attachments) == 1, call.json
    assert attachments[0]["contentType"] == CARD_CONTENT_TYPE
    card: dict[str, Any] = attachments[0]["content"]
    return card


def card_texts(card: dict[str, Any]) -> list[str]:
    return [str(e.get("text", "")) for e in card.get("body", []) if e.get("type") == "TextBlock"]


def first_line(lang: str, key: str) -> str:
    return Content.load().message(lang, key).text.splitlines()[0].strip()


def assert_card_says(call: Call, line: str) -> None:
    card = card_of(call)
    assert_valid_card(card)
    assert_valid_activity(call.json)
    assert line in card_texts(card), (line, card_texts(card))


def barrier(server: BotServer, fake: FakeConnector) -> None:
    """Send a message that must be answered: everything sent before it has been handled."""
    someone_else = {"id": "29:barrier-user", "name": "Ola", "aadObjectId": "barrier-aad"}
    note = message(fake, "hjelp", conversation="a:barrier-chat", **{"from": someone_else})
    status, _ = post(server, note)
    assert status == 201
    fake.wait_for(replies_to("a:barrier-chat", note["id"]))


def references(server: BotServer) -> list[tuple[str, str, str, dict[str, Any]]]:
    path = Path(server.env["DATA_DIR"]) / "bts-bot.sqlite3"
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT tenant_id, kind, key, reference FROM conversation_refs"
            " WHERE platform = 'teams' ORDER BY id"
        ).fetchall()
    return [
        (t, k, key, json.loads(ref) if isinstance(ref, str) else ref) for t, k, key, ref in rows
    ]


PROACTIVE = """
import asyncio, sys
from bot.config import load_settings
from bot.runtime import Runtime
from bot.platforms.teams.sender import send_proactive
from dialogs.messages import Message, Reply

async def main() -> None:
    runtime = await Runtime.start(load_settings())
    try:
        reply = Reply(messages=(Message(text=sys.argv[4]),))
        sent = await send_proactive(runtime, sys.argv[1], sys.argv[2], sys.argv[3], reply)
    finally:
        await runtime.close()
    print("sent" if sent else "no reference")

asyncio.run(main())
"""


def run_proactive(server: BotServer, kind: str, key: str, text: str) -> str:
    """Another process (think: the reminder scheduler) sends from the stored reference."""
    result = subprocess.run(
        [sys.executable, "-c", PROACTIVE, f"teams:{TENANT}", kind, key, text],
        env=server.env,
        cwd=server.env["DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# scenarios -------------------------------------------------------------------------------------


def test_message_is_answered_with_a_valid_adaptive_card(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    first = message(fake_connector, "hei")
    assert post(server, first)[0] == 201
    [welcome] = fake_connector.wait_for(replies_to(PERSONAL, first["id"]), method="POST")
    assert_card_says(welcome, first_line("nb", "help.welcome"))

    ask = message(fake_connector, "hjelp")
    status, _ = post(server, ask)
    assert status == 201
    [reply] = fake_connector.wait_for(replies_to(PERSONAL, ask["id"]), method="POST")
    assert_card_says(reply, first_line("nb", "help.menu"))
    sent = reply.json
    assert sent["type"] == "message"
    assert sent["replyToId"] == ask["id"]
    assert sent["conversation"]["id"] == PERSONAL
    assert sent["from"]["id"] == BOT_ID and sent["recipient"]["id"] == USER_ID
    assert "text" not in sent  # Teams would show it above the card as well
    assert sent["summary"] and "**" not in sent["summary"]
    card = card_of(reply)
    submits = [a for a in card["actions"] if a["type"] == "Action.Submit"]
    assert {"action": "help:about", "value": ""} in [a["data"] for a in submits]
    assert any(a.get("style") == "destructive" for a in submits)  # "Akutt fare?" is danger


@pytest.mark.parametrize(("text", "answer"), [("hjelp", "help.menu"), ("hva er bts", "help.about")])
def test_first_contact_gets_the_welcome_and_the_answer(
    bot_server: StartServer, fake_connector: FakeConnector, text: str, answer: str
) -> None:
    """The welcome says «skriv hjelp»: someone whose very first message is «hjelp» (or a question)
    gets the welcome card and then the answer, not the welcome alone."""
    server = start(bot_server)
    ask = message(fake_connector, text)
    assert post(server, ask)[0] == 201
    fake_connector.wait_for(replies_to(PERSONAL, ask["id"]), method="POST")
    welcome, reply = fake_connector.calls(replies_to(PERSONAL, ask["id"]), method="POST")
    assert_card_says(welcome, first_line("nb", "help.welcome"))
    assert_card_says(reply, first_line("nb", answer))
    assert_valid_card(card_of(reply))


def test_card_button_updates_the_card_in_place(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))
    ask = message(fake_connector, "hjelp")
    post(server, ask)
    [menu] = fake_connector.wait_for(replies_to(PERSONAL, ask["id"]), method="POST")
    card_id = menu.answered_id

    click = submit(fake_connector, {"action": "help:about", "value": ""}, reply_to=card_id)
    status, _ = post(server, click)
    assert status == 201
    [update] = fake_connector.wait_for(replies_to(PERSONAL, card_id), method="PUT")
    assert_card_says(update, first_line("nb", "help.about"))
    assert update.json["id"] == card_id
    assert fake_connector.calls(replies_to(PERSONAL, click["id"]), method="POST") == []


def test_when_the_card_cannot_be_edited_the_answer_comes_as_a_new_message(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))
    fake_connector.fail_next(status=404, retry_after=None, method="PUT")
    click = submit(fake_connector, {"action": "help:about", "value": ""}, reply_to="activity-1")
    assert post(server, click)[0] == 201
    fake_connector.wait_for(replies_to(PERSONAL, "activity-1"), method="PUT")
    [answer] = fake_connector.wait_for(replies_to(PERSONAL, click["id"]), method="POST")
    assert_card_says(answer, first_line("nb", "help.about"))


def test_a_connector_refusal_is_logged_and_answered_502_not_500(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    fake_connector.fail_next(status=403, retry_after=None, method="POST")
    ask = message(fake_connector, "hjelp")
    status, body = post(server, ask)
    assert status == 502 and body["error"]
    fake_connector.wait_for(replies_to(PERSONAL, ask["id"]))
    failures = [
        json.loads(line)
        for line in server.log_text().splitlines()
        if "teams reply could not be delivered" in line
    ]
    assert [(f["connector_status"], f["tenant"]) for f in failures] == [(403, f"teams:{TENANT}")]
    assert "unhandled error" not in server.log_text()


def test_submit_with_an_unknown_action_gets_a_friendly_answer(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, message(fake_connector, "hei"))
    stale_line = first_line("nb", "help.stale_button")
    for value in ({"action": "gone:since-last-release", "value": "x"}, {"nothing": "of ours"}):
        click = submit(fake_connector, value, reply_to="activity-1")
        status, _ = post(server, click)
        assert status == 201
        calls = fake_connector.wait_for(replies_to(PERSONAL, click["id"]), method="POST")
        assert_card_says(calls[0], stale_line)
    assert fake_connector.calls(method="PUT") == []


def test_install_welcomes_once_and_stores_references(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    added = install(fake_connector)
    assert post(server, added)[0] == 201
    [welcome] = fake_connector.wait_for(replies_to(PERSONAL), method="POST")
    assert_card_says(welcome, first_line("nb", "help.welcome"))

    # Teams also sends installationUpdate on install; the welcome must not come twice.
    installed = activity(fake_connector, "installationUpdate", action="add")
    assert post(server, installed)[0] == 201
    barrier(server, fake_connector)
    welcome_line = first_line("nb", "help.welcome")
    conversation_posts = fake_connector.calls(rf"^/v3/conversations/{re.escape(PERSONAL)}/")
    assert [welcome_line in card_texts(card_of(c)) for c in conversation_posts] == [True]

    stored = {(kind, key): ref for tenant, kind, key, ref in references(server)}
    assert set(stored) == {
        ("user", USER_AAD),
        ("channel", PERSONAL),
        ("user", "barrier-aad"),
        ("channel", "a:barrier-chat"),
    }
    for tenant, _, _, _ in references(server):
        assert tenant == f"teams:{TENANT}"
    ref = stored[("user", USER_AAD)]
    assert ref["serviceUrl"] == fake_connector.service_url
    assert ref["conversation"]["id"] == PERSONAL
    assert ref["bot"]["id"] == BOT_ID and ref["user"]["id"] == USER_ID
    assert "activityId" not in ref


def test_channel_mention_is_answered_and_only_the_channel_is_remembered(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    mention = {"type": "mention", "mentioned": {"id": BOT_ID, "name": "BTS-bot"}}
    ask = message(
        fake_connector,
        "<at>BTS-bot</at> hva er bts",
        conversation=CHANNEL,
        conversation_type="channel",
        entities=[{**mention, "text": "<at>BTS-bot</at>"}],
    )
    assert post(server, ask)[0] == 201
    fake_connector.wait_for(replies_to(CHANNEL, ask["id"]), method="POST")
    # First contact: the welcome card, then the answer (one card per message).
    welcome, answer = fake_connector.calls(replies_to(CHANNEL, ask["id"]), method="POST")
    assert_card_says(welcome, first_line("nb", "help.welcome"))
    assert_card_says(answer, first_line("nb", "help.about"))  # the mention did not spoil it
    stored = [(kind, key) for _, kind, key, _ in references(server)]
    assert stored == [("channel", CHANNEL)]  # a user's reminders must never go to a channel


def test_proactive_send_from_a_stored_reference(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    post(server, install(fake_connector))
    fake_connector.wait_for(replies_to(PERSONAL), method="POST")

    reminder = f"Påminnelse: evaluer tiltaket **i dag** {uuid.uuid4().hex[:8]}"
    assert run_proactive(server, "user", USER_AAD, reminder) == "sent"
    calls = fake_connector.wait_for(replies_to(PERSONAL), count=2, method="POST")
    sent = calls[-1]
    assert_card_says(sent, reminder)
    assert sent.json["recipient"]["id"] == USER_ID and sent.json["from"]["id"] == BOT_ID
    assert "replyToId" not in sent.json  # a new message, not a reply

    assert run_proactive(server, "user", "someone-we-never-met", reminder) == "no reference"


def test_with_an_app_id_requests_without_a_valid_token_get_401(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server, MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="not-a-real-secret")
    unsigned = ".".join(
        [
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",  # {"alg":"none","typ":"JWT"}
            "eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSIsImF1ZCI6IngifQ",  # iss: evil.example
            "",
        ]
    )
    for headers in (
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Basic a2FyaTpoZW1tZWxpZw=="},
        {"Authorization": f"Bearer {unsigned}"},
    ):
        status, body = post(server, message(fake_connector, "hjelp"), **headers)
        assert status == 401, (headers, status, body)
        assert body["error"]
    assert fake_connector.calls() == []
    log = server.log_text()
    assert "unhandled error" not in log and "teams turn failed" not in log


def test_bad_requests_get_a_4xx_json_answer(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    good = message(fake_connector, "hjelp")
    no_conversation = {k: v for k, v in good.items() if k != "conversation"}
    cases: list[tuple[bytes | dict[str, Any], str, int]] = [
        (b'{"type": "message", ', "application/json", 400),
        (b"\xff\xfe not utf-8", "application/json", 400),
        (json.dumps(good).encode(), "text/plain", 415),
        (b"type=message", "application/x-www-form-urlencoded", 415),
        (b"[1, 2]", "application/json", 400),
        ({"text": "no type"}, "application/json", 400),
        ({**good, "type": 7}, "application/json", 400),
        (no_conversation, "application/json", 400),
        ({**good, "serviceUrl": "ftp://127.0.0.1/"}, "application/json", 400),
        ({**good, "from": "kari"}, "application/json", 400),
        ({**good, "from": {"name": "no id"}}, "application/json", 400),
        ({**good, "conversation": {"id": "x" * 400}}, "application/json", 400),
        ({**good, "timestamp": "yesterday"}, "application/json", 400),
        (b'{"type": "message", "text": "' + b"x" * (1024 * 1024) + b'"}', "application/json", 413),
    ]
    for body, content_type, expected in cases:
        status, answer = post(server, body, content_type=content_type)
        assert status == expected, (str(body)[:80], status, answer)
        assert isinstance(answer, dict) and answer["error"], answer

    # Without an app id botbuilder skips auth, but still chokes on a token it is given.
    status, answer = post(server, good, Authorization="Bearer garbage")
    assert status == 401 and answer["error"]

    # Activity types we do not handle are accepted and ignored.
    status, _ = post(server, activity(fake_connector, "typing"))
    assert status == 200
    barrier(server, fake_connector)
    # Only the barrier's answer reached the connector.
    assert fake_connector.calls()
    assert all(
        c.path.startswith("/v3/conversations/a:barrier-chat/") for c in fake_connector.calls()
    )
    assert "unhandled error" not in server.log_text()


def test_redelivered_activity_is_answered_once(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    ask = message(fake_connector, "hei")  # first contact: one card, the welcome
    statuses = [post(server, ask)[0] for _ in range(3)]
    assert statuses[0] == 201 and all(200 <= s < 300 for s in statuses)
    fake_connector.wait_for(replies_to(PERSONAL, ask["id"]))
    # Teams message ids repeat across chats: the same id elsewhere is a different activity.
    elsewhere = {**ask, "conversation": {"id": "a:another-chat", "conversationType": "personal"}}
    assert post(server, elsewhere)[0] == 201
    fake_connector.wait_for(replies_to("a:another-chat", ask["id"]))
    barrier(server, fake_connector)
    assert len(fake_connector.calls(replies_to(PERSONAL, ask["id"]))) == 1


def test_log_lines_are_json_and_never_carry_message_text(
    bot_server: StartServer, fake_connector: FakeConnector
) -> None:
    server = start(bot_server)
    secret = f"barnet-heter-{uuid.uuid4().hex}"
    ask = message(fake_connector, f"hjelp {secret}")
    post(server, ask)
    fake_connector.wait_for(replies_to(PERSONAL, ask["id"]))
    click = submit(fake_connector, {"action": "help:about", "value": secret}, reply_to="x")
    post(server, click)
    fake_connector.wait_for(replies_to(PERSONAL, "x"), method="PUT")
    log = server.log_text()
    assert secret not in log
    assert "teams turn handled" in log
    for line in log.splitlines():
        if line.startswith("BTS-bot is running") or line.startswith("  "):
            continue  # the start-up banner on stdout
        entry = json.loads(line)
        if entry.get("platform") == "teams" and "tenant" in entry:
            assert entry["tenant"] == f"teams:{TENANT}"


# unit: rendering ---------------------------------------------------------------------------------


EVERY_FIELD = Form(
    action="survey:submit",
    title="Kort evaluering",
    submit_label="Send",
    fields=(
        FormField("mood", "Hvordan gikk det?", "scale", minimum=1, maximum=5),
        FormField("wide", "Fra 0 til 10", "scale", minimum=0, maximum=10, required=False),
        FormField("again", "Vil du bruke dette igjen?", "yesno"),
        FormField(
            "service",
            "Hvilken tjeneste?",
            "choice",
            options=(Option("Barnehage", "bhg"), Option("Skole", "skole"), Option("Helse", "hs")),
        ),
        FormField("count", "Antall møter", "number", minimum=0, maximum=50, placeholder="0–50"),
        FormField("note", "Kommentar", "text", required=False, placeholder="Ingen navn her"),
        FormField("code", "Kort kode", "text", max_length=20),
    ),
)


def content_message_keys(content: Content, lang: str) -> list[str]:
    """Every content node that is a message (has a ``text``): help, FAQ answers, guide steps…"""
    return sorted(
        key
        for key, node in content.by_lang[lang].items()
        if isinstance(node, dict) and isinstance(node.get("text"), str)
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_content_message_renders_as_a_valid_card(lang: str) -> None:
    content = Content.load()
    keys = content_message_keys(content, lang)
    assert {"help.welcome", "help.menu", "help.about", "help.unknown"} <= set(keys)
    for key in keys:
        msg = content.message(lang, key)
        card = render_card(msg, lang)
        errors = list(card_validator().iter_errors(card))
        assert not errors, (key, [e.message[:200] for e in errors])
        assert card["version"] == "1.5"
        assert all(e["wrap"] is True for e in card["body"] if e["type"] == "TextBlock"), key
        assert len(card.get("actions", [])) == len(msg.buttons) + len(msg.links), key


@pytest.mark.parametrize(
    ("lang", "choose", "required"),
    [("nb", "Velg", "Dette feltet må fylles ut."), ("nn", "Vel", "Dette feltet må fyllast ut.")],
)
def test_a_card_form_speaks_the_users_language(lang: str, choose: str, required: str) -> None:
    many = tuple(Option(f"Valg {n}", str(n)) for n in range(EXPANDED_CHOICES_MAX + 1))
    form = Form(
        action="survey:submit",
        submit_label="Send",
        fields=(
            FormField("pick", "Velg en", "choice", options=many),
            FormField("ok", "Ok?", "yesno"),
        ),
    )
    card = render_card(Message(text="Svar", form=form), lang)
    assert_valid_card(card)
    inputs = {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}
    assert inputs["pick"]["placeholder"] == choose
    assert inputs["pick"]["errorMessage"] == required
    assert [c["title"] for c in inputs["ok"]["choices"]] == ["Ja", "Nei"]


def test_a_form_with_every_field_kind_validates_and_maps_to_inputs() -> None:
    msg = Message(
        text="Fortell kort:",
        form=EVERY_FIELD,
        buttons=(Button("Avbryt", "survey:cancel", style="danger"),),
        footer="Ikke skriv navn eller andre kjennetegn.",
    )
    card = render_card(msg, "nb")
    assert_valid_card(card)
    inputs = {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}
    assert list(inputs) == [f.name for f in EVERY_FIELD.fields]
    assert [c["value"] for c in inputs["mood"]["choices"]] == ["1", "2", "3", "4", "5"]
    assert inputs["mood"]["style"] == "expanded"
    assert inputs["wide"]["style"] == "compact" and len(inputs["wide"]["choices"]) == 11
    assert inputs["again"]["choices"] == [
        {"title": "Ja", "value": "yes"},
        {"title": "Nei", "value": "no"},
    ]
    assert inputs["count"]["type"] == "Input.Number"
    assert (inputs["count"]["min"], inputs["count"]["max"]) == (0, 50)
    assert inputs["note"]["type"] == "Input.Text" and inputs["note"]["isMultiline"] is True
    assert inputs["note"]["isRequired"] is False and "errorMessage" not in inputs["note"]
    assert inputs["code"]["maxLength"] == 20 and "isMultiline" not in inputs["code"]
    assert all(e["label"] for e in inputs.values())
    assert inputs["mood"]["isRequired"] is True and inputs["mood"]["errorMessage"]
    submit_action, cancel = card["actions"]
    assert submit_action["data"] == {"action": "survey:submit"}
    assert "associatedInputs" not in submit_action  # the form's own submit sends the inputs
    assert cancel["associatedInputs"] == "none" and cancel["style"] == "destructive"
    footer = card["body"][-1]
    assert footer["isSubtle"] is True and footer["size"] == "small"
    nynorsk = render_card(msg, "nn")
    assert_valid_card(nynorsk)


def test_buttons_and_links() -> None:
    msg = Message(
        text="Velg:",
        buttons=(
            Button("Start", "guide:start", "1", style="primary"),
            Button("Slett", "data:delete", style="danger"),
            Button("Mer", "help:menu"),
        ),
        links=(Link("Handlingsveileder", "https://example.kommune.no/bti"),),
    )
    card = render_card(msg)
    assert_valid_card(card)
    start_btn, delete, more, link = card["actions"]
    assert start_btn["data"] == {"action": "guide:start", "value": "1"}
    assert (start_btn["style"], delete["style"]) == ("positive", "destructive")
    assert "style" not in more
    assert link == {
        "type": "Action.OpenUrl",
        "title": "Handlingsveileder",
        "url": "https://example.kommune.no/bti",
    }


def test_markdown_lite_text_becomes_wrapped_text_blocks() -> None:
    text = (
        "**Overskrift**\nEn _viktig_ linje.\n\n- punkt én\n- [lenke](https://x.no)\n"
        "Etter lista {{DATE(2017-02-14T06:08:39Z, SHORT)}}"
    )
    blocks = text_blocks(text)
    assert [b["text"] for b in blocks] == [
        "**Overskrift**",
        "En _viktig_ linje.",
        "- punkt én\r- [lenke](https://x.no)",
        "Etter lista {\u200b{DATE(2017-02-14T06:08:39Z, SHORT)}}",
    ]
    assert blocks[2]["spacing"] == "medium" and "spacing" not in blocks[1]
    assert to_plain("**Hei** _du_, se [her](https://x.no)") == "Hei du, se her (https://x.no)"
    assert summary(Message(text="- **Første** punkt\nto")) == "Første punkt"
    assert len(summary(Message(text="x" * 500))) <= 120
    assert render_card(Message(text=""))["body"] == []


def test_reserved_or_duplicate_field_names_are_refused() -> None:
    with pytest.raises(ValueError):
        render_input(FormField("action", "Feil", "text"))
    twice = Form("f:x", (FormField("a", "A", "text"), FormField("a", "B", "text")), "Send")
    with pytest.raises(ValueError):
        render_card(Message(text="x", form=twice))


def test_turn_from_activity_value() -> None:
    assert turn_from_activity_value({"action": "help:about", "value": "nn"}) == (
        "help:about",
        "nn",
        {},
    )
    submitted = {"action": "survey:submit", "mood": "4", "again": "yes", "count": 3.0, "ok": True}
    assert turn_from_activity_value(submitted) == (
        "survey:submit",
        "",
        {"mood": "4", "again": "yes", "count": "3", "ok": "true"},
    )
    junk = {"action": ["x"], "nested": {"a": 1}, 5: "int key", "msteams": {"type": "x"}}
    assert turn_from_activity_value(junk) == ("", "", {})
    assert turn_from_activity_value("text data") == ("", "", {})
    action, value, _ = turn_from_activity_value({"action": "a" * 500, "value": "v" * 500})
    assert len(action) == 64 and len(value) == 200


# unit: reading activities ------------------------------------------------------------------------


def test_clean_text_removes_only_the_bots_mention() -> None:
    mention = {
        "type": "mention",
        "mentioned": {"id": BOT_ID, "name": "BTS-bot"},
        "text": "<at>BTS-bot</at>",
    }
    other = {
        "type": "mention",
        "mentioned": {"id": "29:ola", "name": "Ola"},
        "text": "<at>Ola</at>",
    }
    body = {
        "text": "<at>BTS-bot</at> spør <at>Ola</at> om hjelp&nbsp;",
        "recipient": {"id": BOT_ID},
        "conversation": {"conversationType": "channel"},
        "entities": [mention, other, {"type": "clientInfo"}, "junk", {"type": "mention"}],
    }
    assert clean_text(body) == "spør Ola om hjelp"
    no_entities = {**body, "entities": None, "text": "<at>BTS (bot)</at> hjelp"}
    assert clean_text(no_entities) == "hjelp"
    bot_last = {**body, "text": "<at>Ola</at> trenger hjelp <at>BTS-bot</at>"}
    assert clean_text(bot_last) == "Ola trenger hjelp"
    personal = {"text": "  hei  ", "conversation": {"conversationType": "personal"}}
    assert clean_text(personal) == "hei"


def test_tenant_and_turn_from_activities() -> None:
    assert tenant_of({"channelData": {"tenant": {"id": TENANT}}}) == f"teams:{TENANT}"
    assert tenant_of({"conversation": {"tenantId": TENANT}}) == f"teams:{TENANT}"
    assert tenant_of({"channelData": {"tenant": {"id": "../../etc"}}}) == "teams:unknown"
    assert tenant_of({}) == "teams:unknown"

    fake = FakeConnector(base_url="http://127.0.0.1:9")
    incoming = describe(message(fake, "hjelp"))
    assert not isinstance(incoming, str) and incoming.turn is not None
    turn = incoming.turn
    assert (turn.platform, turn.tenant_id, turn.user_id) == ("teams", f"teams:{TENANT}", USER_AAD)
    assert (turn.channel_id, turn.is_direct, turn.text) == (PERSONAL, True, "hjelp")

    click = describe(submit(fake, {"action": "help:about", "value": ""}, reply_to="r"))
    assert not isinstance(click, str) and click.turn is not None
    assert (click.turn.kind, click.turn.action) == ("action", "help:about")

    added = describe(install(fake))
    assert not isinstance(added, str) and added.welcome and added.turn is None
    removed = describe(activity(fake, "conversationUpdate", membersRemoved=[{"id": BOT_ID}]))
    assert not isinstance(removed, str) and not removed.remember and not removed.welcome
    someone = describe(
        activity(
            fake,
            "conversationUpdate",
            conversation=CHANNEL,
            conversation_type="channel",
            membersAdded=[{"id": "29:new-colleague"}],
        )
    )
    assert not isinstance(someone, str) and not someone.welcome  # no welcome spam in teams
    uninstall = describe(activity(fake, "installationUpdate", action="remove"))
    assert not isinstance(uninstall, str) and not uninstall.remember
    upgrade = describe(activity(fake, "installationUpdate", action="add-upgrade"))
    assert not isinstance(upgrade, str) and upgrade.remember and not upgrade.welcome


def test_adapter_config_uses_botbuilders_names_and_refuses_half_configs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "MICROSOFT_APP_TYPE"):
        monkeypatch.delenv(name, raising=False)
    off = adapter_config(
        load_settings(microsoft_app_id="", microsoft_app_type="SingleTenant", _env_file=None)
    )
    assert (off.APP_ID, off.APP_TYPE) == ("", "MultiTenant")
    on = adapter_config(
        load_settings(microsoft_app_id=APP_ID, microsoft_app_password="pw", _env_file=None)
    )
    assert (on.APP_ID, on.APP_PASSWORD, on.APP_TYPE) == (APP_ID, "pw", "MultiTenant")
    with pytest.raises(ConfigError):
        adapter_config(load_settings(microsoft_app_id=APP_ID, _env_file=None))
    with pytest.raises(ConfigError):
        adapter_config(
            load_settings(
                microsoft_app_id=APP_ID,
                microsoft_app_password="pw",
                microsoft_app_type="SingleTenant",
                _env_file=None,
            )
        )


async def test_credentials_are_reused_and_the_token_is_fetched_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botframework.connector.auth import MicrosoftAppCredentials

    threads: list[str] = []

    def fake_token(self: MicrosoftAppCredentials, force_refresh: bool = False) -> str:
        threads.append(threading.current_thread().name)
        return "token"

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", fake_token)
    settings = load_settings(microsoft_app_id=APP_ID, microsoft_app_password="pw", _env_file=None)
    factory = credentials_factory(adapter_config(settings))
    scope, login = (
        "https://api.botframework.com",
        "https://login.microsoftonline.com/botframework.com",
    )
    first = await factory.create_credentials(APP_ID, scope, login, True)
    second = await factory.create_credentials(APP_ID, scope, login, True)
    assert first is second
    assert len(threads) == 2 and threading.main_thread().name not in threads
    assert await factory.is_valid_app_id(APP_ID) and not await factory.is_valid_app_id("other")
