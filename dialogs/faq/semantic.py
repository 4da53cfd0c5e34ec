"""The semantic pass of the FAQ router: what a question means, not only which words it has.

Each text becomes one feature vector: its multilingual-e5-small sentence embedding (meaning, across
bokmål, nynorsk and English) next to hashed character n-grams of its folded words (typos, dialect
and nynorsk spellings, words without æøå) and hashed folded words and word pairs ("melde sjølv",
"ikke hentet": what a short phrase says, which neither of the others pins down). A softmax
(multinomial logistic) regression over the topics is trained on the example questions in the
content files — ``training.yaml`` and the ``examples``/``keywords`` of ``faq.yaml`` in every
language, plus a kommune's own — when the router is built: deterministic, shared by every router
built from the same examples in this process, and for the shipped examples read from ``model.npz``
beside this module instead (``bts-bot routing cache`` writes it; a digest of the examples and the
settings below says whether it still fits). Training takes about 25 s with numpy on 2 cores for
the ~10,700 shipped examples, so only a kommune's own examples cost that at start. Its probabilities
are blended with a vote of the examples nearest to the question by embedding. The outcome is a
probability per topic; ``dialogs.faq.engine`` decides what to do with it (answer, offer two topics,
or say honestly that it does not know).

Pure: no text is stored or logged here.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from dialogs.faq.embedder import Embedder
from dialogs.faq.words import words

log = logging.getLogger(__name__)

#: The trained model for the shipped examples.
SHIPPED_MODEL = Path(__file__).with_name("model.npz")

#: Buckets of the hashed character n-grams (3 to 5 letters, inside " word ").
NGRAM_BUCKETS = 2048
NGRAM_SIZES = (3, 4, 5)
#: Weight of the n-gram block against the embedding block (both have unit length).
NGRAM_WEIGHT = 0.5
#: Buckets and weight of the hashed word and word-pair block (unit length before the weight).
WORD_BUCKETS = 4096
WORD_WEIGHT = 0.5
#: L2 penalty and full-batch Adam steps of the regression; chosen by 5-fold cross-validation on
#: the training examples only (``bts-bot eval`` prints it), never on the held-out file.
L2_PENALTY = 1e-5
STEPS = 200
LEARNING_RATE = 0.1
#: The regression's probabilities are blended with a nearest-neighbour vote over the examples'
#: embeddings: a question close to a few examples of one topic (a rare wording the regression
#: averages away) gets that topic. The ``KNN_NEIGHBOURS`` nearest examples vote with weight
#: ``exp((similarity - best) / KNN_TEMPERATURE)``; the vote has weight ``KNN_WEIGHT`` in the blend.
#: Chosen by 5-fold cross-validation on the training examples (+0.7 points top-1, and one more
#: acute question above the acute threshold), never on a held-out file.
KNN_NEIGHBOURS = 5
KNN_TEMPERATURE = 0.02
KNN_WEIGHT = 0.3


def _hashed_counts(
    texts: Sequence[str], buckets: int, keys: Callable[[list[str]], Iterator[str]]
) -> np.ndarray:
    """Counts of each text's ``keys`` (of its folded words) hashed into ``buckets``, log-scaled and
    L2-normalised; one row per text."""
    matrix = np.zeros((len(texts), buckets), np.float32)
    for row, text in enumerate(texts):
        for key in keys(words(text[:1_000])):
            matrix[row, zlib.crc32(key.encode()) % buckets] += 1
    np.log1p(matrix, out=matrix)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    return matrix


def _ngrams(folded: list[str]) -> Iterator[str]:
    for word in folded:
        padded = f" {word} "
        for size in NGRAM_SIZES:
            for i in range(len(padded) - size + 1):
                yield padded[i : i + size]


def _words_and_pairs(folded: list[str]) -> Iterator[str]:
    for word in folded:
        yield f"w{word}"
    for first, second in pairwise(folded):
        yield f"b{first} {second}"


def ngram_matrix(texts: Sequence[str]) -> np.ndarray:
    """Hashed, log-scaled, L2-normalised character n-gram counts; one row per text."""
    return _hashed_counts(texts, NGRAM_BUCKETS, _ngrams)


def word_matrix(texts: Sequence[str]) -> np.ndarray:
    """Hashed, log-scaled, L2-normalised counts of folded words and adjacent word pairs."""
    return _hashed_counts(texts, WORD_BUCKETS, _words_and_pairs)


def features(embedder: Embedder, texts: Sequence[str], examples: bool = False) -> np.ndarray:
    """Embedding, n-gram and word blocks side by side; ``examples`` lets a caching embedder keep
    the embeddings."""
    vectors = embedder.embed(texts, remember=examples)
    return np.hstack(
        [vectors, NGRAM_WEIGHT * ngram_matrix(texts), WORD_WEIGHT * word_matrix(texts)]
    ).astype(np.float32)


@dataclass(frozen=True)
class SoftmaxModel:
    """Weights of a multinomial logistic regression over ``labels``."""

    labels: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def train(cls, x: np.ndarray, y: np.ndarray, labels: Sequence[str]) -> SoftmaxModel:
        """Full-batch Adam from zero weights: the same data always gives the same model."""
        n, d = x.shape
        k = len(labels)
        targets = np.eye(k, dtype=np.float32)[y]
        weights = np.zeros((d, k), np.float32)
        bias = np.zeros(k, np.float32)
        moments = [np.zeros_like(weights), np.zeros_like(bias)]
        squares = [np.zeros_like(weights), np.zeros_like(bias)]
        for step in range(1, STEPS + 1):
            grad = (_softmax(x @ weights + bias) - targets) / n
            grads = (x.T @ grad + L2_PENALTY * weights, grad.sum(axis=0))
            for param, g, m, v in zip((weights, bias), grads, moments, squares, strict=True):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                m_hat = m / (1 - 0.9**step)
                v_hat = v / (1 - 0.999**step)
                param -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
        return cls(tuple(labels), weights, bias)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return _softmax(x @ self.weights + self.bias)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def digest(embedder: Embedder, examples: Mapping[str, Sequence[str]]) -> str:
    """What a trained model depends on: the model, the examples and the training settings."""
    settings = (
        NGRAM_BUCKETS, NGRAM_SIZES, NGRAM_WEIGHT, WORD_BUCKETS, WORD_WEIGHT,
        L2_PENALTY, STEPS, LEARNING_RATE,
    )  # fmt: skip
    h = hashlib.sha256(f"{embedder.name}{settings}".encode())
    for topic in sorted(examples):
        h.update(b"\1" + topic.encode())
        for text in examples[topic]:
            h.update(b"\0" + text.encode())
    return h.hexdigest()


@dataclass(frozen=True)
class _Trained:
    """What every router built from the same examples shares: the regression, and the examples'
    embeddings with their topic index for the nearest-neighbour vote."""

    model: SoftmaxModel
    neighbours: np.ndarray
    neighbour_labels: np.ndarray


# Routers are built per Router (tests build hundreds); the training is shared by content digest.
_trained: OrderedDict[str, _Trained] = OrderedDict()
_trained_lock = threading.Lock()
_TRAINED_KEPT = 4


def trained_model(embedder: Embedder, examples: Mapping[str, Sequence[str]]) -> SoftmaxModel:
    """The model for these examples, trained once per process and content."""
    return _trained_for(embedder, examples).model


def _trained_for(embedder: Embedder, examples: Mapping[str, Sequence[str]]) -> _Trained:
    key = digest(embedder, examples)
    with _trained_lock:
        if key in _trained:
            _trained.move_to_end(key)
            return _trained[key]
        model = load_model(SHIPPED_MODEL, key)
        if model is None:
            labels = sorted(t for t, texts in examples.items() if texts)
            texts = [text for topic in labels for text in examples[topic]]
            y = np.array([i for i, topic in enumerate(labels) for _ in examples[topic]])
            model = SoftmaxModel.train(features(embedder, texts, examples=True), y, labels)
        texts = [text for topic in model.labels for text in examples[topic]]
        neighbour_labels = np.array(
            [i for i, topic in enumerate(model.labels) for _ in examples[topic]], np.intp
        )
        trained = _Trained(model, embedder.embed(texts, remember=True), neighbour_labels)
        _trained[key] = trained
        while len(_trained) > _TRAINED_KEPT:
            _trained.popitem(last=False)
        return trained


def save_model(path: Path, key: str, model: SoftmaxModel) -> None:
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            digest=np.array(key),
            labels=np.array(model.labels),
            weights=model.weights,
            bias=model.bias,
        )


def load_model(path: Path, key: str) -> SoftmaxModel | None:
    """The model saved at ``path`` if it was trained for ``key``, else None."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["digest"]) != key:
                return None
            labels = tuple(str(label) for label in data["labels"])
            return SoftmaxModel(labels, data["weights"].astype(np.float32), data["bias"])
    except (OSError, KeyError, ValueError) as exc:
        log.warning("saved routing model unreadable; training instead", extra={"error": str(exc)})
        return None


