"""Serves each tenant's årshjul as an iCalendar subscription at ``/arshjul/<secret token>.ics``.

The token is the only key: anyone with the link sees the tenant's task titles and dates (no names
of people, nothing about children), which is what a shared Outlook/Google calendar needs. An unknown
token answers 404 without saying whether the tenant exists; ``bts-bot arshjul feed --rotate``
replaces a leaked link.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.runtime import Runtime
from dialogs.arshjul.ics import FEED_PATH, tenant_calendar
from storage import directory

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def setup_calendar_feed(app: web.Application, runtime: Runtime) -> None:
    async def feed(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        tenant_id = (
            await directory.tenant_of_feed(runtime.store, token) if _TOKEN.match(token) else None
        )
        if tenant_id is None:
            return web.json_response({"error": "unknown calendar link", "status": 404}, status=404)
        body = await tenant_calendar(
            runtime.store,
            tenant_id,
            runtime.router.content,
            runtime.settings.bot_language,
            None,
            runtime.settings.kommune_dir,
            runtime.settings.bot_timezone,
        )
        return web.Response(
            text=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    app.router.add_get(FEED_PATH, feed)
