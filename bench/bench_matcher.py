"""Matcher speed and answer quality at 100 / 1,000 / 10,000 distinct entries, against baselines in the same process.

    .venv/bin/python bench/bench_matcher.py [--sizes 100,1000,10000] [--queries 300] [--runs 3] [--seed 20200321]

The corpus does not flatter. Every synthetic entry is its own topic: a subject noun from a slice of jieba's
dictionary (绿化, 鞋帽, 冷库 …, each shared by a few entries at 10k), a policy word and an action word from the
FAQ's own vocabulary (社保 / 缓缴 …, shared by thousands of entries at 10k), in 4 phrasings drawn from 12 sentence
frames. The real entries come first, each with one alternate held out of the index. The questions are aimed at
any entry: the real entries' held-out alternates, and for synthetic entries a frame the entry does not use, with a
greeting, a context clause or a dropped character added. Nothing is generated at random at run time: one seed.

Baselines, measured on the same questions in the same run:
- naive: `rapidfuzz.process.extractOne(question, every phrasing, scorer=fuzz.WRatio)`, what a first version does;
- bm25s: BM25 over one document per entry (its phrasings and keywords), on the matcher's own tokens (the question's
  normalization and segmentation are in its time, as they are in ours);
- uncapped: our matcher with no per-word cap on posting lists, i.e. every entry that shares a word is scored.
  "index+wrong" counts questions the capped index answers wrongly that the uncapped one does not.

Per question we take wall time and the thread's CPU time: on a shared machine the wall-clock tail is mostly the OS
pausing the process, the CPU-time p99 is the matcher's own. Each figure is the median over `--runs` runs, with
the range (min–max) where it is timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import jieba  # noqa: E402
import numpy as np  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.answering.kb import KnowledgeBase, load  # noqa: E402
from bot.answering.matcher import STOPWORDS, Matcher  # noqa: E402
from bot.models import FaqEntry, Match, Outcome  # noqa: E402

FRAMES = (
    "{s}企业的{t}怎么{a}",
    "{s}行业{t}能{a}吗",
    "我们是做{s}的，{t}可以{a}吗",
    "{t}{a}对{s}公司适用吗",
    "{s}公司{a}{t}需要什么材料",
    "{s}的{t}{a}政策是什么",
    "{s}单位{t}如何{a}",
    "{a}{t}，{s}企业有什么条件",
    "{s}这块的{t}到哪里{a}",
    "疫情期间{s}企业{t}还能{a}吗",
    "{s}相关的{t}{a}流程",
    "{s}门店的{t}什么时候可以{a}",
)
PREFIXES = ("您好，", "请问", "麻烦问一下，", "", "", "我们是一家小企业，")
SUFFIXES = ("", "？", "，谢谢", "，急", "，我们在二七区")
SUBJECT_POOL = 4000  # subject nouns: at 10k entries each is shared by ~2.5 entries
UNCAPPED = 10**9


@dataclasses.dataclass(frozen=True)
class Question:
    text: str
    target: str  # the entry id it is aimed at


@dataclasses.dataclass
class Corpus:
    kb: KnowledgeBase
    questions: list[Question]


# ---- corpus ----------------------------------------------------------------------------------------------


def jieba_tags() -> dict[str, tuple[int, str]]:
    """jieba's dictionary: word → (count, part of speech)."""
    out = {}
    with Path(jieba.__file__).with_name("dict.txt").open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                out[parts[0]] = (int(parts[1]), parts[2])
    return out


def _chinese(word: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in word)


def vocabulary(kb: KnowledgeBase, matcher: Matcher, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """(subjects, policy nouns, actions): nouns from a jieba slice the FAQ never uses, and the FAQ's own nouns/verbs."""
    tags = jieba_tags()
    faq_words: set[str] = set()
    for entry in kb.entries.values():
        for phrasing in (entry.question, *entry.alternates):
            faq_words |= {w for w in matcher.analyse(phrasing)[1] if len(w) >= 2 and _chinese(w)}
    nouns = sorted(w for w in faq_words if tags.get(w, (0, ""))[1] in ("n", "vn", "nz"))
    actions = sorted(w for w in faq_words if tags.get(w, (0, ""))[1] == "v")
    pool = sorted(
        w
        for w, (count, tag) in tags.items()
        if tag == "n" and 100 <= count <= 5000 and 2 <= len(w) <= 3 and _chinese(w)
        if w not in faq_words and w not in STOPWORDS
    )
    rng.shuffle(pool)
    return pool[:SUBJECT_POOL], nouns, actions


def _noisy(text: str, rng: random.Random) -> str:
    if len(text) > 6 and rng.random() < 0.25:  # drop one character: a typo
        i = rng.randrange(len(text))
        text = text[:i] + text[i + 1 :]
    return rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)


