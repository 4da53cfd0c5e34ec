"""A fake Slack Web API over real HTTP, for scenario tests (pytest plugin: ``fake_slack`` fixture).

It runs an aiohttp server on an ephemeral 127.0.0.1 port in its own thread, answers the Web API
methods the bot uses (``/api/<method>``) and ``response_url`` posts (``/response/<id>``), and records
every call in order; Socket Mode is played on ``/socket`` (``apps.connections.open`` points there).
Tests wait for calls with ``wait_for`` instead of sleeping; failures can be injected per method
(e.g. the next two ``chat.postMessage`` calls answer 429 with Retry-After). For proactive sends it
keeps what ``chat.postMessage`` posted per channel (with message ``metadata``) and plays it back in
``conversations.history``; ``conversations.open`` answers a D-channel per user and a G-channel per
group of users (``unknown_users`` get ``user_not_found``, ``channel_errors`` refuse posts to a
channel), and ``limit_per_second``
(per method, over a sliding second) answers 429 + Retry-After like Slack's rate limits, counting
every such refusal in ``rate_limited``. Every call records its arrival time (``Call.at``,
``time.monotonic``) so tests can check spacing.
The external file upload (``files.getUploadURLExternal``, a raw POST to ``/upload/<file id>``,
``files.completeUploadExternal``) keeps the bytes in ``uploaded`` and shares the file into the
channel as a message with ``files``, as Slack's history shows it. ``views.open`` / ``.push`` /
``.update`` keep each modal in ``views`` (a trigger id in ``expired_triggers`` is refused);
``conversations.members`` and ``users.list`` page through ``channel_members`` and
``workspace_users``.
``signed_headers`` signs a request body exactly as Slack does (v0, HMAC-SHA256).
Several workspaces (OAuth): ``oauth.v2.access`` trades a code from ``add_install_code`` for a bot
token of that workspace (checking the app's client id and secret sent as Basic auth), and with
``rotate=True`` gives a refresh token and ``expires_in`` that ``grant_type=refresh_token`` trades
once; once any token was issued, a call with a token not issued (or revoked with ``revoke``) is
answered ``invalid_auth``, and ``auth.test`` names the token's own workspace. ``Call.token`` is the
bot token a call came with.
"""

from __future__ import annotations

