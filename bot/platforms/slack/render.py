"""Renders the core's ``Reply``/``Message`` as Slack Block Kit, and reads Slack's answers back.

Blocks are built with ``slack_sdk.models.blocks`` so slack_sdk's own validation checks every limit when
``to_dict()`` runs; this module converts our markdown-lite to Slack mrkdwn (escaping ``&``, ``<`` and
``>`` so content can never ping ``@channel`` or forge a link), encodes action ids so they are unique
within a message, and turns a form's ``state.values`` back into ``{field name: value}``. It is pure:
no network, no runtime, no bolt; the few words a form says itself come from the content files
(``bot.platforms.form_words``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ImageBlock,
    InputBlock,
    InputInteractiveElement,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)

from bot.platforms.form_words import form_word
from dialogs.messages import Button, Form, FormField, Message, Reply

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
BUTTON_TEXT_LIMIT = 75
ACTIONS_PER_BLOCK = 25
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
RADIO_LIMIT = 10
CHECKBOX_LIMIT = 10
SELECT_LIMIT = 100
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
TEXT_INPUT_LIMIT = 3000
FALLBACK_LIMIT = 3000
SUBMIT_SUFFIX = "submit"
FIELD_PREFIX = "field:"

_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LIST_ITEM = re.compile(r"^(\s*)- ", re.MULTILINE)
_TOKEN = re.compile(r"\x00(\d+)\x00")


@dataclass(frozen=True)
class SlackUpload:
    """A picture to share as a Slack file (the external upload API), not as a block."""

    png: bytes
    title: str
    alt: str
    #: Where we serve the same picture; what a reply that cannot upload shows instead.
    url: str = ""


@dataclass(frozen=True)
class SlackMessage:
    """One message ready for chat.postMessage / chat.update / response_url, or (with ``upload``)
    a file shared into the channel as its own part."""

    blocks: list[dict[str, Any]]
    text: str
    upload: SlackUpload | None = None


# text --------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape Slack's three control characters (``&`` first, so entities are not doubled)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of incoming message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(text: str) -> str:
    """Our markdown-lite (``**bold**``, ``_italic_``, ``- `` lists, ``[label](url)``) as Slack mrkdwn."""
    links: list[str] = []

    def _stash(match: re.Match[str]) -> str:
        label = escape(match.group(1).replace("|", "/"))
        links.append(f"<{escape(match.group(2))}|{label}>")
        return f"\x00{len(links) - 1}\x00"

    out = _LINK.sub(_stash, text.replace("\x00", ""))
    out = escape(out)
    out = _BOLD.sub(r"*\1*", out)
    out = _LIST_ITEM.sub(r"\1• ", out)
    return _TOKEN.sub(lambda m: links[int(m.group(1))], out)


def to_plain(text: str) -> str:
    """Our markdown-lite as plain notification text: markers dropped, links as ``label (url)``."""
    out = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    out = _BOLD.sub(r"\1", out)
    out = _LIST_ITEM.sub(r"\1• ", out)
    return escape(out)


def split_mrkdwn(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Cut mrkdwn into pieces of at most ``limit`` characters, at paragraph, line or word ends.

    A hard cut never lands inside a ``<url|label>`` link or an ``&amp;`` entity.
    """
    pieces: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        window = rest[:limit]
        cuts = [window.rfind(sep) for sep in ("\n\n", "\n", " ")]
        # Prefer the biggest unit that still leaves a reasonably full piece.
        cut = next((c for c in cuts if c > limit // 2), max(cuts))
        if cut <= 0:
            cut = _safe_hard_cut(window)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return pieces


def _safe_hard_cut(window: str) -> int:
    cut = len(window)
    opening = window.rfind("<")
    if opening > 0 and window.rfind(">") < opening:
        cut = opening
    amp = window.rfind("&", 0, cut)
    if amp > 0 and ";" not in window[amp:cut]:
        cut = amp
    return cut


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# action ids --------------------------------------------------------------------------------------


def encode_action_id(action: str, index: int | str) -> str:
    """A Slack ``action_id`` unique within a message: ``help:menu#0``, ``survey:send#submit``."""
    return f"{action}#{index}"


def decode_action_id(action_id: str) -> tuple[str, bool]:
    """Our dialog action and whether it was a form's submit button."""
    action, sep, suffix = action_id.rpartition("#")
    if not sep or not (suffix.isdigit() or suffix == SUBMIT_SUFFIX):
        return action_id, False
    return action, suffix == SUBMIT_SUFFIX


# blocks ------------------------------------------------------------------------------------------


def _button(button: Button, index: int) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=_shorten(button.label, BUTTON_TEXT_LIMIT), emoji=True),
        action_id=encode_action_id(button.action, index),
        value=button.value or None,
        style=button.style if button.style in ("primary", "danger") else None,
    )


