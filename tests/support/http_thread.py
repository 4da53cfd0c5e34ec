"""Runs a fake platform API (an aiohttp app) on an ephemeral loopback port in its own thread.

The fakes are called by the bot *subprocess* over real HTTP, so they need a loop of their own that
keeps serving while the test's code blocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web


class _AppThread(threading.Thread):
    def __init__(self, name: str, build_app: Callable[[], web.Application]) -> None:
        super().__init__(name=name, daemon=True)
        self.build_app = build_app
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _start(self) -> None:
        # A short shutdown timeout: a bot still mid-request must not hold the test's teardown.
        self.runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def stop(self) -> None:
        if self.runner is not None:
            cleanup = asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop)
            cleanup.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(timeout=10)


@contextmanager
def serve_in_thread(name: str, build_app: Callable[[], web.Application]) -> Iterator[str]:
    """Serve the app built by ``build_app`` (called inside the thread's loop); yield its base URL."""
    thread = _AppThread(name, build_app)
    thread.start()
    if not thread.ready.wait(timeout=10):
        pytest.fail(f"{name} did not start")
    try:
        yield thread.base_url
    finally:
        thread.stop()
