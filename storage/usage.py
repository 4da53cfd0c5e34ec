"""Repository of anonymous use counts and of the leaders' digest setting.

``count_use`` raises one counter with a single ``INSERT … ON CONFLICT DO UPDATE`` (atomic on SQLite
and PostgreSQL); nothing about who asked is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from storage.repositories import Store, rowcount
from storage.usage_models import KINDS, LeaderDigest, UsageCount


async def count_use(store: Store, tenant_id: str, month: str, kind: str, key: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown use kind {kind!r}")
    statement = (
        store.insert(UsageCount)
        .values(tenant_id=tenant_id, month=month, kind=kind, key=key[:60], count=1)
        .on_conflict_do_update(
            index_elements=["tenant_id", "month", "kind", "key"],
            set_={"count": UsageCount.count + 1},
        )
    )
    async with store.sessions.begin() as session:
        await session.execute(statement)


async def use_counts(
    store: Store, tenant_id: str, months: Sequence[str], kind: str
) -> dict[str, int]:
    """Counts per key over ``months``, most first."""
    async with store.sessions() as session:
        rows = await session.execute(
            select(UsageCount.key, func.sum(UsageCount.count))
            .where(
                UsageCount.tenant_id == tenant_id,
                UsageCount.kind == kind,
                UsageCount.month.in_(list(months)),
            )
            .group_by(UsageCount.key)
        )
        found = {str(k): int(n) for k, n in rows.all()}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class DigestTarget:
    tenant_id: str
    platform: str
    channel_id: str
    tasks: tuple[str, ...]


async def put_leader_digest(store: Store, target: DigestTarget) -> None:
    values = {
        "platform": target.platform,
        "channel_id": target.channel_id,
        "tasks": list(target.tasks),
    }
    statement = (
        store.insert(LeaderDigest)
        .values(tenant_id=target.tenant_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id"], set_=values)
    )
    async with store.sessions.begin() as session:
        await session.execute(statement)


async def get_leader_digest(store: Store, tenant_id: str) -> DigestTarget | None:
    async with store.sessions() as session:
        row = await session.get(LeaderDigest, tenant_id)
        if row is None:
            return None
        return DigestTarget(row.tenant_id, row.platform, row.channel_id, tuple(row.tasks or ()))


async def remove_leader_digest(store: Store, tenant_id: str) -> bool:
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(LeaderDigest).where(LeaderDigest.tenant_id == tenant_id)
        )
        return rowcount(result) > 0
