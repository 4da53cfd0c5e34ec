"""Which bot token speaks for which Slack workspace.

Two modes behind one interface, ``SlackTokens.for_team``:

- ``SingleToken``: one workspace, ``SLACK_BOT_TOKEN``; its identity comes from a cached ``auth.test``.
- ``InstalledTokens``: many workspaces installed through OAuth (``bot.platforms.slack.oauth``); each
  workspace's token is read from ``slack_installations``, decrypted with ``TokenCipher`` (the key from
  ``SLACK_TOKEN_KEY``), cached briefly, and refreshed with ``oauth.v2.access`` before it expires when
  the app uses token rotation. An uninstalled workspace has no token, so nothing is sent to it.

Must never log a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from storage import slack_installs
from storage.models import utcnow
from storage.repositories import Store

log = logging.getLogger(__name__)

#: A token that expires within this is refreshed before use (Slack's rotated tokens live 12 h).
REFRESH_MARGIN = timedelta(minutes=10)
#: How long a process trusts what it read; an uninstall seen by another replica takes effect
#: here within this time (this process's own uninstall handling evicts at once).
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Installation:
    """A workspace's bot: its token (plain, in memory only) and who the bot is there."""

    team_id: str
    bot_token: str
    bot_user_id: str
    bot_id: str = ""
    team_name: str = ""


class SlackTokens(Protocol):
    """Gives the installation of a workspace, or None when the bot is not installed there."""

    async def for_team(self, team_id: str | None) -> Installation | None: ...

    async def bot_token(self, team_id: str) -> str | None:
        """Just the token to send with (no identity lookup), or None when not installed."""
        ...

    def forget(self, team_id: str) -> None: ...


def team_of(tenant_id: str) -> str:
    """``slack:T0123`` → ``T0123``."""
    return tenant_id.partition(":")[2]


class TokenCipher:
    """Fernet encryption of tokens at rest. ``SLACK_TOKEN_KEY`` holds one or more Fernet keys,
    comma-separated: the first encrypts, every one decrypts, so a key is rotated by putting the new
    one first and re-encrypting (``bts-bot slack rekey``) before the old one is dropped."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ConfigError("configuration error: SLACK_TOKEN_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise ConfigError(
                "configuration error: SLACK_TOKEN_KEY must be Fernet keys (32 url-safe base64 "
                "bytes each; make one with `bts-bot slack keygen`), comma-separated"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        key = settings.slack_token_key
        if key is None or not key.get_secret_value().strip():
            raise ConfigError(
                "configuration error: SLACK_TOKEN_KEY is needed with SLACK_CLIENT_ID "
                "(the bot tokens are encrypted with it; make one with `bts-bot slack keygen`)"
            )
        return cls(key.get_secret_value())

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, data: bytes) -> str:
        try:
            return self._fernet.decrypt(data).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored Slack token cannot be decrypted with SLACK_TOKEN_KEY (wrong key?)"
            ) from None

    def rotate(self, data: bytes) -> bytes:
        """The same token encrypted with the first key."""
        return self._fernet.rotate(data)


class SingleToken:
    """One workspace, the configured bot token; identity from one cached ``auth.test``."""

    def __init__(self, token: str, api_url: str) -> None:
        self.token = token
        self.api_url = api_url
        self._self: Installation | None = None
        self._lock = asyncio.Lock()

    async def _identity(self) -> Installation:
        async with self._lock:
            if self._self is None:
                client = AsyncWebClient(base_url=self.api_url, timeout=15)
                try:
                    response = await client.auth_test(token=self.token)
                finally:
                    if client.session is not None and not client.session.closed:
                        await client.session.close()
                self._self = Installation(
                    team_id=str(response.get("team_id") or ""),
                    bot_token=self.token,
                    bot_user_id=str(response.get("user_id") or ""),
                    bot_id=str(response.get("bot_id") or ""),
                    team_name=str(response.get("team") or ""),
                )
            return self._self

    async def for_team(self, team_id: str | None) -> Installation | None:
        identity = await self._identity()
        if team_id is None or team_id == identity.team_id:
            return identity
        return None

    async def bot_token(self, team_id: str) -> str | None:
        return self.token or None

    def forget(self, team_id: str) -> None:
        """Nothing to forget: the token is the environment's (an uninstall makes it fail)."""