import asyncio
import base64
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

    @property
    def token(self) -> str:
        """The bearer token the call came with (or the form's ``token``)."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        return str(self.body.get("token", ""))


CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"


@dataclass
class Workspace:
    """A workspace the fake can install the app into."""

    team_id: str
    name: str
    bot_user_id: str = BOT_USER_ID
    rotate: bool = False
    expires_in: int = 43200


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
    #: file id → bytes sent to its upload URL (the external upload API's step 2)
    uploaded: dict[str, bytes] = field(default_factory=dict)
    _pending_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: modals: view id → the view as last opened/updated/pushed; trigger ids that have expired
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired_triggers: set[str] = field(default_factory=set)
    #: conversations.members: channel → member ids; users.list: id → extra fields (is_bot, deleted)
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    workspace_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _last_ts: float = 0.0
    #: OAuth: code → workspace; issued bot tokens and refresh tokens → team id
    _codes: dict[str, Workspace] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, Workspace] = field(default_factory=dict)
    _issued: int = 0

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

    def add_install_code(self, code: str, workspace: Workspace) -> None:
        """Slack's authorize page would hand ``code`` to the redirect for ``workspace``."""
        with self._cond:
            self._codes[code] = workspace

    def revoke(self, team_id: str) -> None:
        """The app is uninstalled from the workspace: its tokens stop working."""
        with self._cond:
            for token in [t for t, team in self.tokens.items() if team == team_id]:
                del self.tokens[token]
            for refresh in [r for r, w in self.refresh_tokens.items() if w.team_id == team_id]:
                del self.refresh_tokens[refresh]

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._posted.clear()
            self.uploaded.clear()
            self._pending_files.clear()
            self.views.clear()
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

    def _oauth(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if headers.get("Authorization") != expected:
            return {"ok": False, "error": "invalid_client_id"}
        with self._cond:
            if body.get("grant_type") == "refresh_token":
                workspace = self.refresh_tokens.pop(str(body.get("refresh_token", "")), None)
            else:
                workspace = self._codes.pop(str(body.get("code", "")), None)
            if workspace is None:
                error = "invalid_refresh_token" if body.get("refresh_token") else "invalid_code"
                return {"ok": False, "error": error}
            self._issued += 1
            token = f"xoxb-{workspace.team_id}-{self._issued}"
            self.tokens[token] = workspace.team_id
            answer: dict[str, Any] = {
                "ok": True,
                "access_token": token,
                "token_type": "bot",
                "scope": "chat:write,commands",
                "bot_user_id": workspace.bot_user_id,
                "app_id": "A0001",
                "team": {"id": workspace.team_id, "name": workspace.name},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "UINSTALLER"},
            }
            if workspace.rotate:
                refresh = f"xoxe-1-{workspace.team_id}-{self._issued}"
                self.refresh_tokens[refresh] = workspace
                answer |= {"refresh_token": refresh, "expires_in": workspace.expires_in}
            return answer

    def _token_refused(self, call: Call) -> bool:
        """Once tokens were issued (OAuth), only those work."""
        with self._cond:
            return bool(self._issued) and call.token not in self.tokens

    def _answer(self, method: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if method == "auth.test" and token in self.tokens:
            team = self.tokens[token]
            return {
                "ok": True,
                "url": f"https://{team.lower()}.slack.test/",
                "team": team,
                "user": "bts-bot",
                "team_id": team,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
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
            people = str(body.get("users", "U0")).split(",")
            if any(p in self.unknown_users for p in people):
                return {"ok": False, "error": "user_not_found"}
            # In another workspace than the default one, the same user id is another person
            # with another DM channel.
            team = self.tokens.get(token, TEAM_ID)
            prefix = "" if team == TEAM_ID else team + "-"
            if len(people) > 1:  # a group DM (mpim), the same one for the same people
                return {"ok": True, "channel": {"id": "G" + prefix + "-".join(sorted(people))}}
            return {"ok": True, "channel": {"id": "D" + prefix + people[0].lstrip("UW")}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base_url.replace("http://", "ws://") + "/socket"}
        if method == "conversations.members":
            if channel not in self.channel_members:
                return {"ok": False, "error": "channel_not_found"}
            return self._page("members", self.channel_members[channel], body)
        if method == "users.list":
            people = [{"id": k, "team_id": TEAM_ID, **v} for k, v in self.workspace_users.items()]
            return self._page("members", people, body)
        if method in ("views.open", "views.push", "views.update"):
            return self._view(method, body)
        if method == "files.getUploadURLExternal":
            return self._upload_url(body)
        if method == "files.completeUploadExternal":
            return self._complete_upload(body)
        if method == "users.info":
            user = str(body.get("user", ""))
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "locale": "nb-NO", "tz": "Europe/Oslo"},
            }
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _page(key: str, items: list[Any], body: dict[str, Any]) -> dict[str, Any]:
        """One page of a cursor-paged list (the cursor is an offset here)."""
        limit = int(body.get("limit") or 100)
        offset = int(body.get("cursor") or 0)
        more = offset + limit < len(items)
        return {
            "ok": True,
            key: items[offset : offset + limit],
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    def _view(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """views.open / .push need a trigger id that has not expired; .update a known view id."""
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            if method == "views.update":
                view_id = str(body.get("view_id", ""))
                if view_id not in self.views:
                    return {"ok": False, "error": "not_found"}
            else:
                trigger = str(body.get("trigger_id", ""))
                if not trigger or trigger in self.expired_triggers:
                    return {"ok": False, "error": "expired_trigger_id"}
                view_id = f"V{len(self.views) + 1:06d}"
            stored = {**view, "id": view_id, "hash": f"{view_id}-{time.monotonic_ns()}"}
            self.views[view_id] = stored
        return {"ok": True, "view": stored}

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of the external upload: a file id and the URL to send its bytes to."""
        filename, length = str(body.get("filename", "")), str(body.get("length", ""))
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            file_id = f"F{len(self._pending_files) + 1:06d}"
            self._pending_files[file_id] = {
                "name": filename,
                "length": int(length),
                "alt_txt": body.get("alt_txt", ""),
            }
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        """Step 3: every file must have been sent in full; shared into ``channel_id`` as a
        message with ``files`` (what conversations.history shows for a file share)."""
        raw = body.get("files")
        files = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(body.get("channel_id", ""))
        if channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        done: list[dict[str, Any]] = []
        with self._cond:
            for item in files:
                pending = self._pending_files.get(str(item.get("id", "")))
                data = self.uploaded.get(str(item.get("id", "")))
                if pending is None or data is None or len(data) != pending["length"]:
                    return {"ok": False, "error": "file_not_found"}
                done.append({"id": item["id"], "name": pending["name"], "title": item.get("title")})
            if channel:
                message = {"type": "message", "ts": self._next_ts(), "text": "", "files": done}
                message["text"] = str(body.get("initial_comment") or "")
                self._posted.setdefault(channel, []).append(message)
        return {"ok": True, "files": done}

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2: the bytes themselves, POSTed raw to the URL of step 1."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        call = Call("upload", {"file_id": file_id, "bytes": len(data)}, dict(request.headers),
                    request.path, time.monotonic())  # fmt: skip
        failure = self._record(call)
        if failure is not None:
            return web.Response(status=failure.status, text=failure.error)
        with self._cond:
            if file_id not in self._pending_files:
                return web.Response(status=404, text="unknown upload")
            self.uploaded[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

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
        arrived = time.monotonic()  # before the body is read: when the call reached us
        raw = await request.read()
        body = _parse(raw, request.content_type)
        body.update({k: v for k, v in request.query.items() if k not in body})
        is_api = request.path.startswith("/api/")
        method = request.match_info["method"] if is_api else RESPONSE_URL_METHOD
        call = Call(method, body, dict(request.headers), request.path, arrived)
        failure = self._record(call)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            payload = {"ok": False, "error": failure.error}
            return web.json_response(payload, status=failure.status, headers=headers)
        if not is_api:
            return web.Response(text="ok")
        if method == "oauth.v2.access":
            return web.json_response(self._oauth(body, call.headers))
        if self._token_refused(call):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, body, call.token))

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
        app.router.add_post("/upload/{file_id}", self._upload)
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
        "files",
        "view",
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


def busiest_second(times: list[float]) -> int:
    """The most calls in any sliding second, counted as the fake counts: (t - 1, t]."""
    ordered, start, most = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most
