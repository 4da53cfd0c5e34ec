"""What one Teams activity means to us: its tenant, user and conversation, the checks of every id it
carries, and the ``Turn`` (or welcome) it stands for.

Pure functions over the parsed activity body, worked out before botbuilder runs the turn. Every id
we store, put into a database key or copy into a connector URL is checked here (length, printable
ASCII); the text loses the bot's @mention markup. Must not call the Bot Connector, hold dialog
logic or log message text.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from botbuilder.schema import ActivityTypes

from bot.platforms.teams.render import turn_from_activity_value
from dialogs.messages import Turn

PLATFORM: Final = "teams"
NO_ACTION = "teams:no-action"  # a card submit without our action id: answered as a stale button
MAX_CONVERSATION_ID = 300  # conversation_refs.key
MAX_USER_ID = 200  # users.platform_user_id
MAX_ACTIVITY_ID = 200  # real ones are ~13 digits or "f:<guid>"; they go into connector URLs
MAX_CHANNEL_ID = 64
PRINTABLE_ID = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: ids go into URLs

_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_AT_TAG = re.compile(r"<at(?:\s[^>]*)?>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LEADING_AT = re.compile(r"^\s*<at(?:\s[^>]*)?>.*?</at>", re.IGNORECASE | re.DOTALL)


def log_extra(tenant: str, **facts: object) -> dict[str, object]:
    """The ``extra`` of a Teams log record: tenant, platform and the given facts."""
    return {"tenant": tenant, "platform": PLATFORM, **facts}


def digest(*parts: str) -> str:
    """A fixed-length key part: Teams ids can be long, and message ids repeat across chats."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def activity_key(tenant_id: str, conversation_id: str, activity_id: str) -> str:
    """The dedupe key of one activity: its id is only unique within a tenant's conversation."""
    return f"{PLATFORM}:activity:{digest(tenant_id, conversation_id, activity_id)}"


@dataclass(frozen=True)
class Incoming:
    """What one authenticated activity means to us, worked out before botbuilder runs the turn."""

    tenant_id: str
    user_id: str
    conversation_id: str
    is_direct: bool
    turn: Turn | None = None  # a user turn for the router
    welcome: bool = False  # an install: welcome once per conversation
    remember: bool = True  # store conversation references (not when the bot is being removed)


def _mapping(node: Any, key: str) -> Mapping[str, Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _text(node: Any, key: str) -> str:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, str) else ""


def tenant_of(body: Mapping[str, Any]) -> str:
    """``teams:<tenant guid>`` from ``channelData.tenant.id`` (``conversation.tenantId`` as a
    fallback: botbuilder's schema mapping drops it), else ``teams:unknown``."""
    for candidate in (
        _text(_mapping(_mapping(body, "channelData"), "tenant"), "id"),
        _text(_mapping(body, "conversation"), "tenantId"),
    ):
        if _TENANT_ID.match(candidate):
            return f"{PLATFORM}:{candidate}"
    return f"{PLATFORM}:unknown"


def clean_text(body: Mapping[str, Any]) -> str:
    """The user's text without the bot's @mention markup.

    Not ``TurnContext.remove_recipient_mention``: it uses display names as regex patterns and
    raises on a mention entity without ``mentioned.id``. Other people's mentions keep their name.
    """
    text = _text(body, "text")
    bot_id = _text(_mapping(body, "recipient"), "id")
    entities = body.get("entities")
    found = False
    for entity in entities if isinstance(entities, list) else []:
        if (
            isinstance(entity, Mapping)
            and _text(entity, "type").lower() == "mention"
            and _text(_mapping(entity, "mentioned"), "id") == bot_id
            and _text(entity, "text")
        ):
            text = text.replace(_text(entity, "text"), " ")
            found = True
    if not found and _text(_mapping(body, "conversation"), "conversationType") != "personal":
        # In channels and group chats Teams only delivers messages that @mention the bot; without
        # a mention entity for it, a leading <at>…</at> is that mention.
        text = _LEADING_AT.sub(" ", text, count=1)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return html.unescape(text).replace("\xa0", " ").strip()


def _id_problem(node: Any, key: str, name: str, limit: int, required: bool) -> str | None:
    value = node.get(key) if isinstance(node, Mapping) else None
    if value is None or value == "":
        return f"{name} is required" if required else None
    if not isinstance(value, str):
        return f"{name} must be a string"
    if len(value) > limit:
        return f"{name} is too long"
    if not PRINTABLE_ID.match(value):
        return f"{name} must be printable ASCII without spaces"
    return None


