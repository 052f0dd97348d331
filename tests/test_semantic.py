"""The semantic model behind its small interface: loaded once, cached per FAQ text, optional at run time."""

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.answering import semantic
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.answering.semantic import SemanticIndex, VectorCache
from bot.models import Outcome


class CountingEmbedder:
    """A stand-in model: a vector per text from its hash, and a count of what it was asked to embed."""

    model_id = "counting-test"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        return np.array([r / np.linalg.norm(r) for r in rows], dtype=np.float32)


def test_phrasing_vectors_are_computed_once_per_text(tmp_path: Path) -> None:
    first = CountingEmbedder()
    SemanticIndex(["a", "a", "b"], ["社保缓缴", "社保能缓交吗", "稳岗返还"], first, tmp_path)
    assert sorted(first.embedded) == ["社保缓缴", "社保能缓交吗", "稳岗返还"]

    edited = CountingEmbedder()  # the FAQ gained one phrasing: only that one is embedded at the next start
    index = SemanticIndex(
        ["a", "a", "b", "b"], ["社保缓缴", "社保能缓交吗", "稳岗返还", "稳岗补贴怎么领"], edited, tmp_path
    )
    assert edited.embedded == ["稳岗补贴怎么领"]
    sims = index.similarities("稳岗返还")
    assert set(sims) == {"a", "b"} and sims["b"] == pytest.approx(1.0, abs=1e-5)


def test_a_damaged_cache_is_rebuilt_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = VectorCache(tmp_path, CountingEmbedder.model_id).path
    path.write_bytes(b"not a numpy file")
    embedder = CountingEmbedder()
    with caplog.at_level(logging.WARNING):
        SemanticIndex(["a"], ["社保缓缴"], embedder, tmp_path)
    assert embedder.embedded == ["社保缓缴"] and "向量缓存" in caplog.text


def test_without_the_model_the_bot_matches_lexically(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(threads: int = 1) -> None:
        raise OSError("engine missing")

    monkeypatch.setattr(semantic, "E5Embedder", broken)
    with caplog.at_level(logging.WARNING):
        embedder = semantic.load_embedder()
    assert embedder is None and "仅使用词面匹配" in caplog.text
    m = Matcher(kb, embedder=embedder).match("社保能缓交吗")
    assert (m.outcome, m.id) == (Outcome.ANSWER, "si.deferral")


def test_the_bundled_model_tells_a_paraphrase_from_an_unrelated_question() -> None:
    model = semantic.load_embedder()
    assert model is not None
    q, para, other = model.embed(["社保费能不能晚点交", "受疫情影响的企业可以缓缴社会保险费吗", "营业执照怎么注销"])
    assert float(q @ para) > float(q @ other)
