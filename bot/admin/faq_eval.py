"""``bts-bot eval FILE.tsv``: accuracy of the FAQ classifier on a labelled set of questions.

The file is a TSV with the header ``question<TAB>topic``. Prints overall accuracy, per-topic counts
with precision and recall, acute recall (missing an acute question is the worst error) and every
misrouted question, as text or as one JSON object. Reads local files only; stores nothing.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dialogs.faq.dialog import TOPICS, classify
from dialogs.faq.engine import ACUTE


@dataclass
class EvalResult:
    """Counts from one evaluation run."""

    total: int = 0
    correct: int = 0
    per_topic: dict[str, dict[str, int]] = field(default_factory=dict)
    misrouted: list[dict[str, Any]] = field(default_factory=list)

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
            "total": self.total,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "acute_recall": round(self.recall(ACUTE), 4),
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
    """(question, topic) pairs from a TSV with header ``question<TAB>topic``."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or {"question", "topic"} - set(reader.fieldnames):
            raise ValueError(f"{path}: header must be 'question<TAB>topic'")
        rows = [(row["question"].strip(), row["topic"].strip()) for row in reader]
    unknown = sorted({topic for _, topic in rows} - set(TOPICS))
    if unknown:
        raise ValueError(f"{path}: unknown topics {', '.join(unknown)}")
    return [(q, t) for q, t in rows if q]


def evaluate(rows: list[tuple[str, str]]) -> EvalResult:
    """Classify every question and count hits per topic."""
    result = EvalResult()
    for topic in TOPICS:
        result.per_topic[topic] = {"support": 0, "predicted": 0, "tp": 0}
    for question, expected in rows:
        predicted, confidence = classify(question)
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


def _print_text(result: EvalResult, out: TextIO) -> None:
    out.write(
        f"accuracy: {result.accuracy:.1%} ({result.correct}/{result.total})\n"
        f"acute recall: {result.recall(ACUTE):.1%}\n\n"
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


def run_eval(path: str | Path, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    """Evaluate the classifier on ``path`` and print the report; 0 on success, 2 on a bad file."""
    try:
        rows = read_labelled(Path(path))
    except (OSError, ValueError, KeyError) as exc:
        print(f"bts-bot: {exc}", file=sys.stderr)
        return 2
    result = evaluate(rows)
    if as_json:
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        _print_text(result, out)
    return 0
