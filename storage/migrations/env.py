"""Alembic environment (async): runs migrations on the URL handed over by ``storage.migrate``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import storage.contacts_models  # registers the BTS-kontakt extras
import storage.directory_models  # registers the directory and årshjul tables
import storage.feedback_models  # registers the feedback counters
import storage.followup_models
import storage.inbox_models
import storage.milestone_models  # registers the implementation plan
import storage.network_models  # registers the BTS-nettverk tables
import storage.onboarding_models  # registers the onboarding of new staff
import storage.outbox_models
import storage.rate_models  # registers the shared send rates
import storage.slack_install_models  # registers the Slack installations
import storage.survey_models
import storage.usage_models  # noqa: F401  (registers each feature's tables on Base.metadata)
from storage.db import create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


# Any fixed number, the same in every process: the key of the advisory lock below.
MIGRATION_LOCK_KEY = 7_361_200_140


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Replicas that start together would run the same migrations at once (and one fail on
            # a table the other just made): one migrates, the others wait here until it commits
            # and then find nothing left to do. The lock ends with the transaction.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
