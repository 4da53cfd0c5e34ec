"""``GET /metrics`` (Prometheus text format) and the middleware that counts every request.

The endpoint reads the database numbers first (``DatabaseCollector.refresh``, short timeout), then
renders the server's own registry. With ``METRICS_TOKEN`` set it answers 401 unless the request has
``Authorization: Bearer <token>`` (compared in constant time). The middleware sorts a request into a
platform by its path only (never by anything in the body) and must stay cheap.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import BotMetrics
from bot.platforms._http import json_error
from bot.runtime import Runtime

METRICS_PATH = "/metrics"
METRICS_KEY = web.AppKey("metrics", BotMetrics)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_WEBCHAT_PATHS = ("/", "/chat")
_WEBCHAT_PREFIXES = ("/static/", "/api/webchat/")


def platform_of(path: str) -> str:
    """``slack``, ``teams``, ``webchat`` or ``other``, from the request path."""
    if path.startswith("/slack/"):
        return "slack"
    if path == "/api/messages":
        return "teams"
    if path in _WEBCHAT_PATHS or path.startswith(_WEBCHAT_PREFIXES):
        return "webchat"
    return "other"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request and time the handler (outermost, so it sees the final status)."""
    metrics = request.app[METRICS_KEY]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects and the like pass through as exceptions
        status = exc.status
        raise
    finally:
        metrics.observe_request(platform_of(request.path), status, time.perf_counter() - started)


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def setup_metrics(app: web.Application, runtime: Runtime) -> None:
    """Mount ``/metrics`` for the runtime's metrics (the middleware is added by ``build_app``)."""
    metrics = runtime.metrics
    app[METRICS_KEY] = metrics
    secret = runtime.settings.metrics_token
    token = secret.get_secret_value() if secret is not None else ""

    async def scrape(request: web.Request) -> web.Response:
        if token and not _authorized(request, token):
            response = json_error(401, "a bearer token is required for /metrics")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        await metrics.database.refresh(runtime.store)
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(METRICS_PATH, scrape)
