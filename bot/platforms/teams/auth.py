"""Teams authentication and where the server may send: botbuilder's adapter built from our settings,
credentials that live as long as the process, and the ``serviceUrl`` allow-list.

An activity's ``serviceUrl`` is where the server POSTs its answer, so an unchecked one is a request
forgery: only loopback without auth and the documented Teams / Bot Framework hosts with auth are
allowed, and every connector client botbuilder makes (for replies and for proactive sends) goes
through ``GuardedConnectorFactory``, which refuses the others and sets a timeout. The keys that
sign incoming tokens are fetched by ``SigningKeys`` (off the event loop, with a timeout) for
botbuilder's token check. Must not log tokens or request bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    AuthenticationConstants,
    ChannelValidation,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenExtractor,
    ServiceClientCredentialsFactory,
)
from jwt.algorithms import RSAAlgorithm

from bot.config import ConfigError, Settings
from bot.platforms.teams.intake import PLATFORM, PRINTABLE_ID

log = logging.getLogger(__name__)

MAX_SERVICE_URL = 1000

# Where the Bot Connector of each cloud lives: Teams' (regions are path prefixes such as /emea/,
# /amer/, /teams/ of smba.trafficmanager.net; US government clouds have their own hosts) and the
# Bot Framework channels' (*.botframework.com, *.botframework.azure.us).
DEFAULT_SERVICE_HOSTS: Final = (
    "smba.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
    "smba.infra.dod.teams.microsoft.us",
    "*.botframework.com",
    "*.botframework.azure.us",
)
LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost", "::1")  # the Bot Framework Emulator's
_NETLOC = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


# configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdapterConfig:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads (not MicrosoftAppId)."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def adapter_config(settings: Settings) -> AdapterConfig:
    """Our settings in botbuilder's names; refuses combinations botbuilder would fail on later."""
    app_id = settings.microsoft_app_id.strip()
    password = (
        settings.microsoft_app_password.get_secret_value()
        if settings.microsoft_app_password
        else ""
    )
    if not app_id:
        # Auth off (local testing): botbuilder only skips auth in its MultiTenant mode.
        return AdapterConfig("", "", "MultiTenant", "")
    app_type = settings.microsoft_app_type
    if app_type != "UserAssignedMSI" and not password:
        raise ConfigError(
            "configuration error: MICROSOFT_APP_PASSWORD is required when MICROSOFT_APP_ID is set"
        )
    if app_type != "MultiTenant" and not settings.microsoft_app_tenant_id:
        raise ConfigError(
            f"configuration error: MICROSOFT_APP_TENANT_ID is required for {app_type} bots"
        )
    return AdapterConfig(app_id, password, app_type, settings.microsoft_app_tenant_id)


