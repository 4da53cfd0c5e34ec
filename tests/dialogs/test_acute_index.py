"""The acute pass runs on an index compiled from the rules for speed (issue #9); it must answer
exactly as the rules read (``AcuteRule.matches``), typos and compounds included."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.admin.faq_eval import read_labelled
from dialogs.faq import dialog as faq
from dialogs.faq.acute import remove_phrases
from dialogs.faq.engine import FaqClassifier
from dialogs.faq.words import words

TESTS = Path(__file__).resolve().parents[1]
LABELLED = ("faq_eval.tsv", "faq_eval_holdout.tsv", "acute_challenge.tsv", "acute_holdout.tsv")


def _by_the_rules(classifier: FaqClassifier, text: str) -> str | None:
    tokens = remove_phrases(words(text), classifier.exceptions)
    return next((r.source for r in classifier.triggers if r.matches(tokens)), None)


def _questions() -> list[str]:
    return [q for name in LABELLED for q, _ in read_labelled(TESTS / name)]


def _typo(word: str, rng: random.Random) -> str:
    i, letter = rng.randrange(len(word)), rng.choice("abdeghiklmnorstv")
    return rng.choice(
        [
            word[:i] + letter + word[i + 1 :],
            word[:i] + word[i + 1 :],
            word[:i] + letter + word[i:],
            word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :],
        ]
    )


def _variants(count: int) -> list[str]:
    """Questions with trigger words misspelt, glued into compounds and dropped in anywhere."""
    classifier = faq._default_classifier()
    targets = sorted(
        {
            alt.text
            for rule in classifier.triggers
            for part in rule.parts
            for slot in part.slots
            for alt in slot
            if alt.text.isalpha()
        }
    )
    rng, questions, out = random.Random(11), _questions(), []
    for _ in range(count):
        question = rng.choice(questions).split()
        for _ in range(rng.randrange(3)):
            word = rng.choice(["", "barne", "fami"]) + _typo(rng.choice(targets), rng)
            question.insert(rng.randrange(len(question) + 1), word + rng.choice(["", "en", "ing"]))
        out.append(" ".join(question))
    return out


@pytest.mark.parametrize(
    "texts", [_questions(), _variants(600)], ids=["labelled questions", "typo variants"]
)
def test_the_index_answers_as_the_rules(texts: list[str]) -> None:
    classifier = faq._default_classifier()
    differ = [t for t in texts if classifier.acute_trigger(t) != _by_the_rules(classifier, t)]
    assert differ == []
    assert any(classifier.acute_trigger(t) for t in texts), "the premise: some are acute"


def test_a_number_of_thousands_of_digits_is_no_age() -> None:
    # int() refuses numbers this long; the range check must not even try. The acute pass is what
    # reads ages (the semantic router's view of such a text says nothing about the range check).
    text = "barnet er " + "1" * 5_000 + " år"
    assert faq.classify(text, semantic=False)[0] != "akutt"
    assert faq.classify(text)[0] in faq.TOPICS
