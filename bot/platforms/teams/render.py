"""Renders our message model as Adaptive Cards 1.5 for Teams, and decodes ``Action.Submit`` data.

One ``Message`` becomes one card: its text as wrapped ``TextBlock``s (Adaptive Card markdown already
knows our ``**bold**``, ``_italic_``, ``- `` lists and ``[label](url)`` links), a form as inputs
whose ids are the field names, buttons as ``Action.Submit`` carrying ``{"action", "value"}`` and links
as ``Action.OpenUrl``. Every card must validate against the official (strict) 1.5.0 schema. This
module is pure data in, data out: it must not call Teams, log, or know any dialog; the few words a
card says itself come from the content files (``bot.platforms.form_words``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.platforms.form_words import form_word
from dialogs.messages import (
    MAX_ACTION_LEN,
    MAX_VALUE_LEN,
    Button,
    Form,
    FormField,
    Message,
    Reply,
)

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"

# Keys of Action.Submit data that are ours, not form inputs ("msteams" is Teams' own).
ACTION_KEY = "action"
VALUE_KEY = "value"
RESERVED_FIELD_NAMES = frozenset({ACTION_KEY, VALUE_KEY, "msteams"})

MAX_FORM_FIELDS = 50
MAX_FORM_VALUE_LEN = 4000
SUMMARY_LEN = 120
EXPANDED_CHOICES_MAX = 5  # more choices than this become a drop-down
MULTILINE_FROM = 150  # text inputs allowing this many characters get several lines

_STYLES = {"primary": "positive", "danger": "destructive"}
#: Teams shows at most this many actions of one action set (card actions or an ActionSet).
MAX_ACTIONS = 6
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}\.)\s+")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])")

# text --------------------------------------------------------------------------------------------


def _neutralize(line: str) -> str:
    """Keep a line literal where Adaptive Cards would read more into it than our markdown-lite.

    ``{{DATE(...)}}`` / ``{{TIME(...)}}`` are card functions; a zero-width space keeps them text.
    """
    return line.replace("{{", "{\u200b{")


def text_blocks(text: str) -> list[dict[str, Any]]:
    """Wrapped TextBlocks for our markdown-lite text.

    Card markdown (a CommonMark subset) reads a single newline as a space; only lists keep their
    line breaks. So each plain line gets its own block, a run of list items shares one block (items separated by ``\\r``
    as the Adaptive Card docs show), and a blank line adds extra space before the next block.
    """
    blocks: list[dict[str, Any]] = []
    items: list[str] = []
    gap = False

    def add(block_text: str) -> None:
        nonlocal gap
        block: dict[str, Any] = {"type": "TextBlock", "text": block_text, "wrap": True}
        if gap and blocks:
            block["spacing"] = "medium"
        blocks.append(block)
        gap = False

    def flush_items() -> None:
        if items:
            add("\r".join(items))
            items.clear()

    for raw in text.strip().splitlines():
        line = _neutralize(raw.rstrip())
        if not line.strip():
            flush_items()
            gap = True
        elif _LIST_ITEM.match(line):
            items.append(line.strip())
        else:
            flush_items()
            add(line.strip())
    flush_items()
    return blocks


def to_plain(text: str) -> str:
    """Text without markdown-lite marks (for notifications and ``fallbackText``)."""
    plain = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(2) else m.group(1), text)
    plain = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", plain)
    return plain.strip()


def summary(message: Message) -> str:
    """A short plain first line: what Teams shows in notifications and the chat list."""
    for line in to_plain(message.text).splitlines():
        line = _LIST_ITEM.sub("", line).strip()
        if line:
            return line if len(line) <= SUMMARY_LEN else line[: SUMMARY_LEN - 1].rstrip() + "…"
    return ""


# form inputs -------------------------------------------------------------------------------------


def _choice(title: str, value: str) -> dict[str, str]:
    return {"title": title, "value": value}


def render_input(field: FormField, lang: str = "nb", given: str = "") -> dict[str, Any]:
    """One Adaptive Card input for a form field; its id is the field name, ``given`` what it is
    shown filled with (a form shown again after a misfit)."""
    if field.name in RESERVED_FIELD_NAMES:
        raise ValueError(f"form field name {field.name!r} is reserved for Action.Submit data")
    element: dict[str, Any]
    if field.kind in ("choice", "scale", "yesno", "multi"):
        if field.kind == "yesno":
            choices = [_choice(form_word(lang, "yes"), "yes"), _choice(form_word(lang, "no"), "no")]
        elif field.kind == "scale" and not field.options:
            low = 1 if field.minimum is None else field.minimum
            high = 5 if field.maximum is None else field.maximum
            choices = [_choice(str(n), str(n)) for n in range(low, high + 1)]
        else:
            choices = [_choice(o.label, o.value) for o in field.options]
        expanded = len(choices) <= EXPANDED_CHOICES_MAX
        element = {
            "type": "Input.ChoiceSet",
            "choices": choices,
            "style": "expanded" if expanded else "compact",
            "wrap": True,
        }
        if not expanded:
            element["placeholder"] = field.placeholder or form_word(lang, "choose")
        if field.kind == "multi":
            # Teams sends the chosen values joined by commas, as our model says.
            element["isMultiSelect"] = True
    elif field.kind == "number":
        element = {"type": "Input.Number"}
        if field.minimum is not None:
            element["min"] = field.minimum
        if field.maximum is not None:
            element["max"] = field.maximum
        if field.placeholder:
            element["placeholder"] = field.placeholder
    else:
        element = {"type": "Input.Text", "maxLength": field.max_length}
        if field.max_length >= MULTILINE_FROM:
            element["isMultiline"] = True
        if field.placeholder:
            element["placeholder"] = field.placeholder
    if given and field.kind == "number":
        if given.lstrip("-").isdigit():
            element["value"] = int(given)
    elif given:
        element["value"] = given  # ChoiceSet: the chosen values joined by commas, as submitted
    element["id"] = field.name
    element["label"] = field.label
    element["isRequired"] = field.required
    if field.required:
        element["errorMessage"] = form_word(lang, "required")
    return element


def _form_elements(form: Form, lang: str) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    if form.title:
        elements.append(
            {
                "type": "TextBlock",
                "text": _neutralize(form.title),
                "wrap": True,
                "weight": "bolder",
                "spacing": "medium",
            }
        )
    names = [f.name for f in form.fields]
    if len(set(names)) != len(names):
        raise ValueError(f"form {form.action!r} has two fields with the same name")
    given = dict(form.values)
    elements.extend(render_input(f, lang, given.get(f.name, "")) for f in form.fields)
    return elements


# actions -----------------------------------------------------------------------------------------


def submit_data(action: str, value: str = "") -> dict[str, str]:
    """What a button sends back in ``activity.value``."""
    return {ACTION_KEY: action, VALUE_KEY: value}


def render_button(button: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "Action.Submit",
        "title": button.label,
        "data": submit_data(button.action, button.value),
        # A button next to a form must neither send nor validate the form's inputs.
        "associatedInputs": "none",
    }
    style = _STYLES.get(button.style)
    if style:
        element["style"] = style
    return element


def _actions(message: Message) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = []
    if message.form is not None:
        actions.append(
            {
                "type": "Action.Submit",
                "title": message.form.submit_label,
                "data": submit_data(message.form.action, message.form.value)
                if message.form.value
                else {ACTION_KEY: message.form.action},
                "style": "positive",
            }
        )
    actions.extend(render_button(b) for b in message.buttons)
    actions.extend(
        {"type": "Action.OpenUrl", "title": link.label, "url": link.url} for link in message.links
    )
    return actions


# cards -------------------------------------------------------------------------------------------


def render_card(message: Message, lang: str = "nb") -> dict[str, Any]:
    """The Adaptive Card (1.5) for one message."""
    body = text_blocks(message.text)
    image = message.image
    if image is not None and image.url.startswith(("https://", "http://")):
        # By address only: a card's payload is limited to about 28 KB, a chart is larger. Teams
        # fetches the picture from our server (an unguessable, signed address).
        body.append({"type": "Image", "url": image.url, "altText": image.alt, "size": "Stretch"})
    if message.form is not None:
        body.extend(_form_elements(message.form, lang))
    if message.footer.strip():
        body.append(
            {
                "type": "TextBlock",
                "text": _neutralize(message.footer.strip()),
                "wrap": True,
                "isSubtle": True,
                "size": "small",
                "spacing": "medium",
            }
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
    }
    actions = _actions(message)
    if len(actions) > MAX_ACTIONS:
        # Teams drops every action past the sixth of an action set, so a long row becomes several
        # sets of at most six at the end of the body; none is lost.
        body.extend(
            {"type": "ActionSet", "actions": actions[start : start + MAX_ACTIONS]}
            for start in range(0, len(actions), MAX_ACTIONS)
        )
    elif actions:
        card["actions"] = actions
    fallback = to_plain(message.text)
    if fallback:
        card["fallbackText"] = fallback
    return card


def card_attachment(card: Mapping[str, Any]) -> dict[str, Any]:
    """A Bot Framework attachment carrying an Adaptive Card."""
    return {"contentType": CARD_CONTENT_TYPE, "content": dict(card)}


def render_reply(reply: Reply) -> list[dict[str, Any]]:
    """One card per message of the reply, in order."""
    return [render_card(m, reply.lang) for m in reply.messages]


# decoding Action.Submit ----------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def turn_from_activity_value(value: Any) -> tuple[str, str, dict[str, str]]:
    """``(action, value, form_values)`` from an ``Action.Submit`` activity's ``value``.

    Buttons send ``{"action", "value"}``; a form's submit sends ``{"action"}`` and Teams merges the
    inputs into the same object, keyed by field name. Anything else in there (wrong types, nested
    objects, Teams' own ``msteams``) is dropped; lengths are capped. ``action`` is ``""`` when the
    value carries none (not a card of ours).
    """
    if not isinstance(value, Mapping):
        return "", "", {}
    action = _scalar(value.get(ACTION_KEY)) or ""
    button_value = _scalar(value.get(VALUE_KEY)) or ""
    form_values: dict[str, str] = {}
    for key, raw in _items(value):
        if key in RESERVED_FIELD_NAMES or len(form_values) >= MAX_FORM_FIELDS:
            continue
        text = _scalar(raw)
        if text is not None and len(key) <= MAX_ACTION_LEN:
            form_values[key] = text[:MAX_FORM_VALUE_LEN]
    return action[:MAX_ACTION_LEN], button_value[:MAX_VALUE_LEN], form_values


def _items(value: Mapping[Any, Any]) -> Iterable[tuple[str, Any]]:
    return ((k, v) for k, v in value.items() if isinstance(k, str))
