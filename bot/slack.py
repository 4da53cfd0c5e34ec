"""Slack adapter: slack-bolt ``AsyncApp`` on ``POST /slack/events`` (and optionally Socket Mode).

It turns Slack events, button clicks and ``/bts`` into ``Turn``s for the router and sends the
``Reply`` back as Block Kit (``bot.slack_render``). Bolt checks signatures and the 5-minute replay
window and acks within 3 s; listeners run after the ack. Bolt does not deduplicate, so a global
middleware claims every ``event_id`` in the database: a retry or a redelivery after a restart sends
nothing twice (at most once: an event whose handling crashes after the claim is not retried).
Slash commands answer through ``response_url`` (ephemeral: only the asker sees it, and it works in
channels the bot is not a member of). It must not log message text or hold dialog logic.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack_render import (
    SlackMessage,
    decode_action_id,
    form_values,
    render_reply,
    unescape,
)
from dialogs.messages import Reply, Turn

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = "/bts"
HELP_ACTION = "help:menu"
EVENT_TTL = timedelta(days=2)
WELCOME_TTL = timedelta(days=3650)
ACCEPTED_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")

Ack = Callable[..., Awaitable[Any]]


def _extra(tenant: str, **facts: object) -> dict[str, object]:
    return {"tenant": tenant, "platform": "slack", **facts}


# authorization -----------------------------------------------------------------------------------


def make_authorize(client: AsyncWebClient, bot_token: str) -> Callable[..., Awaitable[Any]]:
    """Bolt ``authorize``: one workspace, the configured bot token, identity from a cached auth.test.

    Keyed by team id so an installation store (OAuth, many workspaces) can replace it later.
    """
    cache: dict[str, AuthorizeResult] = {}
    lock = asyncio.Lock()

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        async with lock:
            if "self" not in cache:
                response = await client.auth_test(token=bot_token)
                result = AuthorizeResult.from_auth_test_response(
                    auth_test_response=response, bot_token=bot_token
                )
                cache["self"] = result
                if result.team_id:
                    cache[result.team_id] = result
        if team_id is None:
            return cache["self"]
        found = cache.get(team_id)
        if found is None:
            log.warning(
                "request from a workspace we are not installed in", extra=_extra(_tenant(team_id))
            )
        return found

    return authorize


# incoming requests to turns -------------------------------------------------------------------


def _tenant(team_id: str | None) -> str:
    return f"slack:{team_id or 'unknown'}"


def _str(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def _id_of(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return _str(value, "id") if isinstance(value, Mapping) else ""


def _mapping(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def _first_action(body: Mapping[str, Any]) -> Mapping[str, Any]:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        return actions[0]
    return {}


def is_direct_channel(channel_id: str) -> bool:
    """Slack's DM (im) channel ids start with D."""
    return channel_id.startswith("D")


def dm_turn(event: Mapping[str, Any], team_id: str | None, bot_user_id: str | None) -> Turn | None:
    """A turn for a user's direct message to the bot, or None for anything we must not answer."""
    user = _str(event, "user")
    if (
        event.get("channel_type") != "im"
        or event.get("subtype")
        or event.get("bot_id")
        or not user
        or user == bot_user_id
    ):
        return None
    return Turn(
        platform="slack",
        tenant_id=_tenant(team_id),
        user_id=user,
        channel_id=_str(event, "channel"),
        is_direct=True,
        text=unescape(_str(event, "text")).strip(),
    )


def mention_turn(
    event: Mapping[str, Any], team_id: str | None, bot_user_id: str | None
) -> Turn | None:
    """A turn for ``@BTS-bot ...`` in a channel (DMs are answered through their message event)."""
    user = _str(event, "user")
    channel = _str(event, "channel")
    if not user or user == bot_user_id or event.get("bot_id") or is_direct_channel(channel):
        return None
    text = _MENTION.sub(
        lambda m: "" if m.group(1) == bot_user_id else m.group(0), _str(event, "text")
    )
    return Turn(
        platform="slack",
        tenant_id=_tenant(team_id),
        user_id=user,
        channel_id=channel,
        is_direct=False,
        text=unescape(text).strip(),
    )


