"""The small message model every dialog speaks, and the incoming user turn.

Dialogs return ``Reply`` objects made of ``Message``s: text with simple formatting (``**bold**``,
``_italic_``, ``- `` lists, ``[label](url)`` links), choice buttons, an optional form and links. Each
platform adapter renders these (Block Kit, Adaptive Cards, HTML, plain terminal text); nothing here knows
about any platform.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FieldKind = Literal["scale", "yesno", "choice", "multi", "number", "text"]
ButtonStyle = Literal["default", "primary", "danger"]
Platform = Literal["slack", "teams", "web", "terminal"]

MAX_ACTION_LEN = 64
MAX_VALUE_LEN = 200
#: The "Akutt fare?" exit (issue #11): always the first button of a message that has it, so every
#: client shows it first, whatever else the screen offers and however a platform splits long rows.
ACUTE_ACTIONS = frozenset({"guide:acute", "help:acute"})


@dataclass(frozen=True)
class Option:
    """One choice of a choice field."""

    label: str
    value: str


@dataclass(frozen=True)
class Button:
    """A choice button: pressing it sends ``action`` (a dialog action id) and ``value`` back."""

    label: str
    action: str
    value: str = ""
    style: ButtonStyle = "default"
    #: What a screen reader says when ``label`` is only a symbol (👍): a client that can shows it
    #: as the accessible name, and as text beside the symbol for fonts without emoji.
    description: str = ""


@dataclass(frozen=True)
class Link:
    """A link shown under the message."""

    label: str
    url: str


@dataclass(frozen=True)
class Image:
    """A picture under the message (a survey's chart). ``png`` is what a platform that takes files
    uploads (Slack); ``url`` is where we serve the same picture, for clients that only show images
    by address (a Teams card). Either may be empty; ``alt`` is always shown to screen readers."""

    alt: str
    png: bytes = b""
    url: str = ""
    name: str = "chart.png"


@dataclass(frozen=True)
class FormField:
    """One input of a form; ``name`` is the key of the submitted value. A ``multi`` field (several
    of its options) comes back as the chosen values joined by commas."""

    name: str
    label: str
    kind: FieldKind
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True
    placeholder: str = ""
    max_length: int = 300


@dataclass(frozen=True)
class Form:
    """A set of inputs submitted together as one turn with ``action``."""

    action: str
    fields: tuple[FormField, ...]
    submit_label: str
    title: str = ""
    #: Sent back with the submit as the turn's ``value`` (e.g. which survey run the form answers).
    value: str = ""
    #: A form long enough to deserve its own window where the client has one (a Slack modal).
    modal: bool = False
    #: (field name, value) the form is shown with: what the person already filled in.
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Message:
    """One chat message. ``topic`` is a stable id of what the message answers (for ask --json)."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    form: Form | None = None
    topic: str = ""
    footer: str = ""
    image: Image | None = None

    def __post_init__(self) -> None:
        # Acute first, the rest in the order the dialog chose; also after ``replace`` adds buttons.
        acute = tuple(b for b in self.buttons if b.action in ACUTE_ACTIONS)
        if acute and self.buttons[: len(acute)] != acute:
            rest = tuple(b for b in self.buttons if b.action not in ACUTE_ACTIONS)
            object.__setattr__(self, "buttons", acute + rest)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.image is not None:
            # JSON carries the picture's address and size, never the bytes themselves.
            data["image"] = {
                "alt": self.image.alt,
                "url": self.image.url,
                "name": self.image.name,
                "bytes": len(self.image.png),
            }
        return data


@dataclass(frozen=True)
class Reply:
    """What a dialog answers to one turn.

    ``replace`` asks the platform to update the message the user clicked in place when it can
    (Slack ``chat.update``, Teams ``update_activity``, web chat re-render) instead of adding a new one.
    """

    messages: tuple[Message, ...]
    replace: bool = False
    lang: str = "nb"
    topic: str = ""
    confidence: float | None = None  # set by the free-text classifier; None for exact commands
    #: (field name, what is wrong) when the submitted form did not fit: a client that keeps the
    #: form open (a Slack modal) shows these at the fields instead of the messages.
    field_errors: tuple[tuple[str, str], ...] = ()

    def plain_text(self) -> str:
        return "\n\n".join(m.text for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "replace": self.replace,
            "lang": self.lang,
            "topic": self.topic,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Turn:
    """One incoming user turn, whatever the platform.

    Exactly one of ``text``, ``action`` (button press, with ``value``) or ``form_values`` (form submit,
    with ``action`` naming the form) carries the user's input. ``tenant_id`` is our own tenant key
    (e.g. ``slack:T0123``, ``teams:<tenant guid>``, ``local``).
    """

    platform: Platform
    tenant_id: str
    user_id: str
    channel_id: str
    is_direct: bool = True
    text: str | None = None
    action: str | None = None
    value: str = ""
    form_values: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> Literal["text", "action", "form", "event"]:
        if self.form_values:
            return "form"
        if self.action:
            return "action"
        if self.text is not None:
            return "text"
        return "event"
