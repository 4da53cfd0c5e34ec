"""Fuzzing every HTTP endpoint in CI: a few thousand generated payloads per backend, 0 5xx.

The same seeded generator as ``bench/fuzz_http.py`` (which runs ≥ 20,000 per endpoint; see
bench/README.md), against the real ``bts-bot serve`` with the fake Slack and the fake Bot
Connector, on SQLite and PostgreSQL: one server with Slack on and Teams without auth, one with
Teams auth on. Each target's test sends its payloads, then checks that no answer was a 5xx (or
missing), that both servers still run, ``/readyz`` is healthy and the log holds no unhandled error
outside the Slack endpoint. ``BTS_FUZZ_COUNT`` / ``BTS_FUZZ_SEED`` change the amount and the seed.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.fuzz_http import TARGETS, Context, fakes, run_fuzz, server_env
from tests.support.postgres import fresh_postgres_database
from tests.support.server import BotServer, start_server

COUNT = int(os.environ.get("BTS_FUZZ_COUNT", "550"))  # x 6 targets: ~3,300 per backend
SEED = int(os.environ.get("BTS_FUZZ_SEED", "1"))


@dataclass
class Servers:
    open: BotServer  # Slack on, Teams without auth, web chat
    auth: BotServer  # Teams auth on
    context: Context

    def by_kind(self) -> dict[str, BotServer]:
        return {"open": self.open, "auth": self.auth}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Both servers on one backend, shared by the target tests of that backend."""
    url = ""
    if request.param == "postgresql":
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with fakes() as (slack, _connector, context):
        started: dict[str, BotServer] = {}
        try:
            for kind in ("open", "auth"):
                data_dir = root / kind
                data_dir.mkdir()
                started[kind] = start_server(data_dir, root, **server_env(slack, kind, url))
            yield Servers(started["open"], started["auth"], context)
        finally:
            for server in started.values():
                server.stop()


def unhandled(server: BotServer) -> list[str]:
    """Log lines of unhandled errors and of turns that failed after their ack."""
    markers = ("Traceback", "teams turn failed", "unhandled error", "inbox row failed")
    return [line for line in server.log_text().splitlines() if any(m in line for m in markers)]


def assert_healthy(servers: Servers) -> None:
    for kind, server in servers.by_kind().items():
        assert server.process.poll() is None, f"{kind} server died:\n{server.log_text()[-3000:]}"
        with urllib.request.urlopen(server.base_url + "/readyz", timeout=10) as response:
            assert response.status == 200
        assert unhandled(server) == [], kind


@pytest.mark.parametrize(
    "target",
    TARGETS,
)
def test_generated_payloads_never_get_a_5xx(servers: Servers, target: str) -> None:
    [result] = run_fuzz(servers.by_kind(), servers.context, COUNT, SEED, [target]).values()
    assert result.count == COUNT
    assert result.five_xx == 0, json.dumps(result.to_dict(), indent=1)[:6000]
    # Without a valid token or signature nothing can get through: all 401/4xx there.
    if target not in ("teams-auth", "slack-unsigned"):
        # Not everything was refused: the valid-shaped part got through to the bot.
        assert any(status.startswith("2") for status in result.statuses), result.statuses
    assert_healthy(servers)


def test_the_generator_is_seeded() -> None:
    from bench.fuzz_http import generate

    ctx = Context("http://127.0.0.1:9/", "http://127.0.0.1:9/response/x")
    first = [(c.kind, c.body) for c in generate("teams-noauth", 50, 7, ctx)]
    again = [(c.kind, c.body) for c in generate("teams-noauth", 50, 7, ctx)]
    assert first == again
    kinds = {c.kind.split(":")[0] for c in generate("slack-signed", 300, 7, ctx)}
    assert kinds == {"slack", "garbage"}
