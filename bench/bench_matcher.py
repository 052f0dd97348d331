"""Matcher latency at growing FAQ sizes against a naive rapidfuzz baseline, plus cold start to the first answer.

    .venv/bin/python bench/bench_matcher.py [--sizes 100,1000,10000] [--queries 300]

Synthetic entries are made from the real ones: each copy gets a distinct made-up topic word in every phrasing
(so the vocabulary and the posting lists grow with the size, as a real larger FAQ would), and the queries are
real alternates with a typo, a greeting or a context clause added. The baseline is what a first version would
do: `rapidfuzz.process.extractOne(query, all_phrasings, scorer=fuzz.WRatio)`, measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jieba  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.kb import KnowledgeBase, load  # noqa: E402
from bot.matcher import Matcher  # noqa: E402

SYLLABLES = "安邦诚达丰和华佳嘉建金锦康朗利隆茂明宁鹏启瑞盛泰通旺祥鑫兴旭益永裕源远泽振正智中卓"
PREFIXES = ("您好，", "请问", "麻烦问一下，", "", "", "我们是一家小企业，")
SUFFIXES = ("", "？", "，谢谢", "，急", "，我们在二七区")


def synthetic_kb(kb: KnowledgeBase, size: int, rng: random.Random) -> KnowledgeBase:
    """`size` entries: the real ones, then copies each tied to its own made-up topic word."""
    real = list(kb.entries.values())
    entries = {e.id: e for e in real[:size]}
    n = len(entries)
    while n < size:
        base = real[n % len(real)]
        word = "".join(rng.choice(SYLLABLES) for _ in range(3)) + "项目"
        entries[f"syn.{n}"] = dataclasses.replace(
            base,
            id=f"syn.{n}",
            question=f"{word}{base.question}",
            alternates=tuple(f"{word}{a}" if i % 2 else f"{a}{word}" for i, a in enumerate(base.alternates)),
            keywords=(word,),
            related=(),
        )
        n += 1
    return dataclasses.replace(kb, entries=entries)


def queries(kb: KnowledgeBase, count: int, rng: random.Random) -> list[str]:
    pool = [a for e in kb.entries.values() for a in e.alternates]
    out = []
    for _ in range(count):
        q = rng.choice(pool)
        if len(q) > 4 and rng.random() < 0.3:  # drop one character: a typo
            i = rng.randrange(len(q))
            q = q[:i] + q[i + 1 :]
        out.append(rng.choice(PREFIXES) + q + rng.choice(SUFFIXES))
    return out


def timed(fn, items: list[str]) -> list[float]:
    times = []
    for q in items:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98]


def jieba_reference(qs: list[str]) -> float:
    """Median ms of plain `jieba.lcut` per question: the yardstick the targets were set against on their machine
    (~0.08 ms there), so figures from a faster or slower machine can be scaled."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    for q in qs[:50]:
        jieba.lcut(q)
    return statistics.median(timed(jieba.lcut, qs))


def cold_start() -> float:
    """Seconds from process start to the first answer line of `run_bot.py match` (median of 3)."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "run_bot.py"), "match"],
            input='{"q": "社保费能缓缴吗"}\n',
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(20200321)
    kb = load(ROOT / "faq")
    qs = queries(kb, args.queries, rng)
    print(f"{'entries':>8} {'build s':>8} {'ours med ms':>12} {'ours p99 ms':>12} {'naive med ms':>13} "
          f"{'naive p99 ms':>13} {'speed-up':>9}")  # fmt: skip
    for size in (int(s) for s in args.sizes.split(",")):
        big = synthetic_kb(kb, size, rng)
        t0 = time.perf_counter()
        matcher = Matcher(big)
        build = time.perf_counter() - t0
        for q in qs[:50]:  # warm-up: the pinyin tables are built lazily by the first question that needs them
            matcher.match(q)
        ours = timed(matcher.match, qs)
        phrasings = [p for e in big.entries.values() for p in (e.question, *e.alternates)]
        naive = timed(lambda q, ph=phrasings: process.extractOne(q, ph, scorer=fuzz.WRatio), qs[:100])
        speed = statistics.median(naive) / statistics.median(ours)
        print(f"{len(big.entries):>8} {build:>8.2f} {statistics.median(ours):>12.3f} {p99(ours):>12.3f} "
              f"{statistics.median(naive):>13.3f} {p99(naive):>13.3f} {speed:>8.1f}x")  # fmt: skip
    print(f"\ncold start to first answer (run_bot.py match, median of 3): {cold_start():.2f} s")
    print(f"machine reference: jieba.lcut of the same questions, median {jieba_reference(qs):.3f} ms")


if __name__ == "__main__":
    main()
