"""Who is in a Slack channel, for a survey sent to "the members of #channel": the channel's member
list (``conversations.members``, paged), without the workspace's bots and deactivated accounts
(``users.list``, paged, ~200 people a call). A bot counted as a recipient would let an anonymous
survey start below the minimum group size, so bots are left out by what Slack says of them, not
by their names. Scopes: ``channels:read`` / ``groups:read`` and ``users:read``.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.platforms.slack.tokens import SlackTokens, team_of
from dialogs.surveys.launch import AudienceError, ChannelMembers

PAGE = 200
MAX_PAGES = 100  # 20,000 members or users: far past any kommune's channel


async def _pages(call: Any, key: str, **kwargs: Any) -> list[Any]:
    found: list[Any] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        response = await call(limit=PAGE, **({"cursor": cursor} if cursor else {}), **kwargs)
        found += response.get(key) or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    return found


def slack_channel_members(settings: Settings, tokens: SlackTokens | None = None) -> ChannelMembers:
    """Reads a channel's members with the workspace's bot token (``tokens``; without it, the
    configured ``SLACK_BOT_TOKEN``)."""

    async def members(tenant_id: str, channel: str) -> list[str]:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        if tokens is not None and tenant_id.startswith("slack:"):
            token = await tokens.bot_token(team_of(tenant_id)) or ""
        if not tenant_id.startswith("slack:") or not token:
            raise AudienceError(
                "channel members are read from Slack (where the bot is installed) or Teams"
            )
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=30)
        try:
            in_channel = await _pages(client.conversations_members, "members", channel=channel)
            people = await _pages(client.users_list, "members")
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "error")
            raise AudienceError(f"Slack did not give the members of {channel}: {error}") from None
        finally:
            if client.session is not None and not client.session.closed:
                await client.session.close()
        not_people = {
            str(u.get("id"))
            for u in people
            if isinstance(u, dict)
            and (u.get("is_bot") or u.get("deleted") or u.get("id") == "USLACKBOT")
        }
        return [m for m in dict.fromkeys(in_channel) if isinstance(m, str) and m not in not_people]

    return members
