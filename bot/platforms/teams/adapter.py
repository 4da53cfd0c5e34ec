"""Microsoft Teams adapter: Bot Framework activities on ``POST /api/messages``, replies as Adaptive Cards.

It checks and parses the request itself (415 / 400 / 413 with a JSON explanation, through
``bot.platforms._http``), authenticates it with botbuilder's ``CloudAdapter`` (401 for a missing or bad
token, never a 5xx), checks every id it will store or send out (length, printable ASCII) and the
``serviceUrl`` against an allow-list (loopback without auth, the documented Teams / Bot Framework
hosts with auth: the server POSTs there, so an unchecked one is a request forgery), turns messages
and ``Action.Submit`` clicks into ``Turn``s for the router and sends each ``Reply`` back as cards
(``bot.platforms.teams.render``): a click's answer replaces the clicked card in place. Every connector call has
a timeout. Installs get the welcome once per conversation. Every user (personal chat) and
conversation the bot sees is remembered as a minimal ``ConversationReference`` (ids and the service
URL, no names), so later code can write first with ``send_proactive``. Activity ids are claimed in
the database per tenant and conversation, so a redelivered activity does nothing twice (at most
once: an activity whose handling crashes after the claim is not retried). This module and
``bot.platforms.teams.render`` are the only ones importing botbuilder; it must not hold dialog logic or log
message text or request bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
)
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError
from requests import RequestException

from bot.config import ConfigError, Settings
from bot.platforms._http import BadInput, json_error, loads_bytes
from bot.platforms.teams.render import (
    CARD_CONTENT_TYPE,
    render_card,
    summary,
    turn_from_activity_value,
)
from bot.runtime import Runtime
from dialogs.messages import Message, Reply, Turn

log = logging.getLogger(__name__)

PLATFORM: Final = "teams"
MESSAGES_PATH = "/api/messages"
ACTIVITY_TTL = timedelta(days=2)
WELCOME_TTL = timedelta(days=365)
NO_ACTION = "teams:no-action"  # a card submit without our action id: answered as a stale button
MAX_CONVERSATION_ID = 300  # conversation_refs.key
MAX_USER_ID = 200  # users.platform_user_id
MAX_ACTIVITY_ID = 200  # real ones are ~13 digits or "f:<guid>"; they go into connector URLs
MAX_CHANNEL_ID = 64
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

_HANDLED = (ActivityTypes.message, ActivityTypes.conversation_update, "installationUpdate")
_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PRINTABLE_ID = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: ids go into URLs
_NETLOC = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_AT_TAG = re.compile(r"<at(?:\s[^>]*)?>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LEADING_AT = re.compile(r"^\s*<at(?:\s[^>]*)?>.*?</at>", re.IGNORECASE | re.DOTALL)


def _extra(tenant: str, **facts: object) -> dict[str, object]:
    return {"tenant": tenant, "platform": PLATFORM, **facts}


def _refused(status: int, reason: str, tenant: str = "") -> web.Response:
    """A 4xx with a short JSON reason, logged with the reason only (never the body)."""
    facts: dict[str, object] = {"platform": PLATFORM, "status": status, "reason": reason}
    if tenant:
        facts["tenant"] = tenant
    log.warning("teams request refused", extra=facts)
    return json_error(status, reason)


def _digest(*parts: str) -> str:
    """A fixed-length key part: Teams ids can be long, and message ids repeat across chats."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def activity_key(tenant_id: str, conversation_id: str, activity_id: str) -> str:
    """The dedupe key of one activity: its id is only unique within a tenant's conversation."""
    return f"{PLATFORM}:activity:{_digest(tenant_id, conversation_id, activity_id)}"


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
        if len(service_url) > MAX_SERVICE_URL or not _PRINTABLE_ID.match(service_url):
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


def build_adapter(settings: Settings) -> CloudAdapter:
    config = adapter_config(settings)
    authentication = GuardedAuthentication(
        config,
        credentials_factory(config),
        service_url_policy(settings),
        settings.teams_connector_timeout_seconds,
    )
    return CloudAdapter(authentication)


