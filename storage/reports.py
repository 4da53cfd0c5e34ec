"""Problem reports to a tenant's coordinators, planned through the outbox like any other send.

Used when a reminder has nobody to go to (no holder, absent without deputy) and when a send ends
badly (unreachable, failed, expired after downtime, in doubt after a crash). One report per problem
and coordinator: the dedupe key names the problem, so planning it again changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.directory import coordinator_recipients
from storage.outbox import NewItem, enqueue
from storage.outbox_models import OutboxKind
from storage.repositories import Store

ABOUT_KEYS = ("task", "occurrence", "role", "unit", "who", "count")


async def report_problem(
    store: Store,
    tenant_id: str,
    problem: str,
    key: str,
    about: dict[str, Any],
    send_at: datetime,
) -> int:
    """Plan a report of ``problem`` (identified by ``key``) to every coordinator; returns rows added.

    Nobody to report to (no coordinator or admin named yet) → nothing is planned; the CLI's
    ``reminders status`` still shows the problem rows."""
    payload: dict[str, Any] = {"problem": problem}
    payload.update({k: about.get(k) for k in ABOUT_KEYS if k in about or k != "count"})
    items = [
        NewItem(
            tenant_id=tenant_id,
            dedupe_key=f"report:{problem}:{key}:{platform}:{user}"[:400],
            kind=OutboxKind.REPORT,
            platform=platform,
            target_kind="user",
            target_id=user,
            send_at=send_at,
            payload=payload,
        )
        for platform, user in await coordinator_recipients(store, tenant_id)
    ]
    return await enqueue(store, items) if items else 0
