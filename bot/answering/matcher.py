"""Match a free-text question to an FAQ entry: answer, suggest, or escalate — never guess.

How a question is scored, and why (a question that is one entry's phrasing word for word, a stray number aside, is
simply answered by it: staff wrote it for that entry, or labelled the real question):
1. `Normalizer` folds width/script/case, drops filler and punctuation, maps synonyms to one form.
2. Typos and pinyin are repaired against the FAQ's own vocabulary by pinyin (社宝→社保, shebao→社保), but only
   where the written form is not itself a known word, so 工商 never becomes 工伤.
3. jieba segments with the FAQ's keywords and synonyms as a user dictionary (稳岗返还 stays whole).
4. Tokens are weighted by how rare they are across entries (IDF); a token the FAQ never uses weighs like a rare
   one, so "社保卡密码" is not explained by any 社保 entry.
5. An inverted index over tokens gives candidates: every phrasing that shares a word with the question, except that
   a very common word (in more than MAX_POSTINGS phrasings) brings only the phrasings where it weighs most, so the
   cost per query does not grow with the FAQ. A phrasing reached through any other word is still credited with the
   common words it holds, so the cap never hides the entry a question's rarer words point at. Candidates are then
   scored by: how much of the question the entry explains, how much of the best phrasing the question covers,
   and a rapidfuzz character similarity for typos and word order.
6. Out-of-scope exemplars (`faq/out-of-scope.yaml`) compete like entries; when one wins, we escalate.
7. The intent guard: a question whose ask (解除, 录用, 年报, 申诉, 填报 … `faq/intents.yaml`) the best entry never
   covers is not answered by it, however many nouns they share.
8. Where the lexical decision is not clear-cut, a sentence-embedding model (`bot/answering/semantic.py`) is asked: its
   similarity, standardised over the entries, is added to the lexical score, and the fused score decides answer,
   choices or ticket. A question the lexical stage answers with a clear lead never waits for the model.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from bot.answering.decision import OOS_PREFIX, Thresholds, decide
from bot.answering.kb import KnowledgeBase
from bot.answering.segment import Segmenter
from bot.answering.semantic import Embedder, SemanticIndex
from bot.answering.text import Normalizer
from bot.answering.typos import TypoRepair
from bot.answering.vocabulary import Vocabulary
from bot.models import Candidate, Match, Outcome

logger = logging.getLogger(__name__)

STOPWORDS = frozenset(
    " ".join(
        (
            "的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 不是 有 没有 有没有 在 我 我们 咱们 俺 你 你们 您 他 她 它 他们",
            "这 那 这个 那个 这些 那些 个 能 能不能 可以 可不可以 可否 是否 怎么 怎么样 怎样 怎么办 如何 什么",
            "啥 哪些 哪里 哪儿 多少 几 要 要不要 需要 会 会不会 还 还是 就 都 也 和 与 及 或 或者 对 给 把 被",
            "让 请 一下 下 一 就是 但是 但 因为 所以 如果 的话 呗 嗯 哈 该 应该 应当 一般 目前 现在 今年 已经",
            "之前 之后 以后 里 上 中 后 前 时候 情况 问题 问 想 知道 了解 吧 者 其 之 以 为 从 于 并 而 又 再",
            "多 很 太 比较 具体 相关 方面 有关 关于 一些 有些 这样 那样 这种 那种 谁 吗 么 不 没 弄 搞 咋 咋办",
            "咋弄 怎么弄 怎么搞 啥样",
        )
    ).split()
)


def _verbatim_key(normalized: str) -> str:
    """What two texts must share to be the same question: their normalized words, without numbers."""
    return "".join(c for c in normalized if not c.isdigit() and not c.isspace())


def _run_starts(sorted_ids: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins in a sorted array (np.unique without sorting again)."""
    change = np.empty(len(sorted_ids), dtype=bool)
    change[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=change[1:])
    return np.flatnonzero(change)


@dataclass(frozen=True)
class _Phrasing:
    entry: int  # index into Matcher._ids
    text: str  # normalized, no spaces
    tokens: frozenset[str]
    weight: float  # sum of token weights, for coverage


