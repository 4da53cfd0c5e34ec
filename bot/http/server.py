"""The one aiohttp application carrying Slack, Teams, the web chat and the health endpoints.

Bad requests get a 4xx with a short JSON explanation; an unexpected error in a handler is logged
(type only, never the request body) and answered with a generic JSON 500 so the server keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Settings
from bot.platforms._http import json_error
from bot.runtime import Runtime
from storage.db import ping

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
RUNTIME_KEY = web.AppKey("runtime", Runtime)
DRAINING_KEY = web.AppKey("draining", asyncio.Event)
DRAIN_RETRY_AFTER = "5"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, f"request body too large (max {MAX_BODY_BYTES} bytes)")
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return json_error(exc.status, exc.reason)
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error(
            "unhandled error",
            extra={"path": request.path, "error_type": type(exc).__name__},
            exc_info=False,
        )
        return json_error(500, "internal error; the request was not processed")


@web.middleware
async def drain_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """While shutting down, refuse new work with 503 so the platform retries (another replica)."""
    draining = request.app.get(DRAINING_KEY)
    if draining is not None and draining.is_set() and request.method == "POST":
        response = json_error(503, "server is shutting down; retry shortly")
        response.headers["Retry-After"] = DRAIN_RETRY_AFTER
        return response
    return await handler(request)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    if await ping(runtime.engine):
        return web.json_response({"status": "ready", "database": "ok"})
    return web.json_response({"status": "not ready", "database": "unreachable"}, status=503)


def build_app(runtime: Runtime) -> web.Application:
    """The aiohttp application with every enabled channel mounted."""
    from bot.http import calendar_feed, charts, metrics, pages
    from bot.platforms import webchat  # kept out of the core's imports
    from bot.platforms.slack import adapter as slack
    from bot.platforms.teams import adapter as teams

    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[metrics.metrics_middleware, error_middleware, drain_middleware],
    )
    app[RUNTIME_KEY] = runtime
    app[DRAINING_KEY] = asyncio.Event()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    metrics.setup_metrics(app, runtime)
    pages.setup_pages(app, runtime)
    calendar_feed.setup_calendar_feed(app, runtime)
    charts.setup_charts(app, runtime)
    settings = runtime.settings
    if settings.webchat_enabled:
        webchat.setup_webchat(app, runtime)
    if settings.slack_enabled:
        slack.setup_slack(app, runtime)
    teams.setup_teams(app, runtime)
    return app


def print_banner(settings: Settings, port: int) -> None:
    host = "localhost" if settings.host in ("0.0.0.0", "::", "") else settings.host
    lines = [f"BTS-bot is running on http://{host}:{port}/"]
    for channel, status in settings.channel_summary().items():
        lines.append(f"  {channel:<9} {status}")
    print("\n".join(lines), flush=True)


async def serve(settings: Settings) -> None:
    """Run the server until SIGINT/SIGTERM."""
    runtime = await Runtime.start(settings)
    app = build_app(runtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    from bot.platforms.slack import adapter as slack

    socket_mode = None
    if settings.slack_socket_mode:
        socket_mode = await slack.start_socket_mode(runtime)
    if not settings.teams_auth_enabled:
        log.warning(
            "teams endpoint accepts activities WITHOUT authentication: MICROSOFT_APP_ID is empty",
            extra={"platform": "teams"},
        )
    port = settings.port
    if port == 0 and runner.addresses:  # the port the OS picked, from the bound socket
        port = runner.addresses[0][1]
    reminders = None
    if settings.reminders_enabled:
        from bot.reminders import ReminderService

        reminders = ReminderService(runtime)
        reminders.start()
    from bot.retention import RetentionService, retention

    purge = RetentionService(
        runtime.store, retention(settings), settings.retention_interval_seconds
    )
    purge.start()
    print_banner(settings, port)
    log.info("server started", extra={"port": port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("server stopping")
        app[DRAINING_KEY].set()  # from here on new requests get 503: Slack retries them
        if slack.SERVICE_KEY in app:
            # Finish the turns in hand, hand the rest back to the inbox for the next process.
            await app[slack.SERVICE_KEY].stop()
        if reminders is not None:
            await reminders.stop()
        await purge.stop()
        if socket_mode is not None:
            await socket_mode.close_async()
        await runner.cleanup()
        await runtime.close()
