"""Which platform senders the outbox gets: Slack when a bot token or OAuth is set, Teams always.

Platform wiring, kept out of ``bot.delivery`` so that the dispatcher and its ``Sender`` protocol
never depend on a platform; the scheduler (``bot.reminders``) builds its dispatcher from these.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.delivery.senders import Sender, SendRates
from bot.platforms.slack.sender import SlackSender
from bot.platforms.slack.tokens import slack_tokens
from bot.platforms.teams.sender import ProactiveChannel, TeamsSender
from bot.runtime import Runtime


def send_rates(runtime: Runtime) -> SendRates:
    """The send rates the settings ask for."""
    settings = runtime.settings
    return SendRates(
        slack_send=settings.slack_send_rate,
        slack_channel=settings.slack_channel_rate,
        slack_lookup=settings.slack_lookup_rate,
        teams_send=settings.teams_send_rate,
        teams_conversation=settings.teams_conversation_rate,
    )


def build_senders(
    runtime: Runtime, *, teams_channel: ProactiveChannel | None = None
) -> dict[str, Sender]:
    """A sender per platform: Slack when a bot token is set, Teams always (without a stored
    reference a Teams send is reported as unreachable)."""
    limits = send_rates(runtime).limits(runtime.store)
    senders: dict[str, Sender] = {}
    settings = runtime.settings
    token = settings.slack_bot_token
    if settings.slack_oauth_enabled or (token is not None and token.get_secret_value()):
        senders["slack"] = SlackSender(
            slack_tokens(settings, runtime.store),
            settings.slack_api_url,
            limits,
            store=runtime.store,
            metrics=runtime.metrics,
        )
    senders["teams"] = TeamsSender(
        teams_channel or ProactiveChannel(runtime), limits, metrics=runtime.metrics
    )
    return senders


async def close_senders(senders: Mapping[str, Sender]) -> None:
    """Close the senders' HTTP connections (at shutdown)."""
    for sender in senders.values():
        close = getattr(sender, "close", None)
        if close is not None:
            await close()
