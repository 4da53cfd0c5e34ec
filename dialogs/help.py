"""Welcome, help menu, "what is BTI/BTS", language choice and "not understood".

The menu only lists what the bot can really do; every text comes from ``content/<lang>/help.yaml``.
"Tilbake" walks back through the help screens this user saw, using the stored conversation state, so
it works after a restart and on another server process. Typed inside the guide it goes back one guide
step instead (the guide's own back); anywhere else, or with no earlier help screen, it shows the menu.

A client that comes back to a conversation (the web chat after a reload) sends ``help:returning``:
when the stored position is a screen past the start, the answer offers "Fortsett der du var"
(``help:resume``, which shows that screen again) and "Start på nytt" (``help:restart``).
"""

from __future__ import annotations

from functools import partial

from dialogs.content import LANGUAGES
from dialogs.guide import dialog as guide_dialog
from dialogs.guide.dialog import GuideDialog
from dialogs.guide.model import START
from dialogs.messages import Reply
from dialogs.router import Router, TurnContext
from storage.users import set_user_language

DIALOG = "help"
HISTORY_LIMIT = 10


_TOPICS = {"welcome": "hjelp", "menu": "hjelp", "about": "om-bts"}
#: Positions that are the start of their dialog: nothing to come back to.
_STARTS = {DIALOG: frozenset({"", "welcome", "menu"}), guide_dialog.DIALOG: frozenset({"", START})}
A_RETURNING = "help:returning"
A_RESUME = "help:resume"
A_RESTART = "help:restart"


def _history(ctx: TurnContext) -> list[str]:
    """The help screens this user saw, oldest first.

    Other dialogs (the guide) keep their own ``history`` in the same state; it names their nodes,
    not help screens, so it must never be read as ours.
    """
    if ctx.state.dialog != DIALOG:
        return []
    return [s for s in ctx.state.data.get("history", []) if s in _TOPICS]


def _show(ctx: TurnContext, screen: str, topic: str) -> Reply:
    """Show one help screen and remember it as the user's position."""
    history = _history(ctx)
    if not history or history[-1] != screen:
        history.append(screen)
    ctx.state.dialog, ctx.state.step = DIALOG, screen
    ctx.state.data = {"history": history[-HISTORY_LIMIT:]}
    return ctx.reply(ctx.message(f"help.{screen}", topic=topic))


async def welcome(ctx: TurnContext) -> Reply:
    return _show(ctx, "welcome", "hjelp")


async def menu(ctx: TurnContext) -> Reply:
    return _show(ctx, "menu", "hjelp")


async def greeting(ctx: TurnContext) -> Reply:
    """«hei»: the welcome says hello back on first contact (the router shows it once), later the
    menu."""
    if ctx.first_contact:
        return _show(ctx, "welcome", "hjelp")
    return _show(ctx, "menu", "hjelp")


async def about(ctx: TurnContext) -> Reply:
    return _show(ctx, "about", "om-bts")


async def back(ctx: TurnContext, guide: GuideDialog) -> Reply:
    """Return to the screen before the current one: a guide step inside the guide, else the help
    screen before this one (or the menu when there is none)."""
    if ctx.state.dialog == guide_dialog.DIALOG:
        return await guide.back(ctx)
    history = _history(ctx)
    if history:
        history.pop()
    previous = history.pop() if history else "menu"
    ctx.state.dialog, ctx.state.data = DIALOG, {"history": history}
    return _show(ctx, previous, _TOPICS[previous])


def _resumable(ctx: TurnContext) -> bool:
    """True when the stored position is a screen of the help or guide past their start."""
    starts = _STARTS.get(ctx.state.dialog)
    return starts is not None and ctx.state.step not in starts


async def returning(ctx: TurnContext) -> Reply:
    """Someone back in a conversation: offer to continue where they were, else a short greeting.

    Changes nothing, so the position stays until they choose."""
    key = "help.returning_resume" if _resumable(ctx) else "help.returning"
    return ctx.reply(ctx.message(key, topic="hjelp"), replace=False)


async def resume(ctx: TurnContext, guide: GuideDialog) -> Reply:
    """The screen of the stored position again (the menu when there is none any more)."""
    if not _resumable(ctx):
        return _show(ctx, "menu", "hjelp")
    if ctx.state.dialog == guide_dialog.DIALOG:
        return await guide.resume(ctx)
    screen = ctx.state.step if ctx.state.step in _TOPICS else "menu"
    return _show(ctx, screen, _TOPICS[screen])


async def restart(ctx: TurnContext) -> Reply:
    """Forget the position (and the guide's place to resume) and greet as at the first visit."""
    ctx.state.dialog, ctx.state.step, ctx.state.data = "", "", {}
    return _show(ctx, "welcome", "hjelp")


async def set_language(ctx: TurnContext) -> Reply:
    lang = ctx.turn.value if ctx.turn.value in LANGUAGES else ctx.lang
    await set_user_language(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id, lang)
    ctx.lang = lang
    reply = _show(ctx, "menu", "hjelp")
    confirmation = ctx.message("help.language_set", topic="hjelp")
    return ctx.reply(confirmation, *reply.messages, topic="hjelp")


async def unknown_text(ctx: TurnContext) -> Reply:
    return ctx.reply(ctx.message("help.unknown", topic="ukjent"))


async def unknown_action(ctx: TurnContext) -> Reply:
    notice = ctx.message("help.stale_button", topic="ukjent")
    menu_reply = _show(ctx, "menu", "hjelp")
    return ctx.reply(notice, *menu_reply.messages, replace=False, topic="ukjent")


def register(router: Router, guide: GuideDialog) -> None:
    """Add the help screens; "akutt" opens the guide's acute path, which carries the kommune's
    own numbers. The welcome and the two "not understood" answers are the router's hooks."""
    go_back = partial(back, guide=guide)
    router.add_action("help:menu", menu)
    router.add_action("help:about", about)
    router.add_action("help:acute", guide.acute)
    router.add_action("help:back", go_back)
    router.add_action("lang:set", set_language)
    router.add_action(A_RETURNING, returning)
    router.add_action(A_RESUME, partial(resume, guide=guide))
    router.add_action(A_RESTART, restart)
    router.add_commands("help.commands", menu)
    router.add_commands("help.greeting_commands", greeting)
    router.add_commands("help.about_commands", about)
    router.add_commands("help.acute_commands", guide.acute)
    router.add_commands("help.back_commands", go_back)
