"""Teams authentication for real (#14 §4): botbuilder's own Bot Framework token checks, run
against a local OpenID metadata + JWKS endpoint (``tests.support.openid``) whose key signs the
tokens, over real HTTP to ``POST /api/messages`` with an app id configured.

The server runs in the test's process (so ``caplog`` sees every log record, at DEBUG for all
loggers) and ``TEAMS_OPENID_METADATA_URL`` points at the local issuer. A valid token is answered
and the reply reaches the fake Bot Connector; each kind of bad token is refused with 401 before
anything is stored or sent, and the same activity with a valid token is then answered, so a
refusal cannot come from anything but the token. The bot's *outgoing* token (fetched from
Microsoft's login by MSAL) cannot be had without the internet: ``MicrosoftAppCredentials`` hands
out a fixed test token instead, and the fake connector sees it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth import MicrosoftAppCredentials
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import ConfigError, load_settings
from bot.http.server import build_app
from bot.platforms.teams.auth import channel_openid_metadata_url
from bot.runtime import Runtime
from tests.platforms.test_teams import APP_ID, PERSONAL, message, replies_to
from tests.support.fake_connector import FakeConnector
from tests.support.openid import OpenIdIssuer, new_key, public_jwk

OUTGOING_TOKEN = "outgoing-test-token-0123456789"
WEBCHAT_KID = "webchat-only-key"
KEYS_TIMEOUT = 2.0
STORED = ("tenants", "users", "conversation_refs", "conversation_state", "processed_events")


@dataclass
class TeamsApp:
    client: TestClient[Any, Any]
    issuer: OpenIdIssuer
    connector: FakeConnector
    database: Path
    webchat_key: rsa.RSAPrivateKey  # signs for WEBCHAT_KID, a key published for Web Chat only

    async def post(self, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.post("/api/messages", json=body, headers=headers)
        text = await response.text()
        return response.status, (await response.json()) if text else None

    def valid_token(self) -> str:
        return self.issuer.token(APP_ID, self.connector.service_url)

    def stored_rows(self) -> dict[str, int]:
        with sqlite3.connect(self.database) as db:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in STORED}


@pytest.fixture
async def teams_app(
    tmp_path: Path,
    openid_issuer: OpenIdIssuer,
    fake_connector: FakeConnector,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[TeamsApp]:
    """The bot with an app id, trusting only the local issuer's keys, replying to the fake."""
    caplog.set_level(logging.DEBUG)  # the root logger: every logger that propagates

    def outgoing_token(self: MicrosoftAppCredentials, force_refresh: bool = False) -> str:
        return OUTGOING_TOKEN

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", outgoing_token)
    # A second key, published for another channel only (as Web Chat's are).
    webchat_key = new_key()
    openid_issuer.extra_keys.append(public_jwk(webchat_key, WEBCHAT_KID, ["webchat"]))
    database = tmp_path / "bot.sqlite3"
    settings = load_settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password="not-a-real-secret",
        microsoft_app_type="MultiTenant",
        microsoft_app_tenant_id="",
        teams_openid_metadata_url=openid_issuer.metadata_url,
        teams_service_url_hosts="127.0.0.1",  # the fake connector
        teams_connector_timeout_seconds=KEYS_TIMEOUT,
        slack_bot_token=None,
        webchat_enabled=False,
        data_dir=tmp_path,
        database_url=f"sqlite:///{database}",
        reminders_enabled=False,
        _env_file=None,
    )
    runtime = await Runtime.start(settings)
    try:
        async with TestClient(TestServer(build_app(runtime))) as client:
            yield TeamsApp(client, openid_issuer, fake_connector, database, webchat_key)
    finally:
        await runtime.close()


def fragments(secret: str, width: int = 16, step: int = 8) -> set[str]:
    """Overlapping pieces of ``secret``: any 23 characters of it in a row contain one."""
    if len(secret) <= width:
        return {secret} if secret else set()
    return {secret[i : i + width] for i in range(0, len(secret) - width + 1, step)}


def assert_not_logged(caplog: pytest.LogCaptureFixture, *tokens: str) -> None:
    """No log record (message, arguments, extra fields, traceback) holds a token, one of its
    three parts or a piece of one."""
    secrets = fragments(OUTGOING_TOKEN)
    for token in tokens:
        for part in token.split("."):
            secrets |= fragments(part)
    assert caplog.records, "nothing was logged at all: the capture is not working"
    for record in caplog.records:
        seen = " ".join([record.getMessage(), record.exc_text or "", repr(record.__dict__)])
        for secret in secrets:
            assert secret not in seen, (record.name, record.getMessage())


