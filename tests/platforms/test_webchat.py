"""The local web chat: its JSON API over real HTTP and the page in real headless Chromium.

API tests talk to the real ``bts-bot serve`` subprocess. Tests that only read share one server per
module (each with its own session, i.e. its own user); the restart test gets its own. Browser tests
drive Debian's chromium through playwright's sync API (plain sync tests: pytest-asyncio's loop must
not be running around sync playwright). Without chromium they skip locally and fail under CI.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.server import BotServer, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Request, Route

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---- helpers -------------------------------------------------------------------------------------


def new_session() -> str:
    return "t" + secrets.token_hex(8)


def greeted(server: BotServer) -> str:
    """A new session that has seen the welcome, as the page does on its first load."""
    session = new_session()
    status, _headers, data = request(server, f"/api/webchat/welcome?session={session}")
    assert status == 200, data
    return session


def request(
    server: BotServer,
    path: str,
    body: bytes | None = None,
    content_type: str | None = "application/json",
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; returns status, headers and the decoded JSON body (or the raw text)."""
    headers = {"Content-Type": content_type} if content_type and body is not None else {}
    req = urllib.request.Request(
        server.base_url + path,
        data=body,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            status, resp_headers, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, resp_headers, raw = exc.code, dict(exc.headers), exc.read()
    text = raw.decode("utf-8", errors="replace")
    if resp_headers.get("Content-Type", "").startswith("application/json"):
        return status, resp_headers, json.loads(text)
    return status, resp_headers, text


def post(server: BotServer, body: bytes, content_type: str | None = "application/json") -> Any:
    return request(server, "/api/webchat/turn", body, content_type)


def turn(server: BotServer, session: str, **payload: Any) -> dict[str, Any]:
    status, _headers, data = post(server, json.dumps({"session": session, **payload}).encode())
    assert status == 200, data
    return dict(data["reply"])


def all_text(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in reply["messages"])


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    """One server for the tests that do not restart it; tests keep apart by session id."""
    root = tmp_path_factory.mktemp("webchat")
    data_dir = root / "botdata"
    data_dir.mkdir()
    server = start_server(data_dir, root)
    yield server
    server.stop()


# ---- JSON API ------------------------------------------------------------------------------------


def test_help_menu_about_back_and_nynorsk(shared_server: BotServer) -> None:
    session = greeted(shared_server)
    menu = turn(shared_server, session, text="hjelp")
    assert menu["topic"] == "hjelp" and menu["lang"] == "nb"
    assert "Dette kan jeg hjelpe deg med" in all_text(menu)
    assert any(m["buttons"] for m in menu["messages"])

    about = turn(shared_server, session, action="help:about")
    assert about["topic"] == "om-bts" and about["replace"] is True
    assert "Nivå 0" in all_text(about)

    back = turn(shared_server, session, text="tilbake")
    assert back["topic"] == "hjelp" and "Dette kan jeg hjelpe deg med" in all_text(back)

    nynorsk = turn(shared_server, session, action="lang:set", value="nn")
    assert nynorsk["lang"] == "nn"
    later = turn(shared_server, session, text="hjelp")
    assert later["lang"] == "nn" and "Dette kan eg hjelpe deg med" in all_text(later)
    # Another browser session is another user: still bokmål.
    assert turn(shared_server, greeted(shared_server), text="hjelp")["lang"] == "nb"


def test_welcome_for_a_new_session(shared_server: BotServer) -> None:
    status, headers, data = request(shared_server, f"/api/webchat/welcome?session={new_session()}")
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
    welcome = data["reply"]
    assert welcome["topic"] == "hjelp" and "velkommen" in all_text(welcome).lower()
    labels = [b["label"] for m in welcome["messages"] for b in m["buttons"]]
    assert "Hva er BTI/BTS?" in labels and "Skriv nynorsk" in labels
    for query in ("", "?session=", "?session=short", "?session=bad%20chars%21%21"):
        status, _headers, data = request(shared_server, "/api/webchat/welcome" + query)
        assert status == 400 and "session" in data["error"], (query, data)


def test_guide_can_be_walked_over_http(shared_server: BotServer) -> None:
    session = greeted(shared_server)
    first = turn(shared_server, session, text="hva gjør jeg ved uro?")
    buttons = first["messages"][-1]["buttons"]
    start = next(b for b in buttons if "nivå 0" in b["label"].lower())
    step = turn(shared_server, session, action=start["action"], value=start["value"])
    assert "Nivå 0" in all_text(step)
    acute = next(b for m in step["messages"] for b in m["buttons"] if "Akutt" in b["label"])
    path = turn(shared_server, session, action=acute["action"], value=acute["value"])
    assert "112" in all_text(path)


def test_back_works_before_and_after_a_restart(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    before = greeted(server)
    turn(server, before, text="hjelp")
    turn(server, before, action="help:about")
    assert turn(server, before, text="tilbake")["topic"] == "hjelp"

    after = greeted(server)
    turn(server, after, text="hjelp")
    turn(server, after, action="lang:set", value="nn")
    assert turn(server, after, action="help:about")["topic"] == "om-bts"
    server.stop()
    restarted = bot_server()  # the factory reuses the same data folder
    back = turn(restarted, after, text="tilbake")
    assert back["topic"] == "hjelp" and back["lang"] == "nn"
    assert "Dette kan eg hjelpe deg med" in all_text(back)


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


S = "sessionABC_123"
BAD_REQUESTS: list[tuple[str, bytes, str | None, int, str]] = [
    ("malformed JSON", b"{not json", "application/json", 400, "malformed JSON"),
    ("not UTF-8", b'{"session": "\xff\xfe"}', "application/json", 400, "malformed JSON"),
    ("deeply nested", b"[" * 100_000, "application/json", 400, "malformed JSON"),
    ("form encoded", b"text=hei", "application/x-www-form-urlencoded", 415, "application/json"),
    ("plain text", b"hei", "text/plain", 415, "application/json"),
    ("no content type", _json({"session": S, "text": "hei"}), None, 415, "application/json"),
    ("array body", b"[1, 2]", "application/json", 400, "JSON object"),
    ("null body", b"null", "application/json", 400, "JSON object"),
    ("no session", _json({"text": "hei"}), "application/json", 400, "session"),
    ("short session", _json({"session": "x", "text": "hei"}), "application/json", 400, "session"),
    (
        "long session",
        _json({"session": "a" * 65, "text": "hei"}),
        "application/json",
        400,
        "session",
    ),
    (
        "odd session",
        _json({"session": "abc/../def", "text": "h"}),
        "application/json",
        400,
        "session",
    ),
    (
        "number session",
        _json({"session": 12345678, "text": "h"}),
        "application/json",
        400,
        "session",
    ),
    ("empty text", _json({"session": S, "text": ""}), "application/json", 400, "non-empty"),
    ("blank text", _json({"session": S, "text": "  \n "}), "application/json", 400, "non-empty"),
    ("text not str", _json({"session": S, "text": 42}), "application/json", 400, "'text'"),
    (
        "text too long",
        _json({"session": S, "text": "x" * 2001}),
        "application/json",
        413,
        "too long",
    ),
    ("NUL in text", _json({"session": S, "text": "hei\x00"}), "application/json", 400, "control"),
    (
        "text and action",
        _json({"session": S, "text": "hei", "action": "help:menu"}),
        "application/json",
        400,
        "not both",
    ),
    ("nothing to say", _json({"session": S}), "application/json", 400, "action"),
    ("action not str", _json({"session": S, "action": 7}), "application/json", 400, "action"),
    (
        "unknown action",
        _json({"session": S, "action": "nope:nope"}),
        "application/json",
        400,
        "unknown action",
    ),
    (
        "huge action",
        _json({"session": S, "action": "help:" + "x" * 5000}),
        "application/json",
        400,
        "unknown action",
    ),
    (
        "value not str",
        _json({"session": S, "action": "lang:set", "value": ["nn"]}),
        "application/json",
        400,
        "'value'",
    ),
    (
        "value too long",
        _json({"session": S, "action": "lang:set", "value": "n" * 201}),
        "application/json",
        400,
        "'value'",
    ),
    (
        "form a list",
        _json({"session": S, "action": "help:menu", "form": [1]}),
        "application/json",
        400,
        "'form'",
    ),
    (
        "form empty",
        _json({"session": S, "action": "help:menu", "form": {}}),
        "application/json",
        400,
        "'form'",
    ),
    (
        "form nested",
        _json({"session": S, "action": "help:menu", "form": {"a": {"b": 1}}}),
        "application/json",
        400,
        "form field 'a'",
    ),
    (
        "form boolean",
        _json({"session": S, "action": "help:menu", "form": {"ok": True}}),
        "application/json",
        400,
        "form field 'ok'",
    ),
    ("one megabyte", b"x" * (1024 * 1024), "application/json", 413, "too large"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_clear_4xx(
    shared_server: BotServer, body: bytes, content_type: str | None, status: int, words: str
) -> None:
    got_status, headers, data = post(shared_server, body, content_type)
    assert got_status == status, data
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(data["error"], str) and words in data["error"], data
    assert 10 <= len(data["error"]) <= 200  # short and human-readable
    assert post(shared_server, _json({"session": S, "text": "hjelp"}))[0] == 200


def test_odd_but_well_formed_turns_never_get_a_5xx(shared_server: BotServer) -> None:
    session = new_session()
    odd_payloads: list[dict[str, Any]] = [
        {"text": "ææææ 🙈 <script>alert(1)</script> **"},
        {"text": "x" * 2000},
        {"text": "\t tab og\nlinjeskift \r\n"},
        {"action": "lang:set", "value": "klingon"},
        {"action": "lang:set", "value": None},
        {"action": "help:about", "value": "x" * 200},
        {"action": "help:menu", "form": {"x" * 500: 3.5, "n": 12}},
        {"action": "guide:followup_save", "form": {"label": "", "days": "abc"}},
        {"action": "guide:followup_save", "form": {"label": "Ring Ola Nordmann", "days": "7"}},
        {"action": "guide:followup_save", "form": {"label": "x" * 2000, "days": "-1"}},
        {"action": "guide:followup_save"},
        {"action": "guide:followup", "value": "no-such-step"},
        {"action": "guide:goto", "value": "no-such-step"},
        {"action": "guide:goto"},
        {"action": "guide:overview", "value": "../../etc"},
        {"action": "guide:tool", "value": "x" * 200},
        {"action": "guide:back"},
        {"action": "help:back"},
        {"text": "tilbake"},
        {"text": "tilbake"},
    ]
    for payload in odd_payloads:
        status, _headers, data = post(shared_server, _json({"session": session, **payload}))
        assert status < 500, (payload, data)
        assert status == 200 or data["error"], (payload, data)


def test_page_headers_static_files_and_structured_logs(shared_server: BotServer) -> None:
    for path in ("/", "/chat"):
        status, headers, page = request(shared_server, path)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        # Nothing is loaded from anywhere but this server.
        for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
            assert ref.startswith("/static/") or ref.startswith("data:"), ref
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        status, headers, body = request(shared_server, f"/static/{name}")
        assert status == 200 and kind in headers["Content-Type"] and body
        assert headers["X-Content-Type-Options"] == "nosniff"
    for missing in ("/static/index.html", "/static/nope.js", "/static/..%2Fwebchat.py"):
        assert request(shared_server, missing)[0] == 404, missing

    turn(shared_server, new_session(), text="planted-secret-kjøttkake-4711")
    log_text = shared_server.log_text()
    assert "kjøttkake-4711" not in log_text
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    turns = [line for line in lines if line.get("event") == "webchat turn"]
    assert turns and all(t["tenant"] == "local" and t["platform"] == "web" for t in turns)


class _PageOutline(HTMLParser):
    """Collects the attributes of every element, keyed by id, and the label texts."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.label_for: dict[str, str] = {}
        self._open_label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.by_id[str(attributes["id"])] = attributes
        if tag == "label" and attributes.get("for"):
            self._open_label = str(attributes["for"])
            self.label_for[self._open_label] = ""

    def handle_data(self, data: str) -> None:
        if self._open_label:
            self.label_for[self._open_label] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_label = None


def test_page_has_basic_accessibility_hooks(shared_server: BotServer) -> None:
    _status, _headers, page = request(shared_server, "/")
    outline = _PageOutline()
    outline.feed(page)
    html_attrs = next(attrs for tag, attrs in outline.tags if tag == "html")
    assert html_attrs["lang"] == "nb"
    assert "<title>BTS-bot" in page
    assert outline.label_for.get("chat-input", "").strip() == "Skriv til BTS-bot"
    chat_input = outline.by_id["chat-input"]
    assert chat_input["maxlength"] == "2000"
    chat_log = outline.by_id["chat-log"]
    assert chat_log["aria-live"] == "polite" and chat_log["role"] == "log"
    assert chat_log["aria-label"]
    assert outline.by_id["chat-error"]["role"] == "alert"
    assert outline.by_id["chat-send"]["type"] == "submit"
    assert 'name="viewport"' in page


# ---- the page in headless Chromium ---------------------------------------------------------------


def require_chromium() -> str:
    """Debian's chromium, or skip (local) / fail (CI): CI must run the browser tests."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(
            "CI must run the web chat browser tests, but /usr/bin/chromium is missing: "
            "install Debian's chromium (apt-get install chromium)",
            pytrace=False,
        )
    pytest.skip("install Debian's chromium (apt-get install chromium)")


class Chromium:
    """Starts playwright and one browser on first use (inside the test, so a skip/fail is its own)."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def page(self) -> Page:
        """A fresh page in a fresh context: its own localStorage, so its own chat session."""
        executable = require_chromium()
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
        context = self._browser.new_context(viewport={"width": 900, "height": 1000}, locale="nb-NO")
        context.set_default_timeout(15_000)
        return context.new_page()

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    browser = Chromium()
    yield browser
    browser.close()


def test_web_chat_in_headless_chromium(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))

    page.goto(shared_server.base_url + "/")
    bots = page.locator(".msg.bot")
    expect(bots.first).to_contain_text("velkommen")
    # No focus on the input at load: on a phone that opens the keyboard over the welcome.
    expect(page.locator("#chat-input")).not_to_be_focused()

    page.fill("#chat-input", "hjelp")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.user").last).to_have_text("hjelp")
    expect(page.locator("#chat-input")).to_have_value("")
    menu = bots.last
    expect(menu).to_contain_text("Dette kan jeg hjelpe deg med")
    count = bots.count()

    # The menu answers in place: the same bubble now explains BTI/BTS, nothing is appended.
    menu.locator("button.choice", has_text="Hva er BTI/BTS?").click()
    expect(bots.last).to_contain_text("Nivå 0")
    expect(bots).to_have_count(count)
    expect(page.locator("#chat-log")).not_to_contain_text("Dette kan jeg hjelpe deg med")
    expect(bots.last.locator("strong").first).to_contain_text("BTI/BTS")
    expect(bots.last.locator("li")).to_have_count(4)
    expect(bots.last.locator("button.choice.danger")).to_have_text("Akutt fare?")

    bots.last.get_by_role("button", name="Tilbake til menyen").click()
    expect(bots.last).to_contain_text("Dette kan jeg hjelpe deg med")
    bots.last.get_by_role("button", name="Skriv nynorsk").click()
    expect(page.locator("#chat-log")).to_contain_text("Dette kan eg hjelpe deg med")
    expect(bots.last).to_have_attribute("lang", "nn")

    page.fill("#chat-input", "kva er bts")
    page.click("#chat-send")
    expect(page.locator(".msg.user").last).to_have_text("kva er bts")
    expect(bots.last).to_contain_text("Nivå 0")
    expect(page.locator("#chat-error")).to_be_hidden()

    shot = tmp_path / "webchat.png"
    page.screenshot(path=str(shot))  # what the user sees: the newest messages above the input
    assert shot.read_bytes()[:8] == PNG_MAGIC and shot.stat().st_size > 5000

    # A reload keeps the session (localStorage) and so the conversation and the language.
    session = page.evaluate("localStorage.getItem('bts-session')")
    assert re.fullmatch(r"[0-9a-f]{32}", session)
    page.reload()
    expect(bots.first).to_contain_text("Velkomen tilbake")  # in the language chosen in the chat
    expect(page.locator("#chat-input")).to_have_attribute("placeholder", re.compile("til dømes"))
    page.fill("#chat-input", "hjelp")
    page.keyboard.press("Enter")
    expect(bots.last).to_contain_text("Dette kan eg hjelpe deg med")
    assert page.evaluate("localStorage.getItem('bts-session')") == session

    assert all(url.startswith(shared_server.base_url) for url in requested), requested
    assert not page_errors
    page.context.close()


HOSTILE_TEXT = "\n".join(
    [
        "**Fet** og _kursiv_ med <img src=x onerror=\"window.__xss='img'\"> inni.",
        "- første punkt med [trygg lenke](https://example.org/a_b_c?x=1&y=2)",
        "- andre punkt med [farlig lenke](javascript:window.__xss='link')",
        'Slutt <script>window.__xss="script"</script>',
    ]
)
STUB_REPLY: dict[str, Any] = {
    "messages": [
        {
            "text": HOSTILE_TEXT,
            "buttons": [
                {"label": "Videre", "action": "stub:next", "value": "1", "style": "primary"},
                {"label": "Akutt", "action": "stub:acute", "value": "", "style": "danger"},
                {"label": "Vanlig", "action": "stub:plain", "value": "p", "style": "default"},
            ],
            "links": [
                {"label": "Les mer", "url": "https://example.org/mer"},
                {"label": "Skummel", "url": "javascript:window.__xss='links'"},
            ],
            "form": {
                "action": "stub:form",
                "title": "Et lite skjema",
                "submit_label": "Send skjema",
                "fields": [
                    {
                        "name": "score",
                        "label": "Hvor nyttig?",
                        "kind": "scale",
                        "options": [],
                        "minimum": 1,
                        "maximum": 5,
                        "required": True,
                        "placeholder": "",
                        "max_length": 300,
                    },
                    {
                        "name": "again",
                        "label": "Igjen?",
                        "kind": "yesno",
                        "options": [],
                        "minimum": None,
                        "maximum": None,
                        "required": True,
                        "placeholder": "",
                        "max_length": 300,
                    },
                    {
                        "name": "days",
                        "label": "Når?",
                        "kind": "choice",
                        "options": [
                            {"label": "Om en uke", "value": "7"},
                            {"label": "Om to uker", "value": "14"},
                        ],
                        "minimum": None,
                        "maximum": None,
                        "required": True,
                        "placeholder": "",
                        "max_length": 300,
                    },
                    {
                        "name": "count",
                        "label": "Hvor mange?",
                        "kind": "number",
                        "options": [],
                        "minimum": 0,
                        "maximum": 10,
                        "required": True,
                        "placeholder": "",
                        "max_length": 300,
                    },
                    {
                        "name": "note",
                        "label": "Stikkord",
                        "kind": "text",
                        "options": [],
                        "minimum": None,
                        "maximum": None,
                        "required": False,
                        "placeholder": "f.eks. oppfølging",
                        "max_length": 40,
                    },
                ],
            },
            "topic": "stub",
            "footer": "Bunntekst <b>ikke fet</b>",
        }
    ],
    "replace": False,
    "lang": "nb",
    "topic": "stub",
    "confidence": None,
}


def _reply(text: str, replace: bool, topic: str = "svar") -> dict[str, Any]:
    message: dict[str, Any] = {
        "text": text,
        "buttons": [],
        "links": [],
        "form": None,
        "topic": topic,
        "footer": "",
    }
    return {"reply": {**STUB_REPLY, "messages": [message], "replace": replace, "topic": topic}}


def test_rendering_is_safe_and_forms_post_their_values(
    shared_server: BotServer, chromium: Chromium
) -> None:
    """The page against a stubbed API: markdown-lite, hostile text, every form kind, replace."""
    from playwright.sync_api import expect

    page = chromium.page()
    posted: list[dict[str, Any]] = []
    answers: list[tuple[int, dict[str, Any]]] = []

    def welcome(route: Route) -> None:
        route.fulfill(status=200, json={"reply": STUB_REPLY})

    def turn_api(route: Route, req: Request) -> None:
        posted.append(dict(req.post_data_json or {}))
        status, body = answers.pop(0)
        route.fulfill(status=status, json=body)

    page.route("**/api/webchat/welcome*", welcome)
    page.route("**/api/webchat/turn", turn_api)
    page.goto(shared_server.base_url + "/chat")
    message = page.locator(".msg.bot").first
    expect(message).to_contain_text("Fet og kursiv")

    # Markdown-lite, with everything else shown as text.
    expect(message.locator("strong")).to_have_text("Fet")
    expect(message.locator("em")).to_have_text("kursiv")
    expect(message.locator("li")).to_have_count(2)
    expect(message).to_contain_text("<img src=x")
    expect(message).to_contain_text('<script>window.__xss="script"</script>')
    assert message.locator("img, script, b").count() == 0
    safe = message.get_by_role("link", name="trygg lenke")
    expect(safe).to_have_attribute("href", "https://example.org/a_b_c?x=1&y=2")
    expect(safe).to_have_attribute("target", "_blank")
    assert "noopener" in (safe.get_attribute("rel") or "")
    expect(message.get_by_role("link", name="Les mer")).to_have_attribute(
        "href", "https://example.org/mer"
    )
    hrefs = [a.get_attribute("href") or "" for a in message.locator("a").all()]
    assert len(hrefs) == 2 and all(h.startswith("https://") for h in hrefs), hrefs
    expect(message).to_contain_text("farlig lenke")
    expect(message.locator(".footer")).to_have_text("Bunntekst <b>ikke fet</b>")
    assert page.evaluate("window.__xss") is None

    # Buttons keep their styles.
    expect(message.locator("button.choice.primary", has_text="Videre")).to_be_visible()
    expect(message.locator("button.choice.danger", has_text="Akutt")).to_be_visible()

    # Every form kind, each control reachable by its label.
    form = message.locator("form.bot-form")
    expect(form).to_have_accessible_name("Et lite skjema")
    expect(form.get_by_role("group", name="Hvor nyttig?").get_by_role("radio")).to_have_count(5)
    expect(form.get_by_role("group", name="Igjen?").get_by_role("radio")).to_have_count(2)
    expect(form.get_by_label("Ja")).to_have_attribute("value", "yes")
    days = form.get_by_label("Når?")
    expect(days.locator("option")).to_have_count(3)
    number = form.get_by_label("Hvor mange?")
    expect(number).to_have_attribute("type", "number")
    expect(number).to_have_attribute("min", "0")
    expect(number).to_have_attribute("max", "10")
    note = form.get_by_label("Stikkord")
    expect(note).to_have_attribute("maxlength", "40")

    form.get_by_role("group", name="Hvor nyttig?").get_by_label("4").check()
    form.get_by_label("Nei").check()
    days.select_option("14")
    number.fill("3")
    note.fill("neste møte")
    answers.append((200, _reply("Takk, **lagret**.", replace=True)))
    count = page.locator(".msg.bot").count()
    form.get_by_role("button", name="Send skjema").click()
    expect(page.locator(".msg.bot").last).to_contain_text("Takk, lagret.")
    expect(page.locator(".msg.bot")).to_have_count(count)  # replaced in place
    expect(page.locator("form.bot-form")).to_have_count(0)
    session = page.evaluate("localStorage.getItem('bts-session')")
    assert posted[-1] == {
        "session": session,
        "action": "stub:form",
        "form": {"score": "4", "again": "no", "days": "14", "count": "3", "note": "neste møte"},
    }

    # A reply that does not replace is appended; the old buttons can no longer be pressed.
    page.evaluate("localStorage.clear()")
    page.reload()
    first = page.locator(".msg.bot").first
    answers.append((200, _reply("Neste steg.", replace=False)))
    first.get_by_role("button", name="Videre").click()
    expect(page.locator(".msg.bot").last).to_contain_text("Neste steg.")
    expect(page.locator(".msg.bot")).to_have_count(2)
    expect(page.locator(".msg.user").last).to_have_text("Videre")
    expect(first.get_by_role("button", name="Akutt")).to_be_disabled()
    assert posted[-1]["action"] == "stub:next" and posted[-1]["value"] == "1"

    # A server error shows its message; the typed text comes back to be sent again.
    answers.append((400, {"error": "unknown action 'x'; reload the page", "status": 400}))
    page.fill("#chat-input", "hei der")
    page.keyboard.press("Enter")
    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Beklager")
    expect(error).to_contain_text("unknown action 'x'; reload the page")
    expect(page.locator("#chat-input")).to_have_value("hei der")
    answers.append((200, _reply("Hei!", replace=False)))
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot").last).to_have_text("Hei!")
    expect(error).to_be_hidden()
    page.context.close()


def test_page_accessibility_in_the_browser(shared_server: BotServer, chromium: Chromium) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    page.goto(shared_server.base_url + "/")
    expect(page.locator(".msg.bot").first).to_contain_text("velkommen")
    chat_input = page.get_by_label("Skriv til BTS-bot")
    expect(chat_input).to_have_attribute("id", "chat-input")
    log = page.get_by_role("log", name="Samtale med BTS-bot")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("heading", level=1)).to_have_text("BTS-bot")
    for button in page.get_by_role("button").all():
        assert (button.text_content() or "").strip(), "every button has a visible name"
    # Keyboard only: Tab reaches the bot's buttons and Enter presses them.
    page.locator("button.choice", has_text="Hva er BTI/BTS?").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot").last).to_contain_text("Nivå 0")
    focused = page.evaluate("document.activeElement.classList.contains('msg')")
    assert focused, "focus moves to the answer that replaced the pressed button"
    page.context.close()


# ---- issue #15 "Day one": the web chat ----------------------------------------------------------

FNR = "17091864886"  # valid check digits, made up


def _shot_on_failure(page: Page, tmp_path: Path, name: str) -> Callable[[], None]:
    """Saves a screenshot into the test's tmp dir and prints its path (call it in ``except``)."""

    def save() -> None:
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")

    return save


def test_typing_indicator_is_announced_and_gone_with_the_answer(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    held: list[Route] = []
    page.goto(shared_server.base_url + "/")
    expect(page.locator(".msg.bot").first).to_contain_text("velkommen")
    # Hold the answer back (no timing): the indicator must show while it is under way.
    page.route("**/api/webchat/turn", lambda route: held.append(route))
    try:
        typing = page.get_by_role("status")
        expect(typing).to_have_attribute("aria-live", "polite")
        expect(typing).to_be_hidden()
        page.fill("#chat-input", "hjelp")
        page.keyboard.press("Enter")
        expect(typing).to_have_text("BTS-bot skriver …")
        expect(typing).to_be_visible()
        assert held, "the turn request is under way"
        held[0].continue_()
        expect(page.locator(".msg.bot").last).to_contain_text("Dette kan jeg hjelpe deg med")
        expect(typing).to_have_text("")
        expect(typing).to_be_hidden()
        # In nynorsk the indicator speaks nynorsk.
        page.unroute("**/api/webchat/turn")
        page.locator("button.choice", has_text="Skriv nynorsk").last.click()
        expect(page.locator(".msg.bot").last).to_contain_text("Dette kan eg hjelpe deg med")
        held.clear()
        page.route("**/api/webchat/turn", lambda route: held.append(route))
        page.fill("#chat-input", "hjelp")
        page.keyboard.press("Enter")
        expect(typing).to_have_text("BTS-bot skriv …")
        held[0].continue_()
        expect(typing).to_have_text("")
    except BaseException:
        _shot_on_failure(page, tmp_path, "typing")()
        raise
    page.context.close()


def test_a_refused_text_leaves_the_users_bubble(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # The server says so in the reply: the guard fired.
    refused = turn(shared_server, greeted(shared_server), text=f"barnet har fnr {FNR}")
    assert refused["personal_data"] is True and refused["topic"] == "personopplysninger"
    assert turn(shared_server, greeted(shared_server), text="hjelp")["personal_data"] is False

    page = chromium.page()
    try:
        page.goto(shared_server.base_url + "/")
        expect(page.locator(".msg.bot").first).to_contain_text("velkommen")
        page.fill("#chat-input", f"barnet har fnr {FNR}")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.bot").last).to_have_attribute("data-topic", "personopplysninger")
        bubble = page.locator(".msg.user").last
        expect(bubble).to_have_text("(fjernet – inneholdt personopplysninger)")
        expect(page.locator("body")).not_to_contain_text(FNR)
        # A name in free text too, and in nynorsk the nynorsk words.
        page.evaluate("localStorage.setItem('bts-lang', 'nn')")
        turn_nn = page.evaluate(
            "s => fetch('/api/webchat/turn', {method: 'POST', headers: {'Content-Type': "
            "'application/json'}, body: JSON.stringify({session: s, action: 'lang:set', "
            "value: 'nn'})}).then(r => r.status)",
            page.evaluate("localStorage.getItem('bts-session')"),
        )
        assert turn_nn == 200
        page.reload()
        expect(page.locator(".msg.bot").first).to_contain_text("Velkomen tilbake")
        page.fill("#chat-input", "Kari Nordmann er lei seg på skulen")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.user").last).to_have_text(
            "(fjerna – inneheldt personopplysningar)"
        )
        expect(page.locator("body")).not_to_contain_text("Kari Nordmann")
    except BaseException:
        _shot_on_failure(page, tmp_path, "pii")()
        raise
    page.context.close()


def test_reload_offers_to_continue_where_you_were(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    bots = page.locator(".msg.bot")
    try:
        page.goto(shared_server.base_url + "/")
        expect(bots.first).to_contain_text("velkommen")
        # At the start there is nothing to continue: a plain greeting.
        page.reload()
        expect(bots.first).to_contain_text("Velkommen tilbake")
        expect(page.get_by_role("button", name="Fortsett der du var")).to_have_count(0)

        page.fill("#chat-input", "hva gjør jeg ved uro?")
        page.keyboard.press("Enter")
        start = bots.last.locator("button.choice", has_text=re.compile("nivå 0", re.I))
        start.first.click()
        expect(bots.last).to_contain_text("Nivå 0")
        screen = bots.last.locator(".text p").first.inner_text()

        page.reload()
        expect(bots.first).to_contain_text("Velkommen tilbake")
        offer = bots.first
        expect(offer.locator("button.choice").first).to_have_text("Akutt fare?")
        offer.get_by_role("button", name="Fortsett der du var").click()
        expect(bots.last).to_contain_text("Nivå 0")
        expect(bots.last.locator(".text p").first).to_have_text(screen)

        # Or start over: the welcome again, and a later reload has nothing to continue.
        page.reload()
        bots.first.get_by_role("button", name="Start på nytt").click()
        expect(bots.last).to_contain_text("velkommen til")
        page.reload()
        expect(bots.first).to_contain_text("Velkommen tilbake")
        expect(page.get_by_role("button", name="Fortsett der du var")).to_have_count(0)
    except BaseException:
        _shot_on_failure(page, tmp_path, "resume")()
        raise
    page.context.close()


CONTACT_TEXT = "\n".join(
    [
        "Ring **112** ved fare, 113 ved skade, politiet 02800. Alarmtelefonen 116 111, legevakt 116 117.",
        "- Barnevernvakta: 75 10 10 00 eller +47 901 23 456",
        "- BTS-kontakt: kari_nordmann@sortland.kommune.no",
        'Ikke lenker: 01.02.2025, år 2024, 12345678901, <a href="tel:666">x</a>',
        "[Ring 112](javascript:alert(1)) og [les mer](https://example.org/112)",
    ]
)


def test_phone_numbers_and_email_addresses_become_links(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    stub = _reply(CONTACT_TEXT, replace=False)
    page.route("**/api/webchat/welcome*", lambda route: route.fulfill(status=200, json=stub))
    try:
        page.goto(shared_server.base_url + "/")
        message = page.locator(".msg.bot").first
        expect(message).to_contain_text("Barnevernvakta")
        hrefs = {a.inner_text(): a.get_attribute("href") for a in message.locator("a").all()}
        assert hrefs == {
            "112": "tel:112",
            "113": "tel:113",
            "116 111": "tel:116111",
            "116 117": "tel:116117",
            "75 10 10 00": "tel:75101000",
            "+47 901 23 456": "tel:+4790123456",
            "kari_nordmann@sortland.kommune.no": "mailto:kari_nordmann@sortland.kommune.no",
            "les mer": "https://example.org/112",
        }, hrefs
        expect(message.locator("strong a")).to_have_text("112")  # emphasis keeps working
        expect(message).to_contain_text('<a href="tel:666">x</a>')  # escaped first: shown as text
        expect(message).to_contain_text("01.02.2025, år 2024, 12345678901")
    except BaseException:
        _shot_on_failure(page, tmp_path, "links")()
        raise
    page.context.close()


def _contrast(a: list[float], b: list[float]) -> float:
    def lum(rgb: list[float]) -> float:
        def channel(c: float) -> float:
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, bl = (channel(c) for c in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# The focused element's outline colour and the colour behind the ring (the nearest opaque
# background of its parents: the ring is drawn outside the element).
_RING = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let node = el.parentElement, behind = [255, 255, 255, 1];
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { behind = c; break; }
    node = node.parentElement;
  }
  return {tag: el.tagName, cls: el.className, style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), ring: rgb(style.outlineColor), behind};
}"""


def test_focus_ring_phone_layout_and_vote_buttons(
    shared_server: BotServer, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = chromium.page()
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(shared_server.base_url + "/")
        expect(page.locator(".msg.bot").first).to_contain_text("velkommen")
        # The header is whole on a 390 px phone: on screen, nothing clipped or scrolled away.
        layout = page.evaluate(
            """() => {
              const h = document.querySelector('header').getBoundingClientRect();
              const clipped = [...document.querySelectorAll('header *')]
                .filter((n) => n.scrollWidth > n.clientWidth + 1).length;
              return {top: h.top, bottom: h.bottom, clipped, scrollY: window.scrollY,
                      wide: document.documentElement.scrollWidth,
                      tall: document.documentElement.scrollHeight, height: innerHeight};
            }"""
        )
        assert layout["top"] == 0 and layout["bottom"] < 844 and layout["clipped"] == 0, layout
        assert layout["wide"] <= 390 and layout["scrollY"] == 0, layout
        assert layout["tall"] <= layout["height"], layout  # a short chat does not scroll the page

        # Keyboard focus: every ring has 3:1 against what surrounds it.
        rings = []
        for _ in range(7):  # the welcome's five buttons, the input and "Send"
            page.keyboard.press("Tab")
            rings.append(page.evaluate(_RING))
        assert {r["tag"] for r in rings} >= {"BUTTON", "INPUT"}, rings
        for ring in rings:
            assert ring["style"] != "none" and ring["width"] >= 2, ring
            assert _contrast(ring["ring"], ring["behind"]) >= 3, ring

        # 👍 / 👎: a name for screen readers and words beside the symbol.
        page.fill("#chat-input", "hva er en stafettlogg")
        page.keyboard.press("Enter")
        answer = page.locator(".msg.bot").last
        expect(answer).to_contain_text("Var dette nyttig?")
        up = answer.get_by_role("button", name="Nyttig", exact=True)
        down = answer.get_by_role("button", name="Ikke nyttig", exact=True)
        expect(up).to_contain_text("Nyttig")
        expect(down).to_contain_text("Ikke nyttig")
        expect(up.locator("[aria-hidden=true]")).to_have_text("👍")
    except BaseException:
        _shot_on_failure(page, tmp_path, "layout")()
        raise
    page.context.close()
