"""Slack: scenario tests over real HTTP (real ``bts-bot serve`` against the fake Slack Web API) and
unit tests of the Block Kit rendering and of turning Slack payloads into turns.

Listeners run after the ack, so scenario tests wait on the fake (``wait_for``). To show that
something was *not* sent, a test sends a later request that must be answered (``barrier``) and
then counts the calls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

from bot.config import load_settings
from bot.platforms.slack.adapter import start_socket_mode
from bot.platforms.slack.intake import action_turn, command_turn, dm_turn, mention_turn
from bot.platforms.slack.render import (
    SECTION_LIMIT,
    decode_action_id,
    encode_action_id,
    escape,
    form_values,
    render_message,
    render_reply,
    split_mrkdwn,
    to_mrkdwn,
    to_plain,
)
from bot.runtime import Runtime
from dialogs.messages import Button, Form, FormField, Link, Message, Option, Reply
from tests.support.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    SOCKET_ACK,
    SOCKET_CONNECT,
    TEAM_ID,
    Call,
    FakeSlack,
    signed_headers,
)
from tests.support.fake_slack import dm_event as dm
from tests.support.server import BotServer

SECRET = "test-signing-secret-0123456789"
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)

StartServer = Callable[..., BotServer]


# helpers ---------------------------------------------------------------------------------------


def start(bot_server: StartServer, fake: FakeSlack) -> BotServer:
    return bot_server(
        SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url
    )


def post(
    server: BotServer, body: bytes, headers: dict[str, str], path: str = "/slack/events"
) -> tuple[int, str]:
    request = urllib.request.Request(server.base_url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def send_signed(
    server: BotServer, body: bytes, content_type: str = "application/json", **headers: str
) -> tuple[int, str]:
    return post(
        server, body, {**signed_headers(SECRET, body, content_type=content_type), **headers}
    )


def envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "event": event,
    }


def send_event(server: BotServer, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
    headers = kwargs.pop("headers", {})
    body = json.dumps(envelope(event, **kwargs)).encode()
    return send_signed(server, body, **headers)


def send_payload(server: BotServer, payload: dict[str, Any]) -> tuple[int, str]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return send_signed(server, body, content_type=FORM)


def to_channel(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == channel


def block_text(call: Call) -> str:
    return json.dumps(call.body.get("blocks", []), ensure_ascii=False)


def barrier(server: BotServer, fake: FakeSlack) -> None:
    """Send a DM that must be answered and wait for its answer: earlier work has had its turn."""
    n = next(_ids)
    channel = f"DBARRIER{n}"
    assert send_event(server, dm(f"UBARRIER{n}", channel, "hjelp"))[0] == 200
    fake.wait_for("chat.postMessage", where=to_channel(channel))


def click_payload(
    fake: FakeSlack, action_id: str, channel: str, user: str, message_ts: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": fake.response_url(f"click-{next(_ids)}"),
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "x"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
        **extra,
    }


# scenario tests ----------------------------------------------------------------------------------


def test_url_verification_echoes_the_challenge(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    body = json.dumps(
        {"token": "legacy", "challenge": "c-123-xyz", "type": "url_verification"}
    ).encode()
    status, text = send_signed(server, body)
    assert status == 200
    assert "c-123-xyz" in text


def test_dm_gets_exactly_one_answer_with_the_help_menu(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    channel = "DHELP1"
    assert send_event(server, dm("UHELP1", channel, "hjelp"))[0] == 200
    (first,) = fake_slack.wait_for("chat.postMessage", where=to_channel(channel))
    assert "velkommen til *BTS-bot*" in block_text(first)  # first contact: the welcome
    assert "guide:acute#0" in block_text(first)  # the acute exit first (issue #11)
    assert "help:menu#2" in block_text(first)  # after the guide button
    assert first.body["text"] and "**" not in first.body["text"]
    assert first.headers["Authorization"] == "Bearer xoxb-test"

    assert send_event(server, dm("UHELP1", channel, "hjelp"))[0] == 200
    posts = fake_slack.wait_for("chat.postMessage", count=2, where=to_channel(channel))
    assert "*Dette kan jeg hjelpe deg med nå:*" in block_text(posts[1])
    barrier(server, fake_slack)
    assert len(fake_slack.calls("chat.postMessage", to_channel(channel))) == 2


def test_button_click_updates_the_clicked_message(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    channel, ts = "DCLICK1", "1699999999.000100"
    status, _ = send_payload(
        server, click_payload(fake_slack, "help:about#0", channel, "UCLICK1", ts)
    )
    assert status == 200
    (update,) = fake_slack.wait_for("chat.update")
    assert update.body["channel"] == channel
    assert update.body["ts"] == ts
    assert "BTI/BTS – Bedre tverrfaglig innsats" in block_text(update)
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.postMessage", to_channel(channel)) == []


def test_clicks_in_ephemeral_messages_and_app_home_are_answered_where_they_can_be_seen(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    ephemeral = click_payload(fake_slack, "help:acute#1", "C0EPH", "UEPH", "1.000002")
    ephemeral["container"]["is_ephemeral"] = True
    assert send_payload(server, ephemeral)[0] == 200
    (answer,) = fake_slack.wait_for("response_url")
    assert answer.body["replace_original"] is True
    assert "Akutt fare" in block_text(answer) and "112" in block_text(answer)

    home = click_payload(fake_slack, "help:menu#0", "", "UHOMECLICK", "")
    home["container"] = {"type": "view", "view_id": "V1"}
    del home["channel"], home["message"]
    assert send_payload(server, home)[0] == 200
    fake_slack.wait_for("conversations.open")
    (posted,) = fake_slack.wait_for("chat.postMessage", where=to_channel("DHOMECLICK"))
    assert "Dette kan jeg hjelpe deg med" in block_text(posted)
    assert fake_slack.calls("chat.update") == []


def test_slash_command_answers_through_response_url(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    response_url = fake_slack.response_url("cmd-1")
    fields = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": "C0CMD",
        "channel_name": "general",
        "user_id": "UCMD1",
        "user_name": "kari",
        "command": "/bts",
        "text": "hjelp",
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    body = urllib.parse.urlencode(fields).encode()
    status, text = send_signed(server, body, content_type=FORM)
    assert status == 200
    assert text == ""  # empty ack: the answer follows through response_url
    (answer,) = fake_slack.wait_for("response_url")
    assert answer.path.endswith("/cmd-1")
    assert answer.body["response_type"] == "ephemeral"
    assert "BTS-bot" in block_text(answer)


def test_forged_or_stale_signatures_are_refused_and_nothing_is_sent(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    body = json.dumps(envelope(dm("UFORGE", "DFORGE", "hjelp"))).encode()
    forged = signed_headers("wrong-secret", body)
    assert post(server, body, forged)[0] == 401
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert post(server, body, stale)[0] == 401
    unsigned = {"Content-Type": "application/json"}
    assert post(server, body, unsigned)[0] == 401
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.postMessage", to_channel("DFORGE")) == []


def test_a_retried_event_is_answered_once(bot_server: StartServer, fake_slack: FakeSlack) -> None:
    server = start(bot_server, fake_slack)
    event = dm("URETRY", "DRETRY", "hei")  # first contact: one post, the welcome
    assert send_event(server, event, event_id="EvRETRY1")[0] == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert send_event(server, event, event_id="EvRETRY1", headers=retry)[0] == 200
    fake_slack.wait_for("chat.postMessage", where=to_channel("DRETRY"))
    barrier(server, fake_slack)
    assert len(fake_slack.calls("chat.postMessage", to_channel("DRETRY"))) == 1


def test_an_event_redelivered_after_a_restart_is_not_answered_again(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    first = start(bot_server, fake_slack)
    event = dm("URESTART", "DRESTART", "hei")  # first contact: one post, the welcome
    assert send_event(first, event, event_id="EvRESTART1")[0] == 200
    fake_slack.wait_for("chat.postMessage", where=to_channel("DRESTART"))
    first.stop()

    second = start(bot_server, fake_slack)  # same data dir, so the same database
    retry = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"}
    assert send_event(second, event, event_id="EvRESTART1", headers=retry)[0] == 200
    barrier(second, fake_slack)
    assert len(fake_slack.calls("chat.postMessage", to_channel("DRESTART"))) == 1


def test_bad_input_gets_4xx_never_5xx(bot_server: StartServer, fake_slack: FakeSlack) -> None:
    server = start(bot_server, fake_slack)
    assert send_signed(server, b'{"type": "event_callback", "event": ')[0] == 400
    assert send_signed(server, b"[1, 2, 3]")[0] == 400
    assert send_signed(server, b'{"type": "event_callback", "event": "x"}')[0] == 400
    assert send_signed(server, b'{"type": "event_callback", "event": {"user": "U1"}}')[0] == 400
    view = {"payload": json.dumps({"type": "view_submission", "view": {"id": "V1"}})}
    assert send_signed(server, urllib.parse.urlencode(view).encode(), content_type=FORM)[0] == 400
    assert send_signed(server, b"payload=%7Bnot+json", content_type=FORM)[0] == 400
    empty_actions = urllib.parse.urlencode(
        {"payload": json.dumps({"type": "block_actions", "actions": []})}
    ).encode()
    assert send_signed(server, empty_actions, content_type=FORM)[0] == 400
    assert send_signed(server, b"\xff\xfe{}")[0] == 400

    body = json.dumps(envelope(dm("UTYPE", "DTYPE", "hjelp"))).encode()
    assert send_signed(server, body, content_type="text/plain")[0] == 415
    assert post(server, body, {"Content-Type": "application/xml"})[0] == 415

    big = b'{"type": "event_callback", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    status, text = send_signed(server, big)
    assert status == 413
    assert json.loads(text)["status"] == 413

    log = server.log_text()
    assert "unhandled error" not in log and '"level": "error"' not in log
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.postMessage", to_channel("DTYPE")) == []


def test_unknown_action_is_refused_and_nothing_is_sent(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    payload = click_payload(fake_slack, "no:such-action#0", "DUNKNOWN", "UUNKNOWN", "1.000001")
    status, text = send_payload(server, payload)
    assert 400 <= status < 500
    assert "unknown action" in text
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.update") == []
    assert fake_slack.calls("chat.postMessage", to_channel("DUNKNOWN")) == []
    assert fake_slack.calls("response_url") == []


def test_messages_from_bots_and_edits_get_no_answer(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    channel = "DSELF"
    assert send_event(server, dm(BOT_USER_ID, channel, "hjelp"))[0] == 200
    assert send_event(server, dm("UOTHER", channel, "hjelp", bot_id=BOT_ID))[0] == 200
    assert send_event(server, dm("UOTHER", channel, "hjelp", subtype="bot_message"))[0] == 200
    edited = dm("UOTHER", channel, "hjelp", subtype="message_changed")
    assert send_event(server, edited)[0] == 200
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.postMessage", to_channel(channel)) == []


def test_rate_limited_post_is_retried_after_retry_after(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    fake_slack.fail_next("chat.postMessage", count=1, status=429, retry_after=1)
    assert send_event(server, dm("URATE", "DRATE", "hjelp"))[0] == 200
    calls = fake_slack.wait_for("chat.postMessage", count=2, where=to_channel("DRATE"))
    assert calls[0].body == calls[1].body


def test_logs_are_json_lines_without_message_text(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    secret_text = "PLANTED-d41d8cd9-barnets-navn"
    assert send_event(server, dm("ULOG", "DLOG", secret_text))[0] == 200
    fake_slack.wait_for("chat.postMessage", where=to_channel("DLOG"))
    barrier(server, fake_slack)
    server.stop()
    log = server.log_text()
    assert secret_text not in log
    assert "slack turn handled" in log
    for line in log.splitlines():
        if line.startswith("BTS-bot is running") or line.startswith("  "):
            continue  # the start-up banner on stdout
        entry = json.loads(line)
        if entry.get("platform") == "slack" and "tenant" in entry:
            assert entry["tenant"].startswith("slack:")


def test_welcome_once_when_the_bot_joins_a_channel_or_a_user_opens_app_home(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    joined = {"type": "member_joined_channel", "user": BOT_USER_ID, "channel": "CJOIN"}
    assert send_event(server, joined)[0] == 200
    assert send_event(server, joined)[0] == 200  # a second join: no second welcome
    home = {"type": "app_home_opened", "user": "UHOME", "channel": "DHOME", "tab": "messages"}
    assert send_event(server, home)[0] == 200
    assert send_event(server, home)[0] == 200
    (welcome,) = fake_slack.wait_for("chat.postMessage", where=to_channel("CJOIN"))
    assert "velkommen" in block_text(welcome)
    fake_slack.wait_for("chat.postMessage", where=to_channel("DHOME"))
    barrier(server, fake_slack)
    assert len(fake_slack.calls("chat.postMessage", to_channel("CJOIN"))) == 1
    assert len(fake_slack.calls("chat.postMessage", to_channel("DHOME"))) == 1


def test_mention_in_a_channel_is_answered_in_that_channel(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    mention = {
        "type": "app_mention",
        "user": "UMENTION",
        "channel": "CMENTION",
        "text": f"<@{BOT_USER_ID}> hva er bts",
        "ts": "1700000001.000001",
    }
    assert send_event(server, mention)[0] == 200
    # A first contact gets the welcome first, then the answer, both in the channel.
    welcome, answer = fake_slack.wait_for("chat.postMessage", 2, where=to_channel("CMENTION"))
    assert "velkommen" in block_text(welcome)
    assert "BTI/BTS – Bedre tverrfaglig innsats" in block_text(answer)


async def test_socket_mode_answers_a_dm_and_acks_the_envelope(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_api_url=fake_slack.api_url,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    runtime = await Runtime.start(settings)
    handler = await start_socket_mode(runtime)
    try:
        await asyncio.to_thread(fake_slack.wait_for, SOCKET_CONNECT)
        (opened,) = fake_slack.calls("apps.connections.open")
        assert opened.headers["Authorization"] == "Bearer xapp-test"
        event = envelope(dm("USOCKET", "DSOCKET", "hei"))  # one post: the welcome
        message = {"envelope_id": "env-1", "type": "events_api", "payload": event}
        fake_slack.socket_send(message)
        fake_slack.socket_send(message)  # Slack redelivers when an ack is late
        acks = await asyncio.to_thread(
            fake_slack.wait_for, SOCKET_ACK, 2, where=lambda c: c.body.get("envelope_id") == "env-1"
        )
        assert len(acks) == 2
        (posted,) = await asyncio.to_thread(
            fake_slack.wait_for, "chat.postMessage", where=to_channel("DSOCKET")
        )
        assert "BTS-bot" in block_text(posted)
        fake_slack.socket_send(
            {
                "envelope_id": "env-2",
                "type": "events_api",
                "payload": envelope(dm("USOCKET2", "DSOCKET2", "hjelp")),
            }
        )
        await asyncio.to_thread(
            fake_slack.wait_for, "chat.postMessage", where=to_channel("DSOCKET2")
        )
        assert len(fake_slack.calls("chat.postMessage", to_channel("DSOCKET"))) == 1
    finally:
        await handler.close_async()
        await runtime.close()


# unit tests: rendering ---------------------------------------------------------------------------


def test_markdown_lite_becomes_slack_mrkdwn() -> None:
    text = "**Viktig:** les _dette_\n- en\n- to [Veileder](https://example.no/a?b=1&c=2)"
    assert to_mrkdwn(text) == (
        "*Viktig:* les _dette_\n• en\n• to <https://example.no/a?b=1&amp;c=2|Veileder>"
    )
    assert to_plain(text) == (
        "Viktig: les _dette_\n• en\n• to Veileder (https://example.no/a?b=1&amp;c=2)"
    )


def test_content_cannot_ping_or_forge_links() -> None:
    assert to_mrkdwn("<!channel> & <https://evil.example|bank>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt;"
    )
    assert escape("a&amp;b") == "a&amp;amp;b"
    assert to_mrkdwn("[a|b>](https://x.no)") == "<https://x.no|a/b&gt;>"


def test_long_text_is_split_into_sections_within_the_limit() -> None:
    paragraph = ("ord " * 400).strip()
    text = "\n\n".join([paragraph] * 6)
    rendered = render_message(Message(text=text))
    sections = [b["text"]["text"] for b in rendered.blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    assert " ".join(sections).split() == text.split()
    assert [len(p) for p in split_mrkdwn("x" * 7000)] == [3000, 3000, 1000]
    link = "<https://example.no|lenke>"
    pieces = split_mrkdwn("x" * 2990 + link)
    assert pieces[1] == link


def test_action_id_round_trip_and_uniqueness() -> None:
    for action in ("help:menu", "lang:set", "survey:a#b"):
        for index in (0, 7, "submit"):
            decoded = decode_action_id(encode_action_id(action, index))
            assert decoded == (action, index == "submit")
    assert decode_action_id("help:menu") == ("help:menu", False)
    buttons = tuple(Button(f"Knapp {i}", "help:menu", value=str(i)) for i in range(30))
    blocks = render_message(Message(text="Velg", buttons=buttons)).blocks
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert len(set(ids)) == 30


def test_buttons_styles_and_long_labels() -> None:
    message = Message(
        text="x",
        buttons=(
            Button("Ja", "a:yes", style="primary"),
            Button("Nei", "a:no", style="danger"),
            Button("L" * 120, "a:long", value="v"),
        ),
    )
    (actions,) = [b for b in render_message(message).blocks if b["type"] == "actions"]
    first, second, third = actions["elements"]
    assert first["style"] == "primary" and second["style"] == "danger"
    assert "style" not in third
    assert len(third["text"]["text"]) == 75 and third["value"] == "v"


def test_rendered_blocks_pass_slack_sdk_validation() -> None:
    message = Message(
        text="**Tittel**\n" + "lang tekst " * 900,
        buttons=tuple(Button("B" * 100, f"x:{i}") for i in range(26)),
        links=(Link("Handlingsveileder", "https://example.no/bti"),),
        footer="_Kilde:_ kommunen",
        form=Form(
            action="survey:submit",
            title="Kort spørsmål",
            submit_label="Send inn",
            fields=(
                FormField("score", "Hvor nyttig?", "scale", minimum=0, maximum=10),
                FormField("wide", "Skala 1–20", "scale", minimum=1, maximum=20),
                FormField("ok", "Var det greit?", "yesno"),
                FormField("role", "Rolle", "choice", options=(Option("Lærer", "teacher"),)),
                FormField("count", "Antall", "number", minimum=0, maximum=99),
                FormField("note", "Kommentar", "text", required=False, max_length=5000),
            ),
        ),
    )
    rendered = render_message(message)
    for block in rendered.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        assert parsed.to_dict() == block  # to_dict() runs slack_sdk's validators
    kinds = [b["element"]["type"] for b in rendered.blocks if b["type"] == "input"]
    assert kinds == [
        "static_select",  # 0..10 are 11 options: too many for radio buttons
        "static_select",
        "radio_buttons",
        "static_select",
        "number_input",
        "plain_text_input",
    ]


def test_form_renders_inputs_and_state_values_round_trip() -> None:
    form = Form(
        action="survey:submit",
        submit_label="Send",
        fields=(
            FormField("score", "Hvor nyttig?", "scale", minimum=1, maximum=5),
            FormField("ok", "Greit?", "yesno"),
            FormField("role", "Rolle", "choice", options=(Option("Lærer", "teacher"),)),
            FormField("count", "Antall", "number", minimum=0),
            FormField("note", "Kommentar", "text", required=False),
        ),
    )
    blocks = render_message(Message(text="Svar gjerne", form=form)).blocks
    inputs = [b for b in blocks if b["type"] == "input"]
    assert [b["optional"] for b in inputs] == [False, False, False, False, True]
    chosen = {"score": "4", "ok": "no", "role": "teacher", "count": "3", "note": "fint & <ok>"}

    def slack_state(block: dict[str, Any]) -> dict[str, Any]:
        element = block["element"]
        name = block["block_id"].removeprefix("field:")
        value = chosen[name]
        if element["type"] in ("radio_buttons", "static_select"):
            (option,) = [o for o in element["options"] if o["value"] == value]
            state = {"type": element["type"], "selected_option": option}
        else:
            state = {"type": element["type"], "value": value}
        return {element["action_id"]: state}

    values = {b["block_id"]: slack_state(b) for b in inputs}
    values["b-other"] = {"x": {"type": "button"}}
    assert form_values(values) == chosen

    (submit,) = next(b for b in blocks if b["type"] == "actions")["elements"]
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "UFORM"},
        "channel": {"id": "DFORM"},
        "container": {"type": "message", "message_ts": "1.5", "channel_id": "DFORM"},
        "message": {"ts": "1.5"},
        "state": {"values": values},
        "actions": [{"action_id": submit["action_id"], "value": submit["value"]}],
    }
    turn, clicked = action_turn(payload, TEAM_ID)
    assert turn.kind == "form"
    assert turn.action == "survey:submit"
    assert turn.form_values == chosen
    assert clicked.message_ts == "1.5" and clicked.channel_id == "DFORM"


# unit tests: payloads to turns -------------------------------------------------------------------


def test_dm_and_mention_turns() -> None:
    turn = dm_turn(dm("U1", "D1", "hva er bts &amp; bti"), TEAM_ID, BOT_USER_ID)
    assert turn is not None
    assert (turn.tenant_id, turn.user_id, turn.channel_id, turn.is_direct) == (
        "slack:T0001",
        "U1",
        "D1",
        True,
    )
    assert turn.text == "hva er bts & bti"
    assert dm_turn(dm(BOT_USER_ID, "D1", "x"), TEAM_ID, BOT_USER_ID) is None
    assert dm_turn({**dm("U1", "C1", "x"), "channel_type": "channel"}, TEAM_ID, None) is None

    event = {"type": "app_mention", "user": "U2", "channel": "C9", "text": "<@UBOT> hjelp <@U3>"}
    mention = mention_turn(event, TEAM_ID, BOT_USER_ID)
    assert mention is not None and mention.text == "hjelp <@U3>" and not mention.is_direct
    assert mention_turn({**event, "channel": "D9"}, TEAM_ID, BOT_USER_ID) is None


def test_empty_slash_command_asks_for_help() -> None:
    turn = command_turn({"user_id": "U1", "channel_id": "D1", "text": "  "}, TEAM_ID)
    assert turn.kind == "action" and turn.action == "help:menu"
    turn = command_turn({"user_id": "U1", "channel_id": "C1", "text": "akutt"}, TEAM_ID)
    assert turn.kind == "text" and turn.text == "akutt" and not turn.is_direct


def test_signed_headers_match_slack_sdk() -> None:
    body = b'{"a": 1}'
    headers = signed_headers(SECRET, body, timestamp=1_700_000_000)
    verifier = SignatureVerifier(SECRET)
    expected = verifier.generate_signature(timestamp="1700000000", body=body)
    assert headers["X-Slack-Signature"] == expected
    fresh = signed_headers(SECRET, body)
    assert verifier.is_valid(body, fresh["X-Slack-Request-Timestamp"], fresh["X-Slack-Signature"])


@pytest.mark.parametrize(("lang", "choose", "yes"), [("nb", "Velg", "Ja"), ("nn", "Vel", "Ja")])
def test_a_form_speaks_the_users_language(lang: str, choose: str, yes: str) -> None:
    form = Form(
        action="survey:submit",
        submit_label="Send",
        fields=(
            FormField("role", "Rolle", "choice", options=(Option("Lærer", "teacher"),)),
            FormField("ok", "Greit?", "yesno"),
        ),
    )
    (rendered,) = render_reply(Reply(messages=(Message(text="Svar", form=form),), lang=lang))
    select, radios = [b["element"] for b in rendered.blocks if b["type"] == "input"]
    assert select["placeholder"]["text"] == choose
    assert [o["text"]["text"] for o in radios["options"]] == [yes, "Nei"]


@pytest.mark.parametrize("label", ["a" * 3001, "x\n" * 2000])
def test_footer_and_link_limits(label: str) -> None:
    message = Message(text="t", footer=label, links=(Link(label[:50], "https://e.no"),))
    assert render_message(message).blocks
