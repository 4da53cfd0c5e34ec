"""Terminal chat: ``bts-bot chat`` (interactive) and ``bts-bot ask`` (one turn, optional JSON).

Buttons are shown numbered; typing the number presses the button. Forms are asked field by field.
The terminal user is one local user in the local tenant, so the conversation continues across runs.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TextIO

from bot.runtime import LOCAL_TENANT, Runtime
from dialogs.messages import Button, Message, Reply, Turn

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
        for link in message.links:
            parts.append(f"  → {link.label}: {link.url}")
        for button in message.buttons:
            buttons.append(button)
            parts.append(f"  [{len(buttons)}] {button.label}")
        if message.form is not None:
            parts.append(f"  (skjema: {message.form.title or message.form.submit_label})")
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
        out.write(render_reply(reply)[0] + "\n")
    return 0


def _message_answer(messages: tuple[Message, ...]) -> str:
    return "\n\n".join(m.text for m in messages)


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
        rendered, buttons = render_reply(reply)
        out.write(rendered + "\n\n")
        out.flush()
    return 0
