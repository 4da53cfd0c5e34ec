"""Slack installations and install-flow states (``storage.slack_install_models``).

The tokens arrive and leave as ciphertext; what they are encrypted with is not this layer's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.models import utcnow
from storage.repositories import Store, rowcount
from storage.slack_install_models import SlackInstallation, SlackOAuthState


@dataclass(frozen=True)
class StoredInstallation:
    """One workspace's installation, tokens still encrypted."""

    team_id: str
    team_name: str
    enterprise_id: str
    app_id: str
    bot_user_id: str
    bot_id: str
    scopes: str
    bot_token: bytes
    refresh_token: bytes | None
    expires_at: datetime | None
    installed_at: datetime | None = None


def _stored(row: SlackInstallation) -> StoredInstallation:
    return StoredInstallation(
        team_id=row.team_id,
        team_name=row.team_name,
        enterprise_id=row.enterprise_id,
        app_id=row.app_id,
        bot_user_id=row.bot_user_id,
        bot_id=row.bot_id,
        scopes=row.scopes,
        bot_token=row.bot_token,
        refresh_token=row.refresh_token,
        expires_at=row.expires_at,
        installed_at=row.installed_at,
    )


async def save_installation(store: Store, item: StoredInstallation) -> None:
    """Insert or replace the workspace's installation (a re-install gives new tokens)."""
    now = utcnow()
    values = {
        "team_name": item.team_name,
        "enterprise_id": item.enterprise_id,
        "app_id": item.app_id,
        "bot_user_id": item.bot_user_id,
        "bot_id": item.bot_id,
        "scopes": item.scopes,
        "bot_token": item.bot_token,
        "refresh_token": item.refresh_token,
        "expires_at": item.expires_at,
        "updated_at": now,
    }
    stmt = (
        store.insert(SlackInstallation)
        .values(team_id=item.team_id, installed_at=now, **values)
        .on_conflict_do_update(index_elements=["team_id"], set_=values)
    )
    async with store.sessions.begin() as session:
        await session.execute(stmt)


async def find_installation(store: Store, team_id: str) -> StoredInstallation | None:
    async with store.sessions() as session:
        row = await session.get(SlackInstallation, team_id)
        return None if row is None else _stored(row)


async def list_installations(store: Store) -> list[StoredInstallation]:
    async with store.sessions() as session:
        rows = await session.scalars(select(SlackInstallation).order_by(SlackInstallation.team_id))
        return [_stored(row) for row in rows]


async def rotate_tokens(
    store: Store,
    team_id: str,
    expected_refresh: bytes | None,
    bot_token: bytes,
    refresh_token: bytes | None,
    expires_at: datetime | None,
) -> bool:
    """Store refreshed tokens, unless another process refreshed first (then False: read again).

    Compare-and-set on the refresh token: Slack makes the old one invalid once it is used, so two
    replicas refreshing at once must not overwrite the winner's tokens with older ones.
    """
    where = [SlackInstallation.team_id == team_id]
    if expected_refresh is None:
        where.append(SlackInstallation.refresh_token.is_(None))
    else:
        where.append(SlackInstallation.refresh_token == expected_refresh)
    stmt = (
        update(SlackInstallation)
        .where(*where)
        .values(
            bot_token=bot_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
            updated_at=utcnow(),
        )
    )
    async with store.sessions.begin() as session:
        return rowcount(await session.execute(stmt)) == 1


async def delete_installation(store: Store, team_id: str) -> bool:
    """Forget the workspace's tokens (uninstalled or revoked); True when there were any."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(SlackInstallation).where(SlackInstallation.team_id == team_id)
        )
        return rowcount(result) > 0


async def put_state(store: Store, state: str, ttl: timedelta) -> None:
    """Remember an install flow's ``state``; expired ones are cleared on the way."""
    now = utcnow()
    async with store.sessions.begin() as session:
        await session.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at < now))
        session.add(SlackOAuthState(state=state, expires_at=now + ttl))


async def consume_state(store: Store, state: str) -> bool:
    """True once for a state that was handed out and has not expired; it is gone afterwards."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(SlackOAuthState).where(
                SlackOAuthState.state == state, SlackOAuthState.expires_at >= utcnow()
            )
        )
        return rowcount(result) == 1
