"""The semantic router: held-out accuracy, enough varied training data, the shipped embedding cache,
calibrated "ukjent", two topics offered as buttons, a kommune's own examples, the word-based
fallback, and that a user's question is never kept."""

from __future__ import annotations

import inspect
import io
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot.admin.faq_eval import (
    HOLDOUTS,
    EvalResult,
    cross_validate,
    evaluate,
    read_labelled,
    run_eval,
)
from dialogs.app import build_router
from dialogs.faq import dialog as faq
from dialogs.faq.embedder import SHIPPED_CACHE, CachedEmbedder, default_embedder, text_key
from dialogs.faq.engine import (
    ACUTE,
    ACUTE_PROBABILITY,
    CONFIDENT,
    PAIR,
    UNKNOWN,
    Classification,
    decide,
    sharpen,
)
from dialogs.faq.kommune_examples import load_kommune_examples
from dialogs.faq.semantic import SHIPPED_MODEL, SoftmaxModel, digest, features, load_model
from dialogs.messages import Turn
from dialogs.pii import find_personal_data
from dialogs.router import Router
from storage.repositories import Store
from tests.dialogs.test_faq import faq_store  # noqa: F401  # the migrated SQLite store fixture

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT_FILES = tuple(ROOT / path for path in HOLDOUTS)
HOLDOUT_FILE = HOLDOUT_FILES[0]


def _training_examples() -> dict[str, list[str]]:
    by_lang, training = faq.shipped_content()
    return faq.training_examples(by_lang, training)


# --- the data ------------------------------------------------------------------------------


def test_holdout_says_what_it_is_and_is_a_quarter_of_the_data() -> None:
    held: list[tuple[str, str]] = []
    for path in HOLDOUT_FILES:
        head = path.read_text(encoding="utf-8").splitlines()[:3]
        assert head[0].startswith("#") and "never" in " ".join(head).lower()
        rows = read_labelled(path)
        topics = {topic for _, topic in rows}
        # The third file is only the border between a worry and an emergency.
        assert topics == set(faq.TOPICS) if path != HOLDOUT_FILES[2] else topics < set(faq.TOPICS)
        held += rows
    _, training = faq.shipped_content()
    trained = sum(len(v) for lang in training.values() for v in lang.values())
    assert len(held) / (len(held) + trained) >= 0.25


def test_holdout_is_never_trained_on() -> None:
    trained = {" ".join(t.lower().split()) for v in _training_examples().values() for t in v}
    for path in HOLDOUT_FILES:
        held = {" ".join(q.lower().split()) for q, _ in read_labelled(path)}
        assert not trained & held, path


def test_no_shipped_example_looks_like_personal_data() -> None:
    """The same guard a kommune's own examples pass: the content files never hold a child's data."""
    texts = [t for v in _training_examples().values() for t in v]
    texts += [q for path in HOLDOUT_FILES for q, _ in read_labelled(path)]
    assert [t for t in texts if find_personal_data(t)] == []


def test_every_topic_has_at_least_60_training_examples() -> None:
    examples = _training_examples()
    thin = {topic: len(examples.get(topic, [])) for topic in faq.TOPICS}
    assert all(n >= 60 for n in thin.values()), thin


def test_the_shipped_embedding_cache_covers_every_shipped_example() -> None:
    """Else a fresh server embeds them at start (~15 ms each): run ``bts-bot routing cache``."""
    embedder = CachedEmbedder(_Refuse(), SHIPPED_CACHE)
    texts = [t for v in _training_examples().values() for t in v]
    assert embedder.known(texts), "run: bts-bot routing cache"


class _Refuse:
    name = default_embedder().name if default_embedder() else "none"  # type: ignore[union-attr]

    def embed(self, texts: object, remember: bool = False) -> np.ndarray:
        raise AssertionError("should have come from the cache")


class _Counting:
    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], remember: bool = False) -> np.ndarray:
        self.seen += list(texts)
        return np.ones((len(texts), 384), np.float32)


def test_a_question_asked_again_is_not_encoded_again_and_the_memory_is_bounded() -> None:
    from dialogs.faq import embedder as module

    inner = _Counting()
    embedder = CachedEmbedder(inner, None)
    embedder.embed(["hjelp", "tilbake"])
    embedder.embed(["tilbake", "hjelp", "meny"])
    assert inner.seen == ["hjelp", "tilbake", "meny"]
    for n in range(module.RECENT_QUERIES + 10):
        embedder.embed([f"spørsmål {n}"])
    inner.seen.clear()
    embedder.embed(["hjelp"])  # pushed out by a thousand newer questions
    assert inner.seen == ["hjelp"]


