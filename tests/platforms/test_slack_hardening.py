"""Slack input no client sends, replays and shutdown: always a 4xx (never a 5xx), acted on once.

Over real HTTP against ``bts-bot serve`` on SQLite and PostgreSQL: malformed timestamps and
charsets before authentication, deep nesting, shapes Slack never sends inside a valid signature,
replayed clicks and slash commands, and 503 while the server drains.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import load_settings
from bot.http.server import DRAINING_KEY, build_app
from bot.runtime import Runtime
from tests.platforms.test_slack import (
    FORM,
    SECRET,
    barrier,
    click_payload,
    dm,
    envelope,
    post,
    send_payload,
    send_signed,
    to_channel,
)
from tests.support.fake_slack import TEAM_ID, FakeSlack, signed_headers
from tests.support.postgres import fresh_postgres_database
from tests.support.server import BotServer

StartServer = Callable[..., BotServer]


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, bot_server: StartServer, fake_slack: FakeSlack
) -> Iterator[BotServer]:
    extra: dict[str, str] = {}
    if request.param == "postgresql":
        extra["DATABASE_URL"] = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    yield bot_server(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        REMINDERS_ENABLED="false",
        **extra,
    )


def assert_healthy(server: BotServer) -> None:
    status, text = post(server, b"", {}, path="/readyz")  # POST is refused, but answered
    assert status in (200, 405), text
    log = server.log_text()
    assert "unhandled error" not in log
    assert '"level": "error"' not in log


TIMESTAMPS = ["abc", "1e9", "", "1796158118.5", "0x10", "\u00b2\u00b3", "9" * 40, " 1", "-1"]


def test_a_timestamp_that_is_no_integer_is_refused_before_anything_else(
    server: BotServer,
) -> None:
    body = json.dumps(envelope(dm("UTS", "DTS", "hjelp"))).encode()
    for timestamp in TIMESTAMPS:
        headers = signed_headers(SECRET, body) | {"X-Slack-Request-Timestamp": timestamp}
        assert post(server, body, headers)[0] == 401, timestamp
    assert_healthy(server)


def test_charsets_nesting_and_text_slack_never_sends_get_4xx(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    body = json.dumps(envelope(dm("UCS", "DCS", "hjelp"))).encode()
    unknown = signed_headers(SECRET, body) | {"Content-Type": "application/json; charset=x-nope"}
    assert post(server, body, unknown)[0] == 415
    utf16 = signed_headers(SECRET, body) | {"Content-Type": "application/json; charset=utf-16"}
    assert post(server, body, utf16)[0] == 415
    for depth in (5_000, 50_000):
        nested = b"[" * depth + b"]" * depth
        assert send_signed(server, nested)[0] == 400
        assert post(server, nested, {"Content-Type": "application/json"})[0] == 401
        form = urllib.parse.urlencode({"payload": "[" * depth + "]" * depth}).encode()
        assert send_signed(server, form, content_type=FORM)[0] in (400, 413)  # 413: > 256 KiB
    lone = json.dumps(envelope(dm("USUR", "DSUR", "hei \ud800 der"))).encode()
    assert send_signed(server, lone)[0] == 400
    nul_text = json.dumps(envelope(dm("UNUL", "DNUL", "hei\x00"))).encode()
    assert send_signed(server, nul_text)[0] == 400
    assert (
        send_signed(server, json.dumps(envelope(dm("UNUL2", "DNUL2", "x"), "Ev\x00")).encode())[0]
        == 400
    )
    long_id = json.dumps(envelope(dm("ULONG", "DLONG", "hjelp"), "Ev" + "A" * 298)).encode()
    assert send_signed(server, long_id)[0] == 400
    barrier(server, fake_slack)
    for channel in ("DCS", "DSUR", "DNUL", "DNUL2", "DLONG"):
        assert fake_slack.calls("chat.postMessage", to_channel(channel)) == []
    assert_healthy(server)


TEAMS: list[object] = [{"id": "T1"}, ["T1"], 7, "t-lower", "T" * 60, "T1\n"]


def test_a_team_id_of_the_wrong_shape_is_refused(server: BotServer, fake_slack: FakeSlack) -> None:
    for team in TEAMS:
        event = envelope(dm("UTEAM", "DTEAM", "hjelp"))
        event["team_id"] = team
        assert send_signed(server, json.dumps(event).encode())[0] == 400, team
        click = click_payload(fake_slack, "help:about#0", "DTEAM", "UTEAM", "1.000001")
        click["team"] = {"id": team, "domain": "fake"}
        assert send_payload(server, click)[0] == 400, team
        if not isinstance(team, dict):  # team itself must be an object
            click["team"] = team
            assert send_payload(server, click)[0] == 400, team
    barrier(server, fake_slack)
    assert fake_slack.calls("chat.postMessage", to_channel("DTEAM")) == []
    assert_healthy(server)


URLS: list[object] = ["not a url", "file:///etc/passwd", "http://169.254.169.254/latest", 42, ""]


def test_a_response_url_that_is_no_slack_url_is_refused(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    for url in URLS:
        click = click_payload(fake_slack, "help:about#0", "C0URL", "UURL", "1.000001")
        click["response_url"] = url
        assert send_payload(server, click)[0] == 400, url
        fields = {"team_id": TEAM_ID, "user_id": "UURL", "channel_id": "C0URL", "command": "/bts"}
        fields |= {"text": "hjelp", "response_url": str(url), "trigger_id": "9.9.9"}
        body = urllib.parse.urlencode(fields).encode()
        assert send_signed(server, body, content_type=FORM)[0] == 400, url
    barrier(server, fake_slack)
    assert fake_slack.calls("response_url") == []
    assert fake_slack.calls("chat.update") == []


def test_a_replayed_click_or_command_is_acted_on_once(
    server: BotServer, fake_slack: FakeSlack
) -> None:
    click = click_payload(fake_slack, "help:about#0", "DREPLAY", "UREPLAY", "1.000010")
    body = urllib.parse.urlencode({"payload": json.dumps(click)}).encode()
    headers = signed_headers(SECRET, body, content_type=FORM)
    assert post(server, body, headers)[0] == 200
    assert post(server, body, headers)[0] == 200  # the same signed bytes again, within 5 min
    fields = {"team_id": TEAM_ID, "user_id": "UREPLAY", "channel_id": "C0REPLAY"}
    fields |= {"command": "/bts", "text": "hjelp", "trigger_id": "7.7.7"}
    fields["response_url"] = fake_slack.response_url("replay")
    command = urllib.parse.urlencode(fields).encode()
    command_headers = signed_headers(SECRET, command, content_type=FORM)
    assert post(server, command, command_headers)[0] == 200
    assert post(server, command, command_headers)[0] == 200
    fake_slack.wait_for("chat.update")
    fake_slack.wait_for("response_url")
    barrier(server, fake_slack)
    assert len(fake_slack.calls("chat.update")) == 1
    assert len(fake_slack.calls("response_url")) == 1
    # A second, real click on the same button is a new action (new action_ts): answered again.
    again = click_payload(fake_slack, "help:about#0", "DREPLAY", "UREPLAY", "1.000010")
    assert send_payload(server, again)[0] == 200
    fake_slack.wait_for("chat.update", count=2)


async def test_while_draining_posts_get_503_with_retry_after(tmp_path: Path) -> None:
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url="http://127.0.0.1:9/api/",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        reminders_enabled=False,
    )
    runtime = await Runtime.start(settings)
    app = build_app(runtime)
    async with TestClient(TestServer(app)) as client:
        body = json.dumps(envelope(dm("UDRAIN", "DDRAIN", "hjelp"))).encode()
        headers = signed_headers(SECRET, body)
        app[DRAINING_KEY].set()
        response = await client.post("/slack/events", data=body, headers=headers)
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert (await response.json())["status"] == 503
        assert (await client.get("/healthz")).status == 200
    await runtime.close()
