""" "Var dette nyttig? 👍 / 👎" under FAQ answers and on the decision screen that ends a guide level.

``with_feedback`` adds the question and two buttons to a message. Both buttons carry the same value,
``kind|ref|lang|nonce|mac``: what was answered (``ref``: a topic id, or the decision step of a level),
the language it was shown in, a random nonce for this one message, and an HMAC over all of that and
the tenant with the server's vote key (``storage.feedback.signing_key``: one secret in the database,
so every process and every restart agrees). A value the server did not issue, or issued for another
tenant, answer or language, is refused with a friendly "could not count this vote" and counts nothing;
so are vote buttons from before the signing (they lack the mac). A click counts once per message
(``storage.feedback.record_vote`` claims a hash of the value, never the value) and updates the
message in place: the answer again, rendered by the feature that owns it (a *source*), with a short
thanks instead of the buttons. No user id is stored or logged; the counters are per tenant, kind,
key and language only.

Sources are wired in ``dialogs.app``: ``kind -> async (ctx, ref) -> (count key, message) | None``.
This module must not import the features it counts (faq, guide, contacts) to stay free of cycles.

"Meld feil eller forslag" (``feedback:report``, its value the screen or topic it sits on) opens a
one-field form; the text it sends (``feedback:report_send``) has passed the router's PII guard and
is checked again here, capped, and stored by ``storage.feedback_reports`` with the tenant, time,
language and that screen, never with who wrote it. The screen is kept in the user's dialog state
between the two turns (the form cannot carry it), next to the state of the dialog the user is in,
which is left alone: "Tilbake" after the form goes where it went before.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncEngine

from dialogs.content import Content
from dialogs.messages import MAX_VALUE_LEN, Button, Form, FormField, Message, Reply
from dialogs.pii import find_personal_data
from dialogs.router import Router, TurnContext
from storage.db import create_engine
from storage.feedback import record_vote, signing_key
from storage.feedback_models import KINDS, ORIGIN_MAX_CHARS, REPORT_MAX_CHARS
from storage.feedback_reports import add_report
from storage.repositories import Store

log = logging.getLogger(__name__)

A_UP = "feedback:up"
A_DOWN = "feedback:down"
SEPARATOR = "|"
PROMPT_KEY = "feedback.prompt"
NOT_COUNTED_TOPIC = "ukjent"
MAC_VERSION = "v1"
MAC_BYTES = 16
NONCE_BYTES = 12

A_REPORT = "feedback:report"
A_REPORT_SEND = "feedback:report_send"
REPORT_FIELD = "text"
REPORT_TOPIC = "tilbakemelding"
#: Where in the dialog state the screen a report form was opened on waits for the submit.
ORIGIN_KEY = "feedback_report_from"
UNKNOWN_ORIGIN = "ukjent"
_ORIGIN = re.compile(rf"^[a-z0-9][a-z0-9:_-]{{0,{ORIGIN_MAX_CHARS - 1}}}$")

#: Renders what a vote was about again (without the vote buttons): ``(count key, message)``, or
#: None when ``ref`` names nothing this feature knows (content changed, forged value).
Source = Callable[[TurnContext, str], Awaitable[tuple[str, Message] | None]]


@dataclass(frozen=True)
class Vote:
    """A decoded vote button value (not yet verified: see ``signed_by``)."""

    kind: str
    ref: str
    lang: str
    nonce: str
    mac: str

    @classmethod
    def parse(cls, value: str) -> Vote | None:
        parts = value.split(SEPARATOR)
        if len(parts) != 5 or not all(parts) or parts[0] not in KINDS:
            return None
        return cls(*parts)

    @classmethod
    def issue(cls, key: bytes, tenant_id: str, kind: str, ref: str, lang: str) -> Vote:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        return cls(kind, ref, lang, nonce, _mac(key, tenant_id, kind, ref, lang, nonce))

    def signed_by(self, key: bytes, tenant_id: str) -> bool:
        """True when this server issued exactly this vote, in this tenant."""
        expected = _mac(key, tenant_id, self.kind, self.ref, self.lang, self.nonce)
        return hmac.compare_digest(expected, self.mac)

    @property
    def value(self) -> str:
        return SEPARATOR.join((self.kind, self.ref, self.lang, self.nonce, self.mac))


def _mac(key: bytes, tenant_id: str, kind: str, ref: str, lang: str, nonce: str) -> str:
    # JSON keeps the fields apart whatever they contain (tenant ids hold ":" and more).
    signed = json.dumps([MAC_VERSION, tenant_id, kind, ref, lang, nonce]).encode("utf-8")
    digest = hmac.new(key, signed, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# The key never changes once created, so each engine reads it once. Rendering is synchronous
# (``with_feedback`` is called while building messages), so a process that has not needed the key
# yet reads it on a thread with its own loop and engine: an async engine belongs to one loop.
_keys: weakref.WeakKeyDictionary[AsyncEngine, bytes] = weakref.WeakKeyDictionary()


def _key_now(store: Store) -> bytes:
    key = _keys.get(store.engine)
    if key is None:
        url = store.engine.url.render_as_string(hide_password=False)

        async def load() -> bytes:
            engine = create_engine(url)
            try:
                return await signing_key(Store(engine))
            finally:
                await engine.dispose()

        with ThreadPoolExecutor(max_workers=1) as pool:
            key = pool.submit(lambda: asyncio.run(load())).result()
        _keys[store.engine] = key
    return key


async def vote_key(store: Store) -> bytes:
    """The key vote ids are signed with (read once per engine; created on first use)."""
    key = _keys.get(store.engine)
    if key is None:
        key = _keys[store.engine] = await signing_key(store)
    return key


def enabled(content: Content) -> bool:
    """True when the feedback texts are loaded (a content set without ``feedback.yaml``, like a
    trimmed test set of only help and FAQ, gets plain answers without vote buttons)."""
    return all(PROMPT_KEY in texts for texts in content.by_lang.values())


def _label(ctx: TurnContext, which: str) -> str:
    """The spoken name of a vote button; empty for a content set that predates these keys."""
    key = f"feedback.{which}_label"
    return ctx.content.text(ctx.lang, key) if key in ctx.content.by_lang.get(ctx.lang, {}) else ""


def with_feedback(ctx: TurnContext, message: Message, kind: str, ref: str) -> Message:
    """``message`` with "Var dette nyttig?" and 👍 / 👎 buttons for one vote about ``ref``."""
    if kind not in KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}")
    if not enabled(ctx.content):
        return message
    key = _key_now(ctx.store)
    value = Vote.issue(key, ctx.turn.tenant_id, kind, ref, ctx.lang).value
    if SEPARATOR in ref or len(value) > MAX_VALUE_LEN:
        raise ValueError(f"feedback ref {ref!r} cannot be carried by a button")
    text = ctx.content.text
    buttons = (
        Button(text(ctx.lang, "feedback.up"), A_UP, value, description=_label(ctx, "up")),
        Button(text(ctx.lang, "feedback.down"), A_DOWN, value, description=_label(ctx, "down")),
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
        if not enabled(ctx.content):  # no vote was shown, and no text to refuse one with
            return await self._stale(ctx)
        vote = Vote.parse(ctx.turn.value)
        if vote is None or not vote.signed_by(await vote_key(ctx.store), ctx.turn.tenant_id):
            return self._not_counted(ctx)
        source = self.sources.get(vote.kind)
        if source is None or vote.lang not in ctx.content.by_lang:
            return await self._stale(ctx)  # ours, but for a feature or language now gone
        ctx.lang = vote.lang  # thank in the language the answer was shown in
        found = await source(ctx, vote.ref)
        if found is None:
            return await self._stale(ctx)
        key, message = found
        counted = await record_vote(
            ctx.store,
            vote_id=vote.value,
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

    def _not_counted(self, ctx: TurnContext) -> Reply:
        """A vote this server did not issue (forged, altered, or from before votes were signed)."""
        log.info("feedback vote refused", extra={"tenant": ctx.turn.tenant_id})
        message = ctx.message("feedback.not_counted", topic=NOT_COUNTED_TOPIC)
        return ctx.reply(message, replace=False, topic=NOT_COUNTED_TOPIC)

    async def _stale(self, ctx: TurnContext) -> Reply:
        return await self.router.hooks.unknown_action(ctx)


# "Meld feil eller forslag" -------------------------------------------------------------------------


def report_origin(value: str) -> str:
    """The screen a report button names, or "ukjent" for anything that is no screen id of ours
    (the value comes from the client, so it is never stored as it came)."""
    value = value.strip().lower()
    return value if _ORIGIN.match(value) else UNKNOWN_ORIGIN


def _report_form(ctx: TurnContext, notice: str = "") -> Reply:
    text = ctx.content.text
    message = ctx.message("feedback.report.form", topic=REPORT_TOPIC)
    form = Form(
        action=A_REPORT_SEND,
        title=text(ctx.lang, "feedback.report.title"),
        submit_label=text(ctx.lang, "feedback.report.submit"),
        fields=(
            FormField(
                name=REPORT_FIELD,
                label=text(ctx.lang, "feedback.report.field"),
                kind="text",
                placeholder=text(ctx.lang, "feedback.report.placeholder"),
                max_length=REPORT_MAX_CHARS,
            ),
        ),
    )
    body = f"**{notice}**\n\n{message.text}" if notice else message.text
    return ctx.reply(replace(message, text=body, form=form), topic=REPORT_TOPIC)


async def report(ctx: TurnContext) -> Reply:
    """Open the one-field form; remember which screen it was opened on."""
    ctx.state.data = {**ctx.state.data, ORIGIN_KEY: report_origin(ctx.turn.value)}
    return _report_form(ctx)


async def report_send(ctx: TurnContext) -> Reply:
    """Store the text (no user id) unless it is empty, too long or holds personal data."""
    text = ctx.content.text
    written = "\n".join(
        " ".join(line.split())
        for line in ctx.turn.form_values.get(REPORT_FIELD, "").strip().splitlines()
    )
    if not written.strip():
        return _report_form(ctx, text(ctx.lang, "feedback.report.empty"))
    if len(written) > REPORT_MAX_CHARS:
        too_long = text(ctx.lang, "feedback.report.too_long").replace(
            "{max}", str(REPORT_MAX_CHARS)
        )
        return _report_form(ctx, too_long)
    # The router's guard refused personal data before this handler; checked again because a
    # report is stored as written, and a guard wired differently must not let one through.
    if find_personal_data(written):
        log.info("feedback report refused: personal data", extra={"tenant": ctx.turn.tenant_id})
        return _report_form(ctx, text(ctx.lang, "feedback.report.personal_data"))
    data = dict(ctx.state.data)
    origin = report_origin(str(data.pop(ORIGIN_KEY, "")))
    ctx.state.data = data
    report_id = await add_report(
        ctx.store, tenant_id=ctx.turn.tenant_id, lang=ctx.lang, origin=origin, text=written
    )
    log.info(
        "feedback report stored",
        extra={"tenant": ctx.turn.tenant_id, "origin": origin, "report": report_id},
    )
    return ctx.reply(ctx.message("feedback.report.thanks", topic=REPORT_TOPIC), topic=REPORT_TOPIC)


def register(router: Router, sources: Mapping[str, Source]) -> FeedbackDialog:
    """Handle 👍 / 👎 clicks (``sources`` render what each kind of vote was about) and the
    "Meld feil eller forslag" form."""
    dialog = FeedbackDialog(router, sources)
    router.add_action(A_UP, dialog.up)
    router.add_action(A_DOWN, dialog.down)
    router.add_action(A_REPORT, report)
    router.add_action(A_REPORT_SEND, report_send)
    return dialog
