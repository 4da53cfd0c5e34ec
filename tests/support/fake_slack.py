"""A fake Slack Web API over real HTTP, for scenario tests (pytest plugin: ``fake_slack`` fixture).

It runs an aiohttp server on an ephemeral 127.0.0.1 port in its own thread, answers the Web API
methods the bot uses (``/api/<method>``) and ``response_url`` posts (``/response/<id>``), and records
every call in order; Socket Mode is played on ``/socket`` (``apps.connections.open`` points there).
Tests wait for calls with ``wait_for`` instead of sleeping; failures can be injected per method
(e.g. the next two ``chat.postMessage`` calls answer 429 with Retry-After). For proactive sends it
keeps what ``chat.postMessage`` posted per channel (with message ``metadata``) and plays it back in
``conversations.history``; ``conversations.open`` answers a D-channel per user (``unknown_users``
get ``user_not_found``, ``channel_errors`` refuse posts to a channel), and ``limit_per_second``
(per method, over a sliding second) answers 429 + Retry-After like Slack's rate limits, counting
every such refusal in ``rate_limited``. Every call records its arrival time (``Call.at``,
``time.monotonic``) so tests can check spacing.
``signed_headers`` signs a request body exactly as Slack does (v0, HMAC-SHA256).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import WSMsgType, web

from tests.support.http_thread import serve_in_thread

TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
RESPONSE_URL_METHOD = "response_url"
SOCKET_CONNECT = "socket_connect"
SOCKET_ACK = "socket_ack"


def signed_headers(
    secret: str,
    body: bytes,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp and ``v0=`` HMAC-SHA256 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def dm_event(user: str, channel: str, text: str, **extra: Any) -> dict[str, Any]:
    """A user's DM to the bot, the ``event`` of an Events API body."""
    ts = f"{time.time():.6f}"
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


def dm_event_body(channel: str, user: str, text: str, event_id: str) -> bytes:
    """The Events API body of a user's DM to the bot, as Slack sends it."""
    event = dm_event(user, channel, text)
    envelope = {
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
    }
    return json.dumps(envelope).encode()


