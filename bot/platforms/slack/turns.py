"""Slack, handling stored inbox rows: the turn through the router, the reply planned into the same row
(rendered Block Kit, ``bot.platforms.slack.render``) and sent once.

``bot.platforms.inbox.InboxWorker`` hands each row to ``SlackTurns.handle``. Posts go through
``bot.platforms.slack.sender.SlackSender`` under the row's key, so a crash at any moment neither loses
an acknowledged event nor answers it twice (a reply in doubt is looked up in the channel history by
its metadata before it is sent again); a click's answer may replace the clicked message
(``chat.update``). Ephemeral answers through ``response_url`` cannot be looked up: one in doubt is not
resent (at most once). It must not log message text or hold dialog logic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery.ratelimit import Limits, Rate
from bot.delivery.senders import DeliveryError, Rejected, RetryLater, Unreachable
from bot.platforms.slack.intake import (
    UNINSTALL_EVENTS,
    ClickedMessage,
    action_turn,
    command_turn,
    dm_turn,
    id_field,
    is_direct_channel,
    log_extra,
    mapping_field,
    mention_turn,
    str_field,
    tenant_of,
)
from bot.platforms.slack.modal import (
    ViewAnswers,
    form_view,
    modal_message,
    notice_view,
    submission_answer,
    submitted,
)
from bot.platforms.slack.render import SlackMessage, image_block, render_reply
from bot.platforms.slack.sender import SlackSender
from bot.platforms.slack.tokens import SlackTokens, slack_tokens
from bot.runtime import Runtime
from dialogs.messages import Reply, Turn
from storage import inbox
from storage.events import claim_event
from storage.inbox_models import DONE, FAILED, SENDING, InboxItem
from storage.models import utcnow
from storage.outbox_models import OutboxItem
from storage.references import save_reference
from storage.users import ensure_tenant, touch_user

log = logging.getLogger(__name__)

WELCOME_TTL = timedelta(days=3650)
SAVED_REFERENCES = 10_000  # addresses remembered per process before the memory is cleared
# Interactive replies are answers someone waits for: short bursts are allowed (welcome + answer),
# unlike the paced proactive sends. Slack: chat.postMessage "1 per second per channel, short
# bursts"; no published workspace number, so a generous one that still smooths a storm.
REPLY_RATES = Limits(
    {
        "slack:chat.postMessage": (Rate(30.0, burst=30), Rate(1.0, burst=4)),
        "slack:tier3": (Rate(50 / 60, burst=20), None),
    }
)


# authorization -----------------------------------------------------------------------------------


def make_authorize(tokens: SlackTokens) -> Callable[..., Awaitable[Any]]:
    """Bolt ``authorize``: the workspace's installation (one configured token, or OAuth's)."""

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        found = await tokens.for_team(team_id)
        if found is None:
            log.warning(
                "request from a workspace we are not installed in",
                extra=log_extra(tenant_of(team_id or "")),
            )
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=found.team_id or team_id,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
        )

    return authorize


# handling stored rows -----------------------------------------------------------------------------


def _plan(mode: str, messages: list[SlackMessage], **where: Any) -> dict[str, Any]:
    planned: list[dict[str, Any]] = []
    for message in messages:
        if message.upload is None:
            planned.append({"text": message.text, "blocks": message.blocks})
            continue
        # An answer's plan is stored in the inbox row: a picture goes by its address, never
        # as bytes (without a public https address the answer goes without it; the text holds
        # the same numbers).
        block = image_block(message.upload)
        if block is not None:
            planned.append({"text": message.text, "blocks": [block]})
    return {"mode": mode, "messages": planned, **where}


class SlackTurns:
    """Handles one inbox row: the turn through the router, then the reply to Slack, once."""

    def __init__(self, runtime: Runtime, answers: ViewAnswers | None = None) -> None:
        settings = runtime.settings
        self.answers = answers or ViewAnswers()
        self.runtime = runtime
        self.store = runtime.store
        self.router = runtime.router
        self.tokens = slack_tokens(settings, self.store)
        self.sender = SlackSender(
            self.tokens,
            settings.slack_api_url,
            REPLY_RATES,
            store=self.store,
            metrics=runtime.metrics,
        )
        self.authorize = make_authorize(self.tokens)

        # What this process already saved, so a user's every turn does not rewrite the same row.
        self._saved: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def close(self) -> None:
        await self.sender.close()

    async def _remember(self, tenant: str, kind: str, key: str, reference: dict[str, Any]) -> None:
        """Keep the address of a user or channel for proactive sends (once per change)."""
        if self._saved.get((tenant, kind, key)) == reference:
            return
        await save_reference(self.store, tenant, "slack", kind, key, reference)
        if len(self._saved) >= SAVED_REFERENCES:
            self._saved.clear()
        self._saved[(tenant, kind, key)] = reference

    async def handle(self, row: InboxItem, worker: str) -> bool:
        """Handle one row; True when it was answered and the worker may close it as done."""
        started = time.monotonic()
        if row.status == SENDING and row.reply is not None:
            return await self._deliver(row, worker, row.reply, recovering=True)
        body = row.body or {}
        team = str_field(body, "team_id") or id_field(body, "team")
        if await self._uninstalled(body, team):
            await inbox.finish(self.store, row.id, worker, DONE, "uninstalled")
            return False
        identity = await self.authorize(enterprise_id=None, team_id=team or None)
        if identity is None:
            await inbox.finish(self.store, row.id, worker, DONE, "not-installed")
            return False
        kind, plan = await self._turn(body, team or None, identity.bot_user_id, row.event_key)
        if plan is None:
            await inbox.finish(self.store, row.id, worker, DONE)
            return False
        if not await inbox.plan_reply(self.store, row.id, worker, plan):
            return False  # our lease ran out and another worker has the row now
        answered = await self._deliver(row, worker, plan, recovering=False)
        millis = int((time.monotonic() - started) * 1000)
        log.info("slack turn handled", extra=log_extra(row.tenant_id, kind=kind, millis=millis))
        return answered

    async def _uninstalled(self, body: Mapping[str, Any], team: str) -> bool:
        """``app_uninstalled``, or ``tokens_revoked`` naming bot tokens: forget the workspace.

        Checked before ``authorize``: the installation is still stored, but its token is dead.
        """
        if body.get("type") != "event_callback" or not team:
            return False
        event = mapping_field(body, "event")
        kind = str_field(event, "type")
        if kind not in UNINSTALL_EVENTS:
            return False
        if kind == "tokens_revoked" and not mapping_field(event, "tokens").get("bot"):
            return True  # only user tokens were revoked; the bot holds none
        if self.runtime.settings.slack_oauth_enabled:
            from bot.platforms.slack.oauth import forget_workspace

            await forget_workspace(self.runtime, team)
        else:
            log.warning(
                "slack app uninstalled; SLACK_BOT_TOKEN no longer works",
                extra=log_extra(tenant_of(team)),
            )
        return True

    async def _turn(
        self, body: dict[str, Any], team: str | None, bot_user: str | None, key: str
    ) -> tuple[str, dict[str, Any] | None]:
        if body.get("type") == "view_submission":
            return "view", await self._submission(body, team, key)
        if body.get("type") == "event_callback":
            event = mapping_field(body, "event")
            kind = str_field(event, "type")
            return kind, await self._event(kind, event, team, bot_user)
        if body.get("type") == "block_actions":
            turn, clicked = action_turn(body, team)
            return turn.kind, await self._click(body, turn, clicked, team)
        turn = command_turn(body, team)
        reply = await self.router.handle(turn)
        return "command", _plan(
            "respond", render_reply(reply), url=str_field(body, "response_url"), replace_first=False
        )

    async def _event(
        self, kind: str, event: Mapping[str, Any], team: str | None, bot_user: str | None
    ) -> dict[str, Any] | None:
        thread = str_field(event, "thread_ts")
        if kind == "message":
            turn = dm_turn(event, team, bot_user)
            if turn is None:
                return None
            reply = await self.router.handle(turn)  # first, so the tenant row exists
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
            return _plan("post", render_reply(reply), channel=turn.channel_id, thread_ts=thread)
        if kind == "app_mention":
            turn = mention_turn(event, team, bot_user)
            if turn is None:
                return None
            reply = await self.router.handle(turn)
            await self._remember(
                turn.tenant_id,
                "channel",
                turn.channel_id,
                _channel_reference(turn.channel_id, team),
            )
            return _plan("post", render_reply(reply), channel=turn.channel_id, thread_ts=thread)
        tenant = tenant_of(team)
        if kind == "app_home_opened":
            user = str_field(event, "user")
            if not user:
                return None
            await ensure_tenant(self.store, tenant, "slack", team or "")
            if not (await touch_user(self.store, tenant, "slack", user)).first_contact:
                return None
            channel = str_field(event, "channel") or await self.sender.open_dm(tenant, user)
            turn = Turn("slack", tenant, user, channel, is_direct=True)
            reply = await self.router.handle(turn)
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
            return _plan("post", render_reply(reply), channel=channel, thread_ts="")
        if kind == "member_joined_channel":
            channel = str_field(event, "channel")
            if not (channel and bot_user and str_field(event, "user") == bot_user):
                return None
            if not await claim_event(
                self.store, f"slack:welcome:{tenant}:{channel}", "slack", WELCOME_TTL
            ):
                return None
            await ensure_tenant(self.store, tenant, "slack", team or "")
            await self._remember(tenant, "channel", channel, _channel_reference(channel, team))
            # The welcome belongs to the channel, not a person: it runs as the bot's own user so
            # nobody's first-contact welcome or dialog state is used up by it.
            turn = Turn("slack", tenant, bot_user, channel, is_direct=False)
            reply = await self.router.handle(turn)
            return _plan("post", render_reply(reply), channel=channel, thread_ts="")
        return None

    async def _click(
        self, body: Mapping[str, Any], turn: Turn, clicked: ClickedMessage, team: str | None
    ) -> dict[str, Any] | None:
        # Inside one of our modals (App Home is a view too, but of type "home": answered in the DM).
        in_view = (
            mapping_field(body, "container").get("type") == "view"
            and mapping_field(body, "view").get("type") == "modal"
        )
        if in_view:
            # A click inside our modal: answer where the person is looking (see _in_view).
            sent = submitted(mapping_field(body, "view"))
            channel = sent.channel if sent is not None else ""
            turn = replace(turn, channel_id=channel, is_direct=is_direct_channel(channel))
        reply = await self.router.handle(turn)
        if turn.is_direct:
            await self._remember(turn.tenant_id, "user", turn.user_id, _user_reference(turn, team))
        if in_view and await self._in_view(body, turn, reply):
            return None
        modal = modal_message(reply)
        trigger = str_field(body, "trigger_id")
        if modal is not None and trigger and not in_view:
            channel = clicked.channel_id or turn.channel_id
            view = form_view(modal, reply.lang, channel)
            if await self._open_view(turn.tenant_id, "views.open", trigger_id=trigger, view=view):
                rest = tuple(m for m in reply.messages if m is not modal)
                if not rest:
                    return None
                reply = replace(reply, messages=rest, replace=False)
        messages = render_reply(reply)
        response_url = str_field(body, "response_url")
        if clicked.ephemeral and response_url:
            # Ephemeral messages have no ts we may chat.update; only their response_url reaches them.
            return _plan("respond", messages, url=response_url, replace_first=reply.replace)
        channel = turn.channel_id if in_view else clicked.channel_id
        if not channel:  # clicked outside a conversation (e.g. App Home): answer in the DM
            channel = await self.sender.open_dm(turn.tenant_id, turn.user_id)
        update_ts = clicked.message_ts if reply.replace and clicked.channel_id else ""
        return _plan(
            "post", messages, channel=channel, thread_ts=clicked.thread_ts, update_ts=update_ts
        )

    async def _in_view(self, body: Mapping[str, Any], turn: Turn, reply: Reply) -> bool:
        """Show the answer to a click inside a modal in the modal: the form again replaces the
        view ("Endre svaret"); anything else goes on top of it (the acute exit's answer must
        never wait behind a form). False when Slack refused: the answer then goes to the DM."""
        modal = modal_message(reply)
        view_id = str_field(mapping_field(body, "view"), "id")
        if modal is not None and view_id:
            view = form_view(modal, reply.lang, turn.channel_id)
            return await self._open_view(turn.tenant_id, "views.update", view_id=view_id, view=view)
        trigger = str_field(body, "trigger_id")
        if not trigger:
            return False
        return await self._open_view(
            turn.tenant_id, "views.push", trigger_id=trigger, view=notice_view(reply)
        )

    async def _open_view(self, tenant: str, method: str, **kwargs: Any) -> bool:
        try:
            await self.sender.view(tenant, method, **kwargs)
        except DeliveryError as exc:
            # An expired trigger (the worker was late) or a view Slack refused: the inline
            # form or the DM carries the same content instead.
            log.warning("slack view not shown", extra=log_extra(tenant, code=exc.code))
            return False
        return True

    async def _submission(
        self, body: Mapping[str, Any], team: str | None, key: str
    ) -> dict[str, Any] | None:
        """A modal form sent: through the router like an inline form, then the verdict to the
        request still waiting for it, or (when it gave up) the reply to the DM."""
        sent = submitted(mapping_field(body, "view"))
        if sent is None:
            return None
        user = id_field(body, "user")
        turn = Turn(
            platform="slack",
            tenant_id=tenant_of(team),
            user_id=user,
            channel_id=sent.channel,
            is_direct=is_direct_channel(sent.channel),
            action=sent.action,
            value=sent.value,
            form_values=sent.values,
        )
        reply = await self.router.handle(turn)
        if self.answers.offer(key, submission_answer(reply, sent)):
            return None
        channel = sent.channel if is_direct_channel(sent.channel) else ""
        channel = channel or await self.sender.open_dm(turn.tenant_id, user)
        return _plan("post", render_reply(reply), channel=channel, thread_ts="")

    async def _deliver(
        self, row: InboxItem, worker: str, plan: Mapping[str, Any], *, recovering: bool
    ) -> bool:
        """Send the planned reply; True when it went out (the row is then closed in a batch)."""
        messages = [
            SlackMessage(blocks=list(m.get("blocks") or []), text=str(m.get("text") or ""))
            for m in plan.get("messages") or []
            if isinstance(m, Mapping)
        ]
        try:
            if plan.get("mode") == "respond":
                if recovering:
                    # response_url cannot tell what arrived: an ephemeral answer in doubt is
                    # left out rather than possibly shown twice.
                    log.warning("slack ephemeral answer in doubt", extra=log_extra(row.tenant_id))
                    await inbox.finish(self.store, row.id, worker, DONE, "in-doubt")
                    return False
                await _respond(
                    str(plan.get("url") or ""), messages, bool(plan.get("replace_first"))
                )
            else:
                await self._post(row, plan, messages, recovering)
        except (Unreachable, Rejected) as exc:
            log.warning("slack answer not delivered", extra=log_extra(row.tenant_id, code=exc.code))
            await inbox.finish(self.store, row.id, worker, FAILED, exc.code)
            return False
        except RetryLater as exc:
            wait = max(exc.retry_after or 0.0, 2.0 * max(row.attempts, 1))
            at = utcnow() + timedelta(seconds=wait)
            await inbox.retry_later(self.store, row.id, worker, at, exc.code)
            return False
        return True

    async def _post(
        self,
        row: InboxItem,
        plan: Mapping[str, Any],
        messages: list[SlackMessage],
        recovering: bool,
    ) -> None:
        channel = str(plan.get("channel") or "")
        update_ts = str(plan.get("update_ts") or "")
        if update_ts and messages:
            first, *messages = messages
            await self.sender.update(row.tenant_id, channel, update_ts, first)  # idempotent
        item = OutboxItem(
            tenant_id=row.tenant_id,
            dedupe_key=row.event_key,
            target_kind="channel",
            target_id=channel,
            send_at=row.received_at,
            attempts=1 if recovering else 0,  # >0: look in the history for parts already out
        )
        await self.sender.send_messages(item, messages, str(plan.get("thread_ts") or ""))


async def _respond(url: str, messages: list[SlackMessage], replace_first: bool) -> None:
    """Answer through response_url (ephemeral: only the asker sees it)."""
    client = AsyncWebhookClient(url, timeout=15)
    for index, message in enumerate(messages):
        try:
            response = await client.send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace_first and index == 0,
            )
        except (TimeoutError, OSError) as exc:
            raise RetryLater("response-url-connection") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"response-url-{response.status_code}")
        if response.status_code >= 400:
            raise Rejected(f"response-url-{response.status_code}")


def _user_reference(turn: Turn, team_id: str | None) -> dict[str, Any]:
    """The DM address of a user for proactive sends (reminders, surveys)."""
    return {"channel": turn.channel_id, "team_id": team_id, "user_id": turn.user_id}


def _channel_reference(channel: str, team_id: str | None) -> dict[str, Any]:
    return {"channel": channel, "team_id": team_id}
