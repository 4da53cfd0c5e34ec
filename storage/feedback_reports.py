"""Repository for the free-text reports ("Meld feil eller forslag"): add one, list them for admins.

What is stored is what ``FeedbackReport`` has columns for: tenant, time, language, the screen or
topic the report was written on, and the text. No user id, platform user or channel is taken in, so
none can be written. The caller (``dialogs.feedback``) has refused personal data already; the length
cap is enforced here as well, so no path stores more than the column holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storage.feedback_models import ORIGIN_MAX_CHARS, REPORT_MAX_CHARS, FeedbackReport
from storage.models import utcnow
from storage.repositories import Store

LIST_LIMIT = 200


@dataclass(frozen=True)
class Report:
    """One stored report, as an admin sees it."""

    id: int
    tenant_id: str
    created_at: datetime
    lang: str
    origin: str
    text: str


async def add_report(store: Store, *, tenant_id: str, lang: str, origin: str, text: str) -> int:
    """Store one report and return its id; raises ValueError on an empty or too long text."""
    if not text.strip():
        raise ValueError("empty report")
    if len(text) > REPORT_MAX_CHARS:
        raise ValueError(f"report longer than {REPORT_MAX_CHARS} characters")
    row = FeedbackReport(
        tenant_id=tenant_id,
        created_at=utcnow(),
        lang=lang[:2],
        origin=origin[:ORIGIN_MAX_CHARS],
        text=text,
    )
    async with store.sessions.begin() as session:
        session.add(row)
        await session.flush()
        return row.id


async def list_reports(
    store: Store, tenant_id: str | None = None, limit: int = LIST_LIMIT
) -> list[Report]:
    """The newest reports first, of one tenant or of all (None)."""
    query = select(FeedbackReport).order_by(
        FeedbackReport.created_at.desc(), FeedbackReport.id.desc()
    )
    if tenant_id is not None:
        query = query.where(FeedbackReport.tenant_id == tenant_id)
    async with store.sessions() as session:
        rows = (await session.scalars(query.limit(limit))).all()
    return [Report(r.id, r.tenant_id, r.created_at, r.lang, r.origin, r.text) for r in rows]


async def count_reports(store: Store, tenant_id: str | None = None) -> int:
    """How many reports one tenant (or all, None) has."""
    query = select(func.count()).select_from(FeedbackReport)
    if tenant_id is not None:
        query = query.where(FeedbackReport.tenant_id == tenant_id)
    async with store.sessions() as session:
        return int(await session.scalar(query) or 0)
