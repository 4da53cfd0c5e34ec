"""Terminal chat: ``bts-bot chat`` (interactive) and ``bts-bot ask`` (one turn, optional JSON).

Buttons are shown numbered; typing the number presses the button. Forms are asked field by field.
The terminal user is one local user in the local tenant, so the conversation continues across runs.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from typing import TextIO

from bot.platforms.form_words import form_phrases, form_text, form_word
from bot.runtime import LOCAL_TENANT, Runtime
from dialogs.messages import Button, Form, FormField, Message, Reply, Turn

TERMINAL_USER = "terminal-user"
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s)]+)\)")
#: ``**bold**``/``__bold__`` or ``_italic_``/``*italic*`` (not inside a word such as snake_case).
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,3}\.)\s+")
#: The width used when the output is no terminal and ``COLUMNS`` is not set.
DEFAULT_WIDTH = 100
_ANSI = {"bold": ("\x1b[1m", "\x1b[22m"), "italic": ("\x1b[3m", "\x1b[23m")}


@dataclass(frozen=True)
class Style:
    """How the output looks: the wrap width, and whether ANSI bold/italic may be used (a tty)."""

    width: int = DEFAULT_WIDTH
    ansi: bool = False


def style_for(out: TextIO) -> Style:
    """The terminal's width (``COLUMNS`` or the tty's size) and ANSI styles only on a tty."""
    tty = bool(getattr(out, "isatty", lambda: False)())
    width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    # Never narrower than a button label needs to be readable.
    return Style(width=max(width, 40), ansi=tty)


def _inline(text: str, style: Style) -> str:
    """Emphasis without its markers (ANSI on a tty), links as ``label (url)``."""

    def emphasis(match: re.Match[str]) -> str:
        bold = match.group(2) is not None
        inner = match.group(2) if bold else match.group(3)
        if not style.ansi:
            return inner
        on, off = _ANSI["bold" if bold else "italic"]
        return f"{on}{inner}{off}"

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2).removeprefix("mailto:")
        return label if label == url else f"{label} ({url})"

    return _EMPHASIS.sub(emphasis, _LINK.sub(link, text))


def _visible_len(text: str) -> int:
    return len(re.sub(r"\x1b\[\d+m", "", text))


def _wrap(text: str, width: int, indent: str = "", hanging: str = "") -> list[str]:
    """Greedy word wrap that counts only visible characters (ANSI codes take no room)."""
    lines: list[str] = []
    line, length, empty = indent, len(indent), True
    for word in text.split():
        size = _visible_len(word)
        if empty:
            line, length, empty = line + word, length + size, False
        elif length + 1 + size > width:
            lines.append(line)
            line, length = hanging + word, len(hanging) + size
        else:
            line, length = f"{line} {word}", length + 1 + size
    lines.append(line)
    return lines


def render_text(text: str, style: Style | None = None) -> str:
    """Our markdown-lite as terminal text, wrapped at word boundaries to the terminal's width;
    a list item's continuation lines are indented under its text."""
    style = style or Style()
    out: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            out.append("")
            continue
        item = _LIST_ITEM.match(raw)
        if item:
            lead = f"{item.group(1)}{item.group(2)} "
            body = _inline(raw[item.end() :], style)
            out += _wrap(body, style.width, lead, " " * len(lead))
        else:
            out += _wrap(_inline(raw.strip(), style), style.width)
    return "\n".join(out).strip("\n")


def _button_rows(buttons: list[Button], width: int) -> list[str]:
    """Numbered buttons side by side, as many as fit in a line; a button is never split."""
    rows: list[str] = []
    row = ""
    for number, button in enumerate(buttons, 1):
        cell = f"[{number}] {button.label}"
        if row and len(row) + 2 + len(cell) > width:
            rows.append(row)
            row = ""
        row = f"{row}  {cell}" if row else f"  {cell}"
    if row:
        rows.append(row)
    return rows


def render_reply(reply: Reply, style: Style | None = None) -> tuple[str, list[Button]]:
    """Terminal text of a reply and the buttons a number presses.

    Only the buttons of the reply's last message with buttons are shown and numbered: on first
    contact the welcome comes before the answer, and one numbering across both would make «2»
    press the welcome's button instead of the answer's.
    """
    style = style or Style()
    pressable = next((m for m in reversed(reply.messages) if m.buttons), None)
    parts: list[str] = []
    buttons: list[Button] = []
    for message in reply.messages:
        if parts:
            parts.append("")
        parts.append(render_text(message.text, style))
        if message.image is not None and message.image.url:
            parts.append(f"  → {message.image.alt}: {message.image.url}")
        for link in message.links:
            parts.append(f"  → {link.label}: {link.url}")
        if message is pressable:
            buttons = list(message.buttons)
            parts += _button_rows(buttons, style.width)
        if message.footer:
            parts.append(render_text(message.footer, style))
    return "\n".join(parts), buttons


def _turn(text: str | None = None, button: Button | None = None) -> Turn:
    if button is not None:
        return Turn(
            "terminal",
            LOCAL_TENANT,
            TERMINAL_USER,
            "terminal",
            action=button.action,
            value=button.value,
        )
    return Turn("terminal", LOCAL_TENANT, TERMINAL_USER, "terminal", text=text)


