"""Builds the router with every feature dialog registered and the content checked."""

from __future__ import annotations

from pathlib import Path

from dialogs import contacts as contacts_dialog
from dialogs import feedback as feedback_dialog
from dialogs import help as help_dialog
from dialogs.arshjul import chat as arshjul_chat
from dialogs.content import Content
from dialogs.faq import dialog as faq
from dialogs.guide import dialog as guide_dialog
from dialogs.router import Router
from storage.repositories import Store


def build_router(
    store: Store,
    content: Content | None = None,
    default_lang: str = "nb",
    kommune_dir: Path | None = None,
) -> Router:
    """A ready router; raises ContentError when content and handlers do not fit together."""
    router = Router(store, content or Content.load(), default_lang)
    help_dialog.register(router)
    guide_dialog.register(router, kommune_dir=kommune_dir)
    faq.register(router)  # after help: it takes over free text that is no command
    arshjul_chat.register(router)  # after the FAQ: it wraps the FAQ's PII guard for its form
    contacts_dialog.register(router)
    feedback_dialog.register(
        router, {"topic": faq.feedback_source, "level": guide_dialog.level_feedback_source}
    )
    router.check()
    return router
