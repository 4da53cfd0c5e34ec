"""The local web chat: its JSON API over real HTTP and the page in real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import BotServer

SESSION = "testsession01"


def post(server: BotServer, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        server.base_url + "/api/webchat/turn",
        data=body,
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def turn(server: BotServer, **payload: Any) -> dict[str, Any]:
    status, data = post(server, json.dumps({"session": SESSION, **payload}).encode())
    assert status == 200, data
    return dict(data["reply"])


def test_api_help_button_language_and_back(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    turn(server, text="hei")  # first contact
    menu = turn(server, text="hjelp")
    assert menu["topic"] == "hjelp" and menu["messages"][0]["buttons"]
    about = turn(server, action="help:about")
    assert about["topic"] == "om-bts" and about["replace"] is True
    assert "Nivå 0" in about["messages"][0]["text"]
    nynorsk = turn(server, action="lang:set", value="nn")
    assert nynorsk["lang"] == "nn"
    assert turn(server, text="hjelp")["lang"] == "nn"


def test_conversation_continues_after_a_restart(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    turn(server, text="hei")
    turn(server, action="help:about")
    turn(server, action="help:menu")
    server.stop()
    restarted = bot_server()  # same data folder
    assert turn(restarted, text="tilbake")["topic"] == "om-bts"


def test_guide_can_be_walked_over_http(bot_server: Callable[..., BotServer]) -> None:
    server = bot_server()
    turn(server, text="hei")
    first = turn(server, text="hva gjør jeg ved uro?")
    buttons = first["messages"][-1]["buttons"]
    start = next(b for b in buttons if "nivå 0" in b["label"].lower())
    step = turn(server, action=start["action"], value=start["value"])
    text = " ".join(m["text"] for m in step["messages"])
    assert "Nivå 0" in text
    acute = next(b for m in step["messages"] for b in m["buttons"] if "Akutt" in b["label"])
    path = turn(server, action=acute["action"], value=acute["value"])
    assert "112" in " ".join(m["text"] for m in path["messages"])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (b"text=hei", "application/x-www-form-urlencoded", 415, "application/json"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (json.dumps({"text": "hei"}).encode(), "application/json", 400, "session"),
        (json.dumps({"session": "x", "text": "hei"}).encode(), "application/json", 400, "session"),
        (json.dumps({"session": SESSION, "text": "  "}).encode(), "application/json", 400, "text"),
        (
            json.dumps({"session": SESSION, "text": "x" * 3000}).encode(),
            "application/json",
            413,
            "long",
        ),
        (json.dumps({"session": SESSION}).encode(), "application/json", 400, "action"),
        (
            json.dumps({"session": SESSION, "action": "nope:nope"}).encode(),
            "application/json",
            400,
            "unknown action",
        ),
        (
            json.dumps({"session": SESSION, "action": "help:menu", "form": [1]}).encode(),
            "application/json",
            400,
            "form",
        ),
        (b"x" * (1024 * 1024), "application/json", 413, "too large"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    bot_server: Callable[..., BotServer], body: bytes, content_type: str, status: int, words: str
) -> None:
    server = bot_server()
    got_status, data = post(server, body, content_type)
    assert got_status == status
    assert words in data["error"]
    assert post(server, json.dumps({"session": SESSION, "text": "hjelp"}).encode())[0] == 200


def test_page_has_security_headers_and_no_message_text_in_logs(
    bot_server: Callable[..., BotServer],
) -> None:
    server = bot_server()
    with urllib.request.urlopen(server.base_url + "/", timeout=10) as resp:
        page = resp.read().decode()
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert 'for="chat-input"' in page and 'aria-live="polite"' in page
    turn(server, text="planted-secret-kjøttkake-4711")
    assert "kjøttkake-4711" not in server.log_text()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_web_chat_in_headless_chromium(
    bot_server: Callable[..., BotServer], tmp_path: Path
) -> None:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium")
        pytest.skip("install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    server = bot_server()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(server.base_url + "/")
            expect(page.locator(".msg.bot").first).to_contain_text("velkommen", timeout=15000)
            page.fill("#chat-input", "hjelp")
            page.keyboard.press("Enter")
            expect(page.locator(".msg.user").last).to_have_text("hjelp")
            menu = page.locator(".msg.bot").last
            expect(menu).to_contain_text("Dette kan jeg hjelpe deg med")
            menu.get_by_role("button", name="Hva er BTI/BTS?").click()
            expect(page.locator(".msg.bot").last).to_contain_text("Nivå 0")
            page.locator(".msg.bot").last.get_by_role("button", name="Akutt fare?").click()
            expect(page.locator(".msg.bot").last).to_contain_text("112")
            page.fill("#chat-input", "hjelp")
            page.click("#chat-send")
            page.locator(".msg.bot").last.get_by_role("button", name="Skriv nynorsk").click()
            expect(page.locator("#chat-log")).to_contain_text("Dette kan eg hjelpe deg med")
            shot = tmp_path / "webchat.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
        finally:
            browser.close()
