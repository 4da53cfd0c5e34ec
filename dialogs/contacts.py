""" "Hvem er BTS-kontakt hos oss?": the BTS-kontakt(er) of the user's virksomhet from the directory.

The FAQ hands the topic ``bts-kontakt`` here. The answer names the contacts of the unit the question
mentions ("… på Sortland skole"), else of the unit the user asked us to remember, else it asks which
unit (a choice form) and offers "Husk valget" afterwards; "Glem virksomheten min" forgets it again.
"Vis alle" lists every unit. With an empty directory it says so honestly and names the
BTS-koordinator (or tells the user to ask their leader). How to reach someone is the name plus the
work phone/e-mail the admin gave: a platform mention would only work on one platform.

Units travel in buttons and forms as short letter tokens, never as names, so a unit that happens to
look like a person's name cannot trip the personal-data guard on a form. Only the user's platform id
and a unit name are ever stored (``storage.contacts``); typed text is matched, never kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from dialogs.content import Content
from dialogs.feedback import with_feedback
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.normalize import normalize
from dialogs.router import Router, TurnContext
from storage import contacts as repo
from storage.directory import list_units
from storage.feedback_models import KIND_TOPIC

TOPIC = "bts-kontakt"
VIEW_ALL = "all"
UNIT_FIELD = "unit"
TOKEN_LETTERS = 10

A_CHOOSE = "contacts:choose"
A_CHOSEN = "contacts:chosen"
A_ALL = "contacts:all"
A_REMEMBER = "contacts:remember"
A_FORGET = "contacts:forget"
#: The guide's acute path (dialogs.guide), one tap away on the directory's screens too.
A_ACUTE = "guide:acute"

# Norwegian alphabet order: æ, ø, å come after z (Python's code points would put å first).
_NORWEGIAN_ORDER = str.maketrans({"æ": "{", "ø": "|", "å": "}"})


def enabled(content: Content) -> bool:
    """True when the directory answer's texts are loaded (else the FAQ's static answer is used)."""
    return all("contacts.ask.text" in texts for texts in content.by_lang.values())


def unit_token(unit: str) -> str:
    """A stable, letters-only stand-in for a unit name in buttons and forms."""
    number = int.from_bytes(hashlib.sha256(unit.encode("utf-8")).digest()[:8], "big")
    letters = []
    for _ in range(TOKEN_LETTERS):
        number, rest = divmod(number, 26)
        letters.append(chr(ord("a") + rest))
    return "".join(letters)


def sort_key(name: str) -> str:
    return name.casefold().translate(_NORWEGIAN_ORDER)


def unit_in_text(text: str, units: list[str]) -> str | None:
    """The unit named in a typed question (the longest if several), compared word-wise."""
    words = f" {normalize(text)} "
    named = [u for u in units if normalize(u) and f" {normalize(u)} " in words]
    return max(named, key=len) if named else None


@dataclass(frozen=True)
class Directory:
    """One tenant's units, BTS-kontakter and BTS-koordinatorer, read once per turn."""

    units: list[str]
    contacts: list[repo.Contact]
    coordinators: list[repo.Contact]

    @classmethod
    async def load(cls, ctx: TurnContext) -> Directory:
        tenant = ctx.turn.tenant_id
        return cls(
            sorted(await list_units(ctx.store, tenant), key=sort_key),
            await repo.list_contacts(ctx.store, tenant),
            await repo.list_coordinators(ctx.store, tenant),
        )

    def in_unit(self, unit: str | None) -> list[repo.Contact]:
        return [c for c in self.contacts if c.unit == unit]

    def unit_of(self, token: str) -> str | None:
        return next((u for u in self.units if unit_token(u) == token), None)


