"""The process-wide objects every platform adapter shares: settings, database, router."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.feedback import vote_key
from dialogs.router import Router
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store

LOCAL_TENANT = "local"


@dataclass
class Runtime:
    """Settings, engine, store and router of one bot process."""

    settings: Settings
    engine: AsyncEngine
    store: Store
    router: Router

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
        router = build_router(
            store,
            default_lang=settings.bot_language,
            kommune_dir=settings.kommune_dir,
            survey_key=survey_key(settings),
            survey_min_group=settings.survey_min_group,
        )
        return cls(settings=settings, engine=engine, store=store, router=router)

    async def close(self) -> None:
        await self.engine.dispose()
