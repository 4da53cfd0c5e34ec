"""Terminal chat: ``bts-bot chat`` (interactive) and ``bts-bot ask`` (one turn, optional JSON).

Buttons are shown numbered; typing the number presses the button. Forms are asked field by field.
The terminal user is one local user in the local tenant, so the conversation continues across runs.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TextIO

from bot.platforms.form_words import form_phrases, form_text, form_word
from bot.runtime import LOCAL_TENANT, Runtime
from dialogs.messages import Button, Form, FormField, Message, Reply, Turn

TERMINAL_USER = "terminal-user"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def render_text(text: str) -> str:
    """Markdown-lite to plain terminal text."""
    text = _BOLD.sub(r"\1", text)
    return _LINK.sub(r"\1 (\2)", text)


def render_reply(reply: Reply) -> tuple[str, list[Button]]:
    """Plain text of a reply and its buttons in the numbered order shown."""
    parts: list[str] = []
    buttons: list[Button] = []
    for message in reply.messages:
        parts.append(render_text(message.text))
        if message.image is not None and message.image.url:
            parts.append(f"  → {message.image.alt}: {message.image.url}")
        for link in message.links:
            parts.append(f"  → {link.label}: {link.url}")
        for button in message.buttons:
            buttons.append(button)
            parts.append(f"  [{len(buttons)}] {button.label}")
        if message.footer:
            parts.append(render_text(message.footer))
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
        answer = render_text(reply.plain_text())
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
        text = render_reply(reply)[0]
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
    """Interactive chat until EOF or 'avslutt'/'quit'."""
    interactive = inp.isatty()
    out.write(
        "BTS-bot i terminalen. Skriv 'hjelp', et tall for å trykke på en knapp, eller 'avslutt'.\n"
    )
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
        if line.lower() in ("avslutt", "quit", "exit", "q"):
            break
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            turn = _turn(button=buttons[int(line) - 1])
        else:
            turn = _turn(text=line)
        reply = await runtime.router.handle(turn)
        for _ in range(FORM_ROUNDS):
            rendered, buttons = render_reply(reply)
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