@dataclass(frozen=True)
class ClickedMessage:
    """Where a block action came from, to update that message or answer next to it."""

    channel_id: str
    message_ts: str
    thread_ts: str
    ephemeral: bool


def action_turn(body: Mapping[str, Any], team_id: str | None) -> tuple[Turn, ClickedMessage]:
    """The turn of a button click or form submit, and the message it was clicked in."""
    clicked_action = _first_action(body)
    action, is_submit = decode_action_id(_str(clicked_action, "action_id"))
    container = _mapping(body, "container")
    message = _mapping(body, "message")
    channel = _id_of(body, "channel") or _str(container, "channel_id")
    values: dict[str, str] = {}
    if is_submit:
        state = body.get("state")
        state_values = state.get("values") if isinstance(state, Mapping) else None
        values = form_values(state_values if isinstance(state_values, Mapping) else {})
    turn = Turn(
        platform="slack",
        tenant_id=_tenant(team_id),
        user_id=_id_of(body, "user"),
        channel_id=channel,
        is_direct=is_direct_channel(channel),
        action=action,
        value="" if is_submit else _str(clicked_action, "value"),
        form_values=values,
    )
    clicked = ClickedMessage(
        channel_id=channel,
        message_ts=_str(container, "message_ts") or _str(message, "ts"),
        thread_ts=_str(message, "thread_ts"),
        ephemeral=bool(container.get("is_ephemeral")),
    )
    return turn, clicked


def command_turn(body: Mapping[str, Any], team_id: str | None) -> Turn:
    """The turn of ``/bts [text]``; no text means the help menu."""
    channel = _str(body, "channel_id")
    text = unescape(_str(body, "text")).strip()
    return Turn(
        platform="slack",
        tenant_id=_tenant(team_id),
        user_id=_str(body, "user_id"),
        channel_id=channel,
        is_direct=is_direct_channel(channel),
        text=text or None,
        action=None if text else HELP_ACTION,
    )


# sending replies ---------------------------------------------------------------------------------


async def post_messages(
    client: AsyncWebClient, channel: str, messages: list[SlackMessage], thread_ts: str = ""
) -> None:
    for message in messages:
        await client.chat_postMessage(
            channel=channel, blocks=message.blocks, text=message.text, thread_ts=thread_ts or None
        )


async def answer_click(
    client: AsyncWebClient,
    respond: AsyncRespond | None,
    clicked: ClickedMessage,
    user_id: str,
    reply: Reply,
) -> None:
    """Update the clicked message in place when asked to, then post the rest next to it."""
    messages = render_reply(reply)
    if clicked.ephemeral and respond is not None:
        # Ephemeral messages have no ts we may chat.update; only their response_url reaches them.
        for index, message in enumerate(messages):
            replace = reply.replace and index == 0
            await respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace,
            )
        return
    channel = clicked.channel_id
    if not channel:  # clicked outside a conversation (e.g. App Home): answer in the DM
        opened = await client.conversations_open(users=user_id)
        channel = opened["channel"]["id"]
    if reply.replace and messages and clicked.message_ts and clicked.channel_id:
        first, *messages = messages
        await client.chat_update(
            channel=channel, ts=clicked.message_ts, blocks=first.blocks, text=first.text
        )
    await post_messages(client, channel, messages, clicked.thread_ts)


async def remember_user(runtime: Runtime, turn: Turn, team_id: str | None) -> None:
    """Keep the DM address of a user for proactive sends (reminders, surveys)."""
    reference = {"channel": turn.channel_id, "team_id": team_id, "user_id": turn.user_id}
    await runtime.store.save_reference(turn.tenant_id, "slack", "user", turn.user_id, reference)


async def remember_channel(
    runtime: Runtime, tenant: str, channel: str, team_id: str | None
) -> None:
    reference = {"channel": channel, "team_id": team_id}
    await runtime.store.save_reference(tenant, "slack", "channel", channel, reference)


# the bolt app --------------------------------------------------------------------------------------


class _DropTokenSkippedWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused because we pass ``client=``;
    that is intended (``authorize`` supplies the token), so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in str(record.msg)


