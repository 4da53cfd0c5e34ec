"""``bts-bot chat`` fills a form in field by field: a survey answered in the terminal, a misfit
asked again, and «avbryt» sending nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.platforms.terminal import TERMINAL_USER, chat
from bot.runtime import LOCAL_TENANT, Runtime
from dialogs.surveys.model import load_templates
from storage import surveys
from storage.models import utcnow
from storage.surveys import Recipient
from storage.users import ensure_tenant


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path, kommune_dir=tmp_path / "kommuner", survey_secret=SecretStr("s")
    )
    runtime = await Runtime.start(settings)
    yield runtime
    await runtime.close()


async def launch(runtime: Runtime) -> str:
    await ensure_tenant(runtime.store, LOCAL_TENANT, "local", LOCAL_TENANT)
    puls = load_templates()["puls"]
    people = [Recipient("terminal", TERMINAL_USER)] + [Recipient("web", f"w{i}") for i in range(5)]
    run, _ = await surveys.launch(
        runtime.store, tenant_id=LOCAL_TENANT, template_key="puls",
        template=puls.model_dump(mode="json"), anonymity="anonymous", audience={"kind": "all"},
        recipients=people, opens_at=utcnow(), closes_at=utcnow() + timedelta(days=7), min_group=5,
    )  # fmt: skip
    return run.id


async def test_a_survey_is_answered_in_the_terminal(runtime: Runtime) -> None:
    run_id = await launch(runtime)
    # "mine undersøkelser" → [1] Akutt fare? [2] Puls …; then the three fields: 9 is not on the
    # 1–5 scale and is asked again; on 0–10 the ninth choice is 8; the comment is left empty.
    typed = "hei\nmine undersøkelser\n2\n9\n4\n9\n\n"  # "hei": first contact out of the way
    out = io.StringIO()
    assert await chat(runtime, io.StringIO(typed), out) == 0
    shown = out.getvalue()
    assert "Skjema: Puls" in shown and "[5] 5 – " in shown and "prøv igjen" in shown
    assert "(kan stå tomt)" in shown and "Takk for svaret" in shown
    (answer,) = await surveys.answers(runtime.store, LOCAL_TENANT, run_id)
    assert answer.values == {"trygg": 4, "anbefale": 8}


async def test_avbryt_sends_nothing(runtime: Runtime) -> None:
    run_id = await launch(runtime)
    out = io.StringIO()
    await chat(runtime, io.StringIO("hei\nmine undersøkelser\n2\n3\navbryt\n"), out)
    assert "Skjemaet ble ikke sendt" in out.getvalue()
    assert await surveys.answer_count(runtime.store, run_id) == 0
