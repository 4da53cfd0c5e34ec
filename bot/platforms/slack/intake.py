"""Slack, incoming: ``POST /slack/events`` (Events API, interactivity, ``/bts``) from the raw request
to an inbox row, and Slack payloads read as ``Turn``s.

The ack path does as little as it can: check the signature (v0, within Slack's replay window) and
the body's shape, store the event in the inbox (``storage.inbox``: one insert, which is also the
dedupe claim) and answer 200; ``bot.platforms.slack.turns`` handles the stored row later. Socket
Mode envelopes go through the same ``SlackIntake``. It must not log message text or hold dialog
logic.
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
from typing import Any

from aiohttp import web

from bot.platforms import _http as http_input
from bot.platforms._http import json_error
from bot.platforms.inbox import InboxWriter
from bot.platforms.slack.modal import VIEW_WAIT, ViewAnswers, submitted
from bot.platforms.slack.render import SUBMIT_SUFFIX, decode_action_id, form_values, unescape
from bot.runtime import Runtime
from dialogs.messages import Turn
from storage import inbox

log = logging.getLogger(__name__)

COMMAND = "/bts"
HELP_ACTION = "help:menu"
ACCEPTED_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
#: The app was removed from the workspace, or its bot token revoked: the tokens are dropped.
UNINSTALL_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
HANDLED_EVENTS = frozenset(
    {"message", "app_mention", "app_home_opened", "member_joined_channel", *UNINSTALL_EVENTS}
)
MAX_FORM_FIELDS = 64
REPLAY_WINDOW = 5 * 60  # seconds; Slack's own advice for the timestamp check
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def log_extra(tenant: str, **facts: object) -> dict[str, object]:
    """The ``extra`` of a Slack log record: tenant, platform and the given facts."""
    return {"tenant": tenant, "platform": "slack", **facts}


# incoming requests to turns -------------------------------------------------------------------


def tenant_of(team_id: str | None) -> str:
    """``slack:<team id>`` (``slack:unknown`` without one)."""
    return f"slack:{team_id or 'unknown'}"


def str_field(mapping: Mapping[str, Any], key: str) -> str:
    """``mapping[key]`` when it is a string, else ""."""
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def id_field(body: Mapping[str, Any], key: str) -> str:
    """The ``id`` of the object at ``body[key]`` (e.g. ``user.id``), else ""."""
    value = body.get(key)
    return str_field(value, "id") if isinstance(value, Mapping) else ""


def mapping_field(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object at ``body[key]``, else an empty one."""
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def first_action(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first entry of a block_actions payload's ``actions``, else an empty object."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        return actions[0]
    return {}


def is_direct_channel(channel_id: str) -> bool:
    """Slack's DM (im) channel ids start with D."""
    return channel_id.startswith("D")


def dm_turn(event: Mapping[str, Any], team_id: str | None, bot_user_id: str | None) -> Turn | None:
    """A turn for a user's direct message to the bot, or None for anything we must not answer."""
    user = str_field(event, "user")
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
        tenant_id=tenant_of(team_id),
        user_id=user,
        channel_id=str_field(event, "channel"),
        is_direct=True,
        text=unescape(str_field(event, "text")).strip(),
    )