# --- what it achieves ----------------------------------------------------------------------


#: Issue #11 asks for 90 % and 100 % on the held-out files. Measured after the last change, which was
#: made on the training part only, as (accuracy, acute recall): 922/1030 and 55/56; 1011/1097 and
#: 154/154; 349/456 and 83/83; 475/530 and 71/71; 533/574 and 110/110. The fifth file was split from
#: its writers' lines before they were used and measured once; the others had been measured before
#: on earlier models (see each file's header and docs/routing.md). Do not tune on a file to raise
#: them: add phrasings to training.yaml and write a new held-out set.
MEASURED = {
    "routing_holdout.tsv": (0.895, 0.98),
    "routing_holdout_2.tsv": (0.921, 1.0),
    "routing_holdout_3.tsv": (0.765, 1.0),
    "routing_holdout_4.tsv": (0.896, 1.0),
    "routing_holdout_5.tsv": (0.928, 1.0),
}


@cache
def _held_out(path: Path) -> EvalResult:
    """Each held-out file routed once per test run (a few thousand questions take a minute)."""
    return evaluate(read_labelled(path), name=path.name)


@pytest.mark.parametrize("path", HOLDOUT_FILES, ids=lambda p: p.name)
def test_holdout_accuracy_and_acute_recall(path: Path) -> None:
    accuracy, acute_recall = MEASURED[path.name]
    result = _held_out(path)
    assert result.recall(ACUTE) >= acute_recall, [
        m for m in result.misrouted if m["expected"] == ACUTE
    ]
    assert result.accuracy >= accuracy, (result.accuracy, result.misrouted)


def test_semantic_router_beats_the_word_based_one_on_the_holdout() -> None:
    lexical = evaluate(read_labelled(HOLDOUT_FILE), lambda text: faq.explain(text, semantic=False))
    # measured: 89.5 % against 53.5 %
    assert _held_out(HOLDOUT_FILE).accuracy > lexical.accuracy + 0.2


def test_eval_prints_cross_validation_then_each_held_out_file(tmp_path: Path) -> None:
    """The report's shape, on a small sample: the full run (``bts-bot eval``) trains five models on
    all 8,900 examples and routes every one of them, minutes of CPU for numbers no test asserts."""
    examples = {t: v[:15] for t, v in _training_examples().items()}
    holdouts = []
    for path in HOLDOUT_FILES[:2]:
        small = tmp_path / path.name
        lines = path.read_text(encoding="utf-8").splitlines()
        header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        small.write_text("\n".join(lines[: header + 41]) + "\n", encoding="utf-8")
        holdouts.append(small)
    out = io.StringIO()
    cv = lambda: cross_validate(folds=3, examples=examples)  # noqa: E731
    assert run_eval([], as_json=True, out=out, cross_validation=cv, holdouts=holdouts) == 0
    parts = json.loads(out.getvalue())
    assert parts[0]["name"] == "training examples, 3-fold cross-validation"
    # Every sampled example is routed once, by a model trained without it (those listed under
    # two topics are left out).
    assert 0.95 * 15 * len(examples) <= parts[0]["total"] <= 15 * len(examples)
    assert [part["name"] for part in parts[1:]] == [str(p) for p in holdouts]
    assert [part["total"] for part in parts[1:]] == [40, 40]
    for part in parts:
        assert {"accuracy", "acute_recall", "unknown_precision", "unknown_recall"} <= set(part)
        assert part["per_topic"]
        assert all({"precision", "recall"} <= set(c) for c in part["per_topic"].values())
    defaults = inspect.signature(run_eval).parameters
    assert defaults["cross_validation"].default is cross_validate
    assert defaults["holdouts"].default == HOLDOUTS
    text = io.StringIO()
    assert run_eval(holdouts[:1], out=text) == 0
    assert "ukjent precision:" in text.getvalue() and "two topics offered:" in text.getvalue()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("ungen har sluttet å spise matpakka si", "uro"),
        ("han har begynt å tisse på seg igjen", "uro"),
        ("hun sitter alene i alle friminuttene", "uro"),
        ("gutten biter de andre barna", "uro"),
        ("korleis skriv eg ei bekymringsmelding", "bekymringsmelding"),
        ("hvem er bts kontakt hos oss", "bts-kontakt"),
        ("hvor mange pingviner bor i Bodø", UNKNOWN),
        ("", UNKNOWN),
    ],
)
def test_descriptions_of_a_child_reach_the_right_topic(question: str, topic: str) -> None:
    assert faq.classify(question)[0] == topic