class StaticToken:
    """A known token whose identity is not needed (senders built in tests and tools)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def for_team(self, team_id: str | None) -> Installation | None:
        return Installation(team_id=team_id or "", bot_token=self.token, bot_user_id="")

    async def bot_token(self, team_id: str) -> str | None:
        return self.token or None

    def forget(self, team_id: str) -> None:
        """Nothing to forget."""


@dataclass
class _Cached:
    installation: Installation | None
    at: float
    expires_at: datetime | None


class InstalledTokens:
    """Many workspaces: the installations in the database (OAuth)."""

    def __init__(
        self,
        store: Store,
        cipher: TokenCipher,
        api_url: str,
        client_id: str,
        client_secret: str,
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.api_url = api_url
        self.client_id = client_id
        self.client_secret = client_secret
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def forget(self, team_id: str) -> None:
        self._cache.pop(team_id, None)

    async def bot_token(self, team_id: str) -> str | None:
        found = await self.for_team(team_id)
        return None if found is None else found.bot_token

    async def for_team(self, team_id: str | None) -> Installation | None:
        if not team_id:
            return None
        cached = self._cache.get(team_id)
        fresh = cached is not None and time.monotonic() - cached.at < CACHE_SECONDS
        if cached is not None and fresh and not _expiring(cached.expires_at):
            return cached.installation
        lock = self._locks.setdefault(team_id, asyncio.Lock())
        async with lock:
            stored = await slack_installs.find_installation(self.store, team_id)
            if stored is not None and _expiring(stored.expires_at):
                stored = await self._refresh(stored)
            found = None if stored is None else self._plain(stored)
            self._cache[team_id] = _Cached(
                found, time.monotonic(), None if stored is None else stored.expires_at
            )
            return found

    def _plain(self, stored: slack_installs.StoredInstallation) -> Installation:
        return Installation(
            team_id=stored.team_id,
            bot_token=self.cipher.decrypt(stored.bot_token),
            bot_user_id=stored.bot_user_id,
            bot_id=stored.bot_id,
            team_name=stored.team_name,
        )

    async def _refresh(
        self, stored: slack_installs.StoredInstallation
    ) -> slack_installs.StoredInstallation | None:
        """Trade the refresh token for a new bot token (token rotation)."""
        if stored.refresh_token is None:
            return stored  # no rotation: a token without expiry
        answer = await oauth_access(
            self.api_url,
            self.client_id,
            self.client_secret,
            grant_type="refresh_token",
            refresh_token=self.cipher.decrypt(stored.refresh_token),
        )
        if answer is None:
            # Slack refused the refresh token: another replica used it first, or the app was
            # uninstalled. Whatever the database holds now is the truth.
            return await slack_installs.find_installation(self.store, stored.team_id)
        token = str(answer.get("access_token") or "")
        refresh = str(answer.get("refresh_token") or "")
        expires = token_expiry(answer)
        if not token:
            return stored
        bot_token = self.cipher.encrypt(token)
        refresh_token = self.cipher.encrypt(refresh) if refresh else None
        won = await slack_installs.rotate_tokens(
            self.store, stored.team_id, stored.refresh_token, bot_token, refresh_token, expires
        )
        if not won:
            return await slack_installs.find_installation(self.store, stored.team_id)
        log.info("slack token rotated", extra={"tenant": f"slack:{stored.team_id}"})
        return replace(stored, bot_token=bot_token, refresh_token=refresh_token, expires_at=expires)


def _expiring(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at - utcnow() < REFRESH_MARGIN


def token_expiry(answer: dict[str, Any]) -> datetime | None:
    """When the token in an ``oauth.v2.access`` answer expires (None: no rotation)."""
    seconds = answer.get("expires_in")
    if isinstance(seconds, int) and seconds > 0:
        return utcnow() + timedelta(seconds=seconds)
    return None


async def oauth_access(
    api_url: str, client_id: str, client_secret: str, **params: str
) -> dict[str, Any] | None:
    """``oauth.v2.access`` (code exchange or refresh); None when Slack says no."""
    client = AsyncWebClient(base_url=api_url, timeout=15)
    try:
        response = await client.oauth_v2_access(
            client_id=client_id, client_secret=client_secret, **params
        )
    except SlackApiError as exc:
        log.warning(
            "slack oauth.v2.access refused",
            extra={"code": str(exc.response.get("error") or "error")},
        )
        return None
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
    return dict(response.data) if isinstance(response.data, dict) else None


_SHARED: weakref.WeakKeyDictionary[Store, SlackTokens] = weakref.WeakKeyDictionary()


def slack_tokens(settings: Settings, store: Store) -> SlackTokens:
    """The process's token source for these settings and this database (one per pair, so an
    uninstall handled by the turns is seen by the senders at once)."""
    found = _SHARED.get(store)
    if found is not None:
        return found
    made: SlackTokens
    if settings.slack_oauth_enabled:
        secret = settings.slack_client_secret
        made = InstalledTokens(
            store,
            TokenCipher.from_settings(settings),
            settings.slack_api_url,
            settings.slack_client_id,
            secret.get_secret_value() if secret else "",
        )
    else:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        made = SingleToken(token, settings.slack_api_url)
    _SHARED[store] = made
    return made
