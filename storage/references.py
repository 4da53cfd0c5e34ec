"""Conversation references: where to reach a user or channel later (for proactive sends)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import ConversationRef, utcnow
from storage.repositories import Store


async def save_reference(
    store: Store, tenant_id: str, platform: str, kind: str, key: str, reference: dict[str, Any]
) -> None:
    """Insert or refresh the address of a user or channel for proactive sends."""
    stmt = store.insert(ConversationRef).values(
        tenant_id=tenant_id,
        platform=platform,
        kind=kind,
        key=key,
        reference=reference,
        updated_at=utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "platform", "kind", "key"],
        set_={"reference": stmt.excluded.reference, "updated_at": stmt.excluded.updated_at},
    )
    async with store.engine.begin() as session:
        await session.execute(stmt)


async def get_reference(
    store: Store, tenant_id: str, platform: str, kind: str, key: str
) -> dict[str, Any] | None:
    async with store.sessions() as session:
        return await session.scalar(
            select(ConversationRef.reference).where(
                ConversationRef.tenant_id == tenant_id,
                ConversationRef.platform == platform,
                ConversationRef.kind == kind,
                ConversationRef.key == key,
            )
        )


async def get_references(
    store: Store, tenant_id: str, platform: str, kind: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """``get_reference`` for many keys in one query (those that have one)."""
    if not keys:
        return {}
    async with store.sessions() as session:
        rows = await session.execute(
            select(ConversationRef.key, ConversationRef.reference).where(
                ConversationRef.tenant_id == tenant_id,
                ConversationRef.platform == platform,
                ConversationRef.kind == kind,
                ConversationRef.key.in_(set(keys)),
            )
        )
        return {key: ref for key, ref in rows.all() if isinstance(ref, dict)}


async def list_references(store: Store, tenant_id: str, platform: str) -> list[ConversationRef]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(ConversationRef)
            .where(ConversationRef.tenant_id == tenant_id, ConversationRef.platform == platform)
            .order_by(ConversationRef.id)
        )
        return list(rows.all())
