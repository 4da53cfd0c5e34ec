"""Slack adapter: the endpoint and its workers wired into the server, and Socket Mode.

``setup_slack`` mounts ``POST /slack/events`` (Events API, interactivity and ``/bts`` share one URL;
``bot.platforms.slack.intake`` acks into the inbox) and runs the inbox worker that hands each stored
row to ``bot.platforms.slack.turns``. Socket Mode uses slack-bolt's ``AsyncApp`` only to receive and
ack envelopes into the same inbox. It must not log message text or hold dialog logic.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms import _http as http_input
from bot.platforms.inbox import InboxSettings, InboxWorker
from bot.platforms.slack.intake import SlackIntake, make_events_handler
from bot.platforms.slack.modal import ViewAnswers
from bot.platforms.slack.tokens import slack_tokens
from bot.platforms.slack.turns import SlackTurns, make_authorize
from bot.runtime import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackService:
    """The intake, the worker and the row handler of one process."""

    def __init__(self, runtime: Runtime) -> None:
        answers = ViewAnswers()  # view submissions: the worker's verdict to the waiting request
        self.turns = SlackTurns(runtime, answers)
        lease = timedelta(seconds=runtime.settings.inbox_lease_seconds)
        self.worker = InboxWorker(
            runtime.store, "slack", self.turns.handle, InboxSettings(lease=lease)
        )
        self.grace = runtime.settings.shutdown_grace_seconds
        self.intake = SlackIntake(runtime, self.worker.wake, answers)

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
    if runtime.settings.slack_oauth_enabled:
        from bot.platforms.slack.oauth import setup_oauth

        setup_oauth(app, runtime)

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
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=15)
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropTokenSkippedWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropTokenSkippedWarning())
    bolt = AsyncApp(
        name="bts-bot",
        client=client,
        authorize=make_authorize(slack_tokens(settings, runtime.store)),
        request_verification_enabled=False,  # the WebSocket is ours, opened with the app token
    )

    async def to_inbox(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        try:
            http_input.check_value(body)
        except http_input.BadInput as exc:
            return BoltResponse(status=exc.status, body=exc.reason)
        response = await intake.store(body)
        if response.content_type == "application/json" and isinstance(response, web.Response):
            # A view submission's answer (errors, the next view) rides on the envelope's ack.
            headers: dict[str, str | Sequence[str]] = {"content-type": "application/json"}
            return BoltResponse(status=response.status, body=response.text or "", headers=headers)
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
