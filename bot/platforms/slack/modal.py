"""Slack modals for the forms that ask for their own window (``Form.modal``: a survey).

A click on "Svar nå" opens the form with ``views.open`` (Slack's trigger id is good for 3 seconds,
so the inbox worker opens it right after the click is stored); a click inside a modal updates it
(the form again) or pushes a view on top (the acute exit's answer, which must never be behind a
form). A ``view_submission`` must be answered in Slack's HTTP response: the intake stores it in the
inbox like every other payload, then waits up to ``VIEW_WAIT`` seconds for the worker's verdict
through ``ViewAnswers``: errors at the fields (the modal stays open with everything typed), the
form again, or the thank-you in the modal. When the worker is slower (or another process took the
row), Slack gets an empty 200, the modal closes, and the reply is posted in the DM instead:
nothing is lost either way. Pure rendering plus one in-process registry; no network here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block
from slack_sdk.models.views import View

from bot.platforms.form_words import form_word
from bot.platforms.slack.render import (
    ACTIONS_PER_BLOCK,
    FIELD_PREFIX,
    _button,
    _form_blocks,
    _shorten,
    form_values,
    message_blocks,
)
from dialogs.messages import Message, Reply

CALLBACK_ID = "bts_form"
TITLE_LIMIT = 24
BLOCKS_LIMIT = 100
ERROR_LIMIT = 2000
#: How long a view submission's HTTP answer waits for the worker (Slack allows 3 seconds).
VIEW_WAIT = 2.2


@dataclass(frozen=True)
class Submitted:
    """What a view submission carries: the form's action and value, where the form was opened
    from (the DM to answer in when the modal is gone), its language and the values given."""

    action: str
    value: str
    channel: str
    lang: str
    values: dict[str, str]
    block_ids: frozenset[str]


def modal_message(reply: Reply) -> Message | None:
    """The reply's message whose form wants a window of its own, if any."""
    for message in reply.messages:
        if message.form is not None and message.form.modal:
            return message
    return None


def _title(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": _shorten(text or "BTS-bot", TITLE_LIMIT)}


def _buttons(message: Message) -> list[Block]:
    elements = [_button(b, i) for i, b in enumerate(message.buttons)]
    return [
        ActionsBlock(elements=elements[start : start + ACTIONS_PER_BLOCK])
        for start in range(0, len(elements), ACTIONS_PER_BLOCK)
    ]


def form_view(message: Message, lang: str, channel: str) -> dict[str, Any]:
    """The modal of a message with a form: its text, its buttons (the acute exit) above the
    inputs so they are seen without scrolling, then the inputs; submit and cancel in Slack's
    own footer."""
    form = message.form
    assert form is not None
    text_only = replace(message, form=None, buttons=(), footer="")
    blocks: list[Block] = [
        *message_blocks(text_only, lang),
        *_buttons(message),
        *_form_blocks(replace(form, title=""), lang),
    ]
    metadata = json.dumps(
        {"a": form.action, "v": form.value, "c": channel, "l": lang}, separators=(",", ":")
    )
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=_title(form.title),
        submit=_title(form.submit_label),
        close=_title(form_word(lang, "cancel")),
        blocks=blocks[:BLOCKS_LIMIT],
        private_metadata=metadata,
    )
    return view.to_dict()


def notice_view(reply: Reply, title: str = "") -> dict[str, Any]:
    """A modal that only says something (the thank-you, a refusal, the acute exit's answer), with
    the reply's buttons; closed with Slack's own close button."""
    blocks: list[Block] = []
    for message in reply.messages:
        blocks.extend(message_blocks(replace(message, form=None), reply.lang))
    view = View(
        type="modal",
        callback_id=CALLBACK_ID + ":notice",
        title=_title(title or form_word(reply.lang, "window_title")),
        close=_title(form_word(reply.lang, "close")),
        blocks=blocks[:BLOCKS_LIMIT],
    )
    return view.to_dict()


def submitted(view: Mapping[str, Any]) -> Submitted | None:
    """The submission of one of our form modals, or None for anything else."""
    if view.get("callback_id") != CALLBACK_ID:
        return None
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("a"), str):
        return None
    state = view.get("state")
    state_values = state.get("values") if isinstance(state, Mapping) else None
    blocks = view.get("blocks")
    block_ids = frozenset(
        str(b.get("block_id"))
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, Mapping) and b.get("block_id")
    )
    return Submitted(
        action=meta["a"],
        value=str(meta.get("v") or ""),
        channel=str(meta.get("c") or ""),
        lang=str(meta.get("l") or "nb"),
        values=form_values(state_values if isinstance(state_values, Mapping) else {}),
        block_ids=block_ids,
    )


def submission_answer(reply: Reply, sent: Submitted) -> dict[str, Any]:
    """Slack's ``response_action`` for a view submission answered with ``reply``."""
    errors = {
        FIELD_PREFIX + name: _shorten(text, ERROR_LIMIT)
        for name, text in reply.field_errors
        if FIELD_PREFIX + name in sent.block_ids
    }
    if errors:
        return {"response_action": "errors", "errors": errors}
    again = modal_message(reply)
    if again is not None:
        return {"response_action": "update", "view": form_view(again, reply.lang, sent.channel)}
    return {"response_action": "update", "view": notice_view(reply)}


class ViewAnswers:
    """Hands the worker's answer to a view submission back to the HTTP request still waiting
    for it (same process, same event loop)."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def forget(self, key: str) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.cancel()

    def offer(self, key: str, answer: dict[str, Any]) -> bool:
        """True when a request was still waiting and takes ``answer``; False when it gave up
        (the worker then answers in the DM)."""
        future = self._waiting.pop(key, None)
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True