# incoming activities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """What one authenticated activity means to us, worked out before botbuilder runs the turn."""

    tenant_id: str
    user_id: str
    conversation_id: str
    is_direct: bool
    turn: Turn | None = None  # a user turn for the router
    welcome: bool = False  # an install: welcome once per conversation
    remember: bool = True  # store conversation references (not when the bot is being removed)


def _mapping(node: Any, key: str) -> Mapping[str, Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _text(node: Any, key: str) -> str:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, str) else ""


def tenant_of(body: Mapping[str, Any]) -> str:
    """``teams:<tenant guid>`` from ``channelData.tenant.id`` (``conversation.tenantId`` as a
    fallback: botbuilder's schema mapping drops it), else ``teams:unknown``."""
    for candidate in (
        _text(_mapping(_mapping(body, "channelData"), "tenant"), "id"),
        _text(_mapping(body, "conversation"), "tenantId"),
    ):
        if _TENANT_ID.match(candidate):
            return f"{PLATFORM}:{candidate}"
    return f"{PLATFORM}:unknown"


def clean_text(body: Mapping[str, Any]) -> str:
    """The user's text without the bot's @mention markup.

    Not ``TurnContext.remove_recipient_mention``: it uses display names as regex patterns and
    raises on a mention entity without ``mentioned.id``. Other people's mentions keep their name.
    """
    text = _text(body, "text")
    bot_id = _text(_mapping(body, "recipient"), "id")
    entities = body.get("entities")
    found = False
    for entity in entities if isinstance(entities, list) else []:
        if (
            isinstance(entity, Mapping)
            and _text(entity, "type").lower() == "mention"
            and _text(_mapping(entity, "mentioned"), "id") == bot_id
            and _text(entity, "text")
        ):
            text = text.replace(_text(entity, "text"), " ")
            found = True
    if not found and _text(_mapping(body, "conversation"), "conversationType") != "personal":
        # In channels and group chats Teams only delivers messages that @mention the bot; without
        # a mention entity for it, a leading <at>…</at> is that mention.
        text = _LEADING_AT.sub(" ", text, count=1)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return html.unescape(text).replace("\xa0", " ").strip()


def _id_problem(node: Any, key: str, name: str, limit: int, required: bool) -> str | None:
    value = node.get(key) if isinstance(node, Mapping) else None
    if value is None or value == "":
        return f"{name} is required" if required else None
    if not isinstance(value, str):
        return f"{name} must be a string"
    if len(value) > limit:
        return f"{name} is too long"
    if not _PRINTABLE_ID.match(value):
        return f"{name} must be printable ASCII without spaces"
    return None


def shape_problem(body: Mapping[str, Any]) -> str | None:
    """Why we cannot handle this activity (answered 400), or None.

    Every id we store, put into a database key or copy into a connector URL or header is checked
    here, before any storage or outbound call: present where required, a string, not too long,
    printable ASCII (no NUL, no control or non-ASCII characters, which end as 500s in the HTTP
    and database layers).
    """
    conversation = _mapping(body, "conversation")
    sender = _mapping(body, "from")
    for node, key, name, limit, required in (
        (body, "channelId", "channelId", MAX_CHANNEL_ID, True),
        (body, "conversation", "conversation", 0, True),
        (conversation, "id", "conversation.id", MAX_CONVERSATION_ID, True),
        (body, "from", "from", 0, True),
        (sender, "id", "from.id", MAX_USER_ID, True),
        (sender, "aadObjectId", "from.aadObjectId", MAX_USER_ID, False),
        (body, "recipient", "recipient", 0, True),
        (_mapping(body, "recipient"), "id", "recipient.id", MAX_USER_ID, True),
        (body, "id", "id", MAX_ACTIVITY_ID, False),
        (body, "replyToId", "replyToId", MAX_ACTIVITY_ID, False),
    ):
        if limit == 0:  # an object that must be there
            if not isinstance(node.get(key), Mapping):
                return f"{name} must be an object"
            continue
        problem = _id_problem(node, key, name, limit, required)
        if problem is not None:
            return problem
    for node, name in (
        (_mapping(_mapping(body, "channelData"), "tenant"), "channelData.tenant.id"),
        (conversation, "conversation.tenantId"),
    ):
        tenant = node.get("id" if name.endswith(".id") else "tenantId")
        if tenant is not None and not (isinstance(tenant, str) and _TENANT_ID.match(tenant)):
            return f"{name} is not a tenant id"
    return None


