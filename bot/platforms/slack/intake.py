"""Slack adapter: ``POST /slack/events`` (Events API, interactivity, ``/bts``) and Socket Mode.

The ack path does as little as it can: check the signature (``slack_sdk.signature``) and the body's
shape, store the event in the inbox (``storage.inbox``: one insert, which is also the dedupe claim)
and answer 200. ``bot.platforms.inbox.InboxWorker`` then hands each stored row to ``SlackTurns.handle``, which
turns it into a ``Turn`` for the router, plans the reply (rendered Block Kit, ``bot.platforms.slack.render``)
into the same row and sends it through ``bot.platforms.slack.sender.SlackSender`` under the row's key, so a crash
at any moment neither loses an acknowledged event nor answers it twice (a reply in doubt is looked
up in the channel history by its metadata before it is sent again). Ephemeral answers through
``response_url`` cannot be looked up: one in doubt is not resent (at most once). Socket Mode uses
slack-bolt's ``AsyncApp`` only to receive and ack envelopes into the same inbox. It must not log
message text or hold dialog logic.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery.ratelimit import Limits, Rate
from bot.platforms import _http as http_input
from bot.platforms._http import json_error
from bot.platforms.inbox import InboxSettings, InboxWorker, InboxWriter
from bot.platforms.slack.render import (
    SlackMessage,
    decode_action_id,
    form_values,
    render_reply,
    unescape,
)
from bot.platforms.slack.sender import Rejected, RetryLater, SlackSender, Unreachable
from bot.runtime import Runtime
from dialogs.messages import Turn
from storage import inbox
from storage.inbox_models import DONE, FAILED, SENDING, InboxItem
from storage.models import utcnow
from storage.outbox_models import OutboxItem

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = "/bts"
HELP_ACTION = "help:menu"
WELCOME_TTL = timedelta(days=3650)
ACCEPTED_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
HANDLED_EVENTS = frozenset({"message", "app_mention", "app_home_opened", "member_joined_channel"})
MAX_FORM_FIELDS = 64
SAVED_REFERENCES = 10_000  # addresses remembered per process before the memory is cleared
REPLAY_WINDOW = 5 * 60  # seconds; Slack's own advice for the timestamp check
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Interactive replies are answers someone waits for: short bursts are allowed (welcome + answer),
# unlike the paced proactive sends. Slack: chat.postMessage "1 per second per channel, short
# bursts"; no published workspace number, so a generous one that still smooths a storm.
REPLY_RATES = Limits(
    {
        "slack:chat.postMessage": (Rate(30.0, burst=30), Rate(1.0, burst=4)),
        "slack:tier3": (Rate(50 / 60, burst=20), None),
    }
)


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


# the ack path: check, store, answer ----------------------------------------------------------------


def _shape_problem(body: Any) -> str | None:
    """Why a parsed body cannot be a Slack request, or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object or a form"
    for key in ("event", "view"):
        if key in body and not (
            isinstance(body[key], dict) and isinstance(body[key].get("type"), str)
        ):
            return f"{key} must be an object with a type"
    for key in ("team_id", "enterprise_id", "api_app_id"):
        value = body.get(key)
        if value is not None and not (isinstance(value, str) and _SLACK_ID.fullmatch(value)):
            return f"{key} must be a Slack id"
    for key in ("team", "user", "channel", "enterprise"):
        value = body.get(key)
        if value is None or (isinstance(value, str) and key == "channel"):
            continue
        if not isinstance(value, dict):
            return f"{key} must be an object"
        inner = value.get("id")
        if inner is not None and not (isinstance(inner, str) and _SLACK_ID.fullmatch(inner)):
            return f"{key}.id must be a Slack id"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
            return "block_actions needs a non-empty actions list"
        if not isinstance(actions[0].get("action_id"), str):
            return "action_id must be a string"
    return None