def _option(label: str, value: str) -> Option:
    return Option(
        text=PlainTextObject(text=_shorten(label, OPTION_TEXT_LIMIT)),
        value=value[:OPTION_VALUE_LIMIT],
    )


def _field_options(field: FormField, lang: str) -> list[Option]:
    if field.options:
        return [_option(o.label, o.value) for o in field.options]
    if field.kind == "yesno":
        return [_option(form_word(lang, value), value) for value in ("yes", "no")]
    if field.kind == "scale":
        low = 1 if field.minimum is None else field.minimum
        high = 5 if field.maximum is None else field.maximum
        return [_option(str(n), str(n)) for n in range(low, high + 1)]
    return []


def _placeholder(field: FormField) -> PlainTextObject | None:
    if not field.placeholder:
        return None
    return PlainTextObject(text=_shorten(field.placeholder, PLACEHOLDER_LIMIT))


def _chosen(options: list[Option], given: str) -> Option | None:
    """The option that shows ``given`` as chosen (a form shown again with what was given)."""
    return next((o for o in options if given and o.value == given), None)


def _chosen_several(options: list[Option], given: str) -> list[Option] | None:
    wanted = set(given.split(",")) if given else set()
    return [o for o in options if o.value in wanted] or None


def _field_element(field: FormField, lang: str, given: str = "") -> InputInteractiveElement:
    action_id = FIELD_PREFIX + field.name
    if field.kind in ("scale", "yesno", "choice"):
        options = _field_options(field, lang)
        if field.kind != "choice" and len(options) <= RADIO_LIMIT:
            return RadioButtonsElement(
                action_id=action_id, options=options, initial_option=_chosen(options, given)
            )
        return StaticSelectElement(
            action_id=action_id,
            options=options[:SELECT_LIMIT],
            placeholder=_placeholder(field) or PlainTextObject(text=form_word(lang, "choose")),
            initial_option=_chosen(options[:SELECT_LIMIT], given),
        )
    if field.kind == "multi":
        options = _field_options(field, lang)
        if len(options) <= CHECKBOX_LIMIT:
            return CheckboxesElement(
                action_id=action_id,
                options=options,
                initial_options=_chosen_several(options, given),
            )
        return StaticMultiSelectElement(
            action_id=action_id,
            options=options[:SELECT_LIMIT],
            placeholder=_placeholder(field) or PlainTextObject(text=form_word(lang, "choose")),
            initial_options=_chosen_several(options[:SELECT_LIMIT], given),
        )
    if field.kind == "number":
        number = given.strip()
        fits = number.lstrip("-").isdigit() and (
            (field.minimum is None or int(number) >= field.minimum)
            and (field.maximum is None or int(number) <= field.maximum)
        )
        return NumberInputElement(
            action_id=action_id,
            is_decimal_allowed=False,
            min_value=field.minimum,
            max_value=field.maximum,
            placeholder=_placeholder(field),
            initial_value=number if fits else None,
        )
    max_length = max(1, min(field.max_length, TEXT_INPUT_LIMIT))
    return PlainTextInputElement(
        action_id=action_id,
        max_length=max_length,
        multiline=max_length > 150,
        placeholder=_placeholder(field),
        initial_value=given[:max_length] or None,
    )


def _form_blocks(form: Form, lang: str) -> Iterator[Block]:
    if form.title:
        yield SectionBlock(text=MarkdownTextObject(text=f"*{escape(form.title)}*"))
    given = dict(form.values)
    for field in form.fields:
        yield InputBlock(
            block_id=FIELD_PREFIX + field.name,
            label=PlainTextObject(text=_shorten(field.label, LABEL_LIMIT)),
            element=_field_element(field, lang, given.get(field.name, "")),
            optional=not field.required,
        )


def _submit(form: Form) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=_shorten(form.submit_label, BUTTON_TEXT_LIMIT)),
        action_id=encode_action_id(form.action, SUBMIT_SUFFIX),
        value=form.value or SUBMIT_SUFFIX,
        style="primary",
    )


