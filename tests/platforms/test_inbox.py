"""The inbox repository on SQLite and PostgreSQL: store once, claim with a lease, recover, forget."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

from storage import inbox
from storage.inbox import Incoming
from storage.inbox_models import CLAIMED, DONE, PENDING, SENDING, InboxItem
from storage.models import utcnow
from storage.repositories import Store

LEASE = timedelta(seconds=30)


def incoming(n: int, user: str = "U1") -> Incoming:
    return Incoming(
        event_key=f"slack:event:T1:Ev{n}",
        platform="slack",
        tenant_id="slack:T1",
        order_key=f"slack:T1:{user}",
        body={"type": "event_callback", "n": n},
    )


async def row(store: Store, item_id: int) -> InboxItem:
    async with store.sessions() as session:
        found = await session.get(InboxItem, item_id)
    assert found is not None
    return found


async def test_an_event_is_stored_once(store: Store) -> None:
    assert await inbox.receive(store, incoming(1))
    assert not await inbox.receive(store, incoming(1))  # Slack's retry, or a replay
    assert await inbox.status_counts(store) == {PENDING: 1}


async def test_a_claim_holds_until_its_lease_ends_then_another_worker_takes_over(
    store: Store,
) -> None:
    await inbox.receive(store, incoming(1))
    (claimed,) = await inbox.claim(store, "w1", platform="slack", lease=LEASE)
    assert claimed.status == CLAIMED and claimed.attempts == 1
    assert await inbox.claim(store, "w2", platform="slack", lease=LEASE) == []
    assert await inbox.claim(store, "w2", platform="teams", lease=LEASE, now=utcnow()) == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    (again,) = await inbox.claim(store, "w2", platform="slack", lease=LEASE, now=later)
    assert again.id == claimed.id and again.attempts == 2 and again.claimed_by == "w2"
    # The first worker lost its claim: it may not plan or finish the row any more.
    assert not await inbox.plan_reply(store, claimed.id, "w1", {"mode": "post"})
    assert not await inbox.finish(store, claimed.id, "w1", DONE)


async def test_a_planned_reply_erases_the_body_and_survives_a_crash_as_sending(
    store: Store,
) -> None:
    await inbox.receive(store, incoming(1))
    (claimed,) = await inbox.claim(store, "w1", platform="slack", lease=LEASE)
    assert await inbox.plan_reply(store, claimed.id, "w1", {"mode": "post", "messages": []})
    planned = await row(store, claimed.id)
    assert planned.status == SENDING and planned.body is None and planned.reply
    later = utcnow() + LEASE + timedelta(seconds=1)
    (recovered,) = await inbox.claim(store, "w2", platform="slack", lease=LEASE, now=later)
    assert recovered.status == SENDING  # not claimed: its reply may be out already
    assert recovered.reply == {"mode": "post", "messages": []}
    assert await inbox.finish(store, recovered.id, "w2", DONE)
    done = await row(store, claimed.id)
    assert done.status == DONE and done.reply is None and done.body is None
    # Who and when are forgotten too (only the day stays): a dump cannot line a closed turn up
    # with what its user wrote elsewhere, such as an anonymous survey answer.
    received = done.received_at if done.received_at.tzinfo else done.received_at.replace(tzinfo=UTC)
    assert done.order_key == "" and (received.hour, received.minute, received.second) == (0, 0, 0)
    assert not await inbox.receive(store, incoming(1))  # the key is kept for redeliveries


async def test_release_hands_rows_over_at_once(store: Store) -> None:
    for n in range(3):
        await inbox.receive(store, incoming(n, user=f"U{n}"))
    first, second, _third = await inbox.claim(store, "w1", platform="slack", lease=LEASE)
    await inbox.plan_reply(store, second.id, "w1", {"mode": "post"})
    assert await inbox.release(store, "w1") == 3
    taken = await inbox.claim(
        store, "w2", platform="slack", lease=LEASE, now=utcnow() + timedelta(seconds=1)
    )
    assert {r.id: r.status for r in taken} == {
        first.id: CLAIMED,
        second.id: SENDING,
        _third.id: CLAIMED,
    }


async def test_retry_later_waits_and_keeps_a_planned_reply(store: Store) -> None:
    await inbox.receive(store, incoming(1))
    await inbox.receive(store, incoming(2, user="U2"))
    one, two = await inbox.claim(store, "w1", platform="slack", lease=LEASE)
    await inbox.plan_reply(store, two.id, "w1", {"mode": "post"})
    soon = utcnow() + timedelta(seconds=5)
    assert await inbox.retry_later(store, one.id, "w1", soon, "boom")
    assert await inbox.retry_later(store, two.id, "w1", soon, "http-503")
    assert await inbox.claim(store, "w1", platform="slack", lease=LEASE) == []
    taken = await inbox.claim(
        store, "w1", platform="slack", lease=LEASE, now=soon + timedelta(seconds=1)
    )
    assert {r.id: r.status for r in taken} == {one.id: CLAIMED, two.id: SENDING}


async def test_purge_forgets_finished_keys_after_their_keep_time(store: Store) -> None:
    await inbox.receive(store, incoming(1))
    await inbox.receive(store, incoming(2, user="U2"))
    one, _two = await inbox.claim(store, "w1", platform="slack", lease=LEASE)
    await inbox.finish(store, one.id, "w1", DONE)
    assert await inbox.purge(store, now=utcnow() + inbox.KEEP_KEYS + timedelta(minutes=1)) == 1
    assert await inbox.receive(store, incoming(1))  # forgotten: would be handled again
    assert not await inbox.receive(store, incoming(2, user="U2"))  # unfinished: never purged


async def test_concurrent_workers_never_claim_the_same_row(store: Store) -> None:
    for n in range(120):
        await inbox.receive(store, incoming(n, user=f"U{n}"))

    async def drain(worker: str) -> list[int]:
        taken: list[int] = []
        while rows := await inbox.claim(store, worker, platform="slack", lease=LEASE, limit=7):
            taken.extend(r.id for r in rows)
        return taken

    results = await asyncio.gather(*(drain(f"w{n}") for n in range(4)))
    everything = [item for taken in results for item in taken]
    assert len(everything) == len(set(everything)) == 120
