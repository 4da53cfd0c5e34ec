"""Microsoft Teams adapter: Bot Framework activities on ``POST /api/messages``, replies as Adaptive Cards.

It checks and parses the request itself (415 / 400 / 413 with a JSON explanation), authenticates it
with botbuilder's ``CloudAdapter`` (401 for a missing or bad token, never a 5xx), turns messages and
``Action.Submit`` clicks into ``Turn``s for the router and sends each ``Reply`` back as cards
(``bot.teams_render``): a click's answer replaces the clicked card in place. Installs get the welcome
once per conversation. Every user (personal chat) and conversation the bot sees is remembered as a
``ConversationReference``, so later code can write first with ``send_proactive``. Activity ids are
claimed in the database, so a redelivered activity does nothing twice (at most once: an activity
whose handling crashes after the claim is not retried). This module and ``bot.teams_render`` are the
only ones importing botbuilder; it must not hold dialog logic or log message text.
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
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    ServiceClientCredentialsFactory,
)
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError
from requests import RequestException

from bot.config import ConfigError, Settings
from bot.runtime import Runtime
from bot.teams_render import CARD_CONTENT_TYPE, render_card, summary, turn_from_activity_value
from dialogs.messages import Message, Reply, Turn

log = logging.getLogger(__name__)

PLATFORM: Final = "teams"
MESSAGES_PATH = "/api/messages"
ACTIVITY_TTL = timedelta(days=2)
WELCOME_TTL = timedelta(days=365)
NO_ACTION = "teams:no-action"  # a card submit without our action id: answered as a stale button
MAX_CONVERSATION_ID = 300  # conversation_refs.key
MAX_USER_ID = 200  # users.platform_user_id

_HANDLED = (ActivityTypes.message, ActivityTypes.conversation_update, "installationUpdate")
_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_AT_TAG = re.compile(r"<at(?:\s[^>]*)?>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LEADING_AT = re.compile(r"^\s*<at(?:\s[^>]*)?>.*?</at>", re.IGNORECASE | re.DOTALL)


def _extra(tenant: str, **facts: object) -> dict[str, object]:
    return {"tenant": tenant, "platform": PLATFORM, **facts}


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def _digest(*parts: str) -> str:
    """A fixed-length key part: Teams ids can be long, and message ids repeat across chats."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


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


def build_adapter(settings: Settings) -> CloudAdapter:
    config = adapter_config(settings)
    authentication = ConfigurationBotFrameworkAuthentication(
        config, credentials_factory=credentials_factory(config)
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


def shape_problem(activity: Activity) -> str | None:
    """Why we cannot handle this activity (answered 400), or None."""
    service_url = activity.service_url if isinstance(activity.service_url, str) else ""
    parts = urlsplit(service_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "serviceUrl must be an http(s) URL"
    if not isinstance(activity.channel_id, str) or not activity.channel_id:
        return "channelId is required"
    conversation_id = getattr(activity.conversation, "id", None)
    if not isinstance(conversation_id, str) or not conversation_id:
        return "conversation.id is required"
    if len(conversation_id) > MAX_CONVERSATION_ID:
        return "conversation.id is too long"
    for name, account in (("from", activity.from_property), ("recipient", activity.recipient)):
        account_id = getattr(account, "id", None)
        if not isinstance(account_id, str) or not account_id:
            return f"{name}.id is required"
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
        return "from.id is too long"
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

    def __init__(self, status: int | None, retry_after: float | None = None) -> None:
        super().__init__(f"bot connector call failed (status {status})")
        self.status = status
        self.retry_after = retry_after
        self.permanent = status in (400, 401, 403, 404)


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


# the channel -------------------------------------------------------------------------------------


class TeamsChannel:
    """The Teams side of one process: botbuilder's adapter plus the shared runtime."""

    def __init__(self, runtime: Runtime, adapter: CloudAdapter | None = None) -> None:
        self.runtime = runtime
        self.adapter = adapter or build_adapter(runtime.settings)
        self._known_tenants: set[str] = set()
        self._saved_refs: dict[tuple[str, str, str], str] = {}

    # HTTP ----------------------------------------------------------------------------------------

    async def handle_request(self, request: web.Request) -> web.Response:
        """``POST /api/messages``: check, authenticate, deduplicate and handle one activity."""
        if request.content_type != "application/json":
            return _json_error(415, "content type must be application/json")
        raw = await request.read()  # over the size limit: 413 from the server's middleware
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _json_error(400, "body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            return _json_error(400, "body must be a Bot Framework activity with a type")
        try:
            activity = Activity().deserialize(body)
        except (DeserializationError, ValueError, TypeError, AttributeError):
            return _json_error(400, "body is not a valid Bot Framework activity")

        auth = await self._authenticate(activity, request.headers.get("Authorization", ""))
        if isinstance(auth, web.Response):
            return auth
        problem = shape_problem(activity)
        if problem is not None:
            return _json_error(400, problem)
        if activity.type not in _HANDLED:
            return web.json_response({}, status=200)  # typing, reactions, invokes: nothing to do
        incoming = describe(body)
        if isinstance(incoming, str):
            return _json_error(400, incoming)
        if activity.id and not await self.runtime.store.claim_event(
            f"{PLATFORM}:activity:{_digest(incoming.conversation_id, str(activity.id))}",
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
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult | web.Response:
        """botbuilder's token check, its failures mapped to 401 (it raises many exception types
        for a bad token, and a malformed one would otherwise end as a 500)."""
        authentication = self.adapter.bot_framework_authentication
        try:
            return await authentication.authenticate_request(activity, auth_header)
        except RequestException as exc:
            log.error(
                "teams token check could not reach the Bot Framework",
                extra={"platform": PLATFORM, "error_type": type(exc).__name__},
            )
            return _json_error(503, "could not verify the token right now")
        except Exception as exc:
            log.warning(
                "teams request not authenticated",
                extra={"platform": PLATFORM, "error_type": type(exc).__name__},
            )
            return _json_error(401, "unauthorized")

    async def _process(
        self, auth: AuthenticateRequestResult, activity: Activity, incoming: Incoming
    ) -> web.Response:
        started = time.monotonic()

        async def logic(context: TurnContext) -> None:
            await self._on_turn(context, incoming)

        try:
            await self.adapter.process_activity(auth, activity, logic)
        except (HttpOperationError, ClientRequestError) as exc:
            failure = _connector_failure(exc)
            log.error(
                "teams reply could not be delivered",
                extra=_extra(incoming.tenant_id, connector_status=failure.status),
            )
            return _json_error(502, "the reply could not be delivered to the Bot Connector")
        except Exception as exc:
            log.error(
                "teams turn failed",
                extra=_extra(incoming.tenant_id, error_type=type(exc).__name__),
            )
            return _json_error(500, "internal error; the activity was not processed")
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
            f"{PLATFORM}:welcome:{_digest(incoming.conversation_id)}", PLATFORM, WELCOME_TTL
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
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None  # proactive sends start new messages, not replies
        data: dict[str, Any] = reference.serialize()
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

        async def send(context: TurnContext) -> None:
            # Without an id on the synthetic continuation event, botbuilder posts new messages
            # (POST .../activities) instead of replies to that event.
            context.activity.id = None
            await context.send_activities(activities)

        try:
            await self.adapter.continue_conversation(
                reference, send, bot_app_id=self.runtime.settings.microsoft_app_id
            )
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