def _member_ids(body: Mapping[str, Any], key: str) -> set[str]:
    members = body.get(key)
    return (
        {_text(m, "id") for m in members if isinstance(m, Mapping)}
        if isinstance(members, list)
        else set()
    )


def describe(body: Mapping[str, Any]) -> Incoming | str:
    """An ``Incoming`` for a well-shaped message / conversationUpdate / installationUpdate, or the
    reason (for a 400) why it cannot be handled."""
    sender = _mapping(body, "from")
    user_id = _text(sender, "aadObjectId") or _text(sender, "id")
    if len(user_id) > MAX_USER_ID:
        return "from.id is too long"  # shape_problem checked it; describe is also used alone
    conversation = _mapping(body, "conversation")
    base = Incoming(
        tenant_id=tenant_of(body),
        user_id=user_id,
        conversation_id=_text(conversation, "id"),
        is_direct=_text(conversation, "conversationType") == "personal",
    )
    kind = _text(body, "type")
    if kind == ActivityTypes.message:
        value = body.get("value")
        if isinstance(value, Mapping) and value:
            action, button_value, form_values = turn_from_activity_value(value)
            turn = _turn(base, action=action or NO_ACTION, value=button_value, form=form_values)
        else:
            turn = _turn(base, text=clean_text(body))
        return replace(base, turn=turn)
    bot_id = _text(_mapping(body, "recipient"), "id")
    if kind == ActivityTypes.conversation_update:
        if bot_id in _member_ids(body, "membersRemoved"):
            return replace(base, remember=False)
        added = _member_ids(body, "membersAdded")
        welcome = bot_id in added or (base.is_direct and bool(added - {bot_id}))
        return replace(base, welcome=welcome)
    # installationUpdate: "add" installs, "add-upgrade" updates the app, "remove" and
    # "remove-upgrade" take the bot away.
    action = _text(body, "action")
    if action.startswith("remove"):
        return replace(base, remember=False)
    return replace(base, welcome=action == "add")


def _turn(
    incoming: Incoming,
    text: str | None = None,
    action: str | None = None,
    value: str = "",
    form: dict[str, str] | None = None,
) -> Turn:
    return Turn(
        platform=PLATFORM,
        tenant_id=incoming.tenant_id,
        user_id=incoming.user_id,
        channel_id=incoming.conversation_id,
        is_direct=incoming.is_direct,
        text=text,
        action=action,
        value=value,
        form_values=form or {},
    )


# outgoing activities -----------------------------------------------------------------------------


def card_activity(message: Message, lang: str) -> Activity:
    """A message activity carrying the message's card.

    No ``text``: Teams would show it above the card as well. ``summary`` is what notifications and
    the chat list show.
    """
    return Activity(
        type=ActivityTypes.message,
        attachments=[
            Attachment(content_type=CARD_CONTENT_TYPE, content=render_card(message, lang))
        ],
        summary=summary(message) or None,
    )


def reply_activities(reply: Reply) -> list[Activity]:
    return [card_activity(m, reply.lang) for m in reply.messages]


class ProactiveSendError(Exception):
    """The Bot Connector refused or could not be reached; ``retry_after`` (s) when it said so.

    ``permanent`` is true when retrying cannot help (the bot was removed, the chat is gone).
    """

    def __init__(
        self, status: int | None, retry_after: float | None = None, reason: str = ""
    ) -> None:
        super().__init__(f"bot connector call failed (status {status}) {reason}".strip())
        self.status = status
        self.retry_after = retry_after
        self.reason = reason  # set when we refused to call at all (e.g. "service-url-refused")
        self.permanent = bool(reason) or status in (400, 401, 403, 404)