# --- calibrated decisions ------------------------------------------------------------------


def test_decide_answers_offers_two_or_admits_it_does_not_know() -> None:
    sure = decide({"uro": 0.8, "samtykke": 0.1, UNKNOWN: 0.1})
    assert sure.topic == "uro" and sure.alternatives == ()
    torn = decide({"uro": 0.34, "undringssamtale": 0.33, "samtykke": 0.33})
    assert torn.topic == "uro" and torn.alternatives == ("uro", "undringssamtale")
    spread = {t: 1 / 6 for t in ("uro", "samtykke", "stafettlogg", "nivaa-1", "nivaa-2", UNKNOWN)}
    assert sum(sorted(sharpen(spread).values())[-2:]) < PAIR
    assert decide(spread).topic == UNKNOWN
    above = ACUTE_PROBABILITY + 0.01
    acute = decide({"uro": 1 - above, ACUTE: above})
    assert acute.topic == ACUTE, "a small acute probability wins over a likely topic"
    assert decide({UNKNOWN: 0.5, "uro": 0.45}).topic == UNKNOWN
    assert decide({"uro": CONFIDENT, "samtykke": 1 - CONFIDENT}).alternatives == ()


async def test_two_likely_topics_are_offered_as_buttons_with_the_acute_exit_first(
    faq_store: Store,  # noqa: F811  # the fixture imported from test_faq
) -> None:
    router, classifier, question = await _router_and_held_out_question(
        faq_store, lambda c: bool(c.alternatives) and c.topic != ACUTE
    )
    assert question is not None, "no held-out question makes the router hesitate"
    first, second = classifier.classify(question).alternatives
    reply = await router.handle(Turn("web", "local", "u1", "c1", text=question))
    assert reply.topic == faq.UNSURE
    buttons = reply.messages[0].buttons
    assert buttons[0].action == "guide:acute"
    assert [(b.action, b.value) for b in buttons[1:3]] == [
        (faq.TOPIC_ACTION, first),
        (faq.TOPIC_ACTION, second),
    ]
    chosen = await router.handle(
        Turn("web", "local", "u1", "c1", action=faq.TOPIC_ACTION, value=second)
    )
    assert chosen.topic == second


async def test_an_acute_answer_from_the_net_offers_the_topic_it_may_have_meant(
    faq_store: Store,  # noqa: F811  # the fixture imported from test_faq
) -> None:
    router, classifier, question = await _router_and_held_out_question(
        faq_store, lambda c: c.topic == ACUTE and bool(c.alternatives)
    )
    assert question is not None, "no held-out question gets the acute answer with another topic"
    assert classifier.acute_trigger(question) is None, "a trigger hit is never second-guessed"
    _, other = classifier.classify(question).alternatives
    reply = await router.handle(Turn("web", "local", "u1", "c1", text=question))
    assert reply.topic == ACUTE
    buttons = reply.messages[0].buttons
    assert buttons[0].action == "guide:acute"
    assert (buttons[1].action, buttons[1].value) == (faq.TOPIC_ACTION, other)
    assert other not in (ACUTE, UNKNOWN)


def test_the_acute_net_brings_the_likeliest_other_topic_along() -> None:
    probs = {ACUTE: ACUTE_PROBABILITY + 0.01, "uro": 0.6, UNKNOWN: 0.1}
    probs["samtykke"] = 1 - sum(probs.values())
    assert decide(probs).alternatives == (ACUTE, "uro")
    assert decide({ACUTE: 0.3, UNKNOWN: 0.6, "uro": 0.1}).alternatives == ()
    assert decide({ACUTE: 0.9, "uro": 0.05, "samtykke": 0.05}).alternatives == ()


