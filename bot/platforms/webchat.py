"""Local web chat: a page at ``/`` and ``/chat`` plus a small JSON API, in the ``local`` tenant.

For trying the bot without any Slack or Teams account. The browser keeps a random session id; each
session is one local user, so the conversation survives reloads and server restarts. This module is a
thin adapter: it validates requests and turns them into ``Turn``s, and must not hold dialog logic.
Bad requests get a 4xx JSON error with a short explanation; typed text is never logged.
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.platforms._http import json_error
from bot.runtime import LOCAL_TENANT, Runtime
from dialogs.faq.dialog import PII_TOPIC
from dialogs.messages import MAX_ACTION_LEN, MAX_VALUE_LEN, Reply, Turn

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("webchat_static")
STATIC_SUFFIXES = frozenset({".css", ".js"})
MAX_TEXT = 2000
MAX_FORM_VALUE = 2000
MAX_FORM_FIELDS = 20
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# C0 control characters other than tab and newlines: never typed by a person, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    **_NOSNIFF,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_API_HEADERS = {**_NOSNIFF, "Cache-Control": "no-store"}


class BadTurn(Exception):
    """A request the web chat cannot turn into a user turn; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _session_user(session: object) -> str:
    if not isinstance(session, str) or not _SESSION.match(session):
        raise BadTurn(400, "missing or invalid 'session' (8-64 letters, digits, '-' or '_')")
    return f"web:{session}"


def _web_turn(user: str, **fields: Any) -> Turn:
    """The Turn of one web session: its own direct channel in the local tenant."""
    return Turn(
        platform="web",
        tenant_id=LOCAL_TENANT,
        user_id=user,
        channel_id=user,
        is_direct=True,
        **fields,
    )


def _checked_text(text: object, what: str, limit: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadTurn(400, f"{what} must be a non-empty string")
    if len(text) > limit:
        raise BadTurn(413, f"{what} is too long (max {limit} characters)")
    if _CONTROL.search(text):
        raise BadTurn(400, f"{what} contains control characters")
    return text


def parse_turn(payload: Any, runtime: Runtime) -> Turn:
    """Validate one JSON request body and build the Turn it stands for."""
    if not isinstance(payload, dict):
        raise BadTurn(400, "request body must be a JSON object")
    user = _session_user(payload.get("session"))
    text, action = payload.get("text"), payload.get("action")
    if text is not None and action is not None:
        raise BadTurn(400, "send either 'text' or 'action', not both")
    if text is not None:
        return _web_turn(user, text=_checked_text(text, "'text'", MAX_TEXT))
    if not isinstance(action, str) or not action:
        raise BadTurn(400, "send 'text', or 'action' with an optional 'value' or 'form'")
    if len(action) > MAX_ACTION_LEN or not runtime.router.known_action(action):
        raise BadTurn(400, f"unknown action {action[:MAX_ACTION_LEN]!r}; reload the page")
    value = payload.get("value", "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > MAX_VALUE_LEN or _CONTROL.search(value):
        raise BadTurn(400, f"'value' must be a plain string of at most {MAX_VALUE_LEN} characters")
    form = payload.get("form")
    if form is None:
        return _web_turn(user, action=action, value=value)
    if not isinstance(form, dict) or not form or len(form) > MAX_FORM_FIELDS:
        raise BadTurn(400, f"'form' must be an object of 1-{MAX_FORM_FIELDS} field values")
    values: dict[str, str] = {}
    for name, raw in form.items():
        shown = str(name)[:40]
        # bool is an int subclass; a checkbox-like true/false is not a field value we offer.
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise BadTurn(400, f"form field {shown!r} must be a short text or number")
        value_text = str(raw)
        if len(value_text) > MAX_FORM_VALUE or _CONTROL.search(value_text):
            raise BadTurn(400, f"form field {shown!r} must be a short text or number")
        values[str(name)[:64]] = value_text
    return _web_turn(user, action=action, value=value, form_values=values)


async def _read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise BadTurn(415, "content type must be application/json")
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadTurn(400, "malformed JSON") from None


def _reply_json(reply: Reply) -> web.Response:
    # "personal_data": the guard refused the typed text, so the page blanks the user's own bubble
    # (the text must not stay on screen either).
    body = {**reply.to_dict(), "personal_data": reply.topic == PII_TOPIC}
    return web.json_response({"reply": body}, headers=_API_HEADERS)


def render_page(runtime: Runtime) -> str:
    """The page with its texts from ``content/<lang>/webchat.yaml``, every value HTML-escaped.

    The page itself is in the bot's language; the texts of every language ride along as JSON so
    the script can follow a user who switched to nynorsk (or bokmål) in the chat.
    """
    lang = runtime.settings.bot_language
    content = runtime.router.content
    texts_by_lang = {
        each: {
            key.split(".", 1)[1]: content.text(each, key)
            for key in content.by_lang[each]
            if key.startswith("webchat.")
        }
        for each in content.by_lang
    }
    texts = texts_by_lang[lang]
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    fields = {key: html.escape(value) for key, value in texts.items()}
    fields["texts_json"] = html.escape(json.dumps(texts_by_lang, ensure_ascii=False))
    return template.format(lang=lang, **fields)


def setup_webchat(app: web.Application, runtime: Runtime) -> None:
    """Mount the page, its static files and the JSON API."""
    page = render_page(runtime)
    # Only the stylesheet and script are public; the page template is served rendered, at "/".
    static_files = {p.name: p for p in STATIC_DIR.iterdir() if p.suffix in STATIC_SUFFIXES}
    extra = {"platform": "web", "tenant": LOCAL_TENANT}

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=_PAGE_HEADERS)

    async def static(request: web.Request) -> web.StreamResponse:
        path = static_files.get(request.match_info["name"])
        if path is None:
            return json_error(404, "no such file")
        return web.FileResponse(path, headers={**_NOSNIFF, "Cache-Control": "no-cache"})

    async def turn(request: web.Request) -> web.Response:
        try:
            parsed = parse_turn(await _read_json(request), runtime)
        except BadTurn as exc:
            log.info("webchat request refused", extra={**extra, "status": exc.status})
            return json_error(exc.status, str(exc))
        reply = await runtime.router.handle(parsed)
        log.info("webchat turn", extra={**extra, "kind": parsed.kind, "topic": reply.topic})
        return _reply_json(reply)

    async def welcome(request: web.Request) -> web.Response:
        try:
            user = _session_user(request.query.get("session"))
        except BadTurn as exc:
            log.info("webchat request refused", extra={**extra, "status": exc.status})
            return json_error(exc.status, str(exc))
        reply = await runtime.router.handle(_web_turn(user))
        log.info("webchat welcome", extra={**extra, "topic": reply.topic})
        return _reply_json(reply)

    app.router.add_get("/", index)
    app.router.add_get("/chat", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/webchat/turn", turn)
    app.router.add_get("/api/webchat/welcome", welcome)