async def ask(runtime: Runtime, text: str, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Answer one question and print it."""
    reply = await runtime.router.handle(_turn(text))
    if as_json:
        answer = render_text(reply.plain_text(), Style(width=sys.maxsize))  # JSON: unwrapped
        payload = {
            "topic": reply.topic,
            "confidence": reply.confidence if reply.confidence is not None else 1.0,
            "answer": answer,
            "lang": reply.lang,
            "buttons": [
                {"label": b.label, "action": b.action, "value": b.value}
                for m in reply.messages
                for b in m.buttons
            ],
        }
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        text = render_reply(reply, style_for(out))[0]
        forms = [m.form for m in reply.messages if m.form is not None]
        for form in forms:  # one turn cannot fill a form in: say that there is one
            text += "\n" + form_text(
                reply.lang, "terminal.start", title=form.title or form.submit_label
            )
        out.write(text + "\n")
    return 0


def _message_answer(messages: tuple[Message, ...]) -> str:
    return "\n\n".join(m.text for m in messages)


def _choices(field: FormField, lang: str) -> list[tuple[str, str]]:
    if field.options:
        return [(o.label, o.value) for o in field.options]
    if field.kind == "yesno":
        return [(form_word(lang, "yes"), "yes"), (form_word(lang, "no"), "no")]
    if field.kind == "scale":
        low = 1 if field.minimum is None else field.minimum
        high = 5 if field.maximum is None else field.maximum
        return [(str(n), str(n)) for n in range(low, high + 1)]
    return []


def _field_value(field: FormField, choices: list[tuple[str, str]], line: str) -> str | None:
    """What the typed line means for ``field``, or None when it does not fit."""
    if not line:
        return None if field.required else ""
    if choices:
        picked = [p.strip() for p in line.split(",")] if field.kind == "multi" else [line]
        if not all(p.isdigit() and 1 <= int(p) <= len(choices) for p in picked):
            return None
        return ",".join(dict.fromkeys(choices[int(p) - 1][1] for p in picked))
    if field.kind == "number":
        if not re.fullmatch(r"[+-]?\d{1,9}", line):
            return None
        number = int(line)
        low, high = field.minimum, field.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            return None
        return str(number)
    return line if len(line) <= field.max_length else None


def _fill(form: Form, lang: str, inp: TextIO, out: TextIO) -> dict[str, str] | None:
    """Ask the form field by field; None when the user cancels (or the input ends)."""
    cancel = {w.lower() for w in form_phrases(lang, "terminal.cancel_words")}
    out.write(form_text(lang, "terminal.start", title=form.title or form.submit_label) + "\n")
    values: dict[str, str] = {}
    for field in form.fields:
        choices = _choices(field, lang)
        while True:
            optional = "" if field.required else " " + form_word(lang, "terminal.optional")
            out.write(f"\n{field.label}{optional}\n")
            for number, (label, _) in enumerate(choices, 1):
                out.write(f"  [{number}] {label}\n")
            if choices:
                key = "terminal.pick_many" if field.kind == "multi" else "terminal.pick_one"
                out.write(form_text(lang, key, n=str(len(choices))) + "\n")
            out.flush()
            line = inp.readline()
            if not line or line.strip().lower() in cancel:
                out.write(form_word(lang, "terminal.cancelled") + "\n")
                return None
            value = _field_value(field, choices, line.strip())
            if value is not None:
                values[field.name] = value
                break
            out.write(form_word(lang, "terminal.again") + "\n")
    return values


#: A form answered wrong is shown again; after this many rounds the chat goes back to text.
FORM_ROUNDS = 5


async def chat(runtime: Runtime, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Interactive chat until EOF or a quit word ('avslutt')."""
    interactive = inp.isatty()
    style = style_for(out)
    lang = runtime.router.default_lang
    out.write(render_text(form_word(lang, "terminal.banner"), style) + "\n")
    buttons: list[Button] = []
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = inp.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line.lower() in {w.lower() for w in form_phrases(lang, "terminal.quit_words")}:
            break
        if line.isdigit() and buttons:
            if not 1 <= int(line) <= len(buttons):
                # A number is a button press when buttons are shown: say which numbers there are
                # rather than send it as a question nobody meant to ask.
                again = form_text(lang, "terminal.out_of_range", n=str(len(buttons)))
                out.write(render_text(again, style) + "\n\n")
                continue
            turn = _turn(button=buttons[int(line) - 1])
        else:
            turn = _turn(text=line)
        reply = await runtime.router.handle(turn)
        for _ in range(FORM_ROUNDS):
            lang = reply.lang
            rendered, buttons = render_reply(reply, style)
            out.write(rendered + "\n\n")
            out.flush()
            form = next((m.form for m in reversed(reply.messages) if m.form is not None), None)
            if form is None:
                break
            values = _fill(form, reply.lang, inp, out)
            if values is None:
                break
            reply = await runtime.router.handle(
                Turn(
                    "terminal",
                    LOCAL_TENANT,
                    TERMINAL_USER,
                    "terminal",
                    action=form.action,
                    value=form.value,
                    form_values=values,
                )
            )
    return 0
