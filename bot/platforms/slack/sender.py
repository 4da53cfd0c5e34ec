"""The outbox's Slack sender: one rendered ``Reply`` to one Slack user or channel through the Web API,
within Slack's rate limits, with every Slack error sorted into the outcomes of
``bot.delivery.senders`` ("report", "retry later" or "give up").

A 429 is waited out here (its Retry-After pauses the whole tenant's bucket in
``bot.delivery.ratelimit``) and retried a few times before it becomes ``RetryLater``; slack_sdk's own 429
retry handler is deliberately not used, because the limiter must see every 429.

Exactly once after a crash: every Slack message carries our key in its message ``metadata`` (a hash
of the outbox ``dedupe_key`` plus the part number), so ``already_sent`` can look for it in the
channel history, and a retried send skips the parts that already arrived. The Slack adapter sends its
answers through the same sender. This module holds no dialog logic and never logs message text.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.ratelimit import Limits
from bot.delivery.senders import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    SLACK_LOOKUP,
    SLACK_POST,
    DeliveryError,
    Rejected,
    RetryLater,
    SendRates,
    Unreachable,
)
from bot.metrics import BotMetrics
from bot.platforms.slack.render import SlackMessage, SlackUpload, render_reply
from bot.platforms.slack.tokens import SlackTokens, StaticToken, team_of
from dialogs.messages import Reply
from storage.outbox_models import OutboxItem
from storage.references import get_reference, get_references, save_reference
from storage.repositories import Store

log = logging.getLogger(__name__)

METADATA_EVENT = "bts_outbox"

# Slack errors meaning the user or channel cannot be reached (or the bot was removed).
SLACK_UNREACHABLE = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "cannot_dm_bot",
        "user_disabled",
        "user_is_restricted",
        "team_access_not_granted",
    }
)
# Slack errors that no retry can fix: our token or our payload is wrong.
SLACK_REJECTED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "restricted_action",
    }
)
SLACK_RATELIMITED = frozenset({"ratelimited", "rate_limited"})
# Calls that put a message in front of someone: what bts_platform_sends counts.
SLACK_SENDS = frozenset({"chat.postMessage", "files.completeUploadExternal"})
#: A row for a workspace the app is not (or no longer) installed in: nothing is sent.
NOT_INSTALLED = "not_installed"
HISTORY_PAGE = 200
HISTORY_MAX_PAGES = 10


def _retry_after(headers: Any) -> float:
    try:
        value = float(headers.get("Retry-After", ""))
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return value if value >= 0 else DEFAULT_RETRY_AFTER


def outbox_key(item: OutboxItem) -> str:
    """What we write into Slack message metadata: a hash of the dedupe key (no ids in clear)."""
    return hashlib.sha256(item.dedupe_key.encode()).hexdigest()[:32]


def _slack_failure(exc: SlackApiError) -> tuple[int | None, str, Any]:
    """(HTTP status, Slack error code, headers) of a failed Web API call."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = getattr(response, "headers", None) or {}
    error = ""
    try:
        error = str(response.get("error") or "")
    except (AttributeError, TypeError):
        error = ""
    return (status if isinstance(status, int) else None), error, headers


