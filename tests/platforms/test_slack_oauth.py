"""Slack OAuth v2: many workspaces on one app.

Over real HTTP against a ``bts-bot serve`` process and the fake Slack: ``/slack/install`` hands out a
state (database + cookie), ``/slack/oauth_redirect`` checks it and trades the code with
``oauth.v2.access``; each workspace is then answered with its own bot token, which is stored only
encrypted. In process, on SQLite and PostgreSQL: token rotation (also two replicas refreshing at
once), and an uninstall that stops every send to the workspace.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.config import ConfigError, load_settings
from bot.delivery.senders import Unreachable
from bot.platforms.slack.oauth import BOT_SCOPES, REDIRECT_PATH, STATE_COOKIE
from bot.platforms.slack.sender import NOT_INSTALLED, SlackSender
from bot.platforms.slack.tokens import InstalledTokens, TokenCipher
from dialogs.messages import Message, Reply
from storage import outbox, slack_installs
from storage.db import create_engine
from storage.models import utcnow
from storage.outbox import NewItem
from storage.outbox_models import OutboxItem
from storage.repositories import Store
from storage.slack_installs import StoredInstallation
from tests.support.fake_slack import (
    BOT_USER_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    FakeSlack,
    Workspace,
    signed_headers,
)
from tests.support.fake_slack import dm_event as dm
from tests.support.server import BotServer

SECRET = "test-signing-secret-0123456789"
KEY = Fernet.generate_key().decode()
MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack" / "manifest.yaml"
_ids = itertools.count(1)

StartServer = Callable[..., BotServer]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(server: BotServer, path: str, cookie: str = "") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(server.base_url + path)
    if cookie:
        request.add_header("Cookie", f"{STATE_COOKIE}={cookie}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def start(bot_server: StartServer, fake: FakeSlack, **extra: str) -> BotServer:
    return bot_server(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_TOKEN_KEY=KEY,
        SLACK_API_URL=fake.api_url,
        PUBLIC_URL="https://bts.example.no",
        REMINDERS_ENABLED="false",
        **extra,
    )


def begin(server: BotServer) -> str:
    """``/slack/install``: the state Slack's authorize page will hand back."""
    status, headers, _ = get(server, "/slack/install")
    assert status == 302
    location = urllib.parse.urlsplit(headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert f"{STATE_COOKIE}={query['state']}" in headers["Set-Cookie"]
    return query["state"]


def install(server: BotServer, fake: FakeSlack, workspace: Workspace) -> str:
    """The whole flow for one workspace; the page shown at the end."""
    state = begin(server)
    code = f"code-{next(_ids)}"
    fake.add_install_code(code, workspace)
    status, _, page = get(server, f"{REDIRECT_PATH}?code={code}&state={state}", cookie=state)
    assert status == 200, page
    return page


def send_event(server: BotServer, team: str, event: dict[str, Any]) -> int:
    body = json.dumps(
        {
            "team_id": team,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
    ).encode()
    request = urllib.request.Request(
        server.base_url + "/slack/events", data=body, headers=signed_headers(SECRET, body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def installations(server: BotServer) -> list[tuple[Any, ...]]:
    path = Path(server.env["DATA_DIR"]) / "bts-bot.sqlite3"
    with sqlite3.connect(path) as db:
        return db.execute("SELECT team_id, bot_token FROM slack_installations").fetchall()


# the install flow over HTTP -----------------------------------------------------------------------


def test_install_redirects_to_slacks_authorize_page(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    status, headers, _ = get(server, "/slack/install")

    assert status == 302
    location = urllib.parse.urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://slack.com/oauth/v2/authorize"
    )
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["client_id"] == CLIENT_ID
    assert query["scope"].split(",") == list(BOT_SCOPES)
    assert query["redirect_uri"] == "https://bts.example.no/slack/oauth_redirect"
    assert len(query["state"]) >= 32
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "Path=/slack" in cookie
    assert get(server, "/slack/install")[1]["Location"] != headers["Location"]  # a new state


def test_two_workspaces_are_each_answered_with_their_own_token(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    page = install(server, fake_slack, Workspace("TSTRAND", "Strand <kommune>"))
    install(server, fake_slack, Workspace("TSIRDAL", "Sirdal kommune"))

    assert "Strand &lt;kommune&gt;" in page  # the team name, escaped
    assert "app_redirect?app=A0001&amp;team=TSTRAND" in page
    token_of = {team: token for token, team in fake_slack.tokens.items()}
    # The same user id in both workspaces: two people, each answered in their own workspace.
    assert send_event(server, "TSTRAND", dm("U1", "DSTRAND1", "hjelp")) == 200
    assert send_event(server, "TSIRDAL", dm("U1", "DSIRDAL1", "hjelp")) == 200
    posts = fake_slack.wait_for("chat.postMessage", count=2, timeout=20)
    by_channel = {}
    for call in posts:
        by_channel.setdefault(call.body["channel"], set()).add(call.token)
    assert by_channel["DSTRAND1"] == {token_of["TSTRAND"]}
    assert by_channel["DSIRDAL1"] == {token_of["TSIRDAL"]}
    # At rest only ciphertext: neither token is anywhere in the database file.
    stored = dict(installations(server))
    assert set(stored) == {"TSTRAND", "TSIRDAL"}
    raw = (Path(server.env["DATA_DIR"]) / "bts-bot.sqlite3").read_bytes()
    for token in token_of.values():
        assert token.encode() not in raw
        assert token.encode() not in stored["TSTRAND"] + stored["TSIRDAL"]
    assert all(token not in server.log_text() for token in token_of.values())
    assert "code-" not in server.log_text()


def test_a_state_is_good_once_in_the_browser_that_asked_for_it(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    workspace = Workspace("TSTRAND", "Strand kommune")

    state = begin(server)
    fake_slack.add_install_code("c1", workspace)
    wrong_cookie = get(server, f"{REDIRECT_PATH}?code=c1&state={state}", cookie="other")
    assert wrong_cookie[0] == 400 and "ikke gyldig" in wrong_cookie[2]
    # ...and that attempt used the state up: the right cookie cannot finish it afterwards.
    assert get(server, f"{REDIRECT_PATH}?code=c1&state={state}", cookie=state)[0] == 400
    made_up = "x" * 43
    assert get(server, f"{REDIRECT_PATH}?code=c1&state={made_up}", cookie=made_up)[0] == 400
    assert get(server, f"{REDIRECT_PATH}?state={state}", cookie=state)[0] == 400
    assert fake_slack.calls("oauth.v2.access") == []  # no code was traded for any of them

    cancelled = get(server, f"{REDIRECT_PATH}?error=access_denied&state={state}", cookie=state)
    assert cancelled[0] == 200 and "avbrutt" in cancelled[2]

    state = begin(server)
    refused = get(server, f"{REDIRECT_PATH}?code=unknown&state={state}", cookie=state)
    assert refused[0] == 502 and "Ingenting er lagret" in refused[2]
    assert installations(server) == []
    assert "Set-Cookie" in refused[1] and "Max-Age=0" in refused[1]["Set-Cookie"]


def test_uninstall_drops_the_tokens_and_the_workspace_is_no_longer_answered(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    install(server, fake_slack, Workspace("TSTRAND", "Strand kommune"))
    install(server, fake_slack, Workspace("TSIRDAL", "Sirdal kommune"))
    queue_tomorrow(server, ["slack:TSTRAND", "slack:TSIRDAL"])
    fake_slack.revoke("TSTRAND")

    assert send_event(server, "TSTRAND", {"type": "app_uninstalled"}) == 200
    deadline = time.monotonic() + 15
    while [t for t, _ in installations(server)] != ["TSIRDAL"]:
        assert time.monotonic() < deadline, installations(server)
        time.sleep(0.1)
    # What was still waiting for the uninstalled workspace is dropped at once, not reported as
    # unreachable row by row; the other workspace's rows wait as before.
    assert outbox_statuses(server) == {("slack:TSIRDAL", "pending"), ("slack:TSTRAND", "skipped")}
    assert send_event(server, "TSTRAND", dm("U1", "DSTRAND1", "hjelp")) == 200
    assert send_event(server, "TSIRDAL", dm("U1", "DSIRDAL1", "hjelp")) == 200
    fake_slack.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == "DSIRDAL1")
    time.sleep(1)
    assert fake_slack.calls("chat.postMessage", lambda c: c.body["channel"] == "DSTRAND1") == []


def queue_tomorrow(server: BotServer, tenants: list[str]) -> None:
    """An outbox row due tomorrow in each tenant, straight into the server's database."""
    url = f"sqlite+aiosqlite:///{Path(server.env['DATA_DIR']) / 'bts-bot.sqlite3'}"

    async def work() -> None:
        engine = create_engine(url)
        try:
            tomorrow = utcnow() + timedelta(days=1)
            payload = {"problem": "unreachable"}
            rows = [
                NewItem(
                    t,
                    f"report:uninstall:{t}",
                    "report",
                    "slack",
                    "channel",
                    "C1",
                    tomorrow,
                    payload,
                )
                for t in tenants
            ]
            await outbox.enqueue(Store(engine), rows)
        finally:
            await engine.dispose()

    asyncio.run(work())


def outbox_statuses(server: BotServer) -> set[tuple[str, str]]:
    path = Path(server.env["DATA_DIR"]) / "bts-bot.sqlite3"
    with sqlite3.connect(path) as db:
        return set(db.execute("SELECT tenant_id, status FROM outbox"))


def test_tokens_revoked_for_user_tokens_only_keeps_the_installation(
    bot_server: StartServer, fake_slack: FakeSlack
) -> None:
    server = start(bot_server, fake_slack)
    install(server, fake_slack, Workspace("TSTRAND", "Strand kommune"))
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}
    assert send_event(server, "TSTRAND", revoked) == 200
    assert send_event(server, "TSTRAND", dm("U1", "DSTRAND1", "hjelp")) == 200
    fake_slack.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == "DSTRAND1")
    assert [t for t, _ in installations(server)] == ["TSTRAND"]

    revoked = {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}}
    assert send_event(server, "TSTRAND", revoked) == 200
    deadline = time.monotonic() + 15
    while installations(server):
        assert time.monotonic() < deadline
        time.sleep(0.1)


# in process: rotation and sends ------------------------------------------------------------------


def tokens_for(store: Store, fake: FakeSlack) -> InstalledTokens:
    return InstalledTokens(store, TokenCipher(KEY), fake.api_url, CLIENT_ID, CLIENT_SECRET)


async def installed(store: Store, fake: FakeSlack, workspace: Workspace) -> None:
    """What the redirect stores, from a real ``oauth.v2.access`` of the fake."""
    from bot.platforms.slack.oauth import _installation
    from bot.platforms.slack.tokens import oauth_access

    code = f"code-{next(_ids)}"
    fake.add_install_code(code, workspace)
    answer = await oauth_access(fake.api_url, CLIENT_ID, CLIENT_SECRET, code=code)
    made = _installation(answer, TokenCipher(KEY))
    assert isinstance(made, StoredInstallation)
    await slack_installs.save_installation(store, made)


def item(tenant: str, channel: str) -> OutboxItem:
    return OutboxItem(
        tenant_id=tenant,
        target_kind="channel",
        target_id=channel,
        dedupe_key=f"test:{next(_ids)}",
        attempts=0,
    )


def reply() -> Reply:
    return Reply([Message("Påminnelse")])


async def test_sends_go_with_the_workspaces_token_and_stop_at_uninstall(
    store: Store, fake_slack: FakeSlack
) -> None:
    await installed(store, fake_slack, Workspace("TSTRAND", "Strand"))
    await installed(store, fake_slack, Workspace("TSIRDAL", "Sirdal"))
    tokens = tokens_for(store, fake_slack)
    sender = SlackSender(tokens, fake_slack.api_url)
    try:
        await sender.send(item("slack:TSTRAND", "C1"), reply())
        await sender.send(item("slack:TSIRDAL", "C1"), reply())
        used = [c.token for c in fake_slack.calls("chat.postMessage")]
        assert [fake_slack.tokens[t] for t in used] == ["TSTRAND", "TSIRDAL"]

        assert await slack_installs.delete_installation(store, "TSTRAND")
        tokens.forget("TSTRAND")
        with pytest.raises(Unreachable) as caught:
            await sender.send(item("slack:TSTRAND", "C1"), reply())
        assert caught.value.code == NOT_INSTALLED
        with pytest.raises(Unreachable):
            await sender.send(item("slack:TNEVER", "C1"), reply())
        assert len(fake_slack.calls("chat.postMessage")) == 2  # nothing more went out
    finally:
        await sender.close()


async def test_an_uninstall_seen_by_another_replica_stops_sends_here_soon(
    store: Store, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.platforms.slack.tokens as tokens_module

    monkeypatch.setattr(tokens_module, "CACHE_SECONDS", 0.2)
    await installed(store, fake_slack, Workspace("TSTRAND", "Strand"))
    here = tokens_for(store, fake_slack)
    assert await here.bot_token("TSTRAND")
    await slack_installs.delete_installation(store, "TSTRAND")  # the other replica's doing
    await asyncio.sleep(0.3)
    assert await here.bot_token("TSTRAND") is None


async def test_an_expiring_token_is_rotated_once_even_by_two_replicas(
    store: Store, fake_slack: FakeSlack
) -> None:
    workspace = Workspace("TSTRAND", "Strand", rotate=True, expires_in=60)
    await installed(store, fake_slack, workspace)
    workspace.expires_in = 43200  # what the refreshed token gets (Slack's 12 hours)
    first = await slack_installs.find_installation(store, "TSTRAND")
    assert first is not None and first.refresh_token is not None and first.expires_at is not None
    old_token = TokenCipher(KEY).decrypt(first.bot_token)

    one, two = tokens_for(store, fake_slack), tokens_for(store, fake_slack)
    got = await asyncio.gather(one.bot_token("TSTRAND"), two.bot_token("TSTRAND"))

    refreshes = fake_slack.calls("oauth.v2.access", lambda c: c.body.get("grant_type"))
    assert 1 <= len(refreshes) <= 2  # the second replica's try is refused by Slack...
    now = await slack_installs.find_installation(store, "TSTRAND")
    assert now is not None
    newest = TokenCipher(KEY).decrypt(now.bot_token)
    assert newest != old_token and newest in fake_slack.tokens
    assert now.expires_at is not None and now.expires_at > utcnow() + timedelta(hours=11)
    assert len(fake_slack.refresh_tokens) == 1  # ...and never overwrites the winner's tokens
    assert TokenCipher(KEY).decrypt(now.refresh_token or b"") in fake_slack.refresh_tokens
    assert newest in got
    # A token that is not about to expire is not refreshed again.
    assert await tokens_for(store, fake_slack).bot_token("TSTRAND") == newest
    assert len(fake_slack.calls("oauth.v2.access", lambda c: c.body.get("grant_type"))) == len(
        refreshes
    )


# settings and manifest ---------------------------------------------------------------------------


def test_oauth_settings_must_be_complete(tmp_path: Path) -> None:
    base = {"data_dir": tmp_path, "slack_signing_secret": SecretStr(SECRET)}
    with pytest.raises(ConfigError, match="SLACK_TOKEN_KEY"):
        load_settings(**base, slack_client_id=CLIENT_ID, slack_client_secret=SecretStr("s"))
    with pytest.raises(ConfigError, match="go together"):
        load_settings(**base, slack_client_id=CLIENT_ID)
    with pytest.raises(ConfigError, match="either SLACK_BOT_TOKEN"):
        load_settings(
            **base,
            slack_client_id=CLIENT_ID,
            slack_client_secret=SecretStr("s"),
            slack_token_key=SecretStr(KEY),
            slack_bot_token=SecretStr("xoxb-1"),
        )
    with pytest.raises(ConfigError, match="Fernet"):
        TokenCipher("not-a-key")
    settings = load_settings(
        **base,
        slack_client_id=CLIENT_ID,
        slack_client_secret=SecretStr("s"),
        slack_token_key=SecretStr(KEY),
    )
    assert settings.slack_oauth_enabled and settings.slack_enabled
    assert "install at /slack/install" in settings.channel_summary()["slack"]


def test_key_rotation_reads_old_tokens_and_writes_with_the_new_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = TokenCipher(old).encrypt("xoxb-secret")
    both = TokenCipher(f"{new},{old}")
    assert both.decrypt(stored) == "xoxb-secret"
    assert TokenCipher(new).decrypt(both.rotate(stored)) == "xoxb-secret"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        TokenCipher(new).decrypt(stored)


def test_the_manifest_asks_for_the_scopes_the_install_asks_for() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://bts-bot.example.org/slack/oauth_redirect"
    ]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
