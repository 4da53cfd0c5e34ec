"""Local web chat: a page at ``/`` and ``/chat`` plus a small JSON API, in the ``local`` tenant.

For trying the bot without any Slack or Teams account. The browser keeps a random session id; each
session is one local user, so the conversation survives reloads and server restarts. Bad requests get
a 4xx JSON error with a short explanation; typed text is never logged.
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.runtime import LOCAL_TENANT, Runtime
from bot.server import json_error
from dialogs.messages import Reply, Turn

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("webchat_static")
MAX_TEXT = 2000
MAX_FORM_VALUE = 2000
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BadTurn(Exception):
    """A request the web chat cannot turn into a user turn; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _session_user(session: object) -> str:
    if not isinstance(session, str) or not _SESSION.match(session):
        raise BadTurn(400, "missing or invalid 'session' (8-64 letters, digits, '-' or '_')")
    return f"web:{session}"


def parse_turn(payload: Any, runtime: Runtime) -> Turn:
    """Validate one JSON request body and build the Turn it stands for."""
    if not isinstance(payload, dict):
        raise BadTurn(400, "request body must be a JSON object")
    user = _session_user(payload.get("session"))
    text, action = payload.get("text"), payload.get("action")
    if text is not None and action is not None:
        raise BadTurn(400, "send either 'text' or 'action', not both")
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise BadTurn(400, "'text' must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise BadTurn(413, f"'text' is too long (max {MAX_TEXT} characters)")
        return Turn("web", LOCAL_TENANT, user, user, text=text)
    if not isinstance(action, str) or not action:
        raise BadTurn(400, "send 'text', or 'action' with an optional 'value' or 'form'")
    if not runtime.router.known_action(action):
        raise BadTurn(400, f"unknown action {action[:64]!r}; reload the page")
    value = payload.get("value", "")
    if not isinstance(value, str) or len(value) > 200:
        raise BadTurn(400, "'value' must be a string of at most 200 characters")
    form = payload.get("form")
    if form is None:
        return Turn("web", LOCAL_TENANT, user, user, action=action, value=value)
    if not isinstance(form, dict) or not form:
        raise BadTurn(400, "'form' must be a non-empty object of field values")
    values: dict[str, str] = {}
    for name, raw in form.items():
        if not isinstance(raw, (str, int, float)) or len(str(raw)) > MAX_FORM_VALUE:
            raise BadTurn(400, f"form field {str(name)[:40]!r} must be a short text or number")
        values[str(name)[:64]] = str(raw)
    return Turn("web", LOCAL_TENANT, user, user, action=action, value=value, form_values=values)


async def _read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise BadTurn(415, "content type must be application/json")
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise BadTurn(400, "malformed JSON") from None


def _reply_json(reply: Reply) -> web.Response:
    return web.json_response({"reply": reply.to_dict()})


def render_page(runtime: Runtime) -> str:
    """The page with its texts from ``content/<lang>/webchat.yaml``, every value HTML-escaped."""
    lang = runtime.settings.bot_language
    content = runtime.router.content
    keys = [k.split(".", 1)[1] for k in content.by_lang[lang] if k.startswith("webchat.")]
    texts = {key: content.text(lang, f"webchat.{key}") for key in keys}
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    fields = {key: html.escape(value) for key, value in texts.items()}
    fields["texts_json"] = html.escape(json.dumps(texts, ensure_ascii=False))
    return template.format(lang=lang, **fields)


def setup_webchat(app: web.Application, runtime: Runtime) -> None:
    """Mount the page, its static files and the JSON API."""
    page = render_page(runtime)
    extra = {"platform": "web", "tenant": LOCAL_TENANT}

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=_SECURITY_HEADERS)

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
            return json_error(exc.status, str(exc))
        reply = await runtime.router.handle(Turn("web", LOCAL_TENANT, user, user))
        return _reply_json(reply)

    app.router.add_get("/", index)
    app.router.add_get("/chat", index)
    app.router.add_post("/api/webchat/turn", turn)
    app.router.add_get("/api/webchat/welcome", welcome)
    app.router.add_static("/static/", STATIC_DIR, show_index=False)
