"""Benchmark (not a test): one årshjul reminder fanned out to many Slack users through the outbox.

It starts the fake Slack Web API from the test support code with a rate limit (``--rate`` calls per
second for ``chat.postMessage`` and for ``conversations.open``, over a sliding second, answered with
429 + Retry-After when exceeded), migrates a temporary SQLite database, makes every recipient a
holder of the reminded role, enqueues one reminder row per recipient, and runs the real
``Dispatcher`` with the real ``SlackSender`` configured to the same rate, rendering with the real
``render_notice``. It prints one JSON object: the configured limit, the achieved rate (accepted
``chat.postMessage`` calls per second, first to last), their ratio, how many rows were sent, lost
(not sent) and duplicated (a key the fake received twice), the 429s the fake answered, and a
baseline measured in the same run: raw ``chat.postMessage`` throughput with no limiter, no database
and no fake limit. Run: ``.venv/bin/python -m bench.fanout [--recipients N] [--rate R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.dispatcher import Dispatcher, DispatchSettings
from bot.delivery.senders import SendRates
from bot.platforms.slack.sender import SlackSender
from dialogs.arshjul.planner import after_sent, obsolete
from dialogs.arshjul.recurrence import Holder
from dialogs.arshjul.tasks import ensure_tenant_setup, list_tasks
from dialogs.content import Content
from dialogs.messages import Reply
from storage import directory, outbox
from storage.db import create_engine
from storage.migrate import upgrade
from storage.outbox import NewItem, Notice
from storage.outbox_models import SENT
from storage.repositories import Store
from tests.support.fake_slack import TEAM_ID, FakeSlack
from tests.support.http_thread import serve_in_thread

TENANT = f"slack:{TEAM_ID}"
ROLE = "bts-kontakt"
UNITS = 100  # recipients are spread over units, as in a large kommune
BASELINE_CONCURRENCY = 16
DEFAULT_RECIPIENTS = 10_000
# Below the dispatcher's own ceiling on SQLite (about 50-60 rows/s on a laptop, printed as
# pipeline_unlimited_rate_per_s), so the run measures the limiter: 10,000 rows in about 6 minutes.
DEFAULT_RATE = 40.0
UNLIMITED = 1_000_000.0
# Calls leave the limiter exactly 1/rate apart but reach the server with jitter (event loop,
# network); at 100 % of a strict per-second limit every jitter is a 429 and a paused second.
DEFAULT_HEADROOM = 0.9


async def _setup(store: Store, recipients: int) -> str:
    """Tenant with the default årshjul, every recipient a holder; returns the task to remind of."""
    await ensure_tenant_setup(store, TENANT, platform="slack")
    holders = [
        Holder(ROLE, f"Enhet {n % UNITS}", "slack", _user(n), f"Ansatt {n}")
        for n in range(recipients)
    ]
    await directory.replace_holders(store, TENANT, holders)
    tasks = [t for t in await list_tasks(store, TENANT) if ROLE in t.roles]
    return (tasks or await list_tasks(store, TENANT))[0].key


def _user(n: int) -> str:
    return f"U{n:06d}"


def _reminders(task: str, recipients: int, at: datetime) -> list[NewItem]:
    """One reminder (task, occurrence) to every holder: the planner's row shape."""
    occurrence = (at + timedelta(days=14)).date().isoformat()
    return [
        NewItem(
            tenant_id=TENANT,
            dedupe_key=f"lead-14:{task}:{occurrence}:slack:{_user(n)}",
            kind="lead-14",
            platform="slack",
            target_kind="user",
            target_id=_user(n),
            send_at=at,
            payload={
                "task": task,
                "occurrence": occurrence,
                "lead_days": 14,
                "role": ROLE,
                "unit": f"Enhet {n % UNITS}",
                "deputy": False,
            },
        )
        for n in range(recipients)
    ]


def _renderer(store: Store, per_row: bool) -> Callable[[Notice], Awaitable[Reply]]:
    """The real ``render_notice``; unless ``per_row``, the first row's reply is reused for every
    row with the buttons pointed at that row (all rows are the same reminder). Rendering reads the
    tenant's whole holder list, which at 10,000 holders would dominate the run; ``--render-per-row``
    measures that cost instead."""
    from dialogs.arshjul.notices import render_notice

    content = Content.load()
    first: list[tuple[int, Reply]] = []

    async def render(notice: Notice) -> Reply:
        if per_row or not first:
            reply = await render_notice(store, content, notice)
            if per_row:
                return reply
            first.append((notice.item_id, reply))
        first_id, reply = first[0]
        return _point_buttons(reply, str(first_id), str(notice.item_id))

    return render


def _point_buttons(reply: Reply, old: str, new: str) -> Reply:
    messages = tuple(
        replace(
            m,
            buttons=tuple(replace(b, value=new) if b.value == old else b for b in m.buttons),
        )
        for m in reply.messages
    )
    return replace(reply, messages=messages)


def _rate(times: list[float]) -> float:
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


