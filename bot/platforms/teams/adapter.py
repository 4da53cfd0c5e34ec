"""Microsoft Teams adapter: Bot Framework activities on ``POST /api/messages``, replies as Adaptive Cards.

It checks and parses the request itself (415 / 400 / 413 with a JSON explanation, through
``bot.platforms._http``), authenticates it with botbuilder's ``CloudAdapter`` (401 for a missing or bad
token, never a 5xx; ``bot.platforms.teams.auth``), checks every id it will store or send out and the
``serviceUrl`` against the allow-list (``bot.platforms.teams.intake``, ``auth``), turns messages and
``Action.Submit`` clicks into ``Turn``s for the router and sends each ``Reply`` back as cards
(``bot.platforms.teams.render``, ``bot.platforms.teams.sender``): a click's answer replaces the clicked
card in place. Every connector call has a timeout. Installs get the welcome once per conversation.
Activity ids are claimed in the database per tenant and conversation, so a redelivered activity does
nothing twice (at most once: an activity whose handling crashes after the claim is not retried).
Only ``bot.platforms.teams`` imports botbuilder; this module must not hold dialog logic or log
message text or request bodies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import AuthenticateRequestResult
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError
from requests import RequestException

from bot.platforms._http import BadInput, json_error, loads_bytes
from bot.platforms.teams.auth import ServiceUrlRefused
from bot.platforms.teams.intake import (
    PLATFORM,
    Incoming,
    activity_key,
    describe,
    digest,
    incoming_turn,
    log_extra,
    shape_problem,
    tenant_of,
)
from bot.platforms.teams.sender import ProactiveChannel, connector_failure, reply_activities
from bot.runtime import Runtime
from dialogs.messages import Reply
from dialogs.privacy import TOPIC as PRIVACY_TOPIC
from storage.events import claim_event

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
ACTIVITY_TTL = timedelta(days=2)
WELCOME_TTL = timedelta(days=365)

_HANDLED = (ActivityTypes.message, ActivityTypes.conversation_update, "installationUpdate")


def _refused(status: int, reason: str, tenant: str = "") -> web.Response:
    """A 4xx with a short JSON reason, logged with the reason only (never the body)."""
    facts: dict[str, object] = {"platform": PLATFORM, "status": status, "reason": reason}
    if tenant:
        facts["tenant"] = tenant
    log.warning("teams request refused", extra=facts)
    return json_error(status, reason)


class TeamsChannel(ProactiveChannel):
    """The Teams side of one process: the HTTP endpoint on top of the proactive channel."""

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
        if activity.id and not await claim_event(
            self.runtime.store,
            activity_key(incoming.tenant_id, incoming.conversation_id, str(activity.id)),
            PLATFORM,
            ACTIVITY_TTL,
        ):
            log.info(
                "teams activity already handled",
                extra=log_extra(incoming.tenant_id, activity_type=activity.type),
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
            failure = connector_failure(exc)
            log.error(
                "teams reply could not be delivered",
                extra=log_extra(incoming.tenant_id, connector_status=failure.status),
            )
            return json_error(502, "the reply could not be delivered to the Bot Connector")
        except Exception as exc:
            log.error(
                "teams turn failed",
                extra=log_extra(incoming.tenant_id, error_type=type(exc).__name__),
            )
            return json_error(500, "internal error; the activity was not processed")
        kind = incoming.turn.kind if incoming.turn else ("welcome" if incoming.welcome else "event")
        facts: dict[str, object] = {"activity_type": activity.type, "kind": kind}
        if incoming.turn and incoming.turn.action:
            facts["known_action"] = self.runtime.router.known_action(incoming.turn.action)
        facts["millis"] = int((time.monotonic() - started) * 1000)
        log.info("teams turn handled", extra=log_extra(incoming.tenant_id, **facts))
        return web.Response(status=201)

    # turns ---------------------------------------------------------------------------------------

    async def _on_turn(self, context: TurnContext, incoming: Incoming) -> None:
        if incoming.remember:
            await self.remember(context.activity, incoming)
        if incoming.turn is not None:
            reply = await self.runtime.router.handle(incoming.turn)
            if reply.topic == PRIVACY_TOPIC:
                # The person's stored addresses may just have been erased: save them anew on
                # their next message instead of trusting what this process saved before.
                self._saved_refs.clear()
            clicked = context.activity.reply_to_id if incoming.turn.kind != "text" else None
            replace_id = clicked if reply.replace else None
            await self._deliver(context, incoming, reply, replace_id)
        elif incoming.welcome and await claim_event(
            self.runtime.store,
            f"{PLATFORM}:welcome:{digest(incoming.tenant_id, incoming.conversation_id)}",
            PLATFORM,
            WELCOME_TTL,
        ):
            reply = await self.runtime.router.handle(
                incoming_turn(incoming)
            )  # no input: welcome event
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
                    extra=log_extra(
                        incoming.tenant_id, connector_status=connector_failure(exc).status
                    ),
                )
                first.id = None
        if activities:
            await context.send_activities(activities)


TEAMS_CHANNEL_KEY = web.AppKey("teams_channel", TeamsChannel)


def teams_channel(app: web.Application) -> TeamsChannel:
    """The channel ``setup_teams`` registered on ``app``."""
    return app[TEAMS_CHANNEL_KEY]


def setup_teams(app: web.Application, runtime: Runtime) -> None:
    """Mount ``POST /api/messages`` and register the channel on the app."""
    channel = TeamsChannel(runtime)
    app[TEAMS_CHANNEL_KEY] = channel
    handler: Callable[[web.Request], Awaitable[web.Response]] = channel.handle_request
    app.router.add_post(MESSAGES_PATH, handler)