def message_blocks(message: Message, lang: str = "nb") -> list[Block]:
    """The Block Kit blocks of one message (model objects, not yet validated)."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=piece))
        for piece in split_mrkdwn(to_mrkdwn(message.text))
    ]
    if message.links:
        line = "  ·  ".join(to_mrkdwn(f"[{link.label}]({link.url})") for link in message.links)
        blocks.extend(
            SectionBlock(text=MarkdownTextObject(text=piece)) for piece in split_mrkdwn(line)
        )
    buttons: list[ButtonElement] = []
    if message.form is not None:
        blocks.extend(_form_blocks(message.form, lang))
        # The submit opens the first actions block, the message's buttons (the acute exit
        # first) follow in the same row: no separate block puts them further down.
        buttons.append(_submit(message.form))
    buttons += [_button(b, i) for i, b in enumerate(message.buttons)]
    for start in range(0, len(buttons), ACTIONS_PER_BLOCK):
        blocks.append(ActionsBlock(elements=buttons[start : start + ACTIONS_PER_BLOCK]))
    if message.footer:
        footer = _shorten(to_mrkdwn(message.footer), SECTION_LIMIT)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return blocks


def fallback_text(message: Message) -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    text = to_plain(message.text).strip() or to_plain(message.form.title if message.form else "")
    return _shorten(text or "BTS-bot", FALLBACK_LIMIT)


def render_message(message: Message, lang: str = "nb") -> SlackMessage:
    """One message as validated Block Kit dicts plus its fallback text; a form's own words
    (placeholder, yes/no) in ``lang``."""
    return SlackMessage(
        blocks=[block.to_dict() for block in message_blocks(message, lang)],
        text=fallback_text(message),
    )


def _within_block_limit(message: SlackMessage) -> list[SlackMessage]:
    """Slack refuses a message of more than 50 blocks: a longer one goes as several, in order
    (its buttons stay at the end of the last)."""
    if len(message.blocks) <= MESSAGE_BLOCK_LIMIT:
        return [message]
    return [
        SlackMessage(blocks=message.blocks[start : start + MESSAGE_BLOCK_LIMIT], text=message.text)
        for start in range(0, len(message.blocks), MESSAGE_BLOCK_LIMIT)
    ]


def render_reply(reply: Reply) -> list[SlackMessage]:
    """Every message of a reply, in order; a message's picture follows it as a file part."""
    rendered: list[SlackMessage] = []
    for message in reply.messages:
        rendered.extend(_within_block_limit(render_message(message, reply.lang)))
        image = message.image
        if image is not None and image.png:
            title = _shorten(to_plain(message.text).split("\n", 1)[0], 250) or image.alt
            upload = SlackUpload(png=image.png, title=title, alt=image.alt, url=image.url)
            rendered.append(SlackMessage(blocks=[], text=image.alt, upload=upload))
    return rendered


def image_block(upload: SlackUpload) -> dict[str, Any] | None:
    """The picture as an image block by address, for answers that cannot upload files (an
    ``https`` address only: Slack fetches it itself); None without one."""
    if not upload.url.startswith("https://"):
        return None
    return ImageBlock(image_url=upload.url, alt_text=_shorten(upload.alt, 2000)).to_dict()


# reading answers back ----------------------------------------------------------------------------


def _input_value(element: Mapping[str, Any]) -> str:
    several = element.get("selected_options")
    if isinstance(several, list):  # checkboxes and multi-selects
        return ",".join(
            str(o.get("value") or "") for o in several if isinstance(o, Mapping) and o.get("value")
        )
    selected = element.get("selected_option")
    if isinstance(selected, Mapping):
        return str(selected.get("value") or "")
    value = element.get("value")
    return "" if value is None else str(value)


def form_values(state_values: Mapping[str, Any]) -> dict[str, str]:
    """``{field name: value}`` from a block_actions payload's ``state.values`` (our inputs only)."""
    values: dict[str, str] = {}
    for block_id, elements in state_values.items():
        if not block_id.startswith(FIELD_PREFIX) or not isinstance(elements, Mapping):
            continue
        name = block_id[len(FIELD_PREFIX) :]
        element = elements.get(FIELD_PREFIX + name)
        if isinstance(element, Mapping):
            values[name] = _input_value(element)
    return values
