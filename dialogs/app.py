"""Builds the router: the one place that says which dialogs exist and how they are wired together.

Everything a feature needs from another is passed here, explicitly: the guide dialog the help menu
opens, the handler that answers typed text nobody else understands, the guard every typed text and
form passes once per turn, and the sources that re-render what a 👍 / 👎 was about. Nothing is
looked up in module globals or patched onto the router afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from dialogs import contacts as contacts_dialog
from dialogs import feedback as feedback_dialog
from dialogs import help as help_dialog
from dialogs import privacy as privacy_dialog
from dialogs.arshjul import chat as arshjul_chat
from dialogs.arshjul import setup as arshjul_setup
from dialogs.content import CONTENT_DIR, Content
from dialogs.faq import dialog as faq
from dialogs.faq.kommune_examples import load_kommune_examples
from dialogs.guide import dialog as guide_dialog
from dialogs.guide.kommune import DEFAULT_KOMMUNE_DIR
from dialogs.guide.typed_followup import RequestWords
from dialogs.leaderdigest import dialog as leader_digest
from dialogs.messages import Reply
from dialogs.milestones import chat as milestones_chat
from dialogs.network import dialog as network_dialog
from dialogs.onboarding import chat as onboarding_chat
from dialogs.router import Hooks, Router, TurnContext
from dialogs.surveys import admin as survey_admin
from dialogs.surveys import dialog as survey_dialog
from dialogs.surveys.chart import ChartLinks
from dialogs.surveys.launch import ChannelMembers
from dialogs.surveys.model import SurveyFileError, SurveyTemplate, load_templates
from storage.models import utcnow
from storage.repositories import Store

log = logging.getLogger(__name__)


def build_router(
    store: Store,
    content: Content | None = None,
    default_lang: str = "nb",
    kommune_dir: Path | None = None,
    clock: Callable[[], datetime] = utcnow,
    survey_key: bytes | None = None,
    survey_min_group: int = 5,
    charts: ChartLinks | None = None,
    channel_members: ChannelMembers | None = None,
    calendar_link: Callable[[str], str] | None = None,
) -> Router:
    """A ready router; raises ContentError (GuideError for the guide) when content and handlers
    do not fit together. ``clock`` is the guide's, the årshjul's and the surveys' "now" (tests
    stand on a day); ``survey_key`` the secret of anonymous survey answers (``bot.survey_key``);
    ``charts`` signs the addresses of result charts shown in chat; ``channel_members`` reads who
    is in a channel (a survey to "everyone here"); ``calendar_link`` the public address of a
    tenant's calendar feed from its token (None: the bot has no address people can reach)."""
    content = content or Content.load()
    kommune_dir = kommune_dir or DEFAULT_KOMMUNE_DIR
    extra, problems = load_kommune_examples(kommune_dir, faq.TOPICS)
    for problem in problems:
        log.error("kommune training example skipped: %s", problem)
    faq_dialog = faq.FaqDialog.for_content(content, extra)

    free_text = FreeText(faq_dialog)
    hooks = Hooks(
        welcome=help_dialog.welcome,
        unknown_text=free_text,
        unknown_action=help_dialog.unknown_action,
        # The PII guard, once per turn; the name fields of the role form and the onboarding forms
        # (a staff member's name) are let past its name check.
        text_guard=onboarding_chat.allow_employee_names(
            arshjul_setup.allow_staff_names(faq.pii_guard)
        ),
    )
    guide = guide_dialog.GuideDialog(
        CONTENT_DIR,
        kommune_dir,
        clock,
        hand_over=hooks.unknown_text,
        followup_words=RequestWords.from_content(content),
    )
    free_text.guide = guide  # the guide hands its typed text back to free_text: built in turn
    router = Router(store, content, hooks, default_lang)
    help_dialog.register(router, guide)
    guide_dialog.register(router, guide)
    faq.register(router)
    arshjul_chat.register(router, arshjul_chat.ArshjulChat(clock, calendar_link))
    arshjul_setup.register(router)
    contacts_dialog.register(router)
    milestones_chat.register(router, milestones_chat.MilestoneChat(clock))
    onboarding_chat.register(router, onboarding_chat.OnboardingChat(kommune_dir, clock))
    survey_dialog.register(router, survey_key, clock)
    network_dialog.register(router, clock)
    leader_digest.register(router, clock)
    survey_admin.register(
        router,
        lambda: _survey_templates(kommune_dir),
        clock,
        survey_min_group,
        hooks.unknown_text,
        charts,
        channel_members,
    )
    privacy_dialog.register(router, survey_key)  # "hva vet du om meg", "slett dataene mine"
    feedback_dialog.register(router, {"topic": faq.feedback_source, "level": guide.feedback_source})
    router.check()
    return router


class FreeText:
    """Typed text that is no command: a reminder asked for in words («minn meg på evaluering om
    14 dager») unless the FAQ hears something acute in it, else the FAQ's answer."""

    def __init__(self, faq_dialog: faq.FaqDialog) -> None:
        self.faq = faq_dialog
        self.guide: guide_dialog.GuideDialog | None = None

    async def __call__(self, ctx: TurnContext) -> Reply:
        guide = self.guide
        request = guide.typed_followup(ctx) if guide is not None else None
        text = ctx.turn.text or ""
        if guide is not None and request is not None and not await self.faq.may_be_acute(text):
            return await guide.followup_typed(ctx, request)
        return await self.faq.answer_free_text(ctx)


def _survey_templates(kommune_dir: Path) -> dict[str, SurveyTemplate]:
    """The built-in survey templates and the kommune's own; a broken kommune file is logged and the
    built-in ones are offered (``bts-bot content check`` names the problem with its line)."""
    try:
        return load_templates([kommune_dir / "surveys"])
    except SurveyFileError as exc:
        log.error("kommune survey templates skipped", extra={"errors": len(exc.errors)})
        return load_templates()
