"""The retention purge (issue #14 §5), on SQLite and PostgreSQL: processed event ids, finished
inbox rows, finished outbox rows, dialog positions and people not seen go once older than the
``RETENTION_*`` settings say; younger rows, unfinished sends and everything else stay. The running
process's ``RetentionService`` does it by itself."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import ConfigError, load_settings
from bot.retention import RetentionService, retention
from storage.inbox_models import InboxItem
from storage.models import ConversationState, ProcessedEvent, Tenant, User, utcnow
from storage.outbox_models import OutboxItem
from storage.privacy import Retention, purge_old
from storage.repositories import Store

T = "slack:TRET"
RETENTION = Retention(events_days=30, outbox_days=90, conversation_days=60, users_days=365)


async def _populate(store: Store) -> None:
    now = utcnow()
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    async with store.sessions.begin() as s:
        s.add(Tenant(id=T, platform="slack", external_id="TRET"))
        await s.flush()
        for key, received, expires in (
            ("old-event", days(31), now + timedelta(days=5)),  # older than kept: goes
            ("expired-event", days(2), days(1)),  # past its own expiry: goes
            ("young-event", days(29), now + timedelta(days=5)),
        ):
            s.add(ProcessedEvent(event_key=key, platform="teams", received_at=received,
                                 expires_at=expires))  # fmt: skip
        for key, status, received in (
            ("old-done", "done", days(31)),
            ("old-pending", "pending", days(31)),  # not handled yet: never purged
            ("young-done", "done", days(1)),
        ):
            s.add(InboxItem(event_key=key, platform="slack", tenant_id=T, order_key="", status=status,
                            next_attempt_at=received, received_at=received,
                            expires_at=now + timedelta(days=1)))  # fmt: skip
        for key, status, at in (
            ("old-sent", "sent", days(91)),
            ("old-skipped", "skipped", days(200)),
            ("old-pending", "pending", days(91)),  # still to be sent (or reported): stays
            ("young-sent", "sent", days(89)),
        ):
            s.add(OutboxItem(tenant_id=T, dedupe_key=key, kind="reminder", platform="slack",
                             target_kind="user", target_id="U1", send_at=at, next_attempt_at=at,
                             status=status, sent_at=at if status == "sent" else None))  # fmt: skip
        for user, seen in (("UOLD", days(366)), ("UYOUNG", days(364))):
            s.add(User(tenant_id=T, platform="slack", platform_user_id=user, created_at=seen,
                       last_seen_at=seen))  # fmt: skip
            s.add(ConversationState(tenant_id=T, platform_user_id=user, dialog="guide",
                                    updated_at=days(61) if user == "UOLD" else days(59)))  # fmt: skip


async def _left(store: Store) -> dict[str, set[str]]:
    async with store.sessions() as s:
        return {
            "events": set((await s.scalars(select(ProcessedEvent.event_key))).all()),
            "inbox": set((await s.scalars(select(InboxItem.event_key))).all()),
            "outbox": set((await s.scalars(select(OutboxItem.dedupe_key))).all()),
            "users": set((await s.scalars(select(User.platform_user_id))).all()),
            "states": set((await s.scalars(select(ConversationState.platform_user_id))).all()),
        }


async def test_old_rows_go_and_young_rows_stay(store: Store) -> None:
    await _populate(store)
    counts = await purge_old(store, RETENTION)
    assert counts == {
        "processed_events": 2, "inbox": 1, "outbox": 2, "conversation_state": 1, "users": 1,
    }  # fmt: skip
    assert await _left(store) == {
        "events": {"young-event"},
        "inbox": {"old-pending", "young-done"},
        "outbox": {"old-pending", "young-sent"},
        "users": {"UYOUNG"},
        "states": {"UYOUNG"},
    }
    assert set((await purge_old(store, RETENTION)).values()) == {0}, "a second run finds nothing"


async def test_the_running_process_purges_by_itself(store: Store) -> None:
    await _populate(store)
    service = RetentionService(store, RETENTION, interval_seconds=3600, first_delay_seconds=0)
    service.start()
    try:
        for _ in range(100):
            if "UOLD" not in (await _left(store))["users"]:
                break
            await asyncio.sleep(0.05)
    finally:
        await service.stop()
    assert (await _left(store))["outbox"] == {"old-pending", "young-sent"}


def test_the_settings_name_the_days(monkeypatch: pytest.MonkeyPatch) -> None:
    assert retention(load_settings()) == Retention(30, 90, 90, 730)  # the documented defaults
    monkeypatch.setenv("RETENTION_OUTBOX_DAYS", "20")
    monkeypatch.setenv("RETENTION_CONVERSATION_DAYS", "7")
    assert retention(load_settings()) == Retention(30, 20, 7, 730)
    monkeypatch.setenv("RETENTION_OUTBOX_DAYS", "3")  # the planner's dedupe keys need two weeks
    with pytest.raises(ConfigError, match="RETENTION_OUTBOX_DAYS"):
        load_settings()