def build_corpus(kb: KnowledgeBase, size: int, seed: int) -> tuple[KnowledgeBase, dict[str, str]]:
    """The first `size` entries of one deterministic sequence: the real ones (one alternate held out), then synthetic.

    Returns the knowledge base and each entry's held-out question (the real ones' alternate, the synthetic ones'
    unused frame, filled in)."""
    rng = random.Random(seed)
    subjects, nouns, actions = vocabulary(kb, Matcher(kb), rng)
    entries: dict[str, FaqEntry] = {}
    held_out: dict[str, str] = {}
    for entry in list(kb.entries.values())[:size]:
        keep, held = (entry.alternates[:-1], entry.alternates[-1]) if entry.alternates else ((), entry.question)
        entries[entry.id] = dataclasses.replace(entry, alternates=keep)
        held_out[entry.id] = held
    template = next(iter(kb.entries.values()))
    seen: set[tuple[str, str, str]] = set()
    while len(entries) < size:
        s, t, a = rng.choice(subjects), rng.choice(nouns), rng.choice(actions)
        if (s, t, a) in seen or t == a:
            continue
        seen.add((s, t, a))
        frames = rng.sample(FRAMES, 5)
        texts = [f.format(s=s, t=t, a=a) for f in frames]
        eid = f"syn.{len(entries)}"
        entries[eid] = dataclasses.replace(
            template,
            id=eid,
            question=texts[0],
            alternates=tuple(texts[1:4]),
            answer=f"{s}企业办理{t}{a}的说明。",
            keywords=(s,),
            regions={},
            related=(),
            facts=(),
        )
        held_out[eid] = texts[4]
    overrides = {q: t for q, t in kb.overrides.items() if t is None or t in entries}
    return dataclasses.replace(kb, entries=entries, overrides=overrides), held_out


def questions_for(held_out: dict[str, str], count: int, seed: int) -> list[Question]:
    """Every real entry's held-out alternate (at 10k their words are shared by thousands of entries: where a cap
    on common words bites), then questions at synthetic entries drawn from all of them, noise added, up to `count`."""
    rng = random.Random(seed + len(held_out))
    real = [Question(text, eid) for eid, text in held_out.items() if not eid.startswith("syn.")]
    synthetic = sorted(eid for eid in held_out if eid.startswith("syn."))
    chosen = rng.sample(synthetic, max(0, min(count - len(real), len(synthetic))))
    return real + [Question(_noisy(held_out[eid], rng), eid) for eid in chosen]


# ---- systems ---------------------------------------------------------------------------------------------


class Uncapped(Matcher):
    """The same matcher with no per-word cap: every entry sharing a word is scored (the quality reference)."""

    MAX_POSTINGS = UNCAPPED


def naive(kb: KnowledgeBase) -> Callable[[str], str]:
    """rapidfuzz over every phrasing; the entry of the best one."""
    phrasings = [p for e in kb.entries.values() for p in (e.question, *e.alternates)]
    owners = [e.id for e in kb.entries.values() for _ in (e.question, *e.alternates)]

    def top1(q: str) -> str:
        best = process.extractOne(q, phrasings, scorer=fuzz.WRatio)
        return owners[best[2]] if best else ""

    return top1


def bm25(kb: KnowledgeBase, matcher: Matcher) -> Callable[[str], str]:
    """BM25 (bm25s) over one document per entry, tokenized as the matcher tokenizes."""
    ids = list(kb.entries)
    docs = []
    for e in kb.entries.values():
        tokens: list[str] = []
        for text in (e.question, *e.alternates, *e.keywords):
            tokens += list(matcher.analyse(text)[1])
        docs.append(tokens)
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)

    def top1(q: str) -> str:
        tokens = list(matcher.analyse(q)[1])
        if not tokens:
            return ""
        return ids[int(np.argmax(retriever.get_scores(tokens)))]

    return top1


# ---- measuring -------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Timing:
    wall: list[float]  # ms per question
    cpu: list[float]  # ms of this thread's CPU per question

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_p99(self) -> float:
        return p99(self.cpu)


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[98]


def timed(fn: Callable[[str], object], qs: list[str]) -> Timing:
    wall, cpu = [], []
    for q in qs:
        c0, t0 = time.thread_time(), time.perf_counter()
        fn(q)
        t1, c1 = time.perf_counter(), time.thread_time()
        wall.append((t1 - t0) * 1000)
        cpu.append((c1 - c0) * 1000)
    return Timing(wall, cpu)


