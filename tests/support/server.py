"""Starts the real ``bts-bot serve`` as a subprocess on a free port, for scenario tests over HTTP.

Use the ``bot_server`` factory fixture: ``server = bot_server(SLACK_API_URL=..., ...)`` returns a
``BotServer`` with ``base_url``; its stderr (JSON log lines) is kept in ``server.log_text()``. All
servers a test started are stopped when it ends. Environment from the developer's shell (and any
``.env``) never leaks in: the process gets a clean environment with only what the test passes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotServer:
    """One running server process."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a bot subprocess: PATH, HOME, data dir and the given settings."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(data_dir)),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
    }
    env.update(extra)
    return env


def start_server(data_dir: Path, log_dir: Path, **extra: str) -> BotServer:
    """Start ``bts-bot serve`` and wait until /healthz answers (fails the test after 60 s)."""
    port = free_port()
    env = clean_env(data_dir, PORT=str(port), **extra)
    log_path = log_dir / f"server-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=data_dir,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    server = BotServer(f"http://127.0.0.1:{port}", port, process, log_path, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bot server exited with {process.returncode}:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop(kill=True)
    pytest.fail(f"bot server did not become healthy:\n{server.log_text()}")


@pytest.fixture
def bot_server(tmp_path: Path) -> Iterator[Callable[..., BotServer]]:
    """Factory: start a server with the given settings (env names), stopped after the test."""
    started: list[BotServer] = []
    data_dir = tmp_path / "botdata"
    data_dir.mkdir()

    def _start(**extra: str) -> BotServer:
        server = start_server(data_dir, tmp_path, **extra)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()