class SemanticRouter:
    """Topic probabilities for a question, from a model trained on example questions."""

    def __init__(self, examples: Mapping[str, Sequence[str]], embedder: Embedder) -> None:
        self.embedder = embedder
        self.examples = {t: tuple(dict.fromkeys(v)) for t, v in examples.items()}
        trained = _trained_for(embedder, self.examples)
        self.model = trained.model
        self._neighbours, self._neighbour_labels = trained.neighbours, trained.neighbour_labels

    def probabilities(self, text: str) -> dict[str, float]:
        x = features(self.embedder, [text])[0]
        # einsum, not @, for one question: a matrix product wakes OpenBLAS's threads, which then
        # spin for a while and slow the embedding engine down on the next question (2 cores: p50
        # 45 ms against 22 ms, p99 139 against 48 ms).
        logits = np.einsum("i,ij->j", x, self.model.weights) + self.model.bias
        row = (1 - KNN_WEIGHT) * _softmax(logits[None, :])[0]
        row += KNN_WEIGHT * self._vote(x[: self._neighbours.shape[1]])
        return {label: float(p) for label, p in zip(self.model.labels, row, strict=True)}

    def _vote(self, vector: np.ndarray) -> np.ndarray:
        """The nearest examples' topics, weighted by how close each is (sums to 1)."""
        vote = np.zeros(len(self.model.labels), np.float32)
        if not len(self._neighbours):
            return vote
        similarity = np.einsum("ij,j->i", self._neighbours, vector)
        k = min(KNN_NEIGHBOURS, len(similarity))
        nearest = np.argpartition(-similarity, k - 1)[:k]
        weight = np.exp((similarity[nearest] - similarity[nearest].max()) / KNN_TEMPERATURE)
        np.add.at(vote, self._neighbour_labels[nearest], weight)
        return vote / vote.sum()