@dataclass(frozen=True)
class _Posting:
    reach: np.ndarray  # int32: the phrasings the token brings in as candidates (all that hold it, or for a common
    # word the MAX_POSTINGS where it weighs most), ascending
    shares: np.ndarray  # float64, per `reach`: the token's weight / the phrasing's, how much of it the token covers;
    # zeros for a common word, which is credited through `held` instead
    held: np.ndarray | None  # a common word's: bool per phrasing id, True where the phrasing holds it
    weight: float  # the token's IDF


class Lexical(NamedTuple):
    """A question's lexical ranking (entries and exemplars scored 0–100, best first) and its content words."""

    ranked: list[tuple[str, float]]
    tokens: frozenset[str]


class Matcher:
    """Built once at start-up from a KnowledgeBase; `match()` is then cheap and side-effect free."""

    # Score weights: question explained by the entry, phrasing covered by the question, character similarity.
    W_QUERY, W_PHRASE, W_FUZZ = 0.45, 0.30, 0.25
    MAX_POSTINGS = 100  # a word in more phrasings brings only the ones where it weighs most: bounds the work per query
    CANDIDATES = 12  # entries, by best phrasing coverage, that get the full score
    TOP_ENTRIES = 6  # of those, the entries that get the (costlier) rapidfuzz pass
    FUZZ_PER_ENTRY = 4  # on their best-covered phrasings
    PARTIAL_DISCOUNT = 0.9  # a phrasing found inside a long message counts a little less than a whole match
    DIGIT_SHARE = 0.2  # what a bare number weighs against a word

    def __init__(
        self,
        kb: KnowledgeBase,
        thresholds: Thresholds | None = None,
        normalizer: Normalizer | None = None,
        embedder: Embedder | None = None,
        cache_dir: Path | None = None,
    ):
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.normalize = normalizer or Normalizer(kb.synonyms)
        self.overrides = {self.normalize.clean(q): target for q, target in kb.overrides.items()}
        domain_words = {self.normalize(w) for e in kb.entries.values() for w in e.keywords}
        domain_words |= {self.normalize(w) for w in kb.synonyms.values()}
        domain_words |= {self.normalize(w) for group in kb.intents for w in group}
        self._segmenter = Segmenter(sorted(w for w in domain_words if len(w) >= 2 and " " not in w))
        self._build(kb)
        self.semantic = self._semantic_index(kb, embedder, cache_dir) if embedder else None

    # ---- index -------------------------------------------------------------------------------------------

    def _build(self, kb: KnowledgeBase) -> None:
        self._ids: list[str] = []
        texts: list[tuple[int, str]] = []
        answers: dict[int, str] = {}
        keywords: dict[int, str] = {}
        for entry in kb.entries.values():
            idx = len(self._ids)
            self._ids.append(entry.id)
            texts += [(idx, p) for p in (entry.question, *entry.alternates)]
            keywords[idx] = " ".join(entry.keywords)
            regional = " ".join(v.answer or v.extra or "" for v in entry.regions.values())
            answers[idx] = f"{entry.answer} {regional}"
        for i, phrasing in enumerate(kb.out_of_scope):
            idx = len(self._ids)
            self._ids.append(f"{OOS_PREFIX}{i}")
            texts.append((idx, phrasing))
        normalized = [(idx, self.normalize(t)) for idx, t in texts]
        token_sets = [(idx, norm, frozenset(self._tokens(norm))) for idx, norm in normalized]
        vocab: dict[int, set[str]] = defaultdict(set)
        for idx, _, toks in token_sets:
            vocab[idx] |= toks
        for idx, words in keywords.items():  # keywords explain a question, but are no phrasing of their own
            vocab[idx] |= set(self._tokens(self.normalize(words)))
        answer_vocab = {
            idx: set(self._tokens(self.normalize(text))) - vocab.get(idx, set()) for idx, text in answers.items()
        }
        n = max(len(vocab), 1)
        self._idf = self._idf_of(vocab.values(), n)
        self._unknown_weight = math.log(1 + n / 1.5)  # a word the FAQ never uses weighs like a rare one
        self._phrasings = [
            _Phrasing(idx, norm.replace(" ", ""), toks, math.fsum(self._idf[t] for t in toks) or 1.0)
            for idx, norm, toks in token_sets
            if toks
        ]
        self._ph_entry = [ph.entry for ph in self._phrasings]
        self._ph_entries = np.array(self._ph_entry, dtype=np.int32)
        self._ph_weights = np.array([ph.weight for ph in self._phrasings])
        self._ph_text = [ph.text for ph in self._phrasings]
        owners: dict[str, set[str]] = defaultdict(set)
        for ph in self._phrasings:
            owners[_verbatim_key(ph.text)].add(self._ids[ph.entry])
        self._verbatim = {  # a phrasing of one entry only (an exemplar's or a shared one answers nothing)
            key: eid
            for key, ids in owners.items()
            if len(ids) == 1 and len(key) >= 2 and not (eid := next(iter(ids))).startswith(OOS_PREFIX)
        }
        by_token: dict[str, list[int]] = defaultdict(list)
        for pi, ph in enumerate(self._phrasings):
            for t in ph.tokens:
                by_token[t].append(pi)
        self._postings = {t: self._posting(t, pis) for t, pis in by_token.items()}
        intents = [frozenset(self.normalize(w).replace(" ", "") for w in group) for group in kb.intents]
        self.vocabulary = Vocabulary(self._ids, vocab, answer_vocab, intents)
        self.typos = TypoRepair(self._segmenter, self.normalize.synonyms, self._idf)
        logger.info(
            "matcher index: %d entries, %d phrasings, %d tokens", len(kb.entries), len(self._phrasings), len(self._idf)
        )

    def _semantic_index(self, kb: KnowledgeBase, embedder: Embedder, cache_dir: Path | None) -> SemanticIndex:
        owners: list[str] = []
        texts: list[str] = []
        for entry in kb.entries.values():
            for phrasing in (entry.question, *entry.alternates):
                owners.append(entry.id)
                texts.append(self.normalize.clean(phrasing))
        for i, phrasing in enumerate(kb.out_of_scope):
            owners.append(f"{OOS_PREFIX}{i}")
            texts.append(self.normalize.clean(phrasing))
        return SemanticIndex(owners, texts, embedder, cache_dir)

    def _posting(self, token: str, phrasings: list[int]) -> _Posting:
        """A token's phrasings in id order, and those it brings in: all, or the MAX_POSTINGS where it weighs most."""
        ids = np.array(phrasings, dtype=np.int32)  # built in id order
        shares = np.array([self._idf[token] / self._phrasings[pi].weight for pi in phrasings])
        if len(phrasings) <= self.MAX_POSTINGS:
            return _Posting(ids, shares, None, self._idf[token])
        heaviest = np.argsort(-shares, kind="stable")[: self.MAX_POSTINGS]  # ties: the lower id
        held = np.zeros(len(self._phrasings), dtype=bool)  # one byte per phrasing, for the few common words
        held[ids] = True
        return _Posting(np.sort(ids[heaviest]), np.zeros(self.MAX_POSTINGS), held, self._idf[token])

    @staticmethod
    def _idf_of(vocabs: Iterable[set[str]], n: int) -> dict[str, float]:
        df: dict[str, int] = defaultdict(int)
        for toks in vocabs:
            for t in toks:
                df[t] += 1
        return {t: math.log(1 + n / d) for t, d in df.items()}

    def warm(self) -> None:
        """Build the lazily made tables now: a server calls this at start so its first user does not wait ~0.4 s."""
        self.typos.warm()

    def _tokens(self, norm: str) -> list[str]:
        return self._expand(self._segmenter.lcut(norm))

    def _expand(self, words: list[str]) -> list[str]:
        """Content tokens in jieba's search mode: long words also yield their known parts (社保减免 → 社保, 减免),
        so a compound in one phrasing still meets its parts in another. Done here, not by `lcut_for_search`,
        so one segmentation serves both the typo repair and the tokens."""
        freq = self._segmenter.freq
        out = []
        for w in words:
            if len(w) > 2:
                out += [w[i : i + 2] for i in range(len(w) - 1) if freq.get(w[i : i + 2])]
                if len(w) > 3:
                    out += [w[i : i + 3] for i in range(len(w) - 2) if freq.get(w[i : i + 3])]
            out.append(w)
        return [t for t in out if t.strip() and t not in STOPWORDS]

    # ---- query -------------------------------------------------------------------------------------------

    def _unknown_token_weight(self, token: str) -> float:
        """A word the FAQ never uses: a rare one (挂失) weighs like the FAQ's rarest, a common one (向) little."""
        general = math.log(self._segmenter.total / (self._segmenter.freq.get(token, 0) + 1))
        return self._unknown_weight * min(1.0, max(0.1, (general - 6.0) / 8.0))

    def analyse(self, text: str, cleaned: bool = False) -> tuple[str, dict[str, float]]:
        """The normalized question and its weighted content tokens (exposed for reports and debugging)."""
        norm, words = self.typos.segment(self.normalize.synonymize(text) if cleaned else self.normalize(text))
        weights: dict[str, float] = {}
        for t in self._expand(words):
            w = self._idf.get(t)
            weights[t] = w if w is not None else self._unknown_token_weight(t)
            if t.isdigit():  # a bare number (a stray keystroke, a count) says little about what is asked
                weights[t] *= self.DIGIT_SHARE
        return norm, weights

    def match(self, text: str) -> Match:
        """Decide answer / suggest / escalate for one question."""
        cleaned = self.normalize.clean(text)
        target = self.overrides.get(cleaned, ...)
        if target is None:
            return Match(Outcome.ESCALATE, reason="override")
        if isinstance(target, str):
            return Match(Outcome.ANSWER, (Candidate(target, 100.0),), reason="override")
        if (entry_id := self.verbatim(cleaned)) is not None:
            return Match(Outcome.ANSWER, (Candidate(entry_id, 100.0),), reason="verbatim")
        lexical = self.lexical(cleaned)
        if lexical is None:
            return Match(Outcome.ESCALATE, reason="empty")
        semantic = self.semantic
        return self.decide(*lexical, (lambda: semantic.similarities(cleaned)) if semantic else None)

    def verbatim(self, cleaned: str) -> str | None:
        """The entry one of whose phrasings the cleaned question is, word for word (a stray number aside), if only
        one entry has it: staff wrote it for that entry, or a real enterprise asked it and staff labelled it."""
        return self._verbatim.get(_verbatim_key(self.normalize.synonymize(cleaned)))

    def lexical(self, cleaned: str) -> Lexical | None:
        """The lexical ranking of a cleaned question and its content tokens; None when it has no content."""
        norm, weights = self.analyse(cleaned, cleaned=True)
        if not weights:
            return None
        return Lexical(self._rank(norm.replace(" ", ""), weights), frozenset(weights))

    def _rank(self, flat: str, weights: dict[str, float]) -> list[tuple[str, float]]:
        """Entries scored 0–100, best first (out-of-scope exemplars included, marked by their id)."""
        hits = [self._postings[t] for t in weights if t in self._postings]  # a known token weighs its IDF
        if not hits:
            return []
        touched, pcs, entries, entry_starts, best = self._phrase_coverage(hits)
        k = min(self.CANDIDATES, len(entries))
        chosen = np.argpartition(-best, k - 1)[:k] if k < len(entries) else np.arange(len(entries))
        ends = np.append(entry_starts[1:], len(touched))
        spans = {
            idx: (lo, hi, min(pc, 1.0))
            for idx, lo, hi, pc in zip(
                entries[chosen].tolist(), entry_starts[chosen].tolist(), ends[chosen].tolist(), best[chosen].tolist(),
                strict=True,
            )
        }  # fmt: skip
        explained = self.vocabulary.explained(spans.keys(), weights)
        coarse = {idx: self._combine(explained[idx], span[2], None) for idx, span in spans.items()}
        top = heapq.nlargest(self.TOP_ENTRIES, coarse, key=coarse.__getitem__)
        # rapidfuzz sees only each top entry's best-covered phrasings: the ones that can lift its score.
        phrasings: list[int] = []
        for idx in top:
            lo, hi, _ = spans[idx]
            ids = touched[lo:hi].tolist()
            if len(ids) > self.FUZZ_PER_ENTRY:
                covered = pcs[lo:hi].tolist()
                best_first = sorted(range(len(ids)), key=covered.__getitem__, reverse=True)  # stable: ties by id
                ids = [ids[i] for i in best_first[: self.FUZZ_PER_ENTRY]]
            phrasings += ids
        similarity = self._similarities(flat, phrasings)
        scored = [
            (self._ids[idx], 100.0 * self._combine(explained[idx], spans[idx][2], similarity.get(idx, 0.0)))
            for idx in top
        ]
        scored.sort(key=lambda x: -x[1])
        return scored

    def _phrase_coverage(
        self, hits: list[_Posting]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """How much of every candidate phrasing the question covers, and each entry's best, in a few numpy calls.

        Candidates are the phrasings the question's words bring in. Each is credited with every question word it
        holds, brought in by that word or not: the words that bring in all their phrasings through one reduceat
        over the merged postings, a common word through its per-phrasing flags. Returns the candidate ids
        (ascending), their coverage, the candidate entries, where each entry's phrasings start among the
        candidates, and each entry's best coverage. Phrasing ids are grouped by entry, so per-entry maxima are one
        reduceat over sorted runs too."""
        ids = np.concatenate([p.reach for p in hits])
        order = np.argsort(ids, kind="stable")  # merges the postings' sorted runs
        ids = ids[order]
        starts = _run_starts(ids)
        pcs = np.add.reduceat(np.concatenate([p.shares for p in hits])[order], starts)
        ids = ids[starts]
        common = [(p.held, p.weight) for p in hits if p.held is not None]
        if common:
            weights = self._ph_weights[ids]
            for flags, weight in common:
                held = flags[ids]
                pcs[held] += weight / weights[held]
        owners = self._ph_entries[ids]
        entry_starts = _run_starts(owners)
        return ids, pcs, owners[entry_starts], entry_starts, np.maximum.reduceat(pcs, entry_starts)

    def _similarities(self, flat: str, phrasings: list[int]) -> dict[int, float]:
        """Best character similarity (0–1) per entry, computed in one rapidfuzz call per scorer.

        Whole-string ratio, or for a long message the best-aligned part of it (partial ratio, discounted)."""
        texts = [self._ph_text[pi] for pi in phrasings]
        owners = [self._ph_entry[pi] for pi in phrasings]
        best: dict[int, float] = {}
        for _, score, i in process.extract(flat, texts, scorer=fuzz.ratio, limit=None):
            if score > best.get(owners[i], 0.0):
                best[owners[i]] = score
        length = sum(not c.isdigit() for c in flat)  # a number (a count, a stray keystroke) makes no message long
        short = [i for i, t in enumerate(texts) if 2 * len(t) < length]
        # A part can only lift an entry above its whole-string score: rapidfuzz may skip alignments below the
        # lowest of those, which is most of the work on a long message.
        floor = min((best[owners[i]] for i in short), default=100.0) / self.PARTIAL_DISCOUNT
        if floor < 100.0:
            parts = [texts[i] for i in short]
            for _, score, j in process.extract(flat, parts, scorer=fuzz.partial_ratio, limit=None, score_cutoff=floor):
                owner = owners[short[j]]
                if self.PARTIAL_DISCOUNT * score > best[owner]:
                    best[owner] = self.PARTIAL_DISCOUNT * score
        return {idx: score / 100.0 for idx, score in best.items()}

    def _combine(self, query_cov: float, phrase_cov: float, similarity: float | None) -> float:
        """One 0–1 score from the three signals (similarity None: the cheap pre-ranking without rapidfuzz)."""
        if similarity is None:
            return self.W_QUERY * query_cov + self.W_PHRASE * phrase_cov
        return self.W_QUERY * query_cov + self.W_PHRASE * phrase_cov + self.W_FUZZ * similarity

    def decide(
        self,
        ranked: list[tuple[str, float]],
        tokens: frozenset[str],
        similarities: Callable[[], dict[str, float]] | None,
    ) -> Match:
        """Answer, suggest or escalate (see `decision.decide`), with this index's intent coverage."""
        return decide(ranked, similarities, self.thresholds, lambda eid: self.vocabulary.uncovered(eid, tokens))
