"""Tables of Slack's OAuth install flow: one installation (the bot token) per workspace and the
``state`` values of install flows under way. Migration: ``0018_slack_installations``.

Tokens are stored only as ciphertext: ``bot.platforms.slack.tokens`` encrypts them with the key from
the settings before they reach this layer, so a copy of the database alone gives no token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.followup_models import AwareDateTime
from storage.models import Base, utcnow


class SlackInstallation(Base):
    """The bot's installation in one Slack workspace (``oauth.v2.access``'s answer)."""

    __tablename__ = "slack_installations"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_name: Mapped[str] = mapped_column(String(200), default="")
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    app_id: Mapped[str] = mapped_column(String(32), default="")
    bot_user_id: Mapped[str] = mapped_column(String(32))
    bot_id: Mapped[str] = mapped_column(String(32), default="")
    scopes: Mapped[str] = mapped_column(Text, default="")
    bot_token: Mapped[bytes] = mapped_column(LargeBinary)
    #: With token rotation: the refresh token and when the bot token expires.
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    installed_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class SlackOAuthState(Base):
    """A ``state`` handed to Slack's authorize page, good once and until it expires."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