@dataclass(frozen=True)
class Call:
    """One request the fake received: Web API method (or ``response_url``), parsed body, headers."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float = 0.0  # time.monotonic() when the request arrived


@dataclass
class _Failure:
    remaining: int
    status: int
    error: str
    retry_after: int
    after: int = 0


@dataclass
class FakeSlack:
    """The running fake; ``base_url`` is ``http://127.0.0.1:<port>``."""

    base_url: str = ""
    _calls: list[Call] = field(default_factory=list)
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _cond: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.RLock())
    )
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    # proactive sends
    unknown_users: set[str] = field(default_factory=set)
    channel_errors: dict[str, str] = field(default_factory=dict)
    limit_per_second: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0
    accepted_at: dict[str, list[float]] = field(default_factory=dict)  # calls not refused
    _posted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _last_ts: float = 0.0

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL must be set to."""
        return self.base_url + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/response/{name}"

    def calls(
        self, method: str | None = None, where: Callable[[Call], bool] | None = None
    ) -> list[Call]:
        """Calls so far, in order; optionally only one method and those matching ``where``."""
        with self._cond:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method) and (where is None or where(c))
            ]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``method`` was called ``count`` times (matching ``where``); return the calls.

        Fails the test on timeout, listing what was seen.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.calls(method, where)
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self._calls]
                    pytest.fail(f"fake Slack: {count}x {method} expected, saw {seen}")
                self._cond.wait(left)

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int = 1,
        after: int = 0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (429 + Retry-After, or ok:false),
        after letting ``after`` calls through."""
        with self._cond:
            self._failures[method] = _Failure(count, status, error, retry_after, after)

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages ``chat.postMessage`` stored (in one channel, or all), oldest first."""
        with self._cond:
            if channel is not None:
                return list(self._posted.get(channel, []))
            return sorted(
                (m for msgs in self._posted.values() for m in msgs), key=lambda m: m["ts"]
            )

    def socket_send(self, message: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to every connected bot (wait for ``socket_connect`` first)."""
        loop = self._loop
        assert loop is not None, "fake Slack is not running"
        for ws in list(self._sockets):
            asyncio.run_coroutine_threadsafe(ws.send_json(message), loop).result(timeout=10)

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._posted.clear()
            self._windows.clear()
            self.accepted_at.clear()
            self.rate_limited = 0

    # server side ---------------------------------------------------------------------------------

    def _record(self, call: Call) -> _Failure | None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
            failure = self._failures.get(call.method)
            if failure is not None and failure.remaining > 0:
                if failure.after > 0:
                    failure.after -= 1
                else:
                    failure.remaining -= 1
                    return failure
            refused = self._over_limit(call)
            if refused is None:
                self.accepted_at.setdefault(call.method, []).append(call.at)
            return refused

    def _over_limit(self, call: Call) -> _Failure | None:
        """429 when ``call.method`` already had ``limit_per_second`` calls in the last second."""
        limit = self.limit_per_second.get(call.method)
        if not limit:
            return None
        window = self._windows.setdefault(call.method, deque())
        while window and window[0] <= call.at - 1.0:
            window.popleft()
        if len(window) >= limit:
            self.rate_limited += 1
            wait = max(0.0, window[0] + 1.0 - call.at)
            return _Failure(1, 429, "ratelimited", max(1, math.ceil(wait)))
        window.append(call.at)
        return None

    def _next_ts(self) -> str:
        # Real clock time, strictly increasing: conversations.history filters on ``oldest``.
        with self._cond:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake kommune",
                "user": "bts-bot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            ts = self._next_ts()
            message: dict[str, Any] = {"type": "message", "ts": ts, "text": body.get("text", "")}
            message["blocks"] = body.get("blocks") or []
            if isinstance(body.get("metadata"), dict):
                message["metadata"] = body["metadata"]
            with self._cond:
                self._posted.setdefault(channel, []).append(message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.history":
            return self._history(body)
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": body.get("ts", ""), "text": ""}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            users = str(body.get("users", "U0")).split(",")[0]
            if users in self.unknown_users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "channel": {"id": "D" + users.lstrip("UW")}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base_url.replace("http://", "ws://") + "/socket"}
        if method == "users.info":
            user = str(body.get("user", ""))
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "locale": "nb-NO", "tz": "Europe/Oslo"},
            }
        return {"ok": False, "error": "unknown_method"}

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        """Newest first, ``oldest`` exclusive, paged by ``limit``/``cursor`` (an offset here)."""
        channel = str(body.get("channel", ""))
        if channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        oldest = float(body.get("oldest") or 0)
        limit = int(body.get("limit") or 100)
        offset = int(body.get("cursor") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._cond:
            found = [m for m in self._posted.get(channel, []) if float(m["ts"]) > oldest]
        found.reverse()
        page = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in found[offset : offset + limit]
        ]
        more = offset + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = _parse(raw, request.content_type)
        body.update({k: v for k, v in request.query.items() if k not in body})
        is_api = request.path.startswith("/api/")
        method = request.match_info["method"] if is_api else RESPONSE_URL_METHOD
        call = Call(method, body, dict(request.headers), request.path, time.monotonic())
        failure = self._record(call)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            payload = {"ok": False, "error": failure.error}
            return web.json_response(payload, status=failure.status, headers=headers)
        if not is_api:
            return web.Response(text="ok")
        return web.json_response(self._answer(method, body))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: records ``socket_connect`` and every message the bot sends (its acks)."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        self._record(Call(SOCKET_CONNECT, {}, dict(request.headers), request.path))
        await ws.send_json({"type": "hello", "num_connections": 1})
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    body = json.loads(message.data)
                    self._record(Call(SOCKET_ACK, body, {}, request.path))
        finally:
            self._sockets.discard(ws)
        return ws

    def build_app(self) -> web.Application:
        """The fake's routes (called inside the serving thread's loop)."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_post("/response/{name}", self._handle)
        app.router.add_get("/socket", self._socket)
        self._loop = asyncio.get_running_loop()
        return app


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type == "application/json":
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {"_json": parsed}
    body: dict[str, Any] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in (
        "blocks",
        "attachments",
        "metadata",
    ):  # form-encoded Web API calls send these as JSON text
        if isinstance(body.get(key), str):
            body[key] = json.loads(body[key])
    return body


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fresh fake Slack Web API for one test."""
    fake = FakeSlack()
    with serve_in_thread("fake Slack", fake.build_app) as base_url:
        fake.base_url = base_url
        yield fake