def build_bolt_app(runtime: Runtime) -> AsyncApp:
    """The bolt app with our middleware and listeners; shared by HTTP and Socket Mode."""
    settings = runtime.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    secret = settings.slack_signing_secret
    client = AsyncWebClient(
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropTokenSkippedWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropTokenSkippedWarning())
    bolt = AsyncApp(
        name="bts-bot",
        client=client,
        signing_secret=secret.get_secret_value() if secret else "",
        authorize=make_authorize(client, token),
        process_before_response=False,
    )
    _register(bolt, runtime)
    return bolt


async def _guarded(kind: str, tenant: str, work: Awaitable[None]) -> None:
    """Run a listener's work after the ack; failures are logged by type, never with content."""
    started = time.monotonic()
    try:
        await work
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        log.error("slack api call failed", extra=_extra(tenant, kind=kind, api_error=error))
    except Exception as exc:
        log.error(
            "slack turn failed", extra=_extra(tenant, kind=kind, error_type=type(exc).__name__)
        )
    else:
        millis = int((time.monotonic() - started) * 1000)
        log.info("slack turn handled", extra=_extra(tenant, kind=kind, millis=millis))


def _register(bolt: AsyncApp, runtime: Runtime) -> None:
    router = runtime.router
    store = runtime.store

    async def dedupe_events(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        """Claim each event_id once (persistently); a repeat is acked with 200 and dropped."""
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and isinstance(event_id, str) and event_id:
            claimed = await store.claim_event(f"slack:event:{event_id}", "slack", EVENT_TTL)
            if not claimed:
                log.info(
                    "duplicate slack event dropped",
                    extra=_extra(_tenant(_str(body, "team_id")), event_id=event_id),
                )
                return BoltResponse(status=200, body="")
        return await next()

    async def reject_unknown_actions(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> Any:
        """A click on an action no dialog knows is refused (400) and answered with nothing."""
        if body.get("type") == "block_actions":
            action, _ = decode_action_id(_str(_first_action(body), "action_id"))
            if not router.known_action(action):
                log.warning(
                    "unknown slack action refused",
                    extra=_extra(_tenant(_id_of(body, "team")), action=action[:64]),
                )
                return BoltResponse(status=400, body={"error": "unknown action", "status": 400})
        return await next()

    bolt.use(dedupe_events)
    bolt.use(reject_unknown_actions)

    async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        turn = dm_turn(event, context.team_id, context.bot_user_id)
        if turn is None:
            return

        async def work() -> None:
            reply = await router.handle(turn)  # first, so the tenant row exists
            await remember_user(runtime, turn, context.team_id)
            messages = render_reply(reply)
            await post_messages(context.client, turn.channel_id, messages, _str(event, "thread_ts"))

        await _guarded("message", turn.tenant_id, work())

    async def on_mention(event: dict[str, Any], context: AsyncBoltContext) -> None:
        turn = mention_turn(event, context.team_id, context.bot_user_id)
        if turn is None:
            return

        async def work() -> None:
            reply = await router.handle(turn)
            await remember_channel(runtime, turn.tenant_id, turn.channel_id, context.team_id)
            messages = render_reply(reply)
            await post_messages(context.client, turn.channel_id, messages, _str(event, "thread_ts"))

        await _guarded("mention", turn.tenant_id, work())

    async def on_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
        """Welcome a user the first time they open the bot's App Home or DM."""
        user = _str(event, "user")
        tenant = _tenant(context.team_id)

        async def work() -> None:
            await store.ensure_tenant(tenant, "slack", context.team_id or "")
            info = await store.touch_user(tenant, "slack", user)
            if not info.first_contact:
                return
            channel = _str(event, "channel")
            if not channel:
                channel = (await context.client.conversations_open(users=user))["channel"]["id"]
            turn = Turn("slack", tenant, user, channel, is_direct=True)
            reply = await router.handle(turn)
            await remember_user(runtime, turn, context.team_id)
            await post_messages(context.client, channel, render_reply(reply))

        if user:
            await _guarded("home_opened", tenant, work())

    async def on_member_joined(event: dict[str, Any], context: AsyncBoltContext) -> None:
        """Say hello once when the bot itself is added to a channel."""
        channel = _str(event, "channel")
        tenant = _tenant(context.team_id)
        bot_user = context.bot_user_id or ""

        async def work() -> None:
            key = f"slack:welcome:{tenant}:{channel}"
            if not await store.claim_event(key, "slack", WELCOME_TTL):
                return
            await store.ensure_tenant(tenant, "slack", context.team_id or "")
            await remember_channel(runtime, tenant, channel, context.team_id)
            # The welcome belongs to the channel, not a person: it runs as the bot's own user so
            # nobody's first-contact welcome or dialog state is used up by it.
            turn = Turn("slack", tenant, bot_user, channel, is_direct=False)
            reply = await router.handle(turn)
            await post_messages(context.client, channel, render_reply(reply))

        if channel and bot_user and _str(event, "user") == bot_user:
            await _guarded("joined_channel", tenant, work())

    async def ignore_event() -> None:
        """Other subscribed events are acknowledged (so Slack does not retry) and dropped."""

    async def on_action(body: dict[str, Any], context: AsyncBoltContext, ack: Ack) -> None:
        await ack()
        turn, clicked = action_turn(body, context.team_id)

        async def work() -> None:
            reply = await router.handle(turn)
            if turn.is_direct:
                await remember_user(runtime, turn, context.team_id)
            await answer_click(context.client, context.respond, clicked, turn.user_id, reply)

        await _guarded(turn.kind, turn.tenant_id, work())

    async def on_command(body: dict[str, Any], context: AsyncBoltContext, ack: Ack) -> None:
        await ack()
        turn = command_turn(body, context.team_id)
        respond = context.respond

        async def work() -> None:
            reply = await router.handle(turn)
            if respond is None:
                raise RuntimeError("slash command without response_url")
            for message in render_reply(reply):
                await respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

        await _guarded("command", turn.tenant_id, work())

    bolt.event("message")(on_message)
    bolt.event("app_mention")(on_mention)
    bolt.event("app_home_opened")(on_home_opened)
    bolt.event("member_joined_channel")(on_member_joined)
    bolt.event(re.compile(".*"))(ignore_event)
    bolt.block_action(re.compile(".*"))(on_action)
    bolt.command(COMMAND)(on_command)


# HTTP ----------------------------------------------------------------------------------------------


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def _shape_problem(body: Any) -> str | None:
    """Why a parsed body cannot be a Slack request (bolt would crash on it), or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object or a form"
    for key in ("event", "view"):  # bolt reads body[key]["type"] without checking
        if key in body and not (
            isinstance(body[key], dict) and isinstance(body[key].get("type"), str)
        ):
            return f"{key} must be an object with a type"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
            return "block_actions needs a non-empty actions list"
        if not isinstance(actions[0].get("action_id"), str):
            return "action_id must be a string"
    return None


def make_events_handler(bolt: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for /slack/events: 4xx for what is not a Slack request, else bolt."""

    async def slack_events(request: web.Request) -> web.Response:
        if request.content_type not in ACCEPTED_CONTENT_TYPES:
            return _json_error(415, "content type must be JSON or form-encoded")
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError):
            # Bolt parses the body before it checks the signature; unparseable input is ours to refuse.
            return _json_error(400, "malformed request body")
        problem = _shape_problem(bolt_request.body)
        if problem:
            return _json_error(400, problem)
        bolt_response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    return slack_events


def setup_slack(app: web.Application, runtime: Runtime) -> None:
    """Mount the Slack endpoint (Events API, interactivity and /bts share one URL)."""
    bolt = build_bolt_app(runtime)
    app.router.add_post(EVENTS_PATH, make_events_handler(bolt))


async def start_socket_mode(runtime: Runtime) -> AsyncSocketModeHandler:
    """Connect to Slack over Socket Mode (needs SLACK_APP_TOKEN); close with ``close_async()``.

    The same bolt app as over HTTP (dedupe, listeners); Socket Mode needs no public URL and no
    signing secret, as the WebSocket is opened by us with the app-level token.
    """
    app_token = runtime.settings.slack_app_token
    if app_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    handler = AsyncSocketModeHandler(build_bolt_app(runtime), app_token.get_secret_value())
    await handler.connect_async()
    log.info("slack socket mode connected", extra={"platform": "slack"})
    return handler
