"""Slack's OAuth v2 install flow, so one hosted app serves many workspaces (kommuner).

``GET /slack/install`` sends the browser to Slack's authorize page with a fresh ``state`` (kept in
the database for ten minutes, so any replica can finish the flow, and in a cookie, so only the
browser that started the flow can finish it). ``GET /slack/oauth_redirect`` checks both, trades the
``code`` for the workspace's bot token with ``oauth.v2.access`` and stores the installation with
the token encrypted (``bot.platforms.slack.tokens``). Uninstalling is handled where Slack's events
arrive (``app_uninstalled`` / ``tokens_revoked``, ``forget_workspace`` below).

Page texts are in ``dialogs/content/<lang>/pages.yaml`` (``slack_install_*``). Must never log a token
or a code.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.http.pages import page_language, render_page
from bot.platforms.slack.tokens import TokenCipher, oauth_access, slack_tokens, token_expiry
from bot.runtime import Runtime
from storage import outbox, slack_installs
from storage.slack_installs import StoredInstallation
from storage.users import ensure_tenant

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_COOKIE = "bts_slack_oauth_state"
STATE_TTL = timedelta(minutes=10)
#: The bot scopes asked for at install; the same list as ``manifest/slack/manifest.yaml``
#: (a test keeps them equal).
BOT_SCOPES = (
    "chat:write",
    "files:write",
    "channels:read",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "commands",
    "users:read",
)
_MAX_PARAM = 500


def redirect_uri(runtime: Runtime) -> str:
    return runtime.settings.public_url.rstrip("/") + REDIRECT_PATH


def _install(runtime: Runtime) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        settings = runtime.settings
        state = secrets.token_urlsafe(32)
        await slack_installs.put_state(runtime.store, state, STATE_TTL)
        query = urlencode(
            {
                "client_id": settings.slack_client_id,
                "scope": ",".join(BOT_SCOPES),
                "state": state,
                "redirect_uri": redirect_uri(runtime),
            }
        )
        response = web.HTTPFound(f"{settings.slack_authorize_url}?{query}")
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=int(STATE_TTL.total_seconds()),
            path="/slack",
            httponly=True,
            secure=settings.public_url.startswith("https://"),
            samesite="Lax",  # Slack's redirect back is a top-level GET: the cookie comes along
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return handler


def _redirect(runtime: Runtime) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        lang = page_language(request, runtime)
        query = request.query
        if query.get("error"):
            log.info("slack install cancelled", extra={"code": query["error"][:40]})
            return _done(render_page(runtime, lang, "slack_install_cancelled"))
        state = query.get("state", "")
        code = query.get("code", "")
        cookie = request.cookies.get(STATE_COOKIE, "")
        good_shape = 0 < len(state) <= _MAX_PARAM and 0 < len(code) <= _MAX_PARAM
        same_browser = bool(cookie) and hmac.compare_digest(cookie, state)
        # The state is consumed even when the cookie is wrong: a leaked link is good for nothing.
        known = good_shape and await slack_installs.consume_state(runtime.store, state)
        if not (good_shape and same_browser and known):
            log.warning(
                "slack install refused: bad state",
                extra={"known": bool(known), "same_browser": same_browser},
            )
            return _done(render_page(runtime, lang, "slack_install_expired", status=400))
        settings = runtime.settings
        secret = settings.slack_client_secret
        answer = await oauth_access(
            settings.slack_api_url,
            settings.slack_client_id,
            secret.get_secret_value() if secret else "",
            code=code,
            redirect_uri=redirect_uri(runtime),
        )
        installed = _installation(answer, TokenCipher.from_settings(settings))
        if installed is None:
            return _done(render_page(runtime, lang, "slack_install_failed", status=502))
        if isinstance(installed, str):
            return _done(render_page(runtime, lang, installed, status=400))
        await slack_installs.save_installation(runtime.store, installed)
        tenant = f"slack:{installed.team_id}"
        await ensure_tenant(runtime.store, tenant, "slack", installed.team_id, installed.team_name)
        slack_tokens(settings, runtime.store).forget(installed.team_id)
        log.info("slack workspace installed", extra={"tenant": tenant})
        return _done(
            render_page(
                runtime,
                lang,
                "slack_install_done",
                team=installed.team_name or installed.team_id,
                link=f"https://slack.com/app_redirect?app={installed.app_id}&team={installed.team_id}",
            )
        )

    return handler


def _done(response: web.Response) -> web.Response:
    response.del_cookie(STATE_COOKIE, path="/slack")
    response.headers["Cache-Control"] = "no-store"
    return response


def _installation(
    answer: dict[str, Any] | None, cipher: TokenCipher
) -> StoredInstallation | str | None:
    """The installation in ``oauth.v2.access``'s answer; a page key when it cannot be used; None
    when Slack gave nothing usable."""
    if not answer or not answer.get("ok", True):
        return None
    team = _obj(answer, "team")
    if answer.get("is_enterprise_install"):
        return "slack_install_enterprise"  # one tenant is one workspace; an org install is not
    token = str(answer.get("access_token") or "")
    team_id = str(team.get("id") or "")
    bot_user = str(answer.get("bot_user_id") or "")
    if answer.get("token_type") != "bot" or not token.startswith("xoxb-") or not team_id:
        return None
    if not bot_user:
        return None
    enterprise = _obj(answer, "enterprise")
    refresh = str(answer.get("refresh_token") or "")
    return StoredInstallation(
        team_id=team_id,
        team_name=str(team.get("name") or "")[:200],
        enterprise_id=str(enterprise.get("id") or ""),
        app_id=str(answer.get("app_id") or ""),
        bot_user_id=bot_user,
        bot_id=str(answer.get("bot_id") or ""),
        scopes=str(answer.get("scope") or ""),
        bot_token=cipher.encrypt(token),
        refresh_token=cipher.encrypt(refresh) if refresh else None,
        expires_at=token_expiry(answer),
    )


def _obj(answer: dict[str, Any], key: str) -> dict[str, Any]:
    value = answer.get(key)
    return value if isinstance(value, dict) else {}


async def forget_workspace(runtime: Runtime, team_id: str) -> bool:
    """The app was uninstalled or its bot token revoked: drop the tokens, so nothing more is sent
        there, and the rows still waiting in the outbox for it are skipped (reporting each as unreachable
    would reach nobody). True when there was an installation."""
    removed = await slack_installs.delete_installation(runtime.store, team_id)
    slack_tokens(runtime.settings, runtime.store).forget(team_id)
    tenant = f"slack:{team_id}"
    skipped = await outbox.skip_pending(runtime.store, tenant, "slack", "app uninstalled")
    log.info(
        "slack workspace uninstalled",
        extra={"tenant": tenant, "removed": removed, "skipped": skipped},
    )
    return removed


def setup_oauth(app: web.Application, runtime: Runtime) -> None:
    app.router.add_get(INSTALL_PATH, _install(runtime))
    app.router.add_get(REDIRECT_PATH, _redirect(runtime))
