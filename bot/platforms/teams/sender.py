"""Teams, outgoing: our replies as card activities, the conversation references the bot keeps, the
proactive sends made from them, and the outbox's ``TeamsSender``.

Every user (personal chat) and conversation the bot sees is remembered as a minimal
``ConversationReference`` (ids and the service URL, no names), so later code can write first with
``send_proactive``; a stored ``serviceUrl`` off the allow-list is never called. The sender sorts the
Bot Connector's answers into the outcomes of ``bot.delivery.senders``; Teams cannot be asked what
arrived, so ``already_sent`` answers None and the dispatcher reports a row left in doubt instead of
sending it twice. Must not hold dialog logic or log message text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationReference
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.delivery.ratelimit import Limits
from bot.delivery.senders import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    TEAMS_SEND,
    Rejected,
    RetryLater,
    SendRates,
    Unreachable,
)
from bot.metrics import BotMetrics
from bot.platforms.teams.auth import ServiceUrlRefused, build_adapter, service_url_policy
from bot.platforms.teams.intake import PLATFORM, Incoming, log_extra
from bot.platforms.teams.render import CARD_CONTENT_TYPE, render_card, summary
from bot.runtime import Runtime
from dialogs.messages import Message, Reply
from dialogs.surveys.launch import AudienceError
from storage.outbox_models import OutboxItem
from storage.references import get_reference, save_reference
from storage.users import ensure_tenant

log = logging.getLogger(__name__)


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
    """One card activity per message of the reply."""
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


def connector_failure(exc: Exception) -> ProactiveSendError:
    """The status and Retry-After of a failed Bot Connector call."""
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


# the proactive channel ---------------------------------------------------------------------------


MEMBER_PAGE = 500  # the Bot Connector's largest page of members
MEMBER_PAGES = 100


class ProactiveChannel:
    """botbuilder's adapter plus the shared runtime: remembers where users and conversations are
    and writes to them first. ``bot.platforms.teams.adapter.TeamsChannel`` adds the HTTP side."""

    def __init__(self, runtime: Runtime, adapter: CloudAdapter | None = None) -> None:
        self.runtime = runtime
        self.adapter = adapter or build_adapter(runtime.settings)
        self.policy = service_url_policy(runtime.settings)
        self._known_tenants: set[str] = set()
        self._saved_refs: dict[tuple[str, str, str], str] = {}

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
            await ensure_tenant(
                self.runtime.store, tenant_id, PLATFORM, tenant_id.partition(":")[2]
            )
            self._known_tenants.add(tenant_id)
        await save_reference(self.runtime.store, tenant_id, PLATFORM, kind, key, data)
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
        data = await get_reference(self.runtime.store, tenant_id, PLATFORM, kind, key)
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
                extra=log_extra(tenant_id, kind=kind),
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
            failure = connector_failure(exc)
            log.warning(
                "teams proactive send failed",
                extra=log_extra(tenant_id, kind=kind, connector_status=failure.status),
            )
            raise failure from None
        log.info(
            "teams proactive message sent",
            extra=log_extra(tenant_id, kind=kind, count=len(activities)),
        )
        return True

    async def members(self, tenant_id: str, conversation_id: str) -> list[str]:
        """The people of a stored channel conversation (its team), by their Entra object ids, as
        our Teams users are keyed; the bot is not among them. AudienceError when we have no
        reference for it or the Bot Connector refuses."""
        data = await get_reference(
            self.runtime.store, tenant_id, PLATFORM, "channel", conversation_id
        )
        if data is None:
            raise AudienceError("the bot has not been in that Teams channel yet")
        reference = ConversationReference().deserialize(data)
        if not self.policy.allows(reference.service_url):
            raise AudienceError("the channel's stored serviceUrl is not allowed")
        found: list[str] = []

        async def read(context: TurnContext) -> None:
            # A continuation carries no channelData; TeamsInfo reads it for a team id, and
            # without one it asks for the conversation's own members (a channel: its team).
            context.activity.channel_data = context.activity.channel_data or {}
            token: str | None = None
            for _ in range(MEMBER_PAGES):
                page = await TeamsInfo.get_paged_members(context, token, MEMBER_PAGE)
                found.extend(m.aad_object_id for m in page.members or [] if m.aad_object_id)
                token = page.continuation_token
                if not token:
                    break

        try:
            await self.adapter.continue_conversation(
                reference, read, bot_app_id=self.runtime.settings.microsoft_app_id
            )
        except (HttpOperationError, ClientRequestError, ServiceUrlRefused) as exc:
            status = (
                connector_failure(exc).status if not isinstance(exc, ServiceUrlRefused) else None
            )
            raise AudienceError(f"Teams did not give the channel's members ({status})") from None
        return list(dict.fromkeys(found))


async def send_proactive(
    runtime: Runtime, tenant_id: str, kind: str, key: str, reply: Reply
) -> bool:
    """Send ``reply`` to a stored Teams user or conversation; see ``ProactiveChannel.send_proactive``.

    For code without the aiohttp app at hand (scheduler, CLI); building the adapter is cheap.
    """
    return await ProactiveChannel(runtime).send_proactive(tenant_id, kind, key, reply)


# Worth another try later: 412 (precondition, Teams asks to retry), 5xx, no answer at all.
TEAMS_UNREACHABLE = (403, 404)
TEAMS_REJECTED = (400, 401)


class TeamsSender:
    """Proactive messages through the Bot Connector from stored conversation references."""

    platform = "teams"
    confirms_delivery = False

    def __init__(
        self,
        channel: ProactiveChannel | Runtime,
        limits: Limits | None = None,
        *,
        max_rate_retries: int = 3,
        metrics: BotMetrics | None = None,
    ) -> None:
        self.channel = (
            channel if isinstance(channel, ProactiveChannel) else ProactiveChannel(channel)
        )
        self.limits = limits or SendRates().limits()
        self.max_rate_retries = max_rate_retries
        self.metrics = metrics

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        """Send message by message, so a 429 on the second card does not resend the first."""
        for message in reply.messages:
            await self._send_one(item, replace(reply, messages=(message,)))
        return None  # botbuilder's proactive send does not hand back the activity id

    async def _send_one(self, item: OutboxItem, reply: Reply) -> None:
        limiter = self.limits.bucket(TEAMS_SEND, item.tenant_id)
        retry_after = DEFAULT_RETRY_AFTER
        for _ in range(self.max_rate_retries + 1):
            await limiter.acquire(f"{item.target_kind}:{item.target_id}")
            try:
                sent = await self.channel.send_proactive(
                    item.tenant_id, item.target_kind, item.target_id, reply
                )
            except ProactiveSendError as exc:
                if exc.reason:  # we refused to call (e.g. a stored serviceUrl off the allow-list)
                    raise Unreachable(exc.reason) from None
                if exc.status == 429:
                    if self.metrics is not None:
                        self.metrics.saw_429("teams")
                    retry_after = (
                        exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
                    )
                    log.warning(
                        "teams rate limited",
                        extra={"tenant": item.tenant_id, "retry_after": retry_after},
                    )
                    if retry_after > MAX_RETRY_AFTER:
                        raise RetryLater("ratelimited", retry_after) from None
                    limiter.pause(retry_after)
                    continue
                if exc.status in TEAMS_UNREACHABLE:
                    raise Unreachable(f"http-{exc.status}") from None
                if exc.status in TEAMS_REJECTED:
                    raise Rejected(f"http-{exc.status}") from None
                raise RetryLater(
                    "connection" if exc.status is None else f"http-{exc.status}", exc.retry_after
                ) from None
            if not sent:
                raise Unreachable("no-reference")
            if self.metrics is not None:
                self.metrics.sent("teams")
            return
        raise RetryLater("ratelimited", retry_after)

    async def already_sent(self, item: OutboxItem) -> bool | None:
        return None  # the Bot Connector cannot list what a bot sent
