"""The bot's Prometheus metrics: one ``BotMetrics`` per running server, each with its own
``CollectorRegistry`` (never the global one, so several servers in one test process do not collide).

What is counted, and with which labels (README "Operations"):

- HTTP requests and handler latency per platform (``slack``, ``teams``, ``webchat``, ``other``) and
  status class (``2xx`` … ``5xx``), counted by ``bot.http.metrics``;
- platform sends and HTTP 429s per platform, counted by the platform senders;
- outbox rows per status, how long the oldest due ``pending`` row has waited, and FAQ answers per
  topic: read from the database when Prometheus scrapes (``refresh``), with a short timeout.

Labels are only ever a platform, a status, a status class or a FAQ topic id: never a user or
channel id, a tenant id or any text. Tenant ids are left out on purpose: a multi-tenant Teams app
can be installed by any tenant, so their number is unbounded, and monitoring systems are often
run outside the kommune. This module must not import aiohttp or any platform SDK.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage import outbox_health
from storage.models import utcnow
from storage.outbox_models import (
    CLAIMED,
    FINAL_STATUSES,
    PENDING,
    SENDING,
)
from storage.repositories import Store

log = logging.getLogger(__name__)

PLATFORMS = ("slack", "teams", "webchat", "other")
OUTBOX_STATUSES = (PENDING, CLAIMED, SENDING, *FINAL_STATUSES)
# Seconds: a scrape must stay cheap; a slow database shows as bts_metrics_database_up 0.
DATABASE_TIMEOUT = 2.0
# FAQ topics are content ids (about twenty); a cap keeps a wrong key from blowing up the series.
MAX_TOPICS = 100
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class DatabaseSnapshot:
    """What the database said at the last scrape."""

    ok: bool
    outbox: dict[str, int] = field(default_factory=dict)
    oldest_due_pending_seconds: float = 0.0
    faq_topics: dict[str, int] = field(default_factory=dict)


class DatabaseCollector(Collector):
    """Serves the last ``DatabaseSnapshot`` (``refresh`` is awaited by the /metrics handler first,
    because Prometheus collectors are synchronous and our database is not)."""

    def __init__(self) -> None:
        self.snapshot = DatabaseSnapshot(ok=False)

    async def refresh(self, store: Store) -> None:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT):
                self.snapshot = await _read(store, utcnow())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: database not read", extra={"error_type": type(exc).__name__})
            self.snapshot = DatabaseSnapshot(ok=False)

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily(
            "bts_metrics_database_up", "1 when the database answered this scrape in time, else 0"
        )
        up.add_metric([], 1.0 if snap.ok else 0.0)
        yield up
        if not snap.ok:
            return  # no stale numbers: absent series are what alerts on "absent()" expect
        rows = GaugeMetricFamily("bts_outbox_rows", "Outbox rows by status", labels=["status"])
        for status in OUTBOX_STATUSES:
            rows.add_metric([status], float(snap.outbox.get(status, 0)))
        yield rows
        oldest = GaugeMetricFamily(
            "bts_outbox_oldest_due_pending_seconds",
            "Seconds the oldest pending outbox row has been due (0 when none is due)",
        )
        oldest.add_metric([], snap.oldest_due_pending_seconds)
        yield oldest
        faq = CounterMetricFamily(
            "bts_faq_answers", "FAQ answers given, per topic (all tenants)", labels=["topic"]
        )
        for topic, count in sorted(snap.faq_topics.items()):
            faq.add_metric([topic], float(count))
        yield faq


async def _read(store: Store, now: datetime) -> DatabaseSnapshot:
    counts, oldest, topics = await outbox_health.scrape(store, now)
    known = {s: n for s, n in counts.items() if s in OUTBOX_STATUSES}
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    capped = dict(sorted(topics.items(), key=lambda kv: -kv[1])[:MAX_TOPICS])
    return DatabaseSnapshot(True, known, age, capped)


class BotMetrics:
    """The metric objects of one server; the senders and the HTTP middleware count into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "bts_http_requests",
            "HTTP requests handled, per platform and status class",
            ["platform", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bts_http_request_duration_seconds",
            "Time from request to response in our handlers, per platform",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sends = Counter(
            "bts_platform_sends",
            "Messages posted to a platform (Slack chat.postMessage and file shares, Teams "
            "proactive sends)",
            ["platform"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "bts_platform_rate_limited",
            "HTTP 429 (rate limited) answers from a platform",
            ["platform"],
            registry=self.registry,
        )
        for platform in PLATFORMS[:2]:  # 0 from the start, so rate() works from the first scrape
            self.sends.labels(platform)
            self.rate_limited.labels(platform)
        self.database = DatabaseCollector()
        self.registry.register(self.database)

    def sent(self, platform: str) -> None:
        self.sends.labels(platform).inc()

    def saw_429(self, platform: str) -> None:
        self.rate_limited.labels(platform).inc()

    def observe_request(self, platform: str, status: int, seconds: float) -> None:
        self.requests.labels(platform, f"{status // 100}xx").inc()
        self.latency.labels(platform).observe(seconds)