class ContactsDialog:
    """Renders the answers and handles the buttons; state lives in ``storage.contacts``."""

    # rendering -----------------------------------------------------------------------------------

    def _describe(self, ctx: TurnContext, contact: repo.Contact) -> str:
        parts = [contact.name or ctx.content.text(ctx.lang, "contacts.unnamed")]
        if contact.phone:
            parts.append(ctx.content.text(ctx.lang, "contacts.phone", phone=contact.phone))
        if contact.email:
            parts.append(ctx.content.text(ctx.lang, "contacts.email", email=contact.email))
        line = " · ".join(parts)
        if contact.holder.absent:
            line += " " + ctx.content.text(ctx.lang, "contacts.absent")
        return line

    def _who_else(self, ctx: TurnContext, d: Directory) -> str:
        if d.coordinators:
            names = ", ".join(self._describe(ctx, c) for c in d.coordinators)
            return ctx.content.text(ctx.lang, "contacts.ask_coordinator", names=names)
        return ctx.content.text(ctx.lang, "contacts.ask_leader")

    def _button(self, ctx: TurnContext, key: str, action: str, value: str = "") -> Button:
        return Button(ctx.content.text(ctx.lang, f"contacts.{key}"), action, value)

    def _message(
        self, ctx: TurnContext, text: str, buttons: list[Button], form: Form | None = None
    ) -> Message:
        # Like every screen, the directory offers the acute exit first (issue #11).
        acute = Button(ctx.content.text(ctx.lang, "contacts.acute_button"), A_ACUTE, style="danger")
        return Message(text=text.strip(), buttons=(acute, *buttons), form=form, topic=TOPIC)

    def _lead(self, ctx: TurnContext, unit: str, found: list[repo.Contact]) -> str:
        text = ctx.content.text
        if not found:
            return text(ctx.lang, "contacts.unit_heading", unit=unit)
        names = [c.name or text(ctx.lang, "contacts.unnamed") for c in found]
        if len(names) == 1:
            return text(ctx.lang, "contacts.unit_answer", unit=unit, names=names[0])
        joined = ", ".join(names[:-1]) + f" {text(ctx.lang, 'contacts.list_and')} " + names[-1]
        return text(ctx.lang, "contacts.unit_answer_many", unit=unit, names=joined)

    def unit_message(
        self, ctx: TurnContext, d: Directory, unit: str, remembered: str | None, note: str = ""
    ) -> Message:
        """The contacts of one unit (tenant-wide ones when it has none), with the unit buttons."""
        text = ctx.content.text
        found = d.in_unit(unit)
        # The answer leads ("BTS-kontakt på Sortland skole er Kari Hansen."), the details follow.
        lines = [self._lead(ctx, unit, found)]
        lines += [f"- {self._describe(ctx, c)}" for c in found]
        if not found:
            lines.append(text(ctx.lang, "contacts.unit_empty", unit=unit))
            tenant_wide = d.in_unit(None)
            if tenant_wide:
                lines.append(f"**{text(ctx.lang, 'contacts.whole_tenant')}**")
                lines += [f"- {self._describe(ctx, c)}" for c in tenant_wide]
            lines.append(self._who_else(ctx, d))
        if note:
            lines.append(note)
        elif remembered == unit:
            lines.append(text(ctx.lang, "contacts.remembered_note", unit=unit))
        buttons = []
        if remembered != unit:
            buttons.append(self._button(ctx, "remember_button", A_REMEMBER, unit_token(unit)))
        buttons += [
            self._button(ctx, "choose_button", A_CHOOSE),
            self._button(ctx, "all_button", A_ALL),
        ]
        if remembered is not None:
            buttons.append(self._button(ctx, "forget_button", A_FORGET))
        return self._message(ctx, "\n".join(lines), buttons)

    def all_message(self, ctx: TurnContext, d: Directory, remembered: str | None) -> Message:
        """Every unit with its contacts (and the tenant-wide ones last)."""
        text = ctx.content.text
        lines = [text(ctx.lang, "contacts.all_heading")]
        groups: list[tuple[str, str | None]] = [(u, u) for u in d.units]
        if d.in_unit(None):
            groups.append((text(ctx.lang, "contacts.whole_tenant"), None))
        for title, unit in groups:
            found = d.in_unit(unit)
            lines.append(f"**{title}**")
            lines += [f"- {self._describe(ctx, c)}" for c in found]
            if not found:
                lines.append(text(ctx.lang, "contacts.unit_none_listed"))
        buttons = [self._button(ctx, "choose_button", A_CHOOSE)]
        if remembered is not None:
            buttons.append(self._button(ctx, "forget_button", A_FORGET))
        return self._message(ctx, "\n".join(lines), buttons)

    def ask_message(self, ctx: TurnContext, d: Directory, notice: str = "") -> Message:
        """Which unit? A choice form of the tenant's units, and "Vis alle"."""
        text = ctx.content.text
        form = Form(
            action=A_CHOSEN,
            title=text(ctx.lang, "contacts.ask.form_title"),
            submit_label=text(ctx.lang, "contacts.ask.submit"),
            fields=(
                FormField(
                    name=UNIT_FIELD,
                    label=text(ctx.lang, "contacts.ask.field"),
                    kind="choice",
                    options=tuple(Option(u, unit_token(u)) for u in d.units),
                ),
            ),
        )
        body = text(ctx.lang, "contacts.ask.text")
        return self._message(
            ctx,
            f"**{notice}**\n{body}" if notice else body,
            [self._button(ctx, "all_button", A_ALL)],
            form,
        )

    def empty_message(self, ctx: TurnContext, d: Directory) -> Message:
        """No BTS-kontakt in the directory: what the role is, that we do not know, who to ask."""
        about = ctx.message(f"faq.topics.{TOPIC}", topic=TOPIC)  # ends with "ask your leader"
        parts = [about.text, ctx.content.text(ctx.lang, "contacts.empty.text")]
        if d.coordinators:  # the FAQ text already says "ask your leader"
            parts.append(self._who_else(ctx, d))
        return replace(about, text="\n".join(parts))

    async def answer_message(self, ctx: TurnContext, text: str | None) -> tuple[str, Message]:
        """The answer to the topic, undecorated, with its feedback view: a unit named in ``text``,
        else the remembered unit, else the choice form (view "ask"), or the empty directory ("")."""
        d = await Directory.load(ctx)
        if not d.contacts:
            return "", self.empty_message(ctx, d)
        remembered = await repo.remembered_unit(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
        unit = unit_in_text(text, d.units) if text else None
        unit = unit or (remembered if remembered in d.units else None)
        if unit is None:
            return "ask", self.ask_message(ctx, d)
        return unit_token(unit), self.unit_message(ctx, d, unit, remembered)

    # entry points for the FAQ and the feedback buttons -------------------------------------------

    def _decorated(self, ctx: TurnContext, view: str, message: Message) -> Message:
        if view == "ask":  # a question back, not an answer: nothing to rate yet
            return message
        ref = f"{TOPIC}:{view}" if view else TOPIC
        return with_feedback(ctx, message, KIND_TOPIC, ref)

    async def answer(self, ctx: TurnContext, text: str | None = None) -> Message:
        """The FAQ answer to "hvem er BTS-kontakt?" (typed ``text`` may name the unit)."""
        view, message = await self.answer_message(ctx, text)
        return self._decorated(ctx, view, message)

    async def view_message(self, ctx: TurnContext, view: str) -> Message | None:
        """A view named by a feedback ref again (undecorated); None when it no longer exists."""
        d = await Directory.load(ctx)
        remembered = await repo.remembered_unit(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
        if view == "":
            return (await self.answer_message(ctx, None))[1]
        if view == VIEW_ALL:
            return self.all_message(ctx, d, remembered)
        unit = d.unit_of(view)
        return self.unit_message(ctx, d, unit, remembered) if unit else None

    # handlers ------------------------------------------------------------------------------------

    def _reply(self, ctx: TurnContext, view: str, message: Message) -> Reply:
        return ctx.reply(self._decorated(ctx, view, message), topic=TOPIC)

    async def choose(self, ctx: TurnContext) -> Reply:
        d = await Directory.load(ctx)
        if not d.contacts:
            return self._reply(ctx, "", self.empty_message(ctx, d))
        return self._reply(ctx, "ask", self.ask_message(ctx, d))

    async def chosen(self, ctx: TurnContext) -> Reply:
        d = await Directory.load(ctx)
        unit = d.unit_of(ctx.turn.form_values.get(UNIT_FIELD, "").strip())
        if unit is None:
            notice = ctx.content.text(ctx.lang, "contacts.unknown_unit")
            return self._reply(ctx, "ask", self.ask_message(ctx, d, notice))
        remembered = await repo.remembered_unit(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
        return self._reply(ctx, unit_token(unit), self.unit_message(ctx, d, unit, remembered))

    async def show_all(self, ctx: TurnContext) -> Reply:
        d = await Directory.load(ctx)
        remembered = await repo.remembered_unit(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
        return self._reply(ctx, VIEW_ALL, self.all_message(ctx, d, remembered))

    async def remember(self, ctx: TurnContext) -> Reply:
        d = await Directory.load(ctx)
        unit = d.unit_of(ctx.turn.value)
        tenant, user = ctx.turn.tenant_id, ctx.turn.user_id
        if unit is None or not await repo.remember_unit(ctx.store, tenant, user, unit):
            notice = ctx.content.text(ctx.lang, "contacts.unknown_unit")
            return self._reply(ctx, "ask", self.ask_message(ctx, d, notice))
        note = ctx.content.text(ctx.lang, "contacts.remembered", unit=unit)
        return self._reply(ctx, unit_token(unit), self.unit_message(ctx, d, unit, unit, note))

    async def forget(self, ctx: TurnContext) -> Reply:
        await repo.forget_unit(ctx.store, ctx.turn.tenant_id, ctx.turn.user_id)
        d = await Directory.load(ctx)
        notice = ctx.content.text(ctx.lang, "contacts.forgotten")
        if not d.contacts:
            message = self.empty_message(ctx, d)
            return self._reply(ctx, "", replace(message, text=f"{notice}\n\n{message.text}"))
        return self._reply(ctx, "ask", self.ask_message(ctx, d, notice))


_dialog = ContactsDialog()


async def answer(ctx: TurnContext, text: str | None = None) -> Message:
    """The FAQ's answer for the topic ``bts-kontakt`` (with the feedback buttons)."""
    return await _dialog.answer(ctx, text)


async def feedback_view(ctx: TurnContext, view: str) -> Message | None:
    """The answer a 👍 / 👎 was about, again (for ``dialogs.faq.dialog``'s feedback source)."""
    return await _dialog.view_message(ctx, view)


def register(router: Router) -> None:
    """Add the contact buttons and the unit form."""
    router.add_action(A_CHOOSE, _dialog.choose)
    router.add_action(A_CHOSEN, _dialog.chosen)
    router.add_action(A_ALL, _dialog.show_all)
    router.add_action(A_REMEMBER, _dialog.remember)
    router.add_action(A_FORGET, _dialog.forget)
