"""What the outbox dispatcher needs from a platform sender: the ``Sender`` protocol, the outcomes a
send can end in, and the platforms' documented send rates.

``bot.delivery.dispatcher`` claims a row, renders it and calls ``Sender.send``; what the sender raises
decides the row's fate: ``Unreachable`` (nobody to deliver to: reported, not retried), ``RetryLater``
(transient: 5xx, connection trouble, a 429 that persisted) or ``Rejected`` (permanent: bad token,
bad payload). A sender waits out a 429 itself (its Retry-After pauses the whole tenant's bucket in
``bot.delivery.ratelimit``) a few times before it becomes ``RetryLater``. The senders themselves live
with their platforms (``bot.platforms.slack.sender``, ``bot.platforms.teams.sender``); this module
imports no platform SDK and must not learn about any one platform's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.delivery.ratelimit import Limits, Rate, SharedLimits
from dialogs.messages import Reply
from storage.outbox_models import OutboxItem
from storage.repositories import Store

# Rate-limiter bucket kinds (one limiter of each kind per tenant).
SLACK_POST = "slack:chat.postMessage"
SLACK_LOOKUP = "slack:tier3"  # conversations.open, conversations.history
TEAMS_SEND = "teams:send"
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 comes without a usable Retry-After
MAX_RETRY_AFTER = 300.0  # a longer wait is handed to the dispatcher's schedule instead


# outcomes ----------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A send did not happen; ``code`` is short and safe to store and log (never message text)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Unreachable(DeliveryError):
    """Nobody to deliver to (user gone, no Teams reference, bot removed): report, do not retry."""


class RetryLater(DeliveryError):
    """Transient (5xx, connection, a 429 that persisted); ``retry_after`` seconds when known."""

    def __init__(self, code: str, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.retry_after = retry_after


class Rejected(DeliveryError):
    """Permanent: retrying cannot help (invalid token, a payload the platform refuses)."""


class Sender(Protocol):
    """Delivers rendered outbox rows on one platform."""

    platform: str
    # True when the platform can be asked what arrived (Slack: history with our metadata); a
    # resend then checks first, so an unanswered check may simply be tried again later.
    confirms_delivery: bool

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        """Deliver ``reply`` to the row's target; the platform's message id, or None."""
        ...

    async def already_sent(self, item: OutboxItem) -> bool | None:
        """Whether a row left in ``sending`` by a crash arrived; None when the platform cannot tell."""
        ...


# rates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRates:
    """Calls per second. Defaults follow the platforms' documentation (see README, "Rate limits")."""

    slack_send: float = 5.0  # chat.postMessage per workspace (a limit Slack gives no number for)
    slack_channel: float = 1.0  # chat.postMessage per channel ("1 per second, short bursts")
    slack_lookup: float = 50 / 60  # Tier 3 methods: conversations.open / .history, "50+ per minute"
    teams_send: float = 50.0  # Bot Connector per app and tenant ("50 RPS")
    teams_conversation: float = 7.0  # per bot and conversation ("7 per second")

    def table(self) -> dict[str, tuple[Rate, Rate | None]]:
        """Bucket kind → (rate of the bucket, spacing per conversation)."""
        return {
            SLACK_POST: (Rate(self.slack_send), Rate(self.slack_channel)),
            SLACK_LOOKUP: (Rate(self.slack_lookup), None),
            TEAMS_SEND: (Rate(self.teams_send), Rate(self.teams_conversation)),
        }

    def limits(self, store: Store | None = None) -> Limits:
        """The process's limiters; with a PostgreSQL ``store`` the bucket rates are shared by
        every process on it (on SQLite there is only one process)."""
        if store is not None and store.engine.dialect.name == "postgresql":
            return SharedLimits(self.table(), store)
        return Limits(self.table())
