"""Display names out of stored Teams conversation references (they may name a person or a case).

References saved before this release kept ``user.name``, ``bot.name`` and ``conversation.name``;
new ones keep only ids (``bot.platforms.teams.sender.minimal_reference``). This blanks the account names (the Bot
Framework protocol requires the field) and drops the conversation's name in the rows already there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

refs = sa.table(
    "conversation_refs",
    sa.column("id", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("reference", sa.JSON),
)


def scrubbed(reference: Any) -> Any:
    if not isinstance(reference, dict):
        return reference
    clean = dict(reference)
    for part in ("user", "bot"):
        if isinstance(clean.get(part), dict) and clean[part].get("name"):
            clean[part] = {**clean[part], "name": ""}
    conversation = clean.get("conversation")
    if isinstance(conversation, dict) and "name" in conversation:
        clean["conversation"] = {k: v for k, v in conversation.items() if k != "name"}
    return clean


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(refs.c.id, refs.c.reference).where(refs.c.platform == "teams"))
    for row_id, reference in rows.all():
        clean = scrubbed(reference)
        if clean != reference:
            bind.execute(sa.update(refs).where(refs.c.id == row_id).values(reference=clean))


def downgrade() -> None:
    """Names removed are gone; nothing to restore."""
