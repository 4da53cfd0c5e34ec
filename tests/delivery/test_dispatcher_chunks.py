"""The dispatcher's chunked writes (issue #14): rows are marked ``sending`` and recorded ``sent`` a
chunk per statement, so a process that dies between a send and its record must leave that row in
doubt — checked with the platform, never sent again — and never more rows in doubt than it had in
flight. A dispatcher told to stop hands back what it claimed but did not try."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.delivery.dispatcher import Dispatcher
from dialogs.messages import Reply
from storage import outbox
from storage.outbox_models import CLAIMED, PENDING, SENDING, SENT, OutboxItem
from storage.repositories import Store
from tests.delivery.test_dispatcher import (
    TENANT,
    Clock,
    RecordingSender,
    dispatcher,
    reminder,
    statuses,
    tstore,
)

__all__ = ["tstore"]  # the fixture, shared with test_dispatcher

ROWS = 30


@dataclass
class ConfirmingSender(RecordingSender):
    """Slack-like: what it sent can be found again in the channel history."""

    history: set[str] | None = field(default_factory=set)
    store: Store | None = None
    most_sending: int = 0
    on_send: Any = None

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        if self.store is not None:
            counts = await outbox.status_counts(self.store, TENANT)
            self.most_sending = max(self.most_sending, counts.get(SENDING, 0))
        found = await super().send(item, reply)
        assert self.history is not None
        self.history.add(item.dedupe_key)
        if self.on_send is not None:
            self.on_send(len(self.sent))
        return found


async def test_a_crash_before_the_chunk_is_recorded_leaves_rows_in_doubt_and_none_is_resent(
    tstore: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await outbox.enqueue(tstore, [reminder(n) for n in range(ROWS)])
    sender = ConfirmingSender()
    clock = Clock()

    async def died(*_args: Any, **_kw: Any) -> None:
        raise ConnectionResetError("the process died before the sends were written")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "finish_sent_many", died)
        await dispatcher(tstore, sender, clock).run_once()
    assert len(sender.sent) == ROWS
    assert set((await statuses(tstore)).values()) == {SENDING}, "in doubt, not pending"

    clock.now += timedelta(minutes=10)  # the dead process's leases ran out
    stats = await dispatcher(tstore, sender, clock).run_once()
    assert stats.counts == {"confirmed": ROWS}
    assert set((await statuses(tstore)).values()) == {SENT}
    assert len(sender.sent) == ROWS, "nothing sent twice"


async def test_never_more_rows_in_sending_than_the_dispatcher_has_in_flight(
    tstore: Store,
) -> None:
    await outbox.enqueue(tstore, [reminder(n) for n in range(ROWS)])
    sender = ConfirmingSender(store=tstore)
    d = dispatcher(tstore, sender, Clock())
    stats = await d.run_once()
    assert stats.counts == {SENT: ROWS}
    assert 0 < sender.most_sending <= d.settings.concurrency


async def test_a_stopped_dispatcher_finishes_its_sends_and_hands_back_the_rest(
    tstore: Store,
) -> None:
    await outbox.enqueue(tstore, [reminder(n) for n in range(ROWS)])
    sender = ConfirmingSender()
    first: list[Dispatcher] = []
    sender.on_send = lambda sent: first[0].stop_claiming() if sent == 5 else None
    first.append(dispatcher(tstore, sender, Clock()))
    await first[0].run_once()

    rows = await outbox.list_items(tstore, TENANT)
    got = {r.status for r in rows}
    assert CLAIMED not in got and SENDING not in got, got
    sent = [r for r in rows if r.status == SENT]
    assert len(sent) == len(sender.sent) >= 5
    waiting = [r for r in rows if r.status == PENDING]
    assert waiting and all(r.claimed_by is None for r in waiting)

    await dispatcher(tstore, sender, Clock()).run_once()  # the next process
    assert set((await statuses(tstore)).values()) == {SENT}
    assert sorted(sender.sent) == sorted(r.dedupe_key for r in rows)
