"""What semantic routing costs, as ratios against the word-based (lexical) router in the same run.

For every question of the held-out files (``tests/routing_holdout*.tsv``) it times one
classification with each router (after a warm-up) and prints p50/p99 per question; it starts a
fresh Python process per router that builds the shipped classifier and answers one question, and
reports that process's start time and peak RSS; and it starts the whole server (``bts-bot serve``
on a temporary SQLite database, web chat only) and reads its RSS once ``/readyz`` answers and one
web chat question was answered.

Run: ``.venv/bin/python -m bench.routing [--repeat 3]``. Prints JSON. Targets (issue #11): the whole
server under 300 MB RSS with the model loaded; a question well under the turn's budget.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bot.admin.faq_eval import HOLDOUTS, read_labelled
from dialogs.faq import dialog as faq

ROOT = Path(__file__).resolve().parents[1]

# Peak RSS from VmHWM: ru_maxrss would report the parent's, as Linux keeps it across execve.
_PROBE = """
import time
start = time.perf_counter()
from dialogs.faq import dialog as faq
faq.classify("hva gjør jeg ved uro?", semantic={semantic})
seconds = time.perf_counter() - start
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(seconds, int(status) / 1024)
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def per_question(questions: list[str], semantic: bool, repeat: int) -> dict[str, float]:
    faq.classify("hei", semantic=semantic)  # build and warm up
    times: list[float] = []
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            faq.classify(question, semantic=semantic)
            times.append(time.perf_counter() - start)
    return {
        "p50_ms": round(1000 * statistics.median(times), 3),
        "p99_ms": round(1000 * _percentile(times, 0.99), 3),
    }


def process_start(semantic: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(semantic=semantic)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"start_s": round(float(out[0]), 3), "peak_rss_mb": round(float(out[1]), 1)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_rss() -> dict[str, float]:
    """RSS of ``bts-bot serve`` with the model loaded, after one web chat question."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATA_DIR": folder,
            "DATABASE_URL": "",
            "PORT": str(port),
            "HOST": "127.0.0.1",
        }
        for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID"):
            env.pop(key, None)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("bts-bot")), "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - start > 120:
                        raise RuntimeError("server did not start") from None
                    time.sleep(0.1)
            ready = time.perf_counter() - start
            body = json.dumps({"session": "benchsession01", "text": "hva gjør jeg ved uro?"})
            request = urllib.request.Request(
                f"{base}/api/webchat/turn",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            return {"ready_s": round(ready, 2), "rss_mb": round(_rss_mb(proc.pid), 1)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    questions = [q for path in HOLDOUTS for q, _ in read_labelled(ROOT / path)]
    lexical = per_question(questions, False, args.repeat)
    semantic = per_question(questions, True, args.repeat)
    start_lexical, start_semantic = process_start(False), process_start(True)
    server = server_rss()
    report = {
        "questions": len(questions),
        "lexical": {**lexical, **start_lexical},
        "semantic": {**semantic, **start_semantic},
        "ratio_p50": round(semantic["p50_ms"] / lexical["p50_ms"], 1),
        "ratio_p99": round(semantic["p99_ms"] / lexical["p99_ms"], 1),
        "ratio_start": round(start_semantic["start_s"] / start_lexical["start_s"], 2),
        "ratio_peak_rss": round(start_semantic["peak_rss_mb"] / start_lexical["peak_rss_mb"], 2),
        "server": server,
        "server_rss_under_300_mb": server["rss_mb"] < 300,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
