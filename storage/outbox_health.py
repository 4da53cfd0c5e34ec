"""Read-only numbers for monitoring (``/metrics``): outbox rows per status, the oldest due pending
row, and FAQ answers per topic. Three small aggregate queries in one short read transaction, each
served by an index or a small table; on PostgreSQL a statement timeout caps them, so a scrape can
never hold the database up. Nothing here returns an id, a target or a payload.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text

from storage.outbox_models import PENDING, OutboxItem
from storage.repositories import Store, aware
from storage.usage_models import TOPIC, UsageCount

STATEMENT_TIMEOUT_MS = 1500


async def scrape(
    store: Store, now: datetime
) -> tuple[dict[str, int], datetime | None, dict[str, int]]:
    """(rows per outbox status, ``next_attempt_at`` of the oldest due pending row or None,
    FAQ answers per topic summed over tenants and months)."""
    async with store.sessions() as session, session.begin():
        if store.engine.dialect.name == "postgresql":
            await session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        by_status = await session.execute(
            select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
        )
        counts = {str(status): int(n) for status, n in by_status.all()}
        oldest = await session.scalar(
            select(func.min(OutboxItem.next_attempt_at)).where(
                OutboxItem.status == PENDING, OutboxItem.next_attempt_at <= now
            )
        )
        by_topic = await session.execute(
            select(UsageCount.key, func.sum(UsageCount.count))
            .where(UsageCount.kind == TOPIC)
            .group_by(UsageCount.key)
        )
        topics = {str(key): int(n or 0) for key, n in by_topic.all()}
    return counts, (aware(oldest) if oldest is not None else None), topics
