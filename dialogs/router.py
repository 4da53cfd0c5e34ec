"""Routes one user turn (text, button press, form submit or install event) to the right dialog.

The router owns the per-user conversation state: it loads it from the database, hands it to the
handler, and saves it back with compare-and-swap. Turns of one (tenant, user) are handled one at a
time inside a process (a double click cannot advance a dialog twice); across processes the version
check makes the loser re-run on fresh state. What it does with turns no table answers (welcome,
unknown text, unknown buttons) and the guard every typed text passes are its ``Hooks``, given when
it is built (``dialogs.app``); features only add actions, commands and dialog texts to its tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from dialogs.content import Content, ContentError
from dialogs.messages import Message, Reply, Turn
from dialogs.normalize import normalize
from storage.conversations import DialogState, load_state, open_turn, save_state
from storage.repositories import Store
from storage.users import ensure_tenant

log = logging.getLogger(__name__)

Handler = Callable[["TurnContext"], Awaitable[Reply]]
Guard = Callable[["TurnContext"], Awaitable[Reply | None]]

#: Typed text longer than this is never a command ("hjelp", "/bts uro"); it is not even
#: normalised for the lookup, so a huge message costs the event loop nothing here.
COMMAND_MAX_CHARS = 500


@dataclass(frozen=True)
class Hooks:
    """What the router does beyond its tables; chosen in one place, ``dialogs.app``."""

    #: Install events, and the welcome shown before the answer to someone's very first message.
    welcome: Handler
    #: Typed text that is no command and no open dialog's.
    unknown_text: Handler
    #: A button or form whose action no dialog registered (stale message or forged input).
    unknown_action: Handler
    #: Runs once per turn before any handler sees typed text or form values; a Reply refuses it.
    text_guard: Guard | None = None


@dataclass
class TurnContext:
    """Everything a handler may use for one turn."""

    turn: Turn
    lang: str
    state: DialogState
    store: Store
    content: Content
    first_contact: bool = False
    #: The language the user picked explicitly (as the turn began), None when never picked.
    chosen_lang: str | None = None

    def message(self, key: str, topic: str = "", **values: str) -> Message:
        return self.content.message(self.lang, key, topic=topic, **values)

    def reply(
        self, *messages: Message, replace: bool | None = None, topic: str | None = None
    ) -> Reply:
        """A reply; button presses update the clicked message in place unless told otherwise.

        The reply's topic is the first message's unless given.
        """
        if replace is None:
            replace = self.turn.kind in ("action", "form")
        if topic is None:
            topic = messages[0].topic if messages else ""
        return Reply(messages=messages, replace=replace, lang=self.lang, topic=topic)


class _KeyedLocks:
    """One asyncio.Lock per key, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Router:
    """Maps turns to handlers: actions by id, text by command phrases from the content files."""

    def __init__(
        self, store: Store, content: Content, hooks: Hooks, default_lang: str = "nb"
    ) -> None:
        self.store = store
        self.content = content
        self.hooks = hooks
        self.default_lang = default_lang
        self._actions: dict[str, Handler] = {}
        self._commands: dict[str, Handler] = {}
        self._state_text: dict[str, Handler] = {}
        self._locks = _KeyedLocks()
        self._known_tenants: set[str] = set()

    # registration ------------------------------------------------------------------------------

    def add_action(self, action: str, handler: Handler) -> None:
        if action in self._actions:
            raise ValueError(f"action {action!r} registered twice")
        self._actions[action] = handler

    def add_commands(self, content_key: str, handler: Handler) -> None:
        """Route every phrase listed under ``content_key`` (in any language) to ``handler``."""
        for lang in self.content.by_lang:
            for phrase in self.content.words(lang, content_key):
                self._commands[normalize(phrase) or phrase] = handler

    def add_state_text(self, dialog: str, handler: Handler) -> None:
        """Free text goes to ``handler`` while the user's state is in ``dialog``."""
        self._state_text[dialog] = handler

    def known_action(self, action: str) -> bool:
        return action in self._actions

    def check(self) -> None:
        """Refuse to start when content sends an action no handler knows."""
        missing = self.content.all_button_actions() - set(self._actions)
        if missing:
            raise ContentError(
                f"content buttons with unknown actions: {', '.join(sorted(missing))}"
            )

    def iter_actions(self) -> Iterator[str]:
        return iter(sorted(self._actions))

    # dispatch ----------------------------------------------------------------------------------

    async def handle(self, turn: Turn) -> Reply:
        """Answer one turn, keeping the user's dialog state consistent."""
        await self._ensure_tenant(turn)
        async with self._locks.hold((turn.tenant_id, turn.user_id)):
            info, state = await open_turn(self.store, turn.tenant_id, turn.platform, turn.user_id)
            for attempt in range(3):
                if attempt:  # another process saved first: run again on its state
                    state = await load_state(self.store, turn.tenant_id, turn.user_id)
                before = (state.dialog, state.step, repr(state.data))
                ctx = TurnContext(
                    turn=turn,
                    lang=info.language or self.default_lang,
                    state=state,
                    store=self.store,
                    content=self.content,
                    first_contact=info.first_contact,
                    chosen_lang=info.language,
                )
                reply = await self._dispatch(ctx)
                if (state.dialog, state.step, repr(state.data)) == before:
                    return reply
                if await save_state(self.store, state):
                    return reply
                log.info("state changed concurrently; retrying", extra=_log_extra(turn))
            raise RuntimeError("conversation state kept changing under us")

    async def _dispatch(self, ctx: TurnContext) -> Reply:
        turn, hooks = ctx.turn, self.hooks
        if turn.kind == "event":
            return await hooks.welcome(ctx)
        if hooks.text_guard is not None and turn.kind in ("text", "form"):
            refused = await hooks.text_guard(ctx)
            if refused is not None:
                return refused
        if turn.kind in ("action", "form"):
            handler = self._actions.get(turn.action or "")
            if handler is None:
                return await hooks.unknown_action(ctx)
            return await handler(ctx)
        text = turn.text or ""
        words = normalize(text) if len(text) <= COMMAND_MAX_CHARS else ""
        handler = self._commands.get(words) if words else None
        handler = handler or self._state_text.get(ctx.state.dialog)
        handler = handler or hooks.unknown_text
        if not ctx.first_contact:
            return await handler(ctx)
        # The very first message from someone gets the welcome first, then the answer: also for
        # «hjelp», which the welcome itself tells them to write. Only when the answer is the
        # welcome (a greeting) is it shown once.
        welcome = await hooks.welcome(ctx)
        reply = await handler(ctx)
        if reply.messages == welcome.messages:
            return welcome
        return replace(reply, messages=(*welcome.messages, *reply.messages))

    async def _ensure_tenant(self, turn: Turn) -> None:
        if turn.tenant_id in self._known_tenants:
            return
        platform, _, external = turn.tenant_id.rpartition(":")
        await ensure_tenant(self.store, turn.tenant_id, platform or "local", external)
        self._known_tenants.add(turn.tenant_id)


def _log_extra(turn: Turn) -> dict[str, str]:
    return {"tenant": turn.tenant_id, "platform": turn.platform}
