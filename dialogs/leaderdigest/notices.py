"""Renders a leader digest row: the period since the previous meeting, built at send time from
what the database holds then."""

from __future__ import annotations

from datetime import date, datetime

from dialogs.arshjul.notices import TenantView
from dialogs.content import Content
from dialogs.leaderdigest.digest import TOPIC_ID, Period, build_digest
from dialogs.leaderdigest.planner import previous_meeting
from dialogs.messages import Reply
from storage import usage
from storage.outbox import Notice
from storage.repositories import Store


async def render_leader_digest(
    store: Store, content: Content, notice: Notice, view: TenantView, now: datetime
) -> Reply:
    lang = notice.lang if notice.lang in content.by_lang else "nb"
    meeting = date.fromisoformat(str(notice.payload.get("meeting")))
    target = await usage.get_leader_digest(store, notice.tenant_id)
    keys = target.tasks if target is not None else (str(notice.payload.get("task")),)
    period = Period.before(meeting, previous_meeting(view.tasks, keys, meeting))
    message = await build_digest(store, content, lang, view, period, now)
    return Reply(messages=(message,), lang=lang, topic=TOPIC_ID)
