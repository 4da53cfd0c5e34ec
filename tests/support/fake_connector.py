"""A fake Bot Connector (the Teams side of the Bot Framework REST API) over real HTTP.

pytest plugin: the ``fake_connector`` fixture runs an aiohttp server on an ephemeral 127.0.0.1 port
in its own thread. Use ``fake.service_url`` as the activity's ``serviceUrl``: botbuilder then sends
replies (``POST /v3/conversations/{id}/activities/{replyToId}``), new messages (``POST
.../activities``), card updates (``PUT .../activities/{id}``) and conversation creation (``POST
/v3/conversations``) here. Every call is recorded in order with its decoded path and JSON body.
Tests wait for calls with ``wait_for`` instead of sleeping; ``fail_next`` makes the next calls
answer e.g. 429 with Retry-After; ``hold_next`` keeps the next calls waiting (a connector that does
not answer); each call records its arrival time (``Call.at``); ``members`` pages
``GET .../pagedmembers``. botbuilder only fetches tokens when an app id is configured, and
then from Microsoft's login service (MSAL wants an https authority), so there is no token endpoint.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web

from tests.support.http_thread import serve_in_thread


@dataclass(frozen=True)
class Call:
    """One request the fake received: HTTP method, decoded path, JSON body (or None), headers."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    answered_id: str = ""  # the activity / conversation id the fake answered with
    at: float = 0.0  # time.monotonic() when the request arrived

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    where: Callable[[Call], bool] | None


@dataclass
class _Hold:
    remaining: int
    seconds: float
    where: Callable[[Call], bool]


Match = str | Callable[[Call], bool] | None


def _matcher(match: Match, method: str | None) -> Callable[[Call], bool]:
    """A predicate from a path regex (``re.search`` on the decoded path) or a callable."""
    if match is None:
        path_ok: Callable[[Call], bool] = lambda call: True  # noqa: E731
    elif isinstance(match, str):
        pattern = re.compile(match)
        path_ok = lambda call: pattern.search(call.path) is not None  # noqa: E731
    else:
        path_ok = match
    return lambda call: (method is None or call.method == method) and path_ok(call)


@dataclass
class FakeConnector:
    """The running fake; ``base_url`` is ``http://127.0.0.1:<port>``."""

    base_url: str = ""
    _calls: list[Call] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _holds: list[_Hold] = field(default_factory=list)
    _cond: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.RLock())
    )
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: GET .../conversations/{id}/pagedmembers: conversation id → its members (Teams accounts)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        """What an activity's ``serviceUrl`` must be (Teams' have a trailing slash too)."""
        return self.base_url + "/"

    def calls(self, match: Match = None, method: str | None = None) -> list[Call]:
        """Calls so far, in order; optionally only those whose path matches / predicate holds."""
        wanted = _matcher(match, method)
        with self._cond:
            return [c for c in self._calls if wanted(c)]

    def wait_for(
        self, match: Match = None, count: int = 1, timeout: float = 15, method: str | None = None
    ) -> list[Call]:
        """Block until ``count`` matching calls arrived; return all matching calls.

        Fails the test on timeout, listing what was seen.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.calls(match, method)
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{c.method} {c.path}" for c in self._calls]
                    pytest.fail(
                        f"fake connector: {count}x {method or ''} {match} expected; saw {seen}"
                    )
                self._cond.wait(left)

    def fail_next(
        self,
        count: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        match: Match = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching calls with ``status`` (and Retry-After when given)."""
        with self._cond:
            self._failures.append(_Failure(count, status, retry_after, _matcher(match, method)))

    def hold_next(
        self, count: int = 1, seconds: float = 30, match: Match = None, method: str | None = None
    ) -> None:
        """Keep the next ``count`` matching calls waiting ``seconds`` before answering."""
        with self._cond:
            self._holds.append(_Hold(count, seconds, _matcher(match, method)))

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._holds.clear()

    def _hold_for(self, call: Call) -> float:
        with self._cond:
            for hold in self._holds:
                if hold.remaining > 0 and hold.where(call):
                    hold.remaining -= 1
                    return hold.seconds
            return 0.0

    # server side ---------------------------------------------------------------------------------

    def _record(self, call: Call) -> _Failure | None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
            for failure in self._failures:
                if failure.remaining > 0 and (failure.where is None or failure.where(call)):
                    failure.remaining -= 1
                    return failure
            return None

    def _new_id(self) -> str:
        return f"activity-{next(self._ids)}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        # Split the raw path: ids are percent-encoded segments and may contain "/" once decoded.
        raw_path = request.raw_path.partition("?")[0]
        parts = [unquote(p) for p in raw_path.split("/") if p]
        conversations = parts[:2] == ["v3", "conversations"]
        creates = conversations and request.method == "POST" and len(parts) == 2
        posts = conversations and request.method == "POST" and parts[3:4] == ["activities"]
        updates = conversations and request.method == "PUT" and len(parts) == 5
        answered_id = ""
        if creates:
            answered_id = f"conversation-{next(self._ids)}"
        elif posts:
            answered_id = self._new_id()
        elif updates:
            answered_id = parts[4]
        call = Call(
            request.method, request.path, body, dict(request.headers), answered_id, time.monotonic()
        )
        failure = self._record(call)
        held = self._hold_for(call)
        if held:
            await asyncio.sleep(held)
        if failure is not None:
            headers = (
                {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            )
            error = {"error": {"code": "Throttled" if failure.status == 429 else "Failed"}}
            return web.json_response(error, status=failure.status, headers=headers)
        if creates:
            return web.json_response(
                {"id": answered_id, "activityId": self._new_id(), "serviceUrl": self.service_url},
                status=201,
            )
        if posts:
            return web.json_response({"id": answered_id}, status=201)
        if updates:
            return web.json_response({"id": answered_id}, status=200)
        if not conversations:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        if request.method == "DELETE":
            return web.Response(status=200)
        if request.method == "GET" and len(parts) == 4 and parts[3] == "members":
            return web.json_response([])
        if request.method == "GET" and len(parts) == 4 and parts[3] == "pagedmembers":
            return self._paged_members(parts[2], request.query)
        return web.json_response({"error": {"code": "NotFound"}}, status=404)

    def _paged_members(self, conversation: str, query: Any) -> web.Response:
        """One page of a conversation's members; the continuation token is an offset here."""
        found = self.members.get(conversation)
        if found is None:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        size = int(query.get("pageSize") or 200)
        start = int(query.get("continuationToken") or 0)
        page: dict[str, Any] = {"members": found[start : start + size]}
        if start + size < len(found):
            page["continuationToken"] = str(start + size)
        return web.json_response(page)

    def build_app(self) -> web.Application:
        """The fake's routes (called inside the serving thread's loop)."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app


@pytest.fixture
def fake_connector() -> Iterator[FakeConnector]:
    """A fresh fake Bot Connector for one test."""
    fake = FakeConnector()
    with serve_in_thread("fake connector", fake.build_app) as base_url:
        fake.base_url = base_url
        yield fake
