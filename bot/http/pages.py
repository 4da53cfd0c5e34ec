"""Static information pages the Teams manifest links to: ``/personvern`` (privacy) and ``/vilkar``.

Texts come from ``dialogs/content/<lang>/pages.yaml``; ``?lang=nn`` shows nynorsk. The markdown-lite
is turned into escaped HTML here, so no content can inject markup. The privacy page lists what is
stored from ``pages.privacy.stored`` (one item per group of tables, ``PRIVACY_ITEMS``; a test checks
that every table with person data in ``storage.privacy.PERSON_COLUMNS`` belongs to one) and shows the
retention periods this process is configured with (``RETENTION_*``), not numbers written in the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.runtime import Runtime

#: The items of the privacy page's "what is stored" list and the tables each one speaks for.
PRIVACY_ITEMS: dict[str, tuple[str, ...]] = {
    "identity": ("users", "conversation_refs", "inbox"),
    "conversation": ("conversation_state",),
    "directory": ("role_holders", "tenant_admins", "contact_details"),
    "unit": ("user_units",),
    "followups": ("personal_followups",),
    "sends": ("outbox", "task_progress"),
    "surveys": ("survey_runs", "survey_recipients", "survey_answered", "survey_answers"),
    "network": ("network_checkins", "network_votes", "network_pairs"),
    "onboarding": ("onboardings", "onboarding_steps"),
    "usage": ("usage_counts",),
    "feedback": ("feedback_reports",),
}

_BOLD = re.compile(r"\*\*(.+?)\*\*")

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1b2430}}h1{{color:#1d5b8c}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def markdown_lite_to_html(text: str) -> str:
    """Paragraphs and ``- `` lists with ``**bold**``, every character escaped first."""
    out: list[str] = []
    in_list = False
    for raw in text.strip().splitlines():
        line = _BOLD.sub(r"<strong>\1</strong>", html.escape(raw.strip()))
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{line[2:]}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line:
            out.append(f"<p>{line}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def page_language(request: web.Request, runtime: Runtime) -> str:
    """``?lang=nn`` or ``nb``; otherwise the bot's language."""
    lang = request.query.get("lang", runtime.settings.bot_language)
    return lang if lang in ("nb", "nn") else runtime.settings.bot_language


def render_page(
    runtime: Runtime, lang: str, key: str, status: int = 200, **values: str
) -> web.Response:
    """The page ``pages.<key>`` of the content (``values`` filled into its text, escaped)."""
    content = runtime.router.content
    page = _PAGE.format(
        lang=lang,
        title=html.escape(content.text(lang, f"pages.{key}.title")),
        body=markdown_lite_to_html(content.text(lang, f"pages.{key}.text", **values)),
    )
    return web.Response(
        text=page,
        status=status,
        content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def privacy_values(runtime: Runtime, lang: str) -> dict[str, str]:
    """What fills the privacy page: the stored items and the configured retention periods."""
    content, settings = runtime.router.content, runtime.settings
    stored = [f"- {content.text(lang, f'pages.privacy.stored.{item}')}" for item in PRIVACY_ITEMS]
    return {
        "stored": "\n".join(stored),
        "events_days": str(settings.retention_events_days),
        "outbox_days": str(settings.retention_outbox_days),
        "conversation_days": str(settings.retention_conversation_days),
        "users_days": str(settings.retention_users_days),
    }


def _page_handler(
    runtime: Runtime, key: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.Response:
        lang = page_language(request, runtime)
        values = privacy_values(runtime, lang) if key == "privacy" else {}
        return render_page(runtime, lang, key, 200, **values)

    return handler


def setup_pages(app: web.Application, runtime: Runtime) -> None:
    app.router.add_get("/personvern", _page_handler(runtime, "privacy"))
    app.router.add_get("/vilkar", _page_handler(runtime, "terms"))
