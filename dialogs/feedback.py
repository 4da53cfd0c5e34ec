""" "Var dette nyttig? 👍 / 👎" under FAQ answers and on the decision screen that ends a guide level.

``with_feedback`` adds the question and two buttons to a message. Both buttons carry the same value,
``kind|ref|lang|vote id``: what was answered (``ref``: a topic id, or the decision step of a level),
the language it was shown in, and a random id for this one message. A click counts once per message
(``storage.feedback.record_vote`` claims the id) and updates the message in place: the answer again,
rendered by the feature that owns it (a *source*), with a short thanks instead of the buttons. No user
id is stored or logged; the counters are per tenant, kind, key and language only.

Sources are wired in ``dialogs.app``: ``kind -> async (ctx, ref) -> (count key, message) | None``.
This module must not import the features it counts (faq, guide, contacts) to stay free of cycles.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from dialogs.content import Content
from dialogs.messages import MAX_VALUE_LEN, Button, Message, Reply
from dialogs.router import Router, TurnContext
from storage.feedback import record_vote
from storage.feedback_models import KINDS

log = logging.getLogger(__name__)

A_UP = "feedback:up"
A_DOWN = "feedback:down"
SEPARATOR = "|"
PROMPT_KEY = "feedback.prompt"

#: Renders what a vote was about again (without the vote buttons): ``(count key, message)``, or
#: None when ``ref`` names nothing this feature knows (content changed, forged value).
Source = Callable[[TurnContext, str], Awaitable[tuple[str, Message] | None]]


@dataclass(frozen=True)
class Vote:
    """A decoded vote button value."""

    kind: str
    ref: str
    lang: str
    vote_id: str

    @classmethod
    def parse(cls, value: str) -> Vote | None:
        parts = value.split(SEPARATOR)
        if len(parts) != 4 or not all(parts) or parts[0] not in KINDS:
            return None
        return cls(*parts)


def enabled(content: Content) -> bool:
    """True when the feedback texts are loaded (a content set without ``feedback.yaml``, like a
    trimmed test set of only help and FAQ, gets plain answers without vote buttons)."""
    return all(PROMPT_KEY in texts for texts in content.by_lang.values())


def with_feedback(ctx: TurnContext, message: Message, kind: str, ref: str) -> Message:
    """``message`` with "Var dette nyttig?" and 👍 / 👎 buttons for one vote about ``ref``."""
    if kind not in KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}")
    if not enabled(ctx.content):
        return message
    value = SEPARATOR.join((kind, ref, ctx.lang, secrets.token_urlsafe(12)))
    if SEPARATOR in ref or len(value) > MAX_VALUE_LEN:
        raise ValueError(f"feedback ref {ref!r} cannot be carried by a button")
    text = ctx.content.text
    buttons = (
        Button(text(ctx.lang, "feedback.up"), A_UP, value),
        Button(text(ctx.lang, "feedback.down"), A_DOWN, value),
    )
    prompt = f"_{text(ctx.lang, PROMPT_KEY)}_"
    return replace(
        message, text=f"{message.text}\n\n{prompt}", buttons=(*message.buttons, *buttons)
    )


class FeedbackDialog:
    """The vote handlers over the sources that re-render what was voted on."""

    def __init__(self, router: Router, sources: Mapping[str, Source]) -> None:
        unknown = set(sources) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown feedback kinds: {', '.join(sorted(unknown))}")
        self.router = router
        self.sources = dict(sources)

    async def up(self, ctx: TurnContext) -> Reply:
        return await self._vote(ctx, useful=True)

    async def down(self, ctx: TurnContext) -> Reply:
        return await self._vote(ctx, useful=False)

    async def _vote(self, ctx: TurnContext, useful: bool) -> Reply:
        vote = Vote.parse(ctx.turn.value)
        source = self.sources.get(vote.kind) if vote else None
        if vote is None or source is None or vote.lang not in ctx.content.by_lang:
            return await self._stale(ctx)
        ctx.lang = vote.lang  # thank in the language the answer was shown in
        found = await source(ctx, vote.ref)
        if found is None:
            return await self._stale(ctx)
        key, message = found
        counted = await record_vote(
            ctx.store,
            vote_id=vote.vote_id,
            platform=ctx.turn.platform,
            tenant_id=ctx.turn.tenant_id,
            kind=vote.kind,
            key=key,
            lang=vote.lang,
            useful=useful,
        )
        log.info(
            "feedback vote",
            extra={
                "tenant": ctx.turn.tenant_id,
                "kind": vote.kind,
                "key": key,
                "useful": useful,
                "counted": counted,
            },
        )
        thanks = ctx.content.text(ctx.lang, "feedback.thanks" if counted else "feedback.already")
        answered = replace(message, text=f"{message.text}\n\n_{thanks}_")
        return ctx.reply(answered, replace=True, topic=message.topic)

    async def _stale(self, ctx: TurnContext) -> Reply:
        assert self.router.on_unknown_action is not None
        return await self.router.on_unknown_action(ctx)


def register(router: Router, sources: Mapping[str, Source]) -> FeedbackDialog:
    """Handle 👍 / 👎 clicks; ``sources`` render what each kind of vote was about."""
    dialog = FeedbackDialog(router, sources)
    router.add_action(A_UP, dialog.up)
    router.add_action(A_DOWN, dialog.down)
    return dialog
