"""What a huge message costs, as ratios against a short question measured in the same run.

Issue #9: a long word froze the server (40,000 × "a" took 66 s). The tests check that huge texts
are answered, go through a worker thread and stay acute; this prints how long they take. For each
huge text of ``tests/dialogs/test_text_cost.py`` it times the router's answer (median of
``--repeat`` runs) and divides by the median time of "hva er taushetsplikt"; it also times another
user's short question while the huge one is being handled, and the worst event-loop lag (how late a
10 ms sleep wakes up) over the whole run.

Run: ``.venv/bin/python -m bench.text_cost [--repeat 5]``. Prints JSON. The targets: every huge text
under 1 s (``huge_seconds_max``), the other user's answer ``other_ratio_max`` within a few times the
baseline, ``loop_lag_ms_max`` under 100.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from dialogs.app import build_router
from dialogs.messages import Turn
from dialogs.router import Router
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store
from tests.dialogs.test_text_cost import HUGE

QUESTION = "hva er taushetsplikt"


def _turn(user: str, text: str) -> Turn:
    return Turn("web", "local", user, "c1", text=text)


async def _seconds(router: Router, turn: Turn) -> float:
    start = time.perf_counter()
    await router.handle(turn)
    return time.perf_counter() - start


async def _median(router: Router, turn: Turn, repeat: int) -> float:
    return statistics.median([await _seconds(router, turn) for _ in range(repeat)])


async def measure(repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'cost.sqlite3'}"
        await upgrade(url)
        engine = create_engine(url)
        try:
            router = build_router(Store(engine))
            for user in ("u1", "u2"):
                await router.handle(_turn(user, "hei"))
            await router.handle(_turn("u1", QUESTION))  # caches warm, as in a running bot
            lags: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                while not stop.is_set():
                    start = time.perf_counter()
                    await asyncio.sleep(0.01)
                    lags.append(time.perf_counter() - start - 0.01)

            tick = asyncio.create_task(ticker())
            baseline = await _median(router, _turn("u2", QUESTION), repeat)
            rows = {}
            for name, text in HUGE.items():
                huge = await _median(router, _turn("u1", text), repeat)
                others = []
                for _ in range(repeat):
                    pending = asyncio.create_task(router.handle(_turn("u1", text)))
                    await asyncio.sleep(0)
                    others.append(await _seconds(router, _turn("u2", QUESTION)))
                    await pending
                rows[name] = {
                    "seconds": round(huge, 4),
                    "ratio": round(huge / baseline, 1),
                    "other_user_ratio": round(statistics.median(others) / baseline, 1),
                }
            stop.set()
            await tick
        finally:
            await engine.dispose()
    return {
        "baseline_seconds": round(baseline, 5),
        "texts": rows,
        "huge_seconds_max": max(r["seconds"] for r in rows.values()),
        "other_ratio_max": max(r["other_user_ratio"] for r in rows.values()),
        "loop_lag_ms_max": round(max(lags) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.repeat)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
