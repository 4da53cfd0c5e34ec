"""The shared HTTP server: health endpoints, info pages, JSON errors and channel banner."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

from storage.db import create_engine, ping
from tests.support.server import BotServer


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_and_readiness(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    assert get(server.base_url + "/healthz") == (200, json.dumps({"status": "ok"}))
    status, body = get(server.base_url + "/readyz")
    assert status == 200 and json.loads(body)["database"] == "ok"


async def test_readiness_check_notices_an_unreachable_database() -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert await ping(engine) is False
    await engine.dispose()


def test_unknown_path_is_a_json_404(bot_server: Callable[..., BotServer]) -> None:
    status, body = get(bot_server().base_url + "/no/such/page")
    assert status == 404 and json.loads(body)["error"]


def test_banner_lists_channels_and_warns_about_unauthenticated_teams(
    bot_server: Callable[..., BotServer],
) -> None:
    log = bot_server().log_text()
    assert "BTS-bot is running on http://" in log
    assert "slack     off" in log and "webchat   on" in log
    assert "WITHOUT authentication" in log


def test_privacy_and_terms_pages(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    status, page = get(server.base_url + "/personvern")
    assert status == 200 and "aldri lagrer" in page and "<script" not in page
    status, page = get(server.base_url + "/vilkar")
    assert status == 200 and "112" in page
    status, page = get(server.base_url + "/personvern?lang=nn")
    assert "aldri lagrar" in page
