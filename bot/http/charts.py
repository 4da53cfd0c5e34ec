"""Serves survey result charts at ``/charts/<run>.<lang>.<signature>.png`` for clients that show
pictures only by address (a Teams card; the web chat).

The signature (``dialogs.surveys.chart.ChartLinks``) is the only key: an address that was not
signed by this deployment answers 404, as does a run that is gone, without saying which. The
picture is drawn from the run's results under the same minimum group size rules as the summary
message, and only for a closed run (whose results no longer change), so the address never shows
more than the message did, nor what one new answer changed. Drawn pictures are kept a few
minutes, since Teams fetches one card's picture once per viewer.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from aiohttp import web

from bot.runtime import Runtime
from dialogs.surveys.chart import CHART_PATH, render_chart
from dialogs.surveys.model import SurveyTemplate
from dialogs.surveys.notices import summarise_run
from storage import surveys

CACHE_SECONDS = 300
CACHE_SIZE = 32


def setup_charts(app: web.Application, runtime: Runtime) -> None:
    links = runtime.charts
    cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
    not_found = {"error": "unknown chart", "status": 404}

    async def chart(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        signed = links.read(name)
        if signed is None:
            return web.json_response(not_found, status=404)
        kept = cache.get(name)
        if kept is not None and kept[0] > time.monotonic():
            png: bytes | None = kept[1]
        else:
            run_id, lang = signed
            run = await surveys.run_by_id(runtime.store, run_id)
            if run is None or run.is_open:  # closed runs only: see summary_message
                return web.json_response(not_found, status=404)
            template = SurveyTemplate.model_validate(run.template)
            summary = await summarise_run(runtime.store, run, template)
            content = runtime.router.content
            png = await asyncio.to_thread(render_chart, content, lang, template, summary)
            if png is None:
                return web.json_response(not_found, status=404)
            cache[name] = (time.monotonic() + CACHE_SECONDS, png)
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
        )

    app.router.add_get(CHART_PATH, chart)
