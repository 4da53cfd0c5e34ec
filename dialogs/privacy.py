"""A person's own privacy requests in chat: "hva vet du om meg" and "slett dataene mine".

Both are exact command phrases (``privacy.show_commands`` / ``privacy.delete_commands`` in
content), routed like "hjelp" before any free text reaches the FAQ. The summary lists what is
stored about the person by section (``storage.privacy``), never its contents in a channel: asked
there, the bot asks for a direct message instead. Deletion always takes a second step, a
confirmation button that only the person who asked can use; it erases and says what went.
This module must not hold user-facing text (that is ``content/<lang>/privacy.yaml``).
"""

from __future__ import annotations

from dialogs.messages import Button, Message, Reply
from dialogs.router import Router, TurnContext
from storage.privacy import Person, PersonalData, erase_person, export_person

TOPIC = "personvern"
A_ASK = "privacy:ask-delete"
A_DELETE = "privacy:delete"
A_CANCEL = "privacy:cancel"


class PrivacyDialog:
    """The summary, the confirmation and the erasure of the person behind a turn."""

    def __init__(self, survey_key: bytes | None) -> None:
        self.survey_key = survey_key

    @staticmethod
    def _person(ctx: TurnContext) -> Person:
        turn = ctx.turn
        return Person(turn.tenant_id, turn.platform, turn.user_id)

    @staticmethod
    def _in_channel(ctx: TurnContext) -> bool:
        return ctx.turn.platform in ("slack", "teams") and not ctx.turn.is_direct

    def _lines(self, ctx: TurnContext, counts: dict[str, int]) -> str:
        return "\n".join(
            ctx.content.text(
                ctx.lang,
                "privacy.line",
                label=ctx.content.text(ctx.lang, f"privacy.sections.{name}"),
                count=str(count),
            )
            for name, count in counts.items()
        )

    async def _data(self, ctx: TurnContext) -> PersonalData:
        return await export_person(ctx.store, self._person(ctx), self.survey_key)

    def _text(self, ctx: TurnContext, key: str) -> str:
        return ctx.content.text(ctx.lang, f"privacy.{key}")

    def _channel_refusal(self, ctx: TurnContext) -> Reply:
        return ctx.reply(Message(self._text(ctx, "in_channel"), topic=TOPIC), replace=False)

    async def show(self, ctx: TurnContext) -> Reply:
        """What is stored about the person, by section, with a button to delete it."""
        if self._in_channel(ctx):
            return self._channel_refusal(ctx)
        counts = (await self._data(ctx)).counts()
        if not counts:
            return ctx.reply(Message(self._text(ctx, "summary.nothing"), topic=TOPIC))
        text = "\n\n".join(
            (
                self._text(ctx, "summary.heading"),
                self._text(ctx, "summary.intro") + "\n" + self._lines(ctx, counts),
                self._text(ctx, "summary.footer"),
            )
        )
        button = Button(self._text(ctx, "summary.delete_button"), A_ASK, style="danger")
        return ctx.reply(Message(text, buttons=(button,), topic=TOPIC))

    async def ask_delete(self, ctx: TurnContext) -> Reply:
        """What would be deleted, and the confirmation (for the asker only)."""
        if self._in_channel(ctx):
            return self._channel_refusal(ctx)
        counts = (await self._data(ctx)).counts()
        if not counts:
            return ctx.reply(Message(self._text(ctx, "deleted.nothing"), topic=TOPIC))
        parts = [self._text(ctx, "confirm.heading"), self._lines(ctx, counts)]
        if counts.get("roles"):
            parts.append(self._text(ctx, "confirm.roles_warning"))
        buttons = (
            Button(
                self._text(ctx, "confirm.delete_button"), A_DELETE, ctx.turn.user_id, style="danger"
            ),
            Button(self._text(ctx, "confirm.cancel_button"), A_CANCEL, ctx.turn.user_id),
        )
        return ctx.reply(Message("\n\n".join(parts), buttons=buttons, topic=TOPIC))

    async def delete(self, ctx: TurnContext) -> Reply:
        """Erase everything about the person who pressed, and say what went."""
        if ctx.turn.value != ctx.turn.user_id:  # someone else's confirmation (in a shared view)
            return ctx.reply(Message(self._text(ctx, "not_yours"), topic=TOPIC), replace=False)
        counts = await erase_person(ctx.store, self._person(ctx), self.survey_key)
        if not counts:
            return ctx.reply(Message(self._text(ctx, "deleted.nothing"), topic=TOPIC))
        text = "\n\n".join(
            (
                self._text(ctx, "deleted.heading"),
                self._text(ctx, "deleted.text") + "\n" + self._lines(ctx, counts),
                self._text(ctx, "deleted.footer"),
            )
        )
        return ctx.reply(Message(text, topic=TOPIC))

    async def cancel(self, ctx: TurnContext) -> Reply:
        if ctx.turn.value and ctx.turn.value != ctx.turn.user_id:
            return ctx.reply(Message(self._text(ctx, "not_yours"), topic=TOPIC), replace=False)
        return ctx.reply(Message(self._text(ctx, "cancelled"), topic=TOPIC))


def register(router: Router, survey_key: bytes | None) -> None:
    """Add the privacy commands and buttons."""
    dialog = PrivacyDialog(survey_key)
    router.add_commands("privacy.show_commands", dialog.show)
    router.add_commands("privacy.delete_commands", dialog.ask_delete)
    router.add_action(A_ASK, dialog.ask_delete)
    router.add_action(A_DELETE, dialog.delete)
    router.add_action(A_CANCEL, dialog.cancel)
