"""Builds the router with every feature dialog registered and the content checked."""

from __future__ import annotations

from dialogs import help as help_dialog
from dialogs.content import Content
from dialogs.router import Router
from storage.repositories import Store


def build_router(store: Store, content: Content | None = None, default_lang: str = "nb") -> Router:
    """A ready router; raises ContentError when content and handlers do not fit together."""
    router = Router(store, content or Content.load(), default_lang)
    help_dialog.register(router)
    router.check()
    return router