@dataclasses.dataclass
class Quality:
    top1: int = 0  # best-ranked entry is the one aimed at
    wrong: int = 0  # answered directly, with another entry


def quality(match: Callable[[str], Match], qs: list[Question]) -> tuple[Quality, set[int]]:
    """Top-1 and wrong answers of a Matcher's `match`; also which questions were answered wrongly."""
    q = Quality()
    wrong = set()
    for i, question in enumerate(qs):
        m = match(question.text)
        best = m.candidates[0].id if m.candidates else m.id
        q.top1 += best == question.target
        if m.outcome is Outcome.ANSWER and m.id != question.target:
            q.wrong += 1
            wrong.add(i)
    return q, wrong


def top1_of(fn: Callable[[str], str], qs: list[Question]) -> int:
    return sum(fn(q.text) == q.target for q in qs)


def fmt(values: list[float], digits: int = 3) -> str:
    """Median with its range over runs: 0.123 (0.120–0.130)."""
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def bench_size(kb: KnowledgeBase, size: int, count: int, runs: int, seed: int) -> tuple[list[str], list[str]]:
    """One size: (speed row, quality row)."""
    big, held_out = build_corpus(kb, size, seed)
    qs = questions_for(held_out, count, seed)
    texts = [q.text for q in qs]
    t0 = time.perf_counter()
    ours = Matcher(big)
    build = time.perf_counter() - t0
    full = Uncapped(big)
    slow = naive(big)
    bm = bm25(big, ours)
    for q in texts[:30]:  # warm-up: lazily built tables, caches
        ours.match(q), full.match(q), bm(q)
    naive_qs = texts[: max(30, count // 3)]  # the naive baseline is slow: a third of the questions suffice
    rows: dict[str, list[Timing]] = {"ours": [], "uncapped": [], "naive": [], "bm25s": []}
    for _ in range(runs):
        rows["ours"].append(timed(ours.match, texts))
        rows["uncapped"].append(timed(full.match, texts))
        rows["bm25s"].append(timed(bm, texts))
        rows["naive"].append(timed(slow, naive_qs))
    med = {k: [t.median for t in v] for k, v in rows.items()}
    cpu = {k: [t.cpu_p99 for t in v] for k, v in rows.items()}
    x_naive = [n / o for n, o in zip(med["naive"], med["ours"], strict=True)]
    x_bm25 = [b / o for b, o in zip(med["bm25s"], med["ours"], strict=True)]
    phrasings = sum(1 + len(e.alternates) for e in big.entries.values())
    speed = [
        f"{len(big.entries):>6} {phrasings:>6} {build:>6.1f}",
        fmt(med["ours"]),
        fmt(cpu["ours"]),
        fmt(med["uncapped"]),
        fmt(med["bm25s"]),
        fmt(cpu["bm25s"]),
        fmt(med["naive"], 2),
        fmt(x_naive, 0) + "x",
        fmt(x_bm25, 2) + "x",
    ]
    q_ours, wrong_ours = quality(ours.match, qs)
    q_full, wrong_full = quality(full.match, qs)
    qual = [
        f"{len(big.entries):>6} {len(qs):>5}",
        f"{q_ours.top1:>5} {q_ours.wrong:>5}",
        f"{q_full.top1:>5} {q_full.wrong:>5}",
        f"{len(wrong_ours - wrong_full):>11}",
        f"{top1_of(bm, qs):>10}",
        f"{top1_of(slow, qs):>10}",
    ]
    return speed, qual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20200321)
    args = ap.parse_args()
    kb = load(ROOT / "faq")
    results = [bench_size(kb, int(s), args.queries, args.runs, args.seed) for s in args.sizes.split(",")]
    print(f"matcher speed: ms per question, median of {args.runs} runs (range); CPU p99 = 99th percentile of the")
    print("thread's CPU time per question; xnaive / xbm25s = their median time over ours")
    print("entries phrasings build s | ours median | ours CPU p99 | uncapped median | bm25s median | bm25s CPU p99 "
          "| naive median | xnaive | xbm25s")  # fmt: skip
    for speed, _ in results:
        print(" | ".join(speed))
    print("\nmatcher quality (lexical, no model): top1 = best-ranked entry is the one aimed at; wrong = answered")
    print("directly with another entry; index+wrong = wrong with the per-word cap but not without it")
    print("entries  asked  ours top1 wrong  uncapped top1 wrong  index+wrong  bm25s top1  naive top1")
    for _, qual in results:
        print("   ".join(qual))


if __name__ == "__main__":
    main()