async def fanout(
    fake: FakeSlack,
    recipients: int,
    rate: float | None,
    workdir: Path,
    render_per_row: bool,
    headroom: float = 1.0,
    settings: DispatchSettings | None = None,
) -> dict[str, Any]:
    """Fan one reminder out to ``recipients`` users against a fake limited to ``rate`` calls per
    second, our limiter set to ``rate * headroom`` (``rate`` None: no limits anywhere)."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    store = Store(engine)
    try:
        task = await _setup(store, recipients)
        enqueued = await outbox.enqueue(store, _reminders(task, recipients, datetime.now(UTC)))
        fake.reset()
        fake.limit_per_second.clear()
        if rate is not None:
            fake.limit_per_second.update({"chat.postMessage": rate, "conversations.open": rate})
        limit = rate * headroom if rate is not None else UNLIMITED
        rates = SendRates(slack_send=limit, slack_channel=1.0, slack_lookup=limit)
        sender = SlackSender("xoxb-bench", fake.api_url, rates.limits())
        dispatcher = Dispatcher(
            store,
            {"slack": sender},
            _renderer(store, render_per_row),
            obsolete=obsolete,
            after_sent=after_sent,
            settings=settings,
        )
        started = time.monotonic()
        runs = 0
        deadline = started + 600.0 + 10 * recipients / limit
        try:
            while time.monotonic() < deadline:
                runs += 1
                await dispatcher.run_once()
                counts = await outbox.status_counts(store, TENANT)
                if not counts.get("pending") and not counts.get("claimed"):
                    break
                await asyncio.sleep(1.0)  # rows waiting for a retry: the scheduler's next tick
        finally:
            await sender.close()
        seconds = time.monotonic() - started
        counts = await outbox.status_counts(store, TENANT)
        keys = Counter(
            m["metadata"]["event_payload"]["key"]
            for m in fake.posted()
            if m.get("metadata", {}).get("event_type") == "bts_outbox"
        )
        times = fake.accepted_at.get("chat.postMessage", [])
        sent = counts.get(SENT, 0)
        return {
            "achieved_rate_per_s": round(_rate(times), 2),
            "sent": sent,
            "lost": recipients - sent,
            "duplicates": sum(n - 1 for n in keys.values() if n > 1),
            "enqueued": enqueued,
            "statuses": counts,
            "fake_429s": fake.rate_limited,
            "limiter_pauses": sender.limits.pauses,
            "dispatcher_runs": runs,
            "seconds": round(seconds, 2),
        }
    finally:
        await engine.dispose()


async def baseline(fake: FakeSlack, count: int) -> float:
    """Raw chat.postMessage calls per second: no limiter, no database, no fake limit."""
    fake.reset()
    fake.limit_per_second.clear()
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token="xoxb-bench", base_url=fake.api_url, retry_handlers=[], session=session
        )
        queue = iter(range(count))

        async def worker() -> None:
            for n in queue:
                await client.chat_postMessage(channel=f"D{n:06d}", text="baseline")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(BASELINE_CONCURRENCY)))
        return count / (time.monotonic() - started)


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=DEFAULT_RECIPIENTS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="calls per second")
    parser.add_argument(
        "--baseline", type=int, default=2000, help="raw chat.postMessage calls for the baseline"
    )
    parser.add_argument(
        "--pipeline-sample",
        type=int,
        default=1000,
        help="rows sent with no limits at all, to show the dispatcher's own ceiling (0: skip)",
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=DEFAULT_HEADROOM,
        help="our limiter runs at rate x headroom: arrival jitter needs a margin below the limit",
    )
    parser.add_argument(
        "--batch", type=int, default=DispatchSettings().batch, help="rows per claim (as serve)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DispatchSettings().concurrency,
        help="sends in flight (as serve)",
    )
    parser.add_argument("--render-per-row", action="store_true", help="render_notice every row")
    args = parser.parse_args(argv)
    settings = DispatchSettings(batch=args.batch, concurrency=args.concurrency)
    fake = FakeSlack()
    with (
        serve_in_thread("fake Slack", fake.build_app) as base_url,
        tempfile.TemporaryDirectory(prefix="bts-bench-") as tmp,
    ):
        fake.base_url = base_url
        run = await fanout(
            fake,
            args.recipients,
            args.rate,
            Path(tmp, "run"),
            args.render_per_row,
            args.headroom,
            settings,
        )
        pipeline = (
            await fanout(
                fake,
                args.pipeline_sample,
                None,
                Path(tmp, "pipe"),
                args.render_per_row,
                settings=settings,
            )
            if args.pipeline_sample
            else None
        )
        raw = await baseline(fake, args.baseline)
    achieved = run["achieved_rate_per_s"]
    result: dict[str, Any] = {
        "recipients": args.recipients,
        "configured_rate_per_s": args.rate,
        "limiter_rate_per_s": round(args.rate * args.headroom, 3),
        "achieved_rate_per_s": achieved,
        "ratio": round(achieved / args.rate, 3),
        "sent": run["sent"],
        "lost": run["lost"],
        "duplicates": run["duplicates"],
        "seconds": run["seconds"],
        "fake_429s": run["fake_429s"],
        "limiter_pauses": run["limiter_pauses"],
        "statuses": run["statuses"],
        "baseline_raw_post_rate_per_s": round(raw, 1),
        "achieved_vs_raw": round(achieved / raw, 3) if raw else None,
        "render": "per row" if args.render_per_row else "first row, reused",
        "dispatch_batch": args.batch,
        "dispatch_concurrency": args.concurrency,
    }
    if pipeline is not None:
        result["pipeline_unlimited_rate_per_s"] = pipeline["achieved_rate_per_s"]
        result["pipeline_sample"] = args.pipeline_sample
        result["pipeline_lost"] = pipeline["lost"]
        result["pipeline_duplicates"] = pipeline["duplicates"]
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:])), indent=2))
