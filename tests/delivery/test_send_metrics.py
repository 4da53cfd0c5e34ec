"""The Teams sender counts its proactive sends and the 429s the Bot Connector answers into the
runtime's metrics (Slack's are shown over HTTP in ``tests/http/test_metrics.py``); the senders
``build_senders`` makes count into the runtime's own registry."""

from __future__ import annotations

from bot.platforms.senders import build_senders
from bot.platforms.teams.adapter import TeamsChannel
from bot.runtime import Runtime
from tests.delivery.test_senders import (
    POSTS_TO_PERSONAL,
    remember_install,
    reply,
    runtime,
    teams_item,
)
from tests.support.fake_connector import FakeConnector

__all__ = ["runtime"]  # the fixture, shared with test_senders


def counted(runtime: Runtime, name: str, platform: str) -> float:
    found = runtime.metrics.registry.get_sample_value(name, {"platform": platform})
    return found or 0.0


async def test_teams_sends_and_429s_are_counted(
    runtime: Runtime, fake_connector: FakeConnector
) -> None:
    channel = TeamsChannel(runtime)
    await remember_install(channel, fake_connector)
    sender = build_senders(runtime, teams_channel=channel)["teams"]
    fake_connector.fail_next(count=1, status=429, retry_after=0, match=POSTS_TO_PERSONAL)

    await sender.send(teams_item(), reply("Påminnelse", "Andre kort"))

    assert len(fake_connector.calls(POSTS_TO_PERSONAL, method="POST")) == 3
    assert counted(runtime, "bts_platform_rate_limited_total", "teams") == 1
    assert counted(runtime, "bts_platform_sends_total", "teams") == 2
    assert counted(runtime, "bts_platform_sends_total", "slack") == 0
