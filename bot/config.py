"""Settings from the environment and `.env` (pydantic-settings).

Everything configurable lives here; no other module reads os.environ. Secrets are ``SecretStr`` so they
never end up in a log line or a repr.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialogs.timezones import known_timezone
from storage.outbox_models import DEFAULT_GRACE

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
SLACK_DEFAULT_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_PATTERN = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$|^::1$")


class ConfigError(Exception):
    """Bad configuration, with a message fit for one line on stderr."""


class Settings(BaseSettings):
    """All settings of one bot process."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    # OAuth (many workspaces on one app): the app's credentials and the key the bot tokens are
    # encrypted with in the database (Fernet keys, comma-separated; the first encrypts)
    slack_client_id: str = ""
    slack_client_secret: SecretStr | None = None
    slack_token_key: SecretStr | None = None
    slack_authorize_url: str = SLACK_DEFAULT_AUTHORIZE_URL

    microsoft_app_id: str = ""
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"
    # Hosts an activity's serviceUrl may name (comma-separated, "*.example.com" for subdomains);
    # empty: the documented Teams / Bot Framework hosts with auth, loopback only without.
    teams_service_url_hosts: str = ""
    # Every call to the Bot Connector (replies, card updates, proactive sends) gives up after this.
    teams_connector_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Where the keys that sign the Bot Framework's tokens are published (OpenID metadata);
    # empty: botbuilder's public Bot Framework URL. Only for tests and private endpoints.
    teams_openid_metadata_url: str = ""

    data_dir: Path = Path("data")
    kommune_dir: Path = Path("kommuner")
    # The Slack and Teams manifest templates (``bts-bot manifest``); unset: the repository's
    # manifest/ folder. The container image sets it to its copy.
    manifest_dir: Path | None = None
    database_url: str = ""
    host: str = "0.0.0.0"
    port: int = Field(default=3978, ge=1, le=65535)
    bot_timezone: str = "Europe/Oslo"
    bot_language: Literal["nb", "nn"] = "nb"
    webchat_enabled: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # the address people reach this server at (calendar subscription links)
    public_url: str = "http://localhost:3978"

    # proactive sends (årshjul reminders, follow-ups, digests) through the outbox
    reminders_enabled: bool = True
    dispatch_interval_seconds: float = Field(default=20.0, gt=0, le=3600)
    plan_interval_seconds: float = Field(default=300.0, gt=0, le=86400)
    outbox_lease_seconds: float = Field(default=300.0, ge=1, le=86400)
    outbox_grace_hours: float = Field(default=DEFAULT_GRACE / timedelta(hours=1), gt=0, le=24 * 14)
    escalate_after_days: int = Field(default=7, ge=1, le=90)

    # retention (docs/privacy.md): processed event ids and finished inbox rows, finished outbox
    # rows, dialog positions and people not seen are deleted after this many days
    retention_events_days: int = Field(default=30, ge=1, le=3650)
    retention_outbox_days: int = Field(default=90, ge=14, le=3650)
    retention_conversation_days: int = Field(default=90, ge=1, le=3650)
    retention_users_days: int = Field(default=730, ge=30, le=3650)
    retention_interval_seconds: float = Field(default=6 * 3600.0, gt=0, le=7 * 86400)

    # incoming events: how long a worker may hold one before another process takes it over
    inbox_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)

    # proactive send rates, calls per second (README "Rate limits"); a 429 pauses the tenant's sends
    slack_send_rate: float = Field(default=5.0, gt=0, le=1000)
    slack_channel_rate: float = Field(default=1.0, gt=0, le=100)
    slack_lookup_rate: float = Field(default=50 / 60, gt=0, le=1000)
    teams_send_rate: float = Field(default=50.0, gt=0, le=1000)
    teams_conversation_rate: float = Field(default=7.0, gt=0, le=100)

    # pulse surveys: the secret behind the keyed hashes of anonymous answers (docs/surveys.md); it
    # must never be in the database. Empty: a key file in DATA_DIR, made on first use.
    survey_secret: SecretStr | None = None
    # no result of an anonymous survey is shown for fewer answers than this (never below 3)
    survey_min_group: int = Field(default=5, ge=3, le=1000)

    # GET /metrics asks for "Authorization: Bearer <token>" when set (README "Operations")
    metrics_token: SecretStr | None = None

    @field_validator("bot_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @model_validator(mode="after")
    def _oauth_complete(self) -> Settings:
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together")
        if self.slack_client_id and self.slack_bot_token:
            raise ValueError(
                "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID/SECRET (OAuth)"
            )
        if self.slack_client_id and not (
            self.slack_token_key and self.slack_token_key.get_secret_value().strip()
        ):
            raise ValueError(
                "SLACK_TOKEN_KEY is needed with SLACK_CLIENT_ID (make one: bts-bot slack keygen)"
            )
        return self

    @field_validator("slack_authorize_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("teams_openid_metadata_url")
    @classmethod
    def _metadata_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("teams_service_url_hosts")
    @classmethod
    def _host_patterns(cls, value: str) -> str:
        for pattern in (p.strip() for p in value.split(",")):
            if pattern and not _HOST_PATTERN.match(pattern):
                raise ValueError(f"{pattern!r} is not a host name or *.domain pattern")
        return value

    @property
    def teams_service_hosts(self) -> tuple[str, ...]:
        """The configured serviceUrl host patterns, lower case (empty: use the defaults)."""
        return tuple(
            p.strip().lower() for p in self.teams_service_url_hosts.split(",") if p.strip()
        )

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def slack_oauth_enabled(self) -> bool:
        """Many workspaces: installed through /slack/install, tokens in the database."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_signing_secret)

    @property
    def slack_enabled(self) -> bool:
        return bool(
            self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth_enabled)
        )

    @property
    def slack_socket_mode(self) -> bool:
        return bool(self.slack_bot_token and self.slack_app_token)

    @property
    def teams_auth_enabled(self) -> bool:
        return bool(self.microsoft_app_id)

    def effective_database_url(self) -> str:
        """The SQLAlchemy async URL: DATABASE_URL, or SQLite in the data folder."""
        url = self.database_url.strip()
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'bts-bot.sqlite3').resolve()}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url[len("postgresql://") :]
        if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
        if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ConfigError(
                "configuration error: DATABASE_URL must be a postgresql:// or sqlite:// URL"
            )
        return url

    def channel_summary(self) -> dict[str, str]:
        """Which channels are on, for the start-up banner (never secrets)."""
        if self.slack_socket_mode:
            slack = "on (Socket Mode)"
        elif self.slack_oauth_enabled:
            slack = "on (/slack/events, many workspaces: install at /slack/install)"
        elif self.slack_enabled:
            slack = "on (/slack/events)"
        else:
            slack = "off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)"
        teams = (
            "on (/api/messages, Bot Framework auth)"
            if self.teams_auth_enabled
            else "on (/api/messages, NO AUTH: MICROSOFT_APP_ID is empty, local testing only)"
        )
        return {
            "slack": slack,
            "teams": teams,
            "webchat": "on (/)" if self.webchat_enabled else "off",
            "terminal": "on (bts-bot chat)",
            "reminders": (
                f"on (outbox checked every {self.dispatch_interval_seconds:g} s)"
                if self.reminders_enabled
                else "off (REMINDERS_ENABLED=false)"
            ),
        }


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn validation errors into one readable ConfigError line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            parts.append(f"{name}: {err['msg']}")
        raise ConfigError("configuration error: " + "; ".join(parts)) from None