async def test_a_valid_bot_framework_token_is_accepted_and_answered(
    teams_app: TeamsApp, caplog: pytest.LogCaptureFixture
) -> None:
    token = teams_app.valid_token()
    activity = message(teams_app.connector, "hjelp")
    status, _ = await teams_app.post(activity, token)
    assert status == 201
    reply = teams_app.connector.wait_for(replies_to(PERSONAL, activity["id"]))[-1]
    assert reply.headers["Authorization"] == f"Bearer {OUTGOING_TOKEN}"
    assert teams_app.stored_rows()["processed_events"] >= 1
    # The keys were fetched once, through the metadata document's jwks_uri.
    assert teams_app.issuer.fetches == ["/v1/.well-known/openidconfiguration", "/v1/keys"]
    second = message(teams_app.connector, "hjelp")
    assert (await teams_app.post(second, teams_app.valid_token()))[0] == 201
    assert len(teams_app.issuer.fetches) == 2  # cached
    assert_not_logged(caplog, token)


def _hs256(app: TeamsApp) -> str:
    """Signed with a shared secret instead of the issuer's key (an algorithm confusion)."""
    claims = jwt.decode(app.valid_token(), options={"verify_signature": False})
    return jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": app.issuer.kid})


BAD_TOKENS: dict[str, Callable[[TeamsApp], str | None]] = {
    "no token": lambda app: None,
    "wrong audience": lambda app: app.issuer.token(
        "00000000-1111-2222-3333-444444444444", app.connector.service_url
    ),
    "no audience": lambda app: app.issuer.token(APP_ID, app.connector.service_url, aud=None),
    "wrong issuer": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, iss="https://evil.example"
    ),
    "expired beyond the 5-minute skew": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, lifetime=-6 * 60
    ),
    "not valid for another 10 minutes": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, not_before=10 * 60
    ),
    "unknown key id": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, kid="no-such-key"
    ),
    "no key id": lambda app: app.issuer.token(APP_ID, app.connector.service_url, kid=""),
    "another key with the same key id": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, key=new_key()
    ),
    "a key not endorsed for msteams": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, key=app.webchat_key, kid=WEBCHAT_KID
    ),
    "serviceurl claim for another connector": lambda app: app.issuer.token(
        APP_ID, "https://smba.trafficmanager.net/emea/"
    ),
    "no serviceurl claim": lambda app: app.issuer.token(
        APP_ID, app.connector.service_url, serviceurl=None
    ),
    "HS256 instead of RS256": _hs256,
    "signature cut off": lambda app: app.valid_token().rpartition(".")[0] + ".",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_a_bad_token_is_refused_with_401_and_nothing_is_stored_or_sent(
    teams_app: TeamsApp, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    bad = BAD_TOKENS[case](teams_app)
    activity = message(teams_app.connector, "hjelp")
    status, body = await teams_app.post(activity, bad)
    assert status == 401, (case, status, body)
    assert body == {"error": "unauthorized", "status": 401}, body
    assert teams_app.connector.calls() == []
    assert set(teams_app.stored_rows().values()) == {0}, teams_app.stored_rows()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # The same activity with a valid token is answered: only the token was wrong.
    good = teams_app.valid_token()
    assert (await teams_app.post(activity, good))[0] == 201
    teams_app.connector.wait_for(replies_to(PERSONAL, activity["id"]))
    assert_not_logged(caplog, *([bad] if bad else []), good)


async def test_a_slow_key_server_neither_blocks_the_server_nor_hangs_the_request(
    teams_app: TeamsApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: botbuilder fetched the keys with ``requests`` on the event loop and no timeout, so
    a slow login.botframework.com stopped every channel (Slack too) for as long as it took."""
    teams_app.issuer.delay = 3 * KEYS_TIMEOUT
    token = teams_app.valid_token()
    started = time.monotonic()
    pending = asyncio.create_task(teams_app.post(message(teams_app.connector, "hjelp"), token))
    await asyncio.sleep(0.3)  # the key fetch has begun
    health = await teams_app.client.get("/healthz")
    assert health.status == 200
    assert time.monotonic() - started < KEYS_TIMEOUT  # answered while the keys were pending
    status, body = await pending
    assert status == 503 and body["error"], (status, body)
    assert time.monotonic() - started < 2 * KEYS_TIMEOUT
    assert teams_app.connector.calls() == []

    teams_app.issuer.delay = 0
    activity = message(teams_app.connector, "hjelp")
    assert (await teams_app.post(activity, token))[0] == 201  # fetched again, now in time
    teams_app.connector.wait_for(replies_to(PERSONAL, activity["id"]))
    assert_not_logged(caplog, token)


def test_the_metadata_url_defaults_to_the_public_bot_framework_and_must_be_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEAMS_OPENID_METADATA_URL", raising=False)
    default = load_settings(_env_file=None)
    assert channel_openid_metadata_url(default) == (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    local = load_settings(teams_openid_metadata_url="http://127.0.0.1:1/x", _env_file=None)
    assert channel_openid_metadata_url(local) == "http://127.0.0.1:1/x"
    with pytest.raises(ConfigError, match="TEAMS_OPENID_METADATA_URL"):
        load_settings(teams_openid_metadata_url="login.botframework.com", _env_file=None)
