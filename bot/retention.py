"""The retention purge of a running process: deletes old bookkeeping every
``RETENTION_INTERVAL_SECONDS`` (and once soon after start).

What goes and after how long is ``storage.privacy.purge_old``'s, with the ``RETENTION_*_DAYS``
settings; ``bts-bot purge`` runs the same once. Every process may run it: the deletes are
idempotent. It runs whether or not this process sends reminders, and must not stop the process
when the database is briefly away (the next round tries again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.config import Settings
from storage.privacy import Retention, purge_old
from storage.repositories import Store

log = logging.getLogger(__name__)

#: The first purge waits this long after start, so a start is not slowed by a big delete.
FIRST_DELAY_SECONDS = 30.0


def retention(settings: Settings) -> Retention:
    """The retention settings (``RETENTION_*_DAYS``) as storage takes them."""
    return Retention(
        events_days=settings.retention_events_days,
        outbox_days=settings.retention_outbox_days,
        conversation_days=settings.retention_conversation_days,
        users_days=settings.retention_users_days,
    )


class RetentionService:
    """Runs ``purge_old`` in the background of ``bts-bot serve``."""

    def __init__(
        self,
        store: Store,
        retention: Retention,
        interval_seconds: float,
        first_delay_seconds: float = FIRST_DELAY_SECONDS,
    ) -> None:
        self.store = store
        self.retention = retention
        self.interval = interval_seconds
        self.first_delay = first_delay_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int]:
        """One purge; the counts are logged (no ids, nothing of what was deleted)."""
        try:
            counts = await purge_old(self.store, self.retention)
        except Exception as exc:
            log.error("retention purge failed", extra={"error_type": type(exc).__name__})
            return {}
        if any(counts.values()):
            log.info("retention purge", extra={k: v for k, v in counts.items() if v})
        return counts

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="retention-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