class SlackSender:
    """Sends through the Slack Web API with the bot token of each row's workspace (``tokens``: one
    configured token, or the OAuth installations; a plain string is one token for every row).

    DMs: ``conversations.open`` gives the user's DM channel (cached in memory and, with a store, in
    ``conversation_refs`` like the adapter's own ``remember_user``), then ``chat.postMessage``.
    """

    platform = "slack"
    confirms_delivery = True

    def __init__(
        self,
        tokens: str | SlackTokens,
        api_url: str,
        limits: Limits | None = None,
        *,
        store: Store | None = None,
        max_rate_retries: int = 3,
        history_margin: timedelta = timedelta(minutes=10),
        timeout: int = 30,
        metrics: BotMetrics | None = None,
    ) -> None:
        self.tokens = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.client = AsyncWebClient(base_url=api_url, timeout=timeout, retry_handlers=[])
        self.timeout = timeout
        self.limits = limits or SendRates().limits()
        self.store = store
        self.max_rate_retries = max_rate_retries
        self.history_margin = history_margin
        self._dm_channels: dict[tuple[str, str], str] = {}
        self.metrics = metrics
        # Users a batch's prefetch found no stored DM channel for: no need to ask the database
        # again before conversations.open.
        self._not_stored: set[tuple[str, str]] = set()

    async def prefetch(self, items: list[OutboxItem]) -> None:
        """Read the stored DM channels of a claimed batch's users in one query per tenant."""
        if self.store is None:
            return
        by_tenant: dict[str, list[str]] = {}
        for item in items:
            if item.target_kind == "user" and (item.tenant_id, item.target_id) not in (
                self._dm_channels
            ):
                by_tenant.setdefault(item.tenant_id, []).append(item.target_id)
        for tenant_id, users in by_tenant.items():
            found = await get_references(self.store, tenant_id, "slack", "user", users)
            for user in users:
                channel = (found.get(user) or {}).get("channel")
                if isinstance(channel, str) and channel.startswith("D"):
                    self._dm_channels[(tenant_id, user)] = channel
                else:
                    self._not_stored.add((tenant_id, user))

    async def _call(
        self, tenant_id: str, bucket: str, key: str | None, method: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One Web API call through the tenant's limiter; 429s waited out, failures classified."""
        limiter = self.limits.bucket(bucket, tenant_id)
        retry_after = DEFAULT_RETRY_AFTER
        for _ in range(self.max_rate_retries + 1):
            await limiter.acquire(key)
            try:
                response = await self._request(method, kwargs, tenant_id)
            except SlackApiError as exc:
                status, error, headers = _slack_failure(exc)
                if status == 429 or error in SLACK_RATELIMITED:
                    if self.metrics is not None:
                        self.metrics.saw_429("slack")
                    retry_after = _retry_after(headers)
                    log.warning(
                        "slack rate limited",
                        extra={"tenant": tenant_id, "method": method, "retry_after": retry_after},
                    )
                    if retry_after > MAX_RETRY_AFTER:
                        raise RetryLater("ratelimited", retry_after) from None
                    limiter.pause(retry_after)
                    continue
                raise _classify(status, error) from None
            except aiohttp.ClientConnectorError:
                raise RetryLater("connect") from None  # never reached Slack: nothing was sent
            except (aiohttp.ClientError, TimeoutError):
                raise RetryLater("connection") from None  # may or may not have arrived
            if self.metrics is not None and method in SLACK_SENDS:
                self.metrics.sent("slack")
            return dict(response.data) if isinstance(response.data, dict) else {}
        raise RetryLater("ratelimited", retry_after)

    async def _token(self, tenant_id: str) -> str:
        """The bot token of the tenant's workspace; none (uninstalled) makes the row unreachable."""
        token = await self.tokens.bot_token(team_of(tenant_id))
        if not token:
            raise Unreachable(NOT_INSTALLED)
        return token

    async def _request(self, method: str, kwargs: dict[str, Any], tenant_id: str) -> Any:
        kwargs = {**kwargs, "token": await self._token(tenant_id)}
        session = self.client.session
        if session is None or session.closed:
            # One kept-alive connection pool instead of slack_sdk's new session (and TLS
            # handshake) per call; made here because it belongs to the running event loop.
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        if method == "chat.postMessage":
            return await self.client.chat_postMessage(**kwargs)
        if method == "conversations.open":
            return await self.client.conversations_open(**kwargs)
        if method == "conversations.history":
            return await self.client.conversations_history(**kwargs)
        if method == "chat.update":
            return await self.client.chat_update(**kwargs)
        if method == "views.open":
            return await self.client.views_open(**kwargs)
        if method == "views.update":
            return await self.client.views_update(**kwargs)
        if method == "views.push":
            return await self.client.views_push(**kwargs)
        if method == "files.getUploadURLExternal":
            return await self.client.files_getUploadURLExternal(**kwargs)
        if method == "files.completeUploadExternal":
            return await self.client.files_completeUploadExternal(**kwargs)
        raise ValueError(f"unsupported Slack method {method}")

    async def _channel(self, item: OutboxItem) -> str:
        """The channel to post into: the DM for a user, the group DM for a group (``U1,U2``),
        else the row's channel."""
        if item.target_kind == "group":
            return await self._group_dm(item)
        if item.target_kind != "user":
            return item.target_id
        cache_key = (item.tenant_id, item.target_id)
        found = self._dm_channels.get(cache_key)
        if found:
            return found
        if self.store is not None and cache_key not in self._not_stored:
            stored = await get_reference(
                self.store, item.tenant_id, "slack", "user", item.target_id
            )
            channel = stored.get("channel") if isinstance(stored, dict) else None
            if isinstance(channel, str) and channel.startswith("D"):
                self._dm_channels[cache_key] = channel
                return channel
        channel = await self._open(item, cache_key, "no-dm-channel")
        self._not_stored.discard(cache_key)
        if self.store is not None:
            team_id = item.tenant_id.partition(":")[2]
            reference = {"channel": channel, "team_id": team_id, "user_id": item.target_id}
            await save_reference(
                self.store, item.tenant_id, "slack", "user", item.target_id, reference
            )
        return channel

    async def _group_dm(self, item: OutboxItem) -> str:
        """The group DM of the row's users (Slack gives the same one for the same people)."""
        cache_key = (item.tenant_id, f"group:{item.target_id}")
        return self._dm_channels.get(cache_key) or await self._open(item, cache_key, "no-group-dm")

    async def _open(self, item: OutboxItem, cache_key: tuple[str, str], problem: str) -> str:
        """``conversations.open`` with the row's user(s); the channel id, remembered."""
        data = await self._call(
            item.tenant_id, SLACK_LOOKUP, None, "conversations.open", users=item.target_id
        )
        opened = data.get("channel")
        channel = opened.get("id") if isinstance(opened, dict) else None
        if not isinstance(channel, str) or not channel:
            raise RetryLater(problem)
        self._dm_channels[cache_key] = channel
        return channel

    async def _parts_found(self, item: OutboxItem, channel: str) -> tuple[set[int], int, str]:
        """Which parts of this row are in the channel already: (parts, parts expected, last ts)."""
        key = outbox_key(item)
        oldest = (item.send_at - self.history_margin).timestamp()
        found: set[int] = set()
        expected = 0
        last_ts = ""
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{oldest:.6f}",
                "include_all_metadata": True,
                "limit": HISTORY_PAGE,
            }
            if cursor:
                args["cursor"] = cursor
            data = await self._call(
                item.tenant_id, SLACK_LOOKUP, None, "conversations.history", **args
            )
            for message in data.get("messages") or []:
                shared = _shared_part(message, key)
                if shared is not None:
                    found.add(shared)
                    last_ts = max(last_ts, str(message.get("ts", "")))
                    continue
                metadata = message.get("metadata") if isinstance(message, dict) else None
                if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT:
                    continue
                payload = metadata.get("event_payload") or {}
                if not isinstance(payload, dict) or payload.get("key") != key:
                    continue
                found.add(int(payload.get("part", 0)))
                expected = max(expected, int(payload.get("parts", 1)))
                last_ts = max(last_ts, str(message.get("ts", "")))
            meta = data.get("response_metadata")
            cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
            if not data.get("has_more") or not cursor:
                break
        return found, expected, last_ts

    async def send(self, item: OutboxItem, reply: Reply) -> str | None:
        """Post every message of ``reply``; returns the ts of the last one."""
        return await self.send_messages(item, render_reply(reply))

    async def send_messages(
        self, item: OutboxItem, messages: list[SlackMessage], thread_ts: str = ""
    ) -> str | None:
        """Post rendered messages under the row's key (parts already in the channel are skipped
        when the row was tried before); returns the ts of the last one."""
        if not messages:
            return None
        channel = await self._channel(item)
        done: set[int] = set()
        last_ts: str | None = None
        if item.attempts > 0:
            # An earlier attempt may have posted some parts before it failed or the process died.
            done, _, found_ts = await self._parts_found(item, channel)
            last_ts = found_ts or None
        for index, message in enumerate(messages):
            if index in done:
                continue
            if message.upload is not None:
                await self._upload(item, channel, message.upload, index, thread_ts)
                continue
            last_ts = await self._post(item, channel, message, index, len(messages), thread_ts)
        return last_ts

    async def _upload(
        self, item: OutboxItem, channel: str, upload: SlackUpload, part: int, thread_ts: str
    ) -> None:
        """Share a picture into the channel with the external upload API (``files.upload`` is
        retired): ask for an upload URL, send the bytes there, complete it into the channel. The
        file's name carries the row's key, so a retry finds a part that arrived (no metadata on
        a file share)."""
        name = file_name(item, part)
        data = await self._call(
            item.tenant_id,
            SLACK_LOOKUP,
            None,
            "files.getUploadURLExternal",
            filename=name,
            length=len(upload.png),
            alt_txt=upload.alt[:1000],
        )
        upload_url, file_id = data.get("upload_url"), data.get("file_id")
        if not isinstance(upload_url, str) or not isinstance(file_id, str):
            raise RetryLater("no-upload-url")
        await self._send_bytes(upload_url, upload.png)
        await self._call(
            item.tenant_id,
            SLACK_POST,
            channel,
            "files.completeUploadExternal",
            files=[{"id": file_id, "title": upload.title}],
            channel_id=channel,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )

    async def _send_bytes(self, url: str, data: bytes) -> None:
        """The upload step proper: a POST of the raw bytes to the URL Slack gave."""
        session = self.client.session
        if session is None or session.closed:
            session = self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        try:
            async with session.post(url, data=data) as response:
                status = response.status
                await response.read()
        except aiohttp.ClientConnectorError:
            raise RetryLater("upload-connect") from None
        except (aiohttp.ClientError, TimeoutError):
            raise RetryLater("upload-connection") from None
        if status != 200:
            # An unused upload URL expires on its own; the next attempt asks for a new one.
            raise RetryLater(f"upload-http-{status}")

    async def update(self, tenant_id: str, channel: str, ts: str, message: SlackMessage) -> None:
        """Replace a message in place (``chat.update``; doing it twice changes nothing)."""
        await self._call(
            tenant_id,
            SLACK_POST,
            channel,
            "chat.update",
            channel=channel,
            ts=ts,
            blocks=message.blocks,
            text=message.text,
        )

    async def view(self, tenant_id: str, method: str, **kwargs: Any) -> None:
        """``views.open`` / ``views.update`` / ``views.push`` (a modal; a trigger id is good for
        3 seconds, so a 429 is not waited out here but raised for the caller's fallback)."""
        if method not in ("views.open", "views.update", "views.push"):
            raise ValueError(f"not a views method: {method}")
        limiter = self.limits.bucket(SLACK_POST, tenant_id)
        await limiter.acquire(None)
        try:
            await self._request(method, kwargs, tenant_id)
        except SlackApiError as exc:
            status, error, _ = _slack_failure(exc)
            if self.metrics is not None and (status == 429 or error in SLACK_RATELIMITED):
                self.metrics.saw_429("slack")
            raise _classify(status, error) from None
        except (aiohttp.ClientError, TimeoutError):
            raise RetryLater("connection") from None

    async def open_dm(self, tenant_id: str, user_id: str) -> str:
        """The DM channel with a user (remembered, as for proactive sends)."""
        probe = OutboxItem(tenant_id=tenant_id, target_kind="user", target_id=user_id)
        return await self._channel(probe)

    async def _post(
        self,
        item: OutboxItem,
        channel: str,
        message: SlackMessage,
        part: int,
        parts: int,
        thread_ts: str = "",
    ) -> str:
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"key": outbox_key(item), "part": part, "parts": parts},
        }
        data = await self._call(
            item.tenant_id,
            SLACK_POST,
            channel,
            "chat.postMessage",
            channel=channel,
            blocks=message.blocks,
            text=message.text,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )
        return str(data.get("ts", ""))

    async def close(self) -> None:
        """Close the HTTP connections (at shutdown; a later call opens new ones)."""
        session = self.client.session
        self.client.session = None
        if session is not None and not session.closed:
            await session.close()

    async def already_sent(self, item: OutboxItem) -> bool | None:
        """True when every part of the row is in the channel history; False when none or only some
        are (a send then posts the missing ones); None when Slack cannot be asked right now."""
        try:
            channel = await self._channel(item)
            found, expected, _ = await self._parts_found(item, channel)
        except Unreachable:
            return False  # a send will be refused the same way, and that gets reported
        except DeliveryError as exc:
            log.warning(
                "slack history could not be checked",
                extra={"tenant": item.tenant_id, "code": exc.code},
            )
            return None
        return bool(found) and len(found) >= expected


def file_name(item: OutboxItem, part: int) -> str:
    """The name a shared picture gets: the row's key (hashed) and the part number."""
    return f"bts-{outbox_key(item)[:20]}-{part}.png"


def _shared_part(message: Any, key: str) -> int | None:
    """The part number of a file share made by ``_upload`` for the row with ``key``, or None."""
    if not isinstance(message, dict):
        return None
    prefix = f"bts-{key[:20]}-"
    for shared in message.get("files") or []:
        name = shared.get("name") if isinstance(shared, dict) else None
        if isinstance(name, str) and name.startswith(prefix) and name.endswith(".png"):
            number = name[len(prefix) : -len(".png")]
            if number.isdigit():
                return int(number)
    return None


def _classify(status: int | None, error: str) -> DeliveryError:
    if error in SLACK_UNREACHABLE:
        return Unreachable(error)
    if error in SLACK_REJECTED:
        return Rejected(error)
    if status is not None and status >= 500:
        return RetryLater(f"http-{status}")
    if error:
        return RetryLater(error)  # internal_error, fatal_error, service_unavailable, unknown ones
    return RetryLater(f"http-{status}")
