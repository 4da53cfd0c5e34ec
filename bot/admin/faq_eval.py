"""``bts-bot eval [FILE.tsv …]``: how well the free-text router routes, on data it was not trained on.

Without a file it reports both parts of the routing data: the training examples in the content
files, by 5-fold cross-validation (each fold routed by a model trained on the other four), and the
held-out files ``tests/routing_holdout*.tsv`` (``HOLDOUTS``: three sets by different writers) that
are never trained or tuned on. A file is a TSV with
the header ``question<TAB>topic`` (lines starting with ``#`` are comments). For each part it prints
overall accuracy, acute recall (missing an acute question is the worst error), precision and recall
of ``ukjent`` and of every topic, how often two topics were offered as buttons (and whether the right
one was among them), and every misrouted question, as text or as one JSON object. ``--lexical``
measures the word-based router instead (the baseline). Reads local files only; stores nothing.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dialogs.faq import dialog as faq
from dialogs.faq.dialog import TOPICS
from dialogs.faq.engine import ACUTE, UNKNOWN, Classification

#: The held-out parts of the routing data (relative to the repository root), oldest first.
HOLDOUTS = (
    Path("tests/routing_holdout.tsv"),
    Path("tests/routing_holdout_2.tsv"),
    Path("tests/routing_holdout_3.tsv"),
    Path("tests/routing_holdout_4.tsv"),
    Path("tests/routing_holdout_5.tsv"),
)
FOLDS = 5
Router = Callable[[str], Classification]


@dataclass
class EvalResult:
    """Counts from one evaluation run."""

    name: str = ""
    total: int = 0
    correct: int = 0
    per_topic: dict[str, dict[str, int]] = field(default_factory=dict)
    misrouted: list[dict[str, Any]] = field(default_factory=list)
    #: Questions answered with two topics as buttons, and how many had the right one among them.
    offered_two: int = 0
    right_among_two: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def recall(self, topic: str) -> float:
        counts = self.per_topic.get(topic, {})
        support = counts.get("support", 0)
        return counts.get("tp", 0) / support if support else 1.0

    def precision(self, topic: str) -> float:
        counts = self.per_topic.get(topic, {})
        predicted = counts.get("predicted", 0)
        return counts.get("tp", 0) / predicted if predicted else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "total": self.total,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "acute_recall": round(self.recall(ACUTE), 4),
            "unknown_precision": round(self.precision(UNKNOWN), 4),
            "unknown_recall": round(self.recall(UNKNOWN), 4),
            "offered_two": self.offered_two,
            "right_among_two": self.right_among_two,
            "per_topic": {
                topic: {
                    **counts,
                    "precision": round(self.precision(topic), 4),
                    "recall": round(self.recall(topic), 4),
                }
                for topic, counts in sorted(self.per_topic.items())
            },
            "misrouted": self.misrouted,
        }


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(question, topic) pairs from a TSV with header ``question<TAB>topic``; ``#`` lines are comments."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or {"question", "topic"} - set(reader.fieldnames):
            raise ValueError(f"{path}: header must be 'question<TAB>topic'")
        rows = [(row["question"].strip(), row["topic"].strip()) for row in reader]
    unknown = sorted({topic for _, topic in rows} - set(TOPICS))
    if unknown:
        raise ValueError(f"{path}: unknown topics {', '.join(unknown)}")
    return [(q, t) for q, t in rows if q]


def evaluate(
    rows: Iterable[tuple[str, str]], route: Router | None = None, name: str = ""
) -> EvalResult:
    """Route every question (with the shipped content unless ``route`` is given) and count hits."""
    route = route or faq.explain
    result = EvalResult(name=name)
    for topic in TOPICS:
        result.per_topic[topic] = {"support": 0, "predicted": 0, "tp": 0}
    for question, expected in rows:
        outcome = route(question)
        predicted, confidence = outcome.topic, outcome.confidence
        if len(outcome.alternatives) >= 2:
            result.offered_two += 1
            result.right_among_two += expected in outcome.alternatives
        result.total += 1
        result.per_topic[expected]["support"] += 1
        result.per_topic[predicted]["predicted"] += 1
        if predicted == expected:
            result.correct += 1
            result.per_topic[expected]["tp"] += 1
        else:
            result.misrouted.append(
                {
                    "question": question,
                    "expected": expected,
                    "got": predicted,
                    "confidence": confidence,
                }
            )
    result.per_topic = {t: c for t, c in result.per_topic.items() if c["support"] or c["predicted"]}
    return result


def cross_validate(
    folds: int = FOLDS, seed: int = 11, examples: Mapping[str, Sequence[str]] | None = None
) -> EvalResult:
    """The training examples (of the shipped content unless ``examples`` is given), each routed by
    a model that never saw it.

    Stratified by topic; the acute pass and the thresholds are the same as in production.
    """
    by_lang, training = faq.shipped_content()
    if examples is None:
        examples = faq.training_examples(by_lang, training)
    rng = random.Random(seed)
    fold_of: dict[tuple[str, str], int] = {}
    for topic in sorted(examples):
        texts = list(examples[topic])
        rng.shuffle(texts)
        for i, text in enumerate(texts):
            fold_of[(topic, text)] = i % folds
    owners: dict[str, set[str]] = {}
    for topic, text in fold_of:
        owners.setdefault(text, set()).add(topic)
    total = EvalResult(name=f"training examples, {folds}-fold cross-validation")
    for fold in range(folds):
        train = {
            topic: [t for t in texts if fold_of[(topic, t)] != fold]
            for topic, texts in examples.items()
        }
        # An example listed under two topics is trained on and tested under neither in this fold.
        test = [
            (text, topic)
            for (topic, text), f in fold_of.items()
            if f == fold and len(owners[text]) == 1
        ]
        classifier = faq.build_classifier(by_lang, {}, None, embedder=True, examples=train)
        _merge(total, evaluate(test, classifier.classify))
    return total


def _merge(into: EvalResult, part: EvalResult) -> None:
    into.total += part.total
    into.correct += part.correct
    into.offered_two += part.offered_two
    into.right_among_two += part.right_among_two
    into.misrouted.extend(part.misrouted)
    for topic, counts in part.per_topic.items():
        mine = into.per_topic.setdefault(topic, {"support": 0, "predicted": 0, "tp": 0})
        for key, value in counts.items():
            mine[key] += value


def _print_text(result: EvalResult, out: TextIO) -> None:
    if result.name:
        out.write(f"== {result.name}\n")
    out.write(
        f"accuracy: {result.accuracy:.1%} ({result.correct}/{result.total})\n"
        f"acute recall: {result.recall(ACUTE):.1%}\n"
        f"ukjent precision: {result.precision(UNKNOWN):.1%}, recall: {result.recall(UNKNOWN):.1%}\n"
        f"two topics offered: {result.offered_two} (right one among them: {result.right_among_two})\n\n"
        f"{'topic':<20}{'n':>5}{'hit':>5}{'pred':>6}{'precision':>11}{'recall':>8}\n"
    )
    for topic, counts in sorted(result.per_topic.items()):
        out.write(
            f"{topic:<20}{counts['support']:>5}{counts['tp']:>5}{counts['predicted']:>6}"
            f"{result.precision(topic):>11.0%}{result.recall(topic):>8.0%}\n"
        )
    if result.misrouted:
        out.write(f"\nmisrouted ({len(result.misrouted)}):\n")
        for miss in result.misrouted:
            out.write(
                f"  [{miss['expected']} → {miss['got']} {miss['confidence']:.2f}] "
                f"{miss['question']}\n"
            )


def run_eval(
    paths: str | Path | Sequence[str | Path] = (),
    as_json: bool = False,
    out: TextIO = sys.stdout,
    lexical: bool = False,
    cross_validation: Callable[[], EvalResult] = cross_validate,
    holdouts: Sequence[Path] = HOLDOUTS,
) -> int:
    """Evaluate on ``paths`` (default: ``cross_validation`` and the ``holdouts``) and print the
    report; 0 on success, 2 on a bad file."""
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    route: Router = (lambda text: faq.explain(text, semantic=False)) if lexical else faq.explain
    results: list[EvalResult] = []
    if not files and not lexical:
        results.append(cross_validation())
    for path in files or [h for h in holdouts if h.exists()]:
        try:
            rows = read_labelled(path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"bts-bot: {exc}", file=sys.stderr)
            return 2
        results.append(evaluate(rows, route, name=str(path)))
    if as_json:
        payload: Any = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        for result in results:
            _print_text(result, out)
            out.write("\n")
    return 0