def _connector_failure(exc: Exception) -> ProactiveSendError:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", None) or {}
    retry_after: float | None = None
    try:
        retry_after = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        retry_after = None
    return ProactiveSendError(status if isinstance(status, int) else None, retry_after)


# conversation references -------------------------------------------------------------------------

_REFERENCE_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "bot": ("id",),
    "user": ("id", "aadObjectId"),
    "conversation": ("id", "conversationType", "tenantId", "isGroup"),
}


def minimal_reference(reference: ConversationReference) -> dict[str, Any]:
    """What a proactive send needs and nothing more: channel, service URL and the ids.

    No display names (the user's ``from.name``, the bot's, a channel's or group chat's name, which
    staff may well name after a case; accounts keep an empty ``name``, which the Bot Framework
    protocol requires) and no activity id (proactive sends start new messages).
    """
    data: dict[str, Any] = reference.serialize()
    kept: dict[str, Any] = {k: data[k] for k in ("channelId", "serviceUrl") if data.get(k)}
    for part, fields in _REFERENCE_FIELDS.items():
        node = data.get(part)
        if isinstance(node, Mapping):
            kept[part] = {f: node[f] for f in fields if node.get(f) not in (None, "")}
            if part in ("bot", "user"):
                kept[part]["name"] = ""  # the protocol requires a name on accounts; it says nothing
    return kept


# the channel -------------------------------------------------------------------------------------


