"""Free-text questions: the PII guard first, then the FAQ classifier, then the topic's short answer.

Every free-text turn that is not an exact command comes here (the router's ``unknown_text`` hook),
after ``pii_guard`` (its ``text_guard``, set in ``dialogs.app``) has looked at it once. Text with
personal data (fødselsnummer, phone, e-mail, a full name) is refused kindly without being echoed,
stored or logged. Otherwise the question is classified into one of the stable topic ids and answered
with the topic's text and buttons from ``content/<lang>/faq.yaml``; acute questions always get the
acute answer, and a low confidence gives an honest "ukjent". The language of the answer follows the
question (bokmål or nynorsk) unless the user has chosen one. Nothing here stores or logs the text.

Long texts are checked and classified in a worker thread, so one huge message cannot hold up the
other users' turns, and the topical pass of a turn has a time budget (the acute pass has none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from functools import cache
from typing import Any, TypeVar

from dialogs import contacts, usage, yaml_source
from dialogs import help as help_dialog
from dialogs.content import CONTENT_DIR, LANGUAGES, Content
from dialogs.faq.embedder import Embedder, default_embedder
from dialogs.faq.engine import (
    ACUTE,
    TOPICAL_MAX_CHARS,
    UNKNOWN,
    Classification,
    FaqClassifier,
    TopicSource,
)
from dialogs.faq.semantic import SemanticRouter
from dialogs.feedback import with_feedback
from dialogs.messages import Button, Message, Reply
from dialogs.normalize import word_set
from dialogs.pii import find_personal_data
from dialogs.router import Router, TurnContext
from storage.feedback_models import KIND_TOPIC

log = logging.getLogger(__name__)

#: The stable topic ids the classifier answers with (``ask --json`` and ``eval`` use them).
TOPICS = (
    "uro",
    "akutt",
    "bekymringsmelding",
    "stafettlogg",
    "undringssamtale",
    "foresatte",
    "samtykke",
    "taushetsplikt",
    "parorende",
    "nivaa-1",
    "nivaa-2",
    "nivaa-3",
    "bts-kontakt",
    "arshjul",
    "undersokelse",
    "nettverk",
    "hjelp",
    "tilbakemelding",
    "ukjent",
)
#: Answers that end with "Var dette nyttig? 👍 / 👎". Not the honest "ukjent" (no answer to rate),
#: "hjelp" (a menu) or "akutt" (a safety screen must stay short and only about acting now).
FEEDBACK_TOPICS = frozenset(TOPICS) - {UNKNOWN, "hjelp", "akutt"}
#: Topic of the reply when the text was refused for holding personal data.
PII_TOPIC = "personopplysninger"
#: Topic of the reply that offers two likely topics as buttons.
UNSURE = "uklar"
TOPIC_ACTION = "faq:topic"
#: Texts longer than this are checked and classified in a worker thread; shorter ones cost less
#: than the hand-over (a fraction of a millisecond).
OFFLOAD_CHARS = 2_000
#: Seconds the topical pass of one turn may take before it answers "ukjent" (a question takes
#: about a millisecond); the acute pass always runs to the end.
TOPICAL_BUDGET_S = 0.5

_T = TypeVar("_T")


async def _off_the_loop(func: Callable[[str], _T], text: str) -> _T:
    """``func(text)``, in a worker thread when the text is long."""
    if len(text) <= OFFLOAD_CHARS:
        return func(text)
    return await asyncio.to_thread(func, text)


# Words that only one of the two written standards uses (compared in lower case, with æøå).
_NYNORSK = word_set(
    """
    eg ikkje ikkj kva korleis kven kvar kvifor kor ein eit eitt ho dei dykk vere vore berre mykje
    heim heime frå òg sjå gjer seier skule skulen tilsette føresette foreldra teieplikt teieplikta
    rettleiar rettleiaren handlingsrettleiaren snakkar startar nokon noko nokre meir fleire fekk
    teneste tenesta tenester uroleg bekymra treng spørje fortelje gjere dykkar sjukdom sjuk
    """
)
_BOKMAL = word_set(
    """
    jeg ikke hva hvordan hvem hvor hvorfor hun dere være bare mye hjem hjemme nå noen noe
    skole skolen ansatte foresatte foreldrene taushetsplikt taushetsplikten veileder veilederen
    handlingsveilederen snakker starter mer flere fikk tjeneste tjenesten tjenester urolig
    bekymret trenger spørre fortelle gjøre deres sykdom syk hvilken hvilke gjør sier
    """
)


def guess_language(text: str) -> str | None:
    """ "nn" or "nb" when the question shows which written standard it uses, else None."""
    tokens = [t.strip(".,:;!?()«»\"'") for t in text[:TOPICAL_MAX_CHARS].lower().split()]
    nynorsk = sum(t in _NYNORSK for t in tokens)
    bokmal = sum(t in _BOKMAL for t in tokens)
    if nynorsk > bokmal:
        return "nn"
    if bokmal > nynorsk:
        return "nb"
    return None


FaqData = Mapping[str, Any]


def _faq_by_lang(content: Content) -> dict[str, FaqData]:
    data: dict[str, FaqData] = {}
    for lang in content.by_lang:
        node = content.get(lang, "faq")
        if isinstance(node, Mapping):
            data[lang] = node
    return data


def _topic_sources(by_lang: Mapping[str, FaqData]) -> dict[str, TopicSource]:
    """Examples and keywords of every topic, merged over all languages."""
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for faq in by_lang.values():
        topics = faq.get("topics")
        if not isinstance(topics, Mapping):
            continue
        for topic, node in topics.items():
            examples, keywords = merged.setdefault(str(topic), ([], []))
            if isinstance(node, Mapping):
                examples.extend(str(e) for e in node.get("examples") or ())
                keywords.extend(str(k) for k in node.get("keywords") or ())
    return {
        topic: TopicSource(tuple(dict.fromkeys(ex)), tuple(dict.fromkeys(kw)))
        for topic, (ex, kw) in merged.items()
    }


def _all_lists(by_lang: Mapping[str, FaqData], key: str) -> list[str]:
    values: list[str] = []
    for faq in by_lang.values():
        values.extend(str(v) for v in faq.get(key) or ())
    return list(dict.fromkeys(values))


TrainingData = Mapping[str, Any]


def training_examples(
    by_lang: Mapping[str, FaqData],
    training_by_lang: Mapping[str, TrainingData],
    extra: Mapping[str, list[str]] | None = None,
) -> dict[str, list[str]]:
    """The semantic router's examples per topic: ``training.yaml``, the examples and keywords of
    ``faq.yaml`` (every language), and ``extra`` (a kommune's own); only the stable topic ids."""
    merged: dict[str, list[str]] = {topic: [] for topic in TOPICS}
    for training in training_by_lang.values():
        for topic, texts in training.items():
            if topic in merged and isinstance(texts, list):
                merged[topic].extend(str(t) for t in texts)
    for topic, source in _topic_sources(by_lang).items():
        if topic in merged:
            merged[topic].extend((*source.examples, *source.keywords))
    for topic, texts in (extra or {}).items():
        if topic in merged:
            merged[topic].extend(texts)
    return {topic: list(dict.fromkeys(texts)) for topic, texts in merged.items() if texts}


def build_classifier(
    by_lang: Mapping[str, FaqData],
    training_by_lang: Mapping[str, TrainingData] | None = None,
    extra: Mapping[str, list[str]] | None = None,
    embedder: Embedder | bool | None = True,
    examples: Mapping[str, list[str]] | None = None,
) -> FaqClassifier:
    """A classifier from the FAQ data of every language (``faq.yaml`` and ``training.yaml``).

    ``embedder=True`` uses the bundled model (``default_embedder``); ``False``/None routes by words
    only (the lexical pass, also the baseline ``bts-bot eval --lexical`` measures against).
    ``examples`` replaces the semantic router's examples (cross-validation trains on a part).
    """
    chosen = default_embedder() if embedder is True else embedder or None
    semantic = None
    if chosen is not None:
        if examples is None:
            examples = training_examples(by_lang, training_by_lang or {}, extra)
        semantic = SemanticRouter(examples, chosen)
    return FaqClassifier(
        _topic_sources(by_lang),
        acute_triggers=_all_lists(by_lang, "acute_triggers"),
        acute_exceptions=_all_lists(by_lang, "acute_exceptions"),
        semantic=semantic,
    )


def shipped_content() -> tuple[dict[str, FaqData], dict[str, TrainingData]]:
    """``faq.yaml`` and ``training.yaml`` of every language as shipped (no other content needed)."""
    by_lang: dict[str, FaqData] = {}
    training: dict[str, TrainingData] = {}
    for lang in LANGUAGES:
        for name, into in (("faq", by_lang), ("training", training)):
            path = CONTENT_DIR / lang / f"{name}.yaml"
            into[lang] = yaml_source.safe_load(path.read_text(encoding="utf-8")) or {}
    return by_lang, training


@cache
def _default_classifier(semantic: bool = True) -> FaqClassifier:
    """The classifier from the shipped content files alone."""
    by_lang, training = shipped_content()
    return build_classifier(by_lang, training, embedder=semantic)


def classify(text: str, semantic: bool = True) -> tuple[str, float]:
    """(topic id, confidence in [0, 1]) for a free-text question, with the shipped content."""
    result = _default_classifier(semantic).classify(text)
    return result.topic, result.confidence


def explain(text: str, semantic: bool = True) -> Classification:
    """The full classification (with every topic's score and any alternatives), for evaluation."""
    return _default_classifier(semantic).classify(text)


# router side ------------------------------------------------------------------------------------


def _with_confidence(reply: Reply, confidence: float) -> Reply:
    """Attach the confidence when the Reply model carries one (for ``ask --json``)."""
    if any(f.name == "confidence" for f in fields(reply)):
        extra: dict[str, Any] = {"confidence": confidence}
        return replace(reply, **extra)
    return reply


def _free_texts(ctx: TurnContext) -> list[str]:
    turn = ctx.turn
    texts = [turn.text] if turn.text else []
    texts.extend(v for v in turn.form_values.values() if isinstance(v, str))
    return texts


async def pii_guard(ctx: TurnContext) -> Reply | None:
    """The refusal when any free text of this turn holds personal data, else None.

    Meant to run before any handler sees the text; the text is neither stored, logged nor echoed.
    """
    kinds: list[str] = []
    flagged: list[str] = []
    for text in _free_texts(ctx):
        found = await _off_the_loop(find_personal_data, text)
        kinds.extend(k for k in found if k not in kinds)
        if found:
            flagged += [name for name, value in ctx.turn.form_values.items() if value == text]
    if not kinds:
        return None
    _answer_in_question_language(ctx)
    names = [ctx.content.text(ctx.lang, f"faq.pii_kinds.{kind}") for kind in kinds]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " / " + names[-1]
    log.info(
        "free text refused: personal data",
        extra={"kinds": ",".join(kinds), "tenant": ctx.turn.tenant_id},
    )
    message = ctx.message("faq.pii_refused", topic=PII_TOPIC, kinds=joined)
    reply = ctx.reply(message, replace=False, topic=PII_TOPIC)
    if not flagged:
        return reply
    # A form that stays open (a Slack modal) shows the refusal at the fields it is about.
    refusal = ctx.content.text(ctx.lang, "faq.pii_field", kinds=joined)
    return replace(reply, field_errors=tuple((name, refusal) for name in dict.fromkeys(flagged)))


def _answer_in_question_language(ctx: TurnContext) -> None:
    if ctx.turn.text and not ctx.chosen_lang:
        guessed = guess_language(ctx.turn.text)
        if guessed in ctx.content.by_lang:
            ctx.lang = guessed


def topic_message(ctx: TurnContext, topic: str) -> Message:
    """The answer to one topic in the context's language."""
    if topic == UNKNOWN:
        unknown = ctx.message("help.unknown", topic=UNKNOWN)
        more = ctx.message(f"faq.topics.{UNKNOWN}", topic=UNKNOWN)
        return Message(text=f"{unknown.text}\n{more.text}", buttons=more.buttons, topic=UNKNOWN)
    return ctx.message(f"faq.topics.{topic}", topic=topic)


async def _answer(ctx: TurnContext, topic: str, replace_message: bool) -> Reply:
    if topic == "hjelp":
        return await help_dialog.menu(ctx)
    if topic == contacts.TOPIC and contacts.enabled(ctx.content):  # the tenant's own directory
        message = await contacts.answer(ctx, ctx.turn.text)
        return ctx.reply(message, replace=replace_message, topic=topic)
    message = topic_message(ctx, topic)
    if topic in FEEDBACK_TOPICS:
        message = with_feedback(ctx, message, KIND_TOPIC, topic)
    return ctx.reply(message, replace=replace_message, topic=topic)


async def feedback_source(ctx: TurnContext, ref: str) -> tuple[str, Message] | None:
    """The answer a 👍 / 👎 on a topic was about: (topic id, message), None when unknown."""
    topic, _, view = ref.partition(":")
    if topic == contacts.TOPIC:
        message = await contacts.feedback_view(ctx, view)
        return (topic, message) if message is not None else None
    if topic in FEEDBACK_TOPICS and not view:
        return topic, topic_message(ctx, topic)
    return None


class FaqDialog:
    """Answers free text with one classifier, built from the content the router serves."""

    def __init__(self, classifier: FaqClassifier) -> None:
        self.classifier = classifier

    @classmethod
    def for_content(
        cls, content: Content, extra: Mapping[str, list[str]] | None = None
    ) -> FaqDialog:
        """``extra``: a kommune's own training examples per topic."""
        training: dict[str, TrainingData] = {}
        for lang, texts in content.by_lang.items():
            node = texts.get("training")
            if isinstance(node, Mapping):
                training[lang] = node
        return cls(build_classifier(_faq_by_lang(content), training, extra))

    async def classify(self, text: str) -> Classification:
        """The classifier's answer for ``text``, computed off the event loop when it is costly."""
        classifier = self.classifier
        classify = lambda text: classifier.classify(text, time_budget=TOPICAL_BUDGET_S)  # noqa: E731
        if classifier.semantic is not None:
            # An embedding takes tens of milliseconds: never on the event loop.
            return await asyncio.to_thread(classify, text)
        return await _off_the_loop(classify, text)

    async def may_be_acute(self, text: str) -> bool:
        """Whether the FAQ would answer ``text`` with the acute path, or offer it."""
        result = await self.classify(text)
        return result.topic == ACUTE or ACUTE in result.alternatives

    async def answer_free_text(self, ctx: TurnContext) -> Reply:
        """Classify the question and answer with the topic's text and buttons.

        Reached only through the router, whose text guard (``pii_guard``) has refused personal
        data before this runs.
        """
        _answer_in_question_language(ctx)
        result = await self.classify(ctx.turn.text or "")
        log.info(
            "free text answered",
            extra={
                "topic": result.topic,
                "confidence": result.confidence,
                "tenant": ctx.turn.tenant_id,
            },
        )
        if result.topic == UNKNOWN:
            near = usage.nearest_topic(result.scores, UNKNOWN)
            await usage.count(ctx.store, ctx.turn.tenant_id, usage.UNKNOWN_NEAR, near)
        elif len(result.alternatives) < 2 or result.topic == ACUTE:
            await usage.count(ctx.store, ctx.turn.tenant_id, usage.TOPIC, result.topic)
        if result.topic == ACUTE and len(result.alternatives) >= 2:
            reply = also_offered(ctx, await _answer(ctx, ACUTE, False), result.alternatives[1])
        elif len(result.alternatives) >= 2:
            reply = ctx.reply(unsure_message(ctx, result.alternatives), replace=False, topic=UNSURE)
        else:
            reply = await _answer(ctx, result.topic, replace_message=False)
        return _with_confidence(reply, result.confidence)


def unsure_message(ctx: TurnContext, alternatives: tuple[str, ...]) -> Message:
    """ "Did you mean …?" with one button per likely topic, the acute exit first."""
    message = ctx.message("faq.unsure", topic=UNSURE)
    offered = tuple(
        Button(ctx.content.text(ctx.lang, f"faq.unsure.labels.{topic}"), TOPIC_ACTION, value=topic)
        for topic in alternatives
    )
    # Message puts the acute exit first by itself; the topics follow it, then the menu.
    return replace(message, buttons=(*offered, *message.buttons))


def also_offered(ctx: TurnContext, reply: Reply, topic: str) -> Reply:
    """The acute answer with a button for the topic the question may have meant instead: the net
    is set low, and a false alarm should cost one tap, not a retyped question."""
    first, *rest = reply.messages
    label = ctx.content.text(ctx.lang, f"faq.unsure.labels.{topic}")
    # Second, right after the acute steps: within the actions every client shows.
    buttons = (*first.buttons[:1], Button(label, TOPIC_ACTION, value=topic), *first.buttons[1:])
    return replace(reply, messages=(replace(first, buttons=buttons), *rest))


async def show_topic(ctx: TurnContext) -> Reply:
    """A "read more" button naming another topic; unknown values get the honest "ukjent"."""
    topic = ctx.turn.value if ctx.turn.value in TOPICS else UNKNOWN
    if topic != UNKNOWN:
        await usage.count(ctx.store, ctx.turn.tenant_id, usage.TOPIC, topic)
    return await _answer(ctx, topic, replace_message=False)


def register(router: Router) -> None:
    """Add the "read more" topic buttons (free text reaches ``FaqDialog`` as the router's hook)."""
    router.add_action(TOPIC_ACTION, show_topic)