async def _router_and_held_out_question(
    store: Store, wanted: Callable[[Classification], bool]
) -> tuple[Router, faq.FaqClassifier, str | None]:
    """A router that has answered once, its classifier, and the first held-out question whose
    classification is ``wanted`` (None when there is none)."""
    router = build_router(store)
    await router.handle(Turn("web", "local", "u1", "c1", text="hei"))
    classifier = router_classifier(router)
    questions = (q for path in HOLDOUT_FILES for q, _ in read_labelled(path))
    return router, classifier, next((q for q in questions if wanted(classifier.classify(q))), None)


def router_classifier(router: object) -> faq.FaqClassifier:
    hooks = router.hooks
    dialog = getattr(hooks.unknown_text, "faq", None)  # the app's FreeText: the FAQ behind it
    assert isinstance(dialog, faq.FaqDialog)
    return dialog.classifier


# --- a kommune's own examples --------------------------------------------------------------


def test_kommune_examples_are_read_and_problems_named_by_line(tmp_path: Path) -> None:
    folder = tmp_path / "training"
    folder.mkdir()
    (folder / "heim.yaml").write_text(
        "stafettlogg:\n  - hvor ligger flytskjemaloggen i fagsystemet\n"
        "uro:\n  - 12\n  - ringte mor på 412 34 567\nnoko: [x]\n",
        encoding="utf-8",
    )
    (folder / "broken.yaml").write_text("uro: [\n", encoding="utf-8")
    examples, problems = load_kommune_examples(tmp_path, faq.TOPICS)
    assert examples == {"stafettlogg": ["hvor ligger flytskjemaloggen i fagsystemet"]}
    joined = "\n".join(problems)
    assert "heim.yaml:4: uro.0: an example must be a non-empty text" in joined
    assert "heim.yaml:5: uro.1: looks like personal data (phone)" in joined
    assert "heim.yaml:6: noko: unknown topic" in joined
    assert "broken.yaml:" in joined and "YAML syntax error" in joined


def test_a_kommune_example_teaches_the_router_a_local_word(tmp_path: Path) -> None:
    by_lang, training = faq.shipped_content()
    local = "hvor skriver jeg i flytskjemaloggen"
    examples = {"stafettlogg": [local, "flytskjemaloggen", "åpne flytskjemaloggen i fagsystemet"]}
    taught = faq.build_classifier(by_lang, training, examples)
    assert taught.classify("kan du vise meg flytskjemaloggen").topic == "stafettlogg"


# --- fallbacks and privacy -----------------------------------------------------------------


def test_without_the_model_the_word_based_router_answers() -> None:
    by_lang, training = faq.shipped_content()
    classifier = faq.build_classifier(by_lang, training, embedder=False)
    assert classifier.semantic is None
    assert classifier.classify("hva er taushetsplikt").topic == "taushetsplikt"
    assert classifier.classify("jenta har blåmerker på armene igjen").topic == ACUTE


def test_a_users_question_is_embedded_and_forgotten() -> None:
    embedder = default_embedder()
    assert embedder is not None
    question = "en helt ny setning som ingen eksempelfil har: sju blå elefanter på taket"
    faq.classify(question)
    assert not embedder.known([question])
    assert text_key(embedder.name, question) not in embedder._known


def test_the_shipped_model_is_what_training_on_the_shipped_examples_gives() -> None:
    """Else every start trains for seconds: run ``bts-bot routing cache``."""
    embedder = default_embedder()
    assert embedder is not None
    examples = {t: tuple(dict.fromkeys(v)) for t, v in _training_examples().items()}
    shipped = load_model(SHIPPED_MODEL, digest(embedder, examples))
    assert shipped is not None, "run: bts-bot routing cache"
    labels = sorted(examples)
    texts = [text for topic in labels for text in examples[topic]]
    y = np.array([i for i, topic in enumerate(labels) for _ in examples[topic]])
    x = features(embedder, texts)
    fresh = SoftmaxModel.train(x, y, labels)
    assert fresh.labels == shipped.labels
    # Not bit-equal: OpenBLAS picks its kernels by CPU, and 200 float32 steps on another CPU end
    # ~1e-4 away in a weight or two. A stale model is far further off than this.
    assert np.allclose(fresh.weights, shipped.weights, atol=2e-3)
    assert np.allclose(fresh.probabilities(x), shipped.probabilities(x), atol=2e-3)


def test_a_lone_surrogate_is_routed_not_raised() -> None:
    """The fuzz test's "\\ud800": not UTF-8 encodable for the engine or the cache key."""
    assert faq.classify("lone \ud800 surrogate")[0] == UNKNOWN
