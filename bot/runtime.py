"""The process-wide objects every platform adapter shares: settings, database, router."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.metrics import BotMetrics
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.arshjul.ics import feed_url
from dialogs.feedback import vote_key
from dialogs.router import Router
from dialogs.surveys.chart import ChartLinks
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store

LOCAL_TENANT = "local"


def chart_links(settings: Settings) -> ChartLinks:
    """Chart addresses under PUBLIC_URL, signed with (a key derived from) the survey secret."""
    return ChartLinks(survey_key(settings), settings.public_url)


@dataclass
class Runtime:
    """Settings, engine, store and router of one bot process."""

    settings: Settings
    engine: AsyncEngine
    store: Store
    router: Router
    # this process's Prometheus metrics (its own registry: GET /metrics, bot.metrics)
    metrics: BotMetrics = field(default_factory=BotMetrics)

    @classmethod
    async def start(cls, settings: Settings, migrate: bool = True) -> Runtime:
        """Open the database (migrating it to the newest schema) and build the router."""
        url = settings.effective_database_url()
        if migrate:
            await upgrade(url)
        engine = create_engine(url)
        store = Store(engine)
        # Vote buttons are signed while a reply is rendered (synchronously): read the key now.
        await vote_key(store)
        made: list[Runtime] = []

        async def members(tenant_id: str, channel: str) -> list[str]:
            return await made[0].channel_members(tenant_id, channel)

        router = build_router(
            store,
            default_lang=settings.bot_language,
            kommune_dir=settings.kommune_dir,
            survey_key=survey_key(settings),
            survey_min_group=settings.survey_min_group,
            charts=chart_links(settings),
            channel_members=members,
            calendar_link=lambda token: feed_url(settings.public_url, token),
        )
        made.append(cls(settings=settings, engine=engine, store=store, router=router))
        return made[0]

    async def channel_members(self, tenant_id: str, channel: str) -> list[str]:
        """Who is in a channel, read from its platform: Slack's member list, or a Teams
        channel's from its stored reference (platform code imported when first asked)."""
        if tenant_id.startswith("teams:"):
            from bot.platforms.teams.sender import ProactiveChannel

            return await ProactiveChannel(self).members(tenant_id, channel)
        from bot.platforms.slack.members import slack_channel_members
        from bot.platforms.slack.tokens import slack_tokens

        tokens = slack_tokens(self.settings, self.store)
        return await slack_channel_members(self.settings, tokens)(tenant_id, channel)

    @property
    def charts(self) -> ChartLinks:
        """Signs and reads the addresses of survey charts (``/charts/…``)."""
        return chart_links(self.settings)

    async def close(self) -> None:
        await self.engine.dispose()