def mention_turn(
    event: Mapping[str, Any], team_id: str | None, bot_user_id: str | None
) -> Turn | None:
    """A turn for ``@BTS-bot ...`` in a channel (DMs are answered through their message event)."""
    user = str_field(event, "user")
    channel = str_field(event, "channel")
    if not user or user == bot_user_id or event.get("bot_id") or is_direct_channel(channel):
        return None
    text = _MENTION.sub(
        lambda m: "" if m.group(1) == bot_user_id else m.group(0), str_field(event, "text")
    )
    return Turn(
        platform="slack",
        tenant_id=tenant_of(team_id),
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


def _submitted_value(clicked_action: Mapping[str, Any]) -> str:
    """A form's own value (``Form.value``), carried by its submit button; '' when it has none."""
    value = str_field(clicked_action, "value")
    return "" if value == SUBMIT_SUFFIX else value


def action_turn(body: Mapping[str, Any], team_id: str | None) -> tuple[Turn, ClickedMessage]:
    """The turn of a button click or form submit, and the message it was clicked in."""
    clicked_action = first_action(body)
    action, is_submit = decode_action_id(str_field(clicked_action, "action_id"))
    container = mapping_field(body, "container")
    message = mapping_field(body, "message")
    channel = id_field(body, "channel") or str_field(container, "channel_id")
    values: dict[str, str] = {}
    if is_submit:
        state = body.get("state")
        state_values = state.get("values") if isinstance(state, Mapping) else None
        values = form_values(state_values if isinstance(state_values, Mapping) else {})
    turn = Turn(
        platform="slack",
        tenant_id=tenant_of(team_id),
        user_id=id_field(body, "user"),
        channel_id=channel,
        is_direct=is_direct_channel(channel),
        action=action,
        value=_submitted_value(clicked_action) if is_submit else str_field(clicked_action, "value"),
        form_values=values,
    )
    clicked = ClickedMessage(
        channel_id=channel,
        message_ts=str_field(container, "message_ts") or str_field(message, "ts"),
        thread_ts=str_field(message, "thread_ts"),
        ephemeral=bool(container.get("is_ephemeral")),
    )
    return turn, clicked


def command_turn(body: Mapping[str, Any], team_id: str | None) -> Turn:
    """The turn of ``/bts [text]``; no text means the help menu."""
    channel = str_field(body, "channel_id")
    text = unescape(str_field(body, "text")).strip()
    return Turn(
        platform="slack",
        tenant_id=tenant_of(team_id),
        user_id=str_field(body, "user_id"),
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

    def __init__(
        self, runtime: Runtime, wake: Callable[[], None], answers: ViewAnswers | None = None
    ) -> None:
        self.runtime = runtime
        self.router = runtime.router
        self.wake = wake
        self.answers = answers or ViewAnswers()
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
        if kind == "view_submission":
            return self._view(body)
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
        team = str_field(body, "team_id")
        user = str_field(event, "user")
        return inbox.Incoming(
            event_key=f"slack:event:{team}:{event_id}",
            platform="slack",
            tenant_id=tenant_of(team),
            order_key=_order_key(team, user or str_field(event, "channel")),
            body=body,
        )

    def _action(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        clicked = first_action(body)
        action, _ = decode_action_id(str_field(clicked, "action_id"))
        team = id_field(body, "team")
        if not self.router.known_action(action):
            log.warning(
                "unknown slack action refused", extra=log_extra(tenant_of(team), action=action[:64])
            )
            return json_error(400, "unknown action")
        if "response_url" in body and not self.response_url_ok(body["response_url"]):
            return json_error(400, "response_url must be a Slack URL")
        user = id_field(body, "user")
        return _interactive("action", body, team, user, str_field(clicked, "action_ts"))

    def _view(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        view = mapping_field(body, "view")
        sent = submitted(view)
        if sent is None:
            return web.Response(status=200)  # not one of our forms: let Slack close it
        team = id_field(body, "team")
        if not self.router.known_action(sent.action):
            log.warning("unknown slack view action refused", extra=log_extra(tenant_of(team)))
            return json_error(400, "unknown action")
        detail = f"{str_field(view, 'id')}|{str_field(view, 'hash')}"
        return _interactive("view", body, team, id_field(body, "user"), detail)

    def _command(self, body: dict[str, Any]) -> inbox.Incoming | web.Response:
        if body.get("command") != COMMAND:
            return json_error(404, "unknown command")
        if not self.response_url_ok(body.get("response_url")):
            return json_error(400, "response_url must be a Slack URL")
        team = str_field(body, "team_id")
        user = str_field(body, "user_id")
        return _interactive("command", body, team, user, str_field(body, "text"))

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
                extra=log_extra(found.tenant_id, error_type=type(exc).__name__),
            )
            return json_error(503, "the event could not be stored; retry later")
        if not new:
            log.info("duplicate slack event dropped", extra=log_extra(found.tenant_id))
            return web.Response(status=200)
        # Registered before the worker is woken (a poll that takes the row first only means the
        # answer goes to the DM); a replay of the same submit is a duplicate above and waits on
        # nothing.
        waits = body.get("type") == "view_submission"
        answer = self.answers.expect(found.event_key) if waits else None
        self.wake()
        if answer is None:
            return web.Response(status=200)
        # A view submission is answered in this response (errors at the fields, the next view);
        # the row is stored first, so a slow worker costs only the modal, never the answer.
        try:
            return web.json_response(await asyncio.wait_for(answer, VIEW_WAIT))
        except TimeoutError:
            return web.Response(status=200)
        finally:
            self.answers.forget(found.event_key)  # the worker now answers in the DM


def _interactive(
    kind: str, body: dict[str, Any], team: str, user: str, detail: str
) -> inbox.Incoming:
    """A click or ``/bts`` keyed on who did it and Slack's ids for this very interaction, so the
    same signed body sent again (a replay within Slack's 5 minutes) is acted on once."""
    ids = f"{team}|{user}|{str_field(body, 'trigger_id')}|{detail}"
    if not str_field(body, "trigger_id") and not (kind == "action" and detail):
        ids += "|" + json.dumps(body, sort_keys=True)  # not from Slack: the body itself
    return inbox.Incoming(
        event_key=f"slack:{kind}:{_digest(ids)}",
        platform="slack",
        tenant_id=tenant_of(team),
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
