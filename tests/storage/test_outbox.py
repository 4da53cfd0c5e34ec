"""Outbox repository on both backends: idempotent enqueue, claims, leases, in-doubt rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage import outbox
from storage.outbox import NewItem
from storage.outbox_models import CLAIMED, PENDING, SENDING, SENT
from storage.repositories import Store
from storage.users import ensure_tenant

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def item(n: int, at: datetime = T0, tenant: str = "t1") -> NewItem:
    return NewItem(
        tenant_id=tenant,
        dedupe_key=f"reminder:task:{n}",
        kind="reminder",
        platform="slack",
        target_kind="user",
        target_id=f"U{n}",
        send_at=at,
        payload={"type": "reminder", "task": "task", "n": n},
    )


@pytest.fixture
async def ostore(store: Store) -> Store:
    await ensure_tenant(store, "t1", "slack", "T1")
    return store


async def test_enqueue_is_idempotent_per_key(ostore: Store) -> None:
    assert await outbox.enqueue(ostore, [item(n) for n in range(3)]) == 3
    assert await outbox.enqueue(ostore, [item(n) for n in range(5)]) == 2
    assert await outbox.status_counts(ostore) == {PENDING: 5}
    row = await outbox.get_by_key(ostore, "reminder:task:4")
    assert row is not None and row.payload["n"] == 4 and row.send_at == T0


async def test_naive_send_time_is_refused(ostore: Store) -> None:
    with pytest.raises(ValueError):
        await outbox.enqueue(ostore, [item(1, at=datetime(2026, 12, 1, 8, 0))])  # noqa: DTZ001


async def test_claims_only_due_rows_oldest_first(ostore: Store) -> None:
    await outbox.enqueue(
        ostore, [item(1, T0 + timedelta(hours=2)), item(2, T0), item(3, T0 + timedelta(days=1))]
    )
    claimed = await outbox.claim_due(ostore, "w1", now=T0 + timedelta(hours=3), limit=10)
    assert [r.target_id for r in claimed] == ["U2", "U1"]
    assert all(r.status == CLAIMED and r.claimed_by == "w1" for r in claimed)
    assert await outbox.claim_due(ostore, "w2", now=T0 + timedelta(hours=3)) == []


async def test_concurrent_claimers_never_share_a_row(ostore: Store) -> None:
    await outbox.enqueue(ostore, [item(n) for n in range(200)])
    now = T0 + timedelta(minutes=1)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        while rows := await outbox.claim_due(ostore, name, now=now, limit=7):
            got += [r.id for r in rows]
        return got

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    every = [i for ids in results for i in ids]
    assert len(every) == 200 and len(set(every)) == 200


async def test_expired_claim_is_released_but_sending_row_is_in_doubt(ostore: Store) -> None:
    await outbox.enqueue(ostore, [item(1), item(2)])
    lease = timedelta(seconds=30)
    a, b = await outbox.claim_due(ostore, "dead", now=T0, lease=lease)
    assert await outbox.mark_sending(ostore, b.id, "dead", now=T0, lease=lease)
    later = T0 + timedelta(minutes=1)
    assert await outbox.release_expired_claims(ostore, now=later) == 1
    again = await outbox.claim_due(ostore, "alive", now=later)
    assert [r.id for r in again] == [a.id]
    doubt = await outbox.claim_in_doubt(ostore, "alive", now=later)
    assert [(r.id, r.status, r.attempts) for r in doubt] == [(b.id, SENDING, 1)]
    # the dead worker cannot finish what it no longer holds
    assert not await outbox.finish(ostore, b.id, "dead", SENT)
    assert await outbox.finish(ostore, b.id, "alive", SENT, message_id="123.456")
    row = await outbox.get_item(ostore, b.id)
    assert row is not None and row.status == SENT and row.sent_at is not None
    assert row.platform_message_id == "123.456"


async def test_retry_puts_the_row_back_for_later(ostore: Store) -> None:
    await outbox.enqueue(ostore, [item(1)])
    (row,) = await outbox.claim_due(ostore, "w", now=T0)
    assert await outbox.mark_sending(ostore, row.id, "w", now=T0)
    assert await outbox.retry_later(ostore, row.id, "w", T0 + timedelta(minutes=5), "http-503")
    assert await outbox.claim_due(ostore, "w", now=T0 + timedelta(minutes=4)) == []
    (again,) = await outbox.claim_due(ostore, "w", now=T0 + timedelta(minutes=5))
    assert again.attempts == 1 and again.last_error == "http-503"


async def test_a_claim_whose_lease_ran_out_cannot_start_sending(ostore: Store) -> None:
    await outbox.enqueue(ostore, [item(1)])
    (row,) = await outbox.claim_due(ostore, "slow", now=T0, lease=timedelta(seconds=30))
    assert not await outbox.mark_sending(ostore, row.id, "slow", now=T0 + timedelta(seconds=31))
    assert await outbox.release_expired_claims(ostore, now=T0 + timedelta(seconds=31)) == 1
    (again,) = await outbox.claim_due(ostore, "fast", now=T0 + timedelta(seconds=31))
    assert await outbox.mark_sending(ostore, again.id, "fast", now=T0 + timedelta(seconds=32))
    assert not await outbox.mark_sending(ostore, row.id, "slow", now=T0 + timedelta(seconds=32))