class CachedCredentialsFactory(ServiceClientCredentialsFactory):
    """Reuses credentials, so the bot's access token is fetched once and not on every turn.

    botbuilder creates new credentials (with a new, empty MSAL token cache) for every connector
    client, i.e. every turn and every proactive send, and msrest asks them for a token
    synchronously on the event loop. Here credentials live as long as the process, and the token
    is fetched or refreshed in a worker thread before a connector uses it.
    """

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._credentials: dict[tuple[str, str, str, bool], AppCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        key = (app_id or "", oauth_scope or "", login_endpoint or "", bool(validate_authority))
        credentials = self._credentials.get(key)
        if credentials is None:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            self._credentials[key] = credentials
        if getattr(credentials, "microsoft_app_id", ""):
            try:
                await asyncio.to_thread(credentials.get_access_token)
            except Exception as exc:  # the connector call itself reports the failure
                log.warning(
                    "teams access token could not be fetched",
                    extra={"platform": PLATFORM, "error_type": type(exc).__name__},
                )
        return credentials


def credentials_factory(config: AdapterConfig) -> CachedCredentialsFactory:
    return CachedCredentialsFactory(ConfigurationServiceClientCredentialFactory(config))


# where the server may send -------------------------------------------------------------------


class ServiceUrlRefused(Exception):
    """A ``serviceUrl`` outside the allow-list: ``status`` 400 (malformed) or 403 (not allowed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


@dataclass(frozen=True)
class ServiceUrlPolicy:
    """Which Bot Connector URLs the server may call (an activity's ``serviceUrl``)."""

    hosts: tuple[str, ...]

    def check(self, service_url: object) -> None:
        """Raise ``ServiceUrlRefused`` unless ``service_url`` is allowed.

        Only plain ``scheme://host[:port]/path`` URLs: no user info, no query, no backslashes or
        other characters that URL parsers disagree about. ``http`` and other ports than 443 only
        for loopback hosts.
        """
        if not isinstance(service_url, str) or not service_url:
            raise ServiceUrlRefused(400, "serviceUrl must be an http(s) URL")
        if len(service_url) > MAX_SERVICE_URL or not PRINTABLE_ID.match(service_url):
            raise ServiceUrlRefused(400, "serviceUrl is malformed")
        parts = urlsplit(service_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ServiceUrlRefused(400, "serviceUrl must be an http(s) URL")
        if not _NETLOC.match(parts.netloc) or parts.query or parts.fragment or "\\" in service_url:
            raise ServiceUrlRefused(400, "serviceUrl is malformed")
        try:
            port = parts.port
        except ValueError:
            raise ServiceUrlRefused(400, "serviceUrl is malformed") from None
        host = (parts.hostname or "").lower()
        if not any(_host_matches(host, pattern) for pattern in self.hosts):
            raise ServiceUrlRefused(403, "serviceUrl is not an allowed Bot Connector host")
        if host not in LOOPBACK_HOSTS and (parts.scheme != "https" or port not in (None, 443)):
            raise ServiceUrlRefused(403, "serviceUrl must be https on the default port")

    def allows(self, service_url: object) -> bool:
        try:
            self.check(service_url)
        except ServiceUrlRefused:
            return False
        return True


def service_url_policy(settings: Settings) -> ServiceUrlPolicy:
    """``TEAMS_SERVICE_URL_HOSTS`` when set; else the documented hosts with auth, loopback without."""
    hosts = settings.teams_service_hosts or (
        DEFAULT_SERVICE_HOSTS if settings.teams_auth_enabled else LOOPBACK_HOSTS
    )
    return ServiceUrlPolicy(tuple(hosts))


class GuardedConnectorFactory(ConnectorFactory):
    """botbuilder's connector factory, refusing service URLs off the allow-list and giving every
    connector client a timeout (msrest's default is 100 s per call)."""

    def __init__(self, inner: ConnectorFactory, policy: ServiceUrlPolicy, timeout: float) -> None:
        self._inner = inner
        self._policy = policy
        self._timeout = timeout

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        self._policy.check(service_url)
        client = await self._inner.create(service_url, audience)
        client.config.connection.timeout = self._timeout
        return client


class GuardedAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication whose connector factories are ``GuardedConnectorFactory``s:
    the reply path (from ``authenticate_request``) and proactive sends (``create_connector_factory``)
    both go through it."""

    def __init__(
        self,
        config: AdapterConfig,
        credentials: ServiceClientCredentialsFactory,
        policy: ServiceUrlPolicy,
        timeout: float,
    ) -> None:
        super().__init__(config, credentials_factory=credentials)
        self.policy = policy
        self.timeout = timeout

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        result: AuthenticateRequestResult = await super().authenticate_request(
            activity, auth_header
        )
        if result.connector_factory is not None:
            result.connector_factory = GuardedConnectorFactory(
                result.connector_factory, self.policy, self.timeout
            )
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = super().create_connector_factory(claims_identity)
        return GuardedConnectorFactory(inner, self.policy, self.timeout)


# the keys incoming tokens are signed with ------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder's ``JwtTokenExtractor`` reads of a key: the key and its endorsements."""

    public_key: Any
    endorsements: list[str]


@dataclass
class SigningKeys:
    """The keys published at an OpenID metadata URL, in place of botbuilder's own cache.

    botbuilder's cache fetches with ``requests`` on the event loop and without a timeout, so a
    slow key server stopped every channel of the process, and a hung one for good. This one
    fetches in a worker thread with ``timeout`` (a failure is a ``RequestException``: 503, the
    Bot Framework retries) and keeps botbuilder's rhythm: a refresh after a day, and at most
    once an hour for a key id it does not know (Microsoft publishes new keys before use).
    """

    url: str
    timeout: float
    max_age: float = 24 * 3600.0
    unknown_key_age: float = 3600.0
    _keys: list[dict[str, Any]] = field(default_factory=list)
    _fetched: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, key_id: str) -> SigningKey:
        """The key ``key_id``; raises ``PermissionError`` for a key that is not published."""
        await self._refresh_if_older(self.max_age)
        key = self._find(key_id)
        if key is None:
            await self._refresh_if_older(self.unknown_key_age)
            key = self._find(key_id)
        if key is None:
            raise PermissionError("token signed with an unknown key")
        return key

    def _older(self, age: float) -> bool:
        return self._fetched is None or time.monotonic() - self._fetched > age

    async def _refresh_if_older(self, age: float) -> None:
        if not self._older(age):
            return
        async with self._lock:  # one fetch for the requests that arrive meanwhile
            if self._older(age):
                self._keys = await asyncio.to_thread(self._fetch)
                self._fetched = time.monotonic()

    def _fetch(self) -> list[dict[str, Any]]:
        try:
            metadata = requests.get(self.url, timeout=self.timeout)
            metadata.raise_for_status()
            published = requests.get(str(metadata.json()["jwks_uri"]), timeout=self.timeout)
            published.raise_for_status()
            keys = published.json()["keys"]
        except (ValueError, KeyError, TypeError) as exc:
            message = f"unreadable signing keys ({type(exc).__name__})"
            raise requests.RequestException(message) from None
        if not isinstance(keys, list):
            raise requests.RequestException("unreadable signing keys (no list)")
        return [key for key in keys if isinstance(key, dict)]

    def _find(self, key_id: str) -> SigningKey | None:
        for key in self._keys:
            if key_id and key.get("kid") == key_id:
                endorsements = key.get("endorsements") or []
                return SigningKey(RSAAlgorithm.from_jwk(json.dumps(key)), list(endorsements))
        return None


def channel_openid_metadata_url(settings: Settings) -> str:
    """Where the keys of the Bot Framework's tokens are published: ``TEAMS_OPENID_METADATA_URL``
    or botbuilder's public Bot Framework URL."""
    return (
        settings.teams_openid_metadata_url
        or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    )


def build_adapter(settings: Settings) -> CloudAdapter:
    config = adapter_config(settings)
    # Through ChannelValidation's own hook, not botbuilder's "parameterized" configuration: that
    # is a second copy of the checks (and, given only the URL, compares the issuer with None), so
    # tests against a local key server would not run the checks production runs. The hook is
    # process-wide, as botbuilder keeps it; one process builds one adapter.
    channel_keys = channel_openid_metadata_url(settings)
    ChannelValidation.open_id_metadata_endpoint = channel_keys
    # botbuilder looks its key caches up by URL; ours go in first. The Emulator's (Azure AD) keys
    # are fetched for any token with an Azure AD issuer, so they need the same care.
    for url in (channel_keys, AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL):
        timeout = settings.teams_connector_timeout_seconds
        JwtTokenExtractor.metadataCache[url] = SigningKeys(url, timeout)
    authentication = GuardedAuthentication(
        config,
        credentials_factory(config),
        service_url_policy(settings),
        settings.teams_connector_timeout_seconds,
    )
    return CloudAdapter(authentication)
