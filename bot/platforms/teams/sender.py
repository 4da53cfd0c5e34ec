"""The outbox's Teams sender: proactive messages through the Bot Connector from stored conversation
references, within the Bot Connector's rate limits, with every failure sorted into the outcomes of
``bot.delivery.senders``.

Teams cannot be asked what arrived, so ``already_sent`` answers None and the dispatcher reports a row
left in doubt instead of sending it twice. This module holds no dialog logic and never logs
message text.
"""

from __future__ import annotations

import logging
from dataclasses import replace

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
from bot.platforms.teams.adapter import ProactiveSendError, TeamsChannel
from bot.runtime import Runtime
from dialogs.messages import Reply
from storage.outbox_models import OutboxItem

log = logging.getLogger(__name__)

# Worth another try later: 412 (precondition, Teams asks to retry), 5xx, no answer at all.
TEAMS_UNREACHABLE = (403, 404)
TEAMS_REJECTED = (400, 401)


class TeamsSender:
    """Proactive messages through the Bot Connector from stored conversation references."""

    platform = "teams"
    confirms_delivery = False

    def __init__(
        self,
        channel: TeamsChannel | Runtime,
        limits: Limits | None = None,
        *,
        max_rate_retries: int = 3,
    ) -> None:
        self.channel = channel if isinstance(channel, TeamsChannel) else TeamsChannel(channel)
        self.limits = limits or SendRates().limits()
        self.max_rate_retries = max_rate_retries

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
            return
        raise RetryLater("ratelimited", retry_after)

    async def already_sent(self, item: OutboxItem) -> bool | None:
        return None  # the Bot Connector cannot list what a bot sent