class TeamsChannel:
    """The Teams side of one process: botbuilder's adapter plus the shared runtime."""

    def __init__(self, runtime: Runtime, adapter: CloudAdapter | None = None) -> None:
        self.runtime = runtime
        self.adapter = adapter or build_adapter(runtime.settings)
        self.policy = service_url_policy(runtime.settings)
        self._known_tenants: set[str] = set()
        self._saved_refs: dict[tuple[str, str, str], str] = {}

    # HTTP ----------------------------------------------------------------------------------------

    async def handle_request(self, request: web.Request) -> web.Response:
        """``POST /api/messages``: check, authenticate, deduplicate and handle one activity."""
        if request.content_type != "application/json":
            return json_error(415, "content type must be application/json")
        raw = await request.read()  # over the size limit: 413 from the server's middleware
        try:
            body = loads_bytes(raw, request.charset)
        except BadInput as exc:
            return _refused(exc.status, exc.reason)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            return _refused(400, "body must be a Bot Framework activity with a type")
        try:
            activity = Activity().deserialize(body)
        except (DeserializationError, ValueError, TypeError, AttributeError, KeyError):
            return _refused(400, "body is not a valid Bot Framework activity")

        auth = await self._authenticate(request, activity)
        if isinstance(auth, web.Response):
            return auth
        problem = shape_problem(body)
        if problem is not None:
            return _refused(400, problem)
        try:
            self.policy.check(body.get("serviceUrl"))
        except ServiceUrlRefused as exc:
            return _refused(exc.status, exc.reason, tenant=tenant_of(body))
        if activity.type not in _HANDLED:
            return web.json_response({}, status=200)  # typing, reactions, invokes: nothing to do
        incoming = describe(body)
        if isinstance(incoming, str):
            return _refused(400, incoming)
        if activity.id and not await self.runtime.store.claim_event(
            activity_key(incoming.tenant_id, incoming.conversation_id, str(activity.id)),
            PLATFORM,
            ACTIVITY_TTL,
        ):
            log.info(
                "teams activity already handled",
                extra=_extra(incoming.tenant_id, activity_type=activity.type),
            )
            return web.json_response({}, status=200)
        return await self._process(auth, activity, incoming)

    async def _authenticate(
        self, request: web.Request, activity: Activity
    ) -> AuthenticateRequestResult | web.Response:
        """botbuilder's token check, its failures mapped to 401 (it raises many exception types
        for a bad token, and a malformed one would otherwise end as a 500)."""
        authentication = self.adapter.bot_framework_authentication
        if not self.runtime.settings.teams_auth_enabled:
            # Every such request, not only once at start: a deployment that lost its app id is
            # open to anyone who can reach it, and each request says so in the log.
            log.warning(
                "teams activity without authentication (MICROSOFT_APP_ID is empty)",
                extra={"platform": PLATFORM, "remote": request.remote or ""},
            )
        try:
            return await authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except RequestException as exc:
            log.error(
                "teams token check could not reach the Bot Framework",
                extra={"platform": PLATFORM, "error_type": type(exc).__name__},
            )
            return json_error(503, "could not verify the token right now")
        except Exception as exc:
            log.warning(
                "teams request not authenticated",
                extra={"platform": PLATFORM, "error_type": type(exc).__name__},
            )
            return json_error(401, "unauthorized")

    async def _process(
        self, auth: AuthenticateRequestResult, activity: Activity, incoming: Incoming
    ) -> web.Response:
        started = time.monotonic()

        async def logic(context: TurnContext) -> None:
            await self._on_turn(context, incoming)

        try:
            await self.adapter.process_activity(auth, activity, logic)
        except ServiceUrlRefused as exc:  # checked before; the factory's guard is the backstop
            return _refused(exc.status, exc.reason, tenant=incoming.tenant_id)
        except (HttpOperationError, ClientRequestError) as exc:
            failure = _connector_failure(exc)
            log.error(
                "teams reply could not be delivered",
                extra=_extra(incoming.tenant_id, connector_status=failure.status),
            )
            return json_error(502, "the reply could not be delivered to the Bot Connector")
        except Exception as exc:
            log.error(
                "teams turn failed",
                extra=_extra(incoming.tenant_id, error_type=type(exc).__name__),
            )
            return json_error(500, "internal error; the activity was not processed")
        kind = incoming.turn.kind if incoming.turn else ("welcome" if incoming.welcome else "event")
        facts: dict[str, object] = {"activity_type": activity.type, "kind": kind}
        if incoming.turn and incoming.turn.action:
            facts["known_action"] = self.runtime.router.known_action(incoming.turn.action)
        facts["millis"] = int((time.monotonic() - started) * 1000)
        log.info("teams turn handled", extra=_extra(incoming.tenant_id, **facts))
        return web.Response(status=201)

    # turns ---------------------------------------------------------------------------------------

    async def _on_turn(self, context: TurnContext, incoming: Incoming) -> None:
        if incoming.remember:
            await self.remember(context.activity, incoming)
        if incoming.turn is not None:
            reply = await self.runtime.router.handle(incoming.turn)
            clicked = context.activity.reply_to_id if incoming.turn.kind != "text" else None
            replace_id = clicked if reply.replace else None
            await self._deliver(context, incoming, reply, replace_id)
        elif incoming.welcome and await self.runtime.store.claim_event(
            f"{PLATFORM}:welcome:{_digest(incoming.tenant_id, incoming.conversation_id)}",
            PLATFORM,
            WELCOME_TTL,
        ):
            reply = await self.runtime.router.handle(_turn(incoming))  # no input: welcome event
            await self._deliver(context, incoming, reply, None)

    async def _deliver(
        self, context: TurnContext, incoming: Incoming, reply: Reply, replace_id: str | None
    ) -> None:
        """Send the reply's cards; with ``replace_id`` the first one replaces that card."""
        activities = reply_activities(reply)
        if not activities:
            return
        if replace_id:
            first = activities[0]
            first.id = replace_id
            try:
                await context.update_activity(first)
                activities = activities[1:]
            except HttpOperationError as exc:
                # e.g. the card is too old to edit: the answer still arrives, as a new message.
                log.warning(
                    "teams card update failed; sending a new message",
                    extra=_extra(
                        incoming.tenant_id, connector_status=_connector_failure(exc).status
                    ),
                )
                first.id = None
        if activities:
            await context.send_activities(activities)

    # conversation references -----------------------------------------------------------------------

    async def remember(self, activity: Activity, incoming: Incoming) -> None:
        """Store where to reach this user (personal chats only) and this conversation later."""
        data = minimal_reference(TurnContext.get_conversation_reference(activity))
        targets = [("channel", incoming.conversation_id)]
        if incoming.is_direct and incoming.user_id:
            # Only a personal chat reaches the user alone: a channel's reference under the user's
            # key would post their reminders into the channel.
            targets.append(("user", incoming.user_id))
        for kind, key in targets:
            await self._save_reference(incoming.tenant_id, kind, key, data)

    async def _save_reference(
        self, tenant_id: str, kind: str, key: str, data: dict[str, Any]
    ) -> None:
        marker = json.dumps(data, sort_keys=True)
        cache_key = (tenant_id, kind, key)
        if self._saved_refs.get(cache_key) == marker:
            return  # unchanged since this process saved it: spare the database a write per message
        if tenant_id not in self._known_tenants:
            await self.runtime.store.ensure_tenant(tenant_id, PLATFORM, tenant_id.partition(":")[2])
            self._known_tenants.add(tenant_id)
        await self.runtime.store.save_reference(tenant_id, PLATFORM, kind, key, data)
        if len(self._saved_refs) > 10_000:
            self._saved_refs.clear()
        self._saved_refs[cache_key] = marker

    # proactive -----------------------------------------------------------------------------------

    async def send_proactive(self, tenant_id: str, kind: str, key: str, reply: Reply) -> bool:
        """Send ``reply`` to a stored user (``kind="user"``, key = user id) or conversation
        (``kind="channel"``, key = conversation id) as new messages.

        False when no reference is stored; raises ``ProactiveSendError`` when the Bot Connector
        refuses (status, Retry-After) or cannot be reached.
        """
        data = await self.runtime.store.get_reference(tenant_id, PLATFORM, kind, key)
        if data is None:
            return False
        reference = ConversationReference().deserialize(data)
        activities = reply_activities(reply)
        if not activities:
            return True
        if not self.policy.allows(reference.service_url):
            # Stored before the allow-list existed, or the list changed: never call it.
            log.warning(
                "teams proactive send refused: stored serviceUrl is not allowed",
                extra=_extra(tenant_id, kind=kind),
            )
            raise ProactiveSendError(None, reason="service-url-refused")

        async def send(context: TurnContext) -> None:
            # Without an id on the synthetic continuation event, botbuilder posts new messages
            # (POST .../activities) instead of replies to that event.
            context.activity.id = None
            await context.send_activities(activities)

        try:
            await self.adapter.continue_conversation(
                reference, send, bot_app_id=self.runtime.settings.microsoft_app_id
            )
        except ServiceUrlRefused:
            raise ProactiveSendError(None, reason="service-url-refused") from None
        except (HttpOperationError, ClientRequestError) as exc:
            failure = _connector_failure(exc)
            log.warning(
                "teams proactive send failed",
                extra=_extra(tenant_id, kind=kind, connector_status=failure.status),
            )
            raise failure from None
        log.info(
            "teams proactive message sent",
            extra=_extra(tenant_id, kind=kind, count=len(activities)),
        )
        return True


TEAMS_CHANNEL_KEY = web.AppKey("teams_channel", TeamsChannel)


async def send_proactive(
    runtime: Runtime, tenant_id: str, kind: str, key: str, reply: Reply
) -> bool:
    """Send ``reply`` to a stored Teams user or conversation; see ``TeamsChannel.send_proactive``.

    For code without the aiohttp app at hand (scheduler, CLI); building the adapter is cheap.
    """
    return await TeamsChannel(runtime).send_proactive(tenant_id, kind, key, reply)


def teams_channel(app: web.Application) -> TeamsChannel:
    """The channel ``setup_teams`` registered on ``app``."""
    return app[TEAMS_CHANNEL_KEY]


def setup_teams(app: web.Application, runtime: Runtime) -> None:
    """Mount ``POST /api/messages`` and register the channel on the app."""
    channel = TeamsChannel(runtime)
    app[TEAMS_CHANNEL_KEY] = channel
    handler: Callable[[web.Request], Awaitable[web.Response]] = channel.handle_request
    app.router.add_post(MESSAGES_PATH, handler)