def shape_problem(body: Mapping[str, Any]) -> str | None:
    """Why we cannot handle this activity (answered 400), or None.

    Every id we store, put into a database key or copy into a connector URL or header is checked
    here, before any storage or outbound call: present where required, a string, not too long,
    printable ASCII (no NUL, no control or non-ASCII characters, which end as 500s in the HTTP
    and database layers).
    """
    conversation = _mapping(body, "conversation")
    sender = _mapping(body, "from")
    for node, key, name, limit, required in (
        (body, "channelId", "channelId", MAX_CHANNEL_ID, True),
        (body, "conversation", "conversation", 0, True),
        (conversation, "id", "conversation.id", MAX_CONVERSATION_ID, True),
        (body, "from", "from", 0, True),
        (sender, "id", "from.id", MAX_USER_ID, True),
        (sender, "aadObjectId", "from.aadObjectId", MAX_USER_ID, False),
        (body, "recipient", "recipient", 0, True),
        (_mapping(body, "recipient"), "id", "recipient.id", MAX_USER_ID, True),
        (body, "id", "id", MAX_ACTIVITY_ID, False),
        (body, "replyToId", "replyToId", MAX_ACTIVITY_ID, False),
    ):
        if limit == 0:  # an object that must be there
            if not isinstance(node.get(key), Mapping):
                return f"{name} must be an object"
            continue
        problem = _id_problem(node, key, name, limit, required)
        if problem is not None:
            return problem
    for node, name in (
        (_mapping(_mapping(body, "channelData"), "tenant"), "channelData.tenant.id"),
        (conversation, "conversation.tenantId"),
    ):
        tenant = node.get("id" if name.endswith(".id") else "tenantId")
        if tenant is not None and not (isinstance(tenant, str) and _TENANT_ID.match(tenant)):
            return f"{name} is not a tenant id"
    return None


def _member_ids(body: Mapping[str, Any], key: str) -> set[str]:
    members = body.get(key)
    return (
        {_text(m, "id") for m in members if isinstance(m, Mapping)}
        if isinstance(members, list)
        else set()
    )


def describe(body: Mapping[str, Any]) -> Incoming | str:
    """An ``Incoming`` for a well-shaped message / conversationUpdate / installationUpdate, or the
    reason (for a 400) why it cannot be handled."""
    sender = _mapping(body, "from")
    user_id = _text(sender, "aadObjectId") or _text(sender, "id")
    if len(user_id) > MAX_USER_ID:
        return "from.id is too long"  # shape_problem checked it; describe is also used alone
    conversation = _mapping(body, "conversation")
    base = Incoming(
        tenant_id=tenant_of(body),
        user_id=user_id,
        conversation_id=_text(conversation, "id"),
        is_direct=_text(conversation, "conversationType") == "personal",
    )
    kind = _text(body, "type")
    if kind == ActivityTypes.message:
        value = body.get("value")
        if isinstance(value, Mapping) and value:
            action, button_value, form_values = turn_from_activity_value(value)
            turn = incoming_turn(
                base, action=action or NO_ACTION, value=button_value, form=form_values
            )
        else:
            turn = incoming_turn(base, text=clean_text(body))
        return replace(base, turn=turn)
    bot_id = _text(_mapping(body, "recipient"), "id")
    if kind == ActivityTypes.conversation_update:
        if bot_id in _member_ids(body, "membersRemoved"):
            return replace(base, remember=False)
        added = _member_ids(body, "membersAdded")
        welcome = bot_id in added or (base.is_direct and bool(added - {bot_id}))
        return replace(base, welcome=welcome)
    # installationUpdate: "add" installs, "add-upgrade" updates the app, "remove" and
    # "remove-upgrade" take the bot away.
    action = _text(body, "action")
    if action.startswith("remove"):
        return replace(base, remember=False)
    return replace(base, welcome=action == "add")


def incoming_turn(
    incoming: Incoming,
    text: str | None = None,
    action: str | None = None,
    value: str = "",
    form: dict[str, str] | None = None,
) -> Turn:
    return Turn(
        platform=PLATFORM,
        tenant_id=incoming.tenant_id,
        user_id=incoming.user_id,
        channel_id=incoming.conversation_id,
        is_direct=incoming.is_direct,
        text=text,
        action=action,
        value=value,
        form_values=form or {},
    )