class SlackIntake:
    """Turns a checked request body into an inbox row (or an immediate answer)."""

    def __init__(self, runtime: Runtime, wake: Callable[[], None]) -> None:
        self.runtime = runtime
        self.router = runtime.router
        self.wake = wake
        self.writer = InboxWriter(runtime.store)
        api_host = urllib.parse.urlsplit(runtime.settings.slack_api_url).hostname or ""
        self._hook_hosts = {"hooks.slack.com", api_host}

    def response_url_ok(self, url: Any) -> bool:
        if not isinstance(url, str) or len(url) > 2000:
            return False
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if host not in self._hook_hosts:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and host != "hooks.slack.com")

    def incoming(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        """What to store for this body, or the answer to give without storing."""
        problem = _shape_problem(body)
        if problem:
            return json_error(400, problem)
        kind = body.get("type")
        if kind == "url_verification":
            challenge = body.get("challenge")
            if not isinstance(challenge, str) or len(challenge) > 200:
                return json_error(400, "challenge must be a short string")
            return web.json_response({"challenge": challenge})
        if kind == "event_callback":
            return self._event(body)
        if kind == "block_actions":
            return self._action(body)
        if isinstance(body.get("command"), str):
            return self._command(body)
        return web.Response(
            status=200
        )  # other payloads (shortcuts, views, ssl_check): nothing to do

    def _event(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        event = body.get("event")
        event_id = body.get("event_id")
        if not isinstance(event, dict):
            return json_error(400, "event_callback needs an event")
        if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            return json_error(400, "event_id must be a short id")
        if event.get("type") not in HANDLED_EVENTS:
            return web.Response(status=200)  # acknowledged (so Slack does not retry) and dropped
        if event.get("type") == "message" and dm_turn(event, None, None) is None:
            return web.Response(status=200)  # bot messages, edits, channel chatter
        team = _str(body, "team_id")
        user = _str(event, "user")
        return inbox.Incoming(
            event_key=f"slack:event:{team}:{event_id}",
            platform="slack",
            tenant_id=_tenant(team),
            order_key=_order_key(team, user or _str(event, "channel")),
            body=body,
        )

    def _action(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        clicked = _first_action(body)
        action, _ = decode_action_id(_str(clicked, "action_id"))
        team = _id_of(body, "team")
        if not self.router.known_action(action):
            log.warning(
                "unknown slack action refused", extra=_extra(_tenant(team), action=action[:64])
            )
            return json_error(400, "unknown action")
        if "response_url" in body and not self.response_url_ok(body["response_url"]):
            return json_error(400, "response_url must be a Slack URL")
        user = _id_of(body, "user")
        return _interactive("action", body, team, user, _str(clicked, "action_ts"))

    def _command(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        if body.get("command") != COMMAND:
            return json_error(404, "unknown command")
        if not self.response_url_ok(body.get("response_url")):
            return json_error(400, "response_url must be a Slack URL")
        team = _str(body, "team_id")
        user = _str(body, "user_id")
        return _interactive("command", body, team, user, _str(body, "text"))

    async def store(self, body: dict[str, Any]) -> web.Response:
        """Store the body's event once and wake the worker; the answer to give Slack."""
        found = self.incoming(body)
        if isinstance(found, web.Response):
            return found
        try:
            new = await self.writer.put(found)
        except Exception as exc:  # the database is unreachable: Slack retries a 503 later
            log.error(
                "slack event could not be stored",
                extra=_extra(found.tenant_id, error_type=type(exc).__name__),
            )
            return json_error(503, "the event could not be stored; retry later")
        if new:
            self.wake()
        else:
            log.info("duplicate slack event dropped", extra=_extra(found.tenant_id))
        return web.Response(status=200)


def _interactive(
    kind: str, body: dict[str, Any], team: str, user: str, detail: str
) -> inbox.Incoming:
    """A click or ``/bts`` keyed on who did it and Slack's ids for this very interaction, so the
    same signed body sent again (a replay within Slack's 5 minutes) is acted on once."""
    ids = f"{team}|{user}|{_str(body, 'trigger_id')}|{detail}"
    if not _str(body, "trigger_id") and not (kind == "action" and detail):
        ids += "|" + json.dumps(body, sort_keys=True)  # not from Slack: the body itself
    return inbox.Incoming(
        event_key=f"slack:{kind}:{_digest(ids)}",
        platform="slack",
        tenant_id=_tenant(team),
        order_key=_order_key(team, user),
        body=body,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _order_key(team: str, who: str) -> str:
    return f"slack:{team}:{who}"[:200]


def _parse_form(text: str) -> dict[str, Any]:
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:
        raise http_input.BadInput(400, "too many form fields") from None
    form = dict(pairs)
    for value in form.values():
        http_input.check_text(value)
    payload = form.get("payload")
    if payload is None:
        return form
    parsed = http_input.loads_checked(payload)  # every form value was checked above
    if not isinstance(parsed, dict):
        raise http_input.BadInput(400, "payload must be a JSON object")
    return parsed


def signature_ok(
    key: bytes, raw: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 request signature over the raw bytes, within its 5-minute replay window."""
    if not key or not _TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > REPLAY_WINDOW:
        return False
    digest = hmac.new(key, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


def make_events_handler(
    runtime: Runtime, intake: SlackIntake
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for /slack/events: signature, shape, inbox, 200."""
    secret = runtime.settings.slack_signing_secret
    key = (secret.get_secret_value() if secret else "").encode()

    async def slack_events(request: web.Request) -> web.Response:
        if request.content_type not in ACCEPTED_CONTENT_TYPES:
            return json_error(415, "content type must be JSON or form-encoded")
        raw = await request.read()  # over the size limit: 413 from the server's middleware
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not signature_ok(key, raw, timestamp, signature):
            return json_error(401, "invalid or missing signature")
        try:
            text = http_input.decode_text(raw, request.charset)
            if request.content_type == "application/json":
                body = http_input.loads_checked(text)  # decode_text checked it
            else:
                body = _parse_form(text)
        except http_input.BadInput as exc:
            return json_error(exc.status, exc.reason)
        return await intake.store(body)

    return slack_events


# handling stored rows -----------------------------------------------------------------------------


def _plan(mode: str, messages: list[SlackMessage], **where: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "messages": [{"text": m.text, "blocks": m.blocks} for m in messages],
        **where,
    }


class SlackTurns:
    """Handles one inbox row: the turn through the router, then the reply to Slack, once."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.store = runtime.store
        self.router = runtime.router
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        self.sender = SlackSender(token, settings.slack_api_url, REPLY_RATES, store=self.store)
        self.authorize = make_authorize(
            AsyncWebClient(base_url=settings.slack_api_url, timeout=15), token
        )

        # What this process already saved, so a user's every turn does not rewrite the same row.
        self._saved: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def close(self) -> None:
        await self.sender.close()

    async def _remember(self, tenant: str, kind: str, key: str, reference: dict[str, Any]) -> None:
        """Keep the address of a user or channel for proactive sends (once per change)."""
        if self._saved.get((tenant, kind, key)) == reference:
            return
        await self.store.save_reference(tenant, "slack", kind, key, reference)
        if len(self._saved) >= SAVED_REFERENCES:
            self._saved.clear()
        self._saved[(tenant, kind, key)] = reference

    async def handle(self, row: InboxItem, worker: str) -> bool:
        """Handle one row; True when it was answered and the worker may close it as done."""
        started = time.monotonic()
        if row.status == SENDING and row.reply is not None:
            return await self._deliver(row, worker, row.reply, recovering=True)
        body = row.body or {}
        team = _str(body, "team_id") or _id_of(body, "team")
        identity = await self.authorize(enterprise_id=None, team_id=team or None)
        if identity is None:
            await inbox.finish(self.store, row.id, worker, DONE, "not-installed")
            return False
        kind, plan = await self._turn(body, team or None, identity.bot_user_id)
        if plan is None:
            await inbox.finish(self.store, row.id, worker, DONE)
            return False
        if not await inbox.plan_reply(self.store, row.id, worker, plan):
            return False  # our lease ran out and another worker has the row now
        answered = await self._deliver(row, worker, plan, recovering=False)
        millis = int((time.monotonic() - started) * 1000)
        log.info("slack turn handled", extra=_extra(row.tenant_id, kind=kind, millis=millis))
        return answered

    async def _turn(
        self, body: dict[str, Any], team: str | None, bot_user: str | None
    ) -> tuple[str, dict[str, Any] | None]:
        if body.get("type") == "event_callback":
            event = _mapping(body, "event")
            kind = _str(event, "type")
            return kind, await self._event(kind, event, team, bot_user)
        if body.get("type") == "block_actions":
            turn, clicked = action_turn(body, team)
            return turn.kind, await self._click(body, turn, clicked, team)
        turn = command_turn(body, team)
        reply = await self.router.handle(turn)
        return "command", _plan(
            "respond", render_reply(reply), url=_str(body, "response_url"), replace_first=False
        )

    async def _event(
        self, kind: str, event: Mapping[str, Any], team: str | None, bot_user: str | None
    ) -> dict[str, Any] | None:
        thread = _str(event, "thread_ts")
        if kind == "message":
            turn = dm_turn(event, team, bot_user)
            if turn is None:
                return None
            reply = await self.router.handle(turn)  # first, so the tenant row exists
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
            return _plan("post", render_reply(reply), channel=turn.channel_id, thread_ts=thread)
        if kind == "app_mention":
            turn = mention_turn(event, team, bot_user)
            if turn is None:
                return None
            reply = await self.router.handle(turn)
            await self._remember(
                turn.tenant_id,
                "channel",
                turn.channel_id,
                _channel_reference(turn.channel_id, team),
            )
            return _plan("post", render_reply(reply), channel=turn.channel_id, thread_ts=thread)
        tenant = _tenant(team)
        if kind == "app_home_opened":
            user = _str(event, "user")
            if not user:
                return None
            await self.store.ensure_tenant(tenant, "slack", team or "")
            if not (await self.store.touch_user(tenant, "slack", user)).first_contact:
                return None
            channel = _str(event, "channel") or await self.sender.open_dm(tenant, user)
            turn = Turn("slack", tenant, user, channel, is_direct=True)
            reply = await self.router.handle(turn)
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
            return _plan("post", render_reply(reply), channel=channel, thread_ts="")
        if kind == "member_joined_channel":
            channel = _str(event, "channel")
            if not (channel and bot_user and _str(event, "user") == bot_user):
                return None
            if not await self.store.claim_event(
                f"slack:welcome:{tenant}:{channel}", "slack", WELCOME_TTL
            ):
                return None
            await self.store.ensure_tenant(tenant, "slack", team or "")
            await self._remember(tenant, "channel", channel, _channel_reference(channel, team))
            # The welcome belongs to the channel, not a person: it runs as the bot's own user so
            # nobody's first-contact welcome or dialog state is used up by it.
            turn = Turn("slack", tenant, bot_user, channel, is_direct=False)
            reply = await self.router.handle(turn)
            return _plan("post", render_reply(reply), channel=channel, thread_ts="")
        return None

    async def _click(
        self, body: Mapping[str, Any], turn: Turn, clicked: ClickedMessage, team: str | None
    ) -> dict[str, Any]:
        reply = await self.router.handle(turn)
        if turn.is_direct:
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
        messages = render_reply(reply)
        response_url = _str(body, "response_url")
        if clicked.ephemeral and response_url:
            # Ephemeral messages have no ts we may chat.update; only their response_url reaches them.
            return _plan("respond", messages, url=response_url, replace_first=reply.replace)
        channel = clicked.channel_id
        if not channel:  # clicked outside a conversation (e.g. App Home): answer in the DM
            channel = await self.sender.open_dm(turn.tenant_id, turn.user_id)
        update_ts = clicked.message_ts if reply.replace and clicked.channel_id else ""
        return _plan(
            "post", messages, channel=channel, thread_ts=clicked.thread_ts, update_ts=update_ts
        )

    async def _deliver(
        self, row: InboxItem, worker: str, plan: Mapping[str, Any], *, recovering: bool
    ) -> bool:
        """Send the planned reply; True when it went out (the row is then closed in a batch)."""
        messages = [
            SlackMessage(blocks=list(m.get("blocks") or []), text=str(m.get("text") or ""))
            for m in plan.get("messages") or []
            if isinstance(m, Mapping)
        ]
        try:
            if plan.get("mode") == "respond":
                if recovering:
                    # response_url cannot tell what arrived: an ephemeral answer in doubt is
                    # left out rather than possibly shown twice.
                    log.warning("slack ephemeral answer in doubt", extra=_extra(row.tenant_id))
                    await inbox.finish(self.store, row.id, worker, DONE, "in-doubt")
                    return False
                await _respond(
                    str(plan.get("url") or ""), messages, bool(plan.get("replace_first"))
                )
            else:
                await self._post(row, plan, messages, recovering)
        except (Unreachable, Rejected) as exc:
            log.warning("slack answer not delivered", extra=_extra(row.tenant_id, code=exc.code))
            await inbox.finish(self.store, row.id, worker, FAILED, exc.code)
            return False
        except RetryLater as exc:
            wait = max(exc.retry_after or 0.0, 2.0 * max(row.attempts, 1))
            at = utcnow() + timedelta(seconds=wait)
            await inbox.retry_later(self.store, row.id, worker, at, exc.code)
            return False
        return True

    async def _post(
        self,
        row: InboxItem,
        plan: Mapping[str, Any],
        messages: list[SlackMessage],
        recovering: bool,
    ) -> None:
        channel = str(plan.get("channel") or "")
        update_ts = str(plan.get("update_ts") or "")
        if update_ts and messages:
            first, *messages = messages
            await self.sender.update(row.tenant_id, channel, update_ts, first)  # idempotent
        item = OutboxItem(
            tenant_id=row.tenant_id,
            dedupe_key=row.event_key,
            target_kind="channel",
            target_id=channel,
            send_at=row.received_at,
            attempts=1 if recovering else 0,  # >0: look in the history for parts already out
        )
        await self.sender.send_messages(item, messages, str(plan.get("thread_ts") or ""))


async def _respond(url: str, messages: list[SlackMessage], replace_first: bool) -> None:
    """Answer through response_url (ephemeral: only the asker sees it)."""
    client = AsyncWebhookClient(url, timeout=15)
    for index, message in enumerate(messages):
        try:
            response = await client.send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace_first and index == 0,
            )
        except (TimeoutError, OSError) as exc:
            raise RetryLater("response-url-connection") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"response-url-{response.status_code}")
        if response.status_code >= 400:
            raise Rejected(f"response-url-{response.status_code}")


def _user_reference(turn: Turn, team_id: str | None) -> dict[str, Any]:
    """The DM address of a user for proactive sends (reminders, surveys)."""
    return {"channel": turn.channel_id, "team_id": team_id, "user_id": turn.user_id}


def _channel_reference(channel: str, team_id: str | None) -> dict[str, Any]:
    return {"channel": channel, "team_id": team_id}


# wiring -----------------------------------------------------------------------------------------


class SlackService:
    """The intake, the worker and the row handler of one process."""

    def __init__(self, runtime: Runtime) -> None:
        self.turns = SlackTurns(runtime)
        lease = timedelta(seconds=runtime.settings.inbox_lease_seconds)
        self.worker = InboxWorker(
            runtime.store, "slack", self.turns.handle, InboxSettings(lease=lease)
        )
        self.grace = runtime.settings.shutdown_grace_seconds
        self.intake = SlackIntake(runtime, self.worker.wake)

    def start(self) -> None:
        self.worker.start()
        self.worker.wake()  # rows a stopped process left behind

    async def stop(self) -> None:
        await self.worker.stop(self.grace)
        await self.turns.close()


SERVICE_KEY = web.AppKey("slack_service", SlackService)


def setup_slack(app: web.Application, runtime: Runtime) -> None:
    """Mount the Slack endpoint (Events API, interactivity and /bts share one URL)."""
    service = SlackService(runtime)
    app[SERVICE_KEY] = service
    app.router.add_post(EVENTS_PATH, make_events_handler(runtime, service.intake))

    async def on_startup(_app: web.Application) -> None:
        service.start()

    async def on_cleanup(_app: web.Application) -> None:
        await service.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)


class _DropTokenSkippedWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused because we pass ``client=``;
    that is intended (``authorize`` supplies the token), so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in str(record.msg)


def build_socket_app(runtime: Runtime, intake: SlackIntake) -> AsyncApp:
    """A bolt app whose one middleware stores every envelope's body in the inbox and acks it."""
    settings = runtime.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=15)
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropTokenSkippedWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropTokenSkippedWarning())
    bolt = AsyncApp(
        name="bts-bot",
        client=client,
        authorize=make_authorize(client, token),
        request_verification_enabled=False,  # the WebSocket is ours, opened with the app token
    )

    async def to_inbox(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        try:
            http_input.check_value(body)
        except http_input.BadInput as exc:
            return BoltResponse(status=exc.status, body=exc.reason)
        response = await intake.store(body)
        return BoltResponse(status=response.status, body="")

    bolt.use(to_inbox)
    return bolt


class SocketModeConnection:
    """Socket Mode: the WebSocket handler plus the inbox worker it feeds; ``close_async`` ends both."""

    def __init__(self, handler: AsyncSocketModeHandler, service: SlackService) -> None:
        self.handler = handler
        self.service = service

    async def close_async(self) -> None:
        await self.handler.close_async()
        await self.service.stop()


async def start_socket_mode(runtime: Runtime) -> SocketModeConnection:
    """Connect to Slack over Socket Mode (needs SLACK_APP_TOKEN); close with ``close_async()``.

    Socket Mode needs no public URL and no signing secret, as the WebSocket is opened by us with the
    app-level token; envelopes go to the same inbox as HTTP requests.
    """
    app_token = runtime.settings.slack_app_token
    if app_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    service = SlackService(runtime)
    handler = AsyncSocketModeHandler(
        build_socket_app(runtime, service.intake), app_token.get_secret_value()
    )
    service.start()
    await handler.connect_async()
    log.info("slack socket mode connected", extra={"platform": "slack"})
    return SocketModeConnection(handler, service)
