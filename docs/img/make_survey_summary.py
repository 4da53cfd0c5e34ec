"""Draws docs/img/survey-summary.png and prints the summary message it belongs to: a pulse to 31
leaders, 23 answers, in a temporary SQLite database, through the same code the bot posts with.

    .venv/bin/python docs/img/make_survey_summary.py
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialogs.content import Content
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.launch import Audience
from dialogs.surveys.model import load_templates
from dialogs.surveys.notices import summary_message
from storage import directory, surveys
from storage.db import create_engine
from storage.migrate import upgrade
from storage.records import Holder
from storage.repositories import Store

OUT = Path(__file__).with_name("survey-summary.png")
TENANT = "slack:TDOCS"
KEY = b"d" * 32
UNITS = ("Sortland skole", "Lia barnehage")


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/docs.sqlite3"
        await upgrade(url)
        store = Store(create_engine(url))
        now = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
        await directory.setup_tenant(
            store, TENANT, template="hadsel", roles=[], tasks=[], timezone="Europe/Oslo",
            platform="slack",
        )  # fmt: skip
        for i in range(31):
            await directory.put_holder(
                store, TENANT, Holder("virksomhetsleder", UNITS[i % 2], "slack", f"U{i}")
            )
        template = load_templates()["puls"]
        run, _ = await survey_launch.launch(
            store, tenant_id=TENANT, template=template,
            audience=Audience.parse("role:virksomhetsleder"), closes_at=now + timedelta(days=9),
            now=now, min_group=5, post_to="C-LEDERE",
        )  # fmt: skip
        rng = random.Random(7)
        comments = ["Mer tid til samarbeidsmøter", "Kortere vei til PPT", "Faste møtepunkter"]
        for i in range(23):
            values: dict[str, object] = {
                "trygg": rng.choice([2, 3, 3, 4, 4, 4, 5]),
                "anbefale": rng.choice([5, 6, 7, 8, 8, 9, 9, 10]),
            }
            if i < len(comments):
                values["hjelpe-mest"] = comments[i]
            await surveys.submit(
                store, key=KEY, tenant_id=TENANT, run_id=run.id, platform_user_id=f"U{i}",
                values=values, day=now.date(), now=now,
            )  # fmt: skip
        closed = await survey_launch.close(store, TENANT, run.id, now + timedelta(days=9))
        assert closed is not None
        message = await summary_message(store, Content.load(), "nb", closed, template)
        assert message.image is not None
        OUT.write_bytes(message.image.png)
        print(message.text)
        await store.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
