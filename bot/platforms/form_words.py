"""The few words a rendered form says itself, whatever the dialog wrote: the drop-down's placeholder,
the yes/no choices and the note under a required field, in the user's language.

They live in ``dialogs/content/<lang>/forms.yaml`` like every other user-facing word; the Slack and
Teams renderers read them here. The content is loaded once per process, on first use, so the
renderers stay plain functions of a message and a language.
"""

from __future__ import annotations

from functools import cache

from dialogs.content import Content


@cache
def _content() -> Content:
    return Content.load()


def form_word(lang: str, key: str) -> str:
    """``forms.<key>`` in ``lang`` (bokmål for a language the content does not have)."""
    return _content().text(lang, f"forms.{key}")


def form_phrases(lang: str, key: str) -> list[str]:
    """The list ``forms.<key>`` in ``lang`` (e.g. the words that cancel a form in the terminal)."""
    return _content().words(lang, f"forms.{key}")


def form_text(lang: str, key: str, **values: str) -> str:
    """``forms.<key>`` with its ``{placeholders}`` filled."""
    return _content().text(lang, f"forms.{key}", **values)
