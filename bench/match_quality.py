"""Matcher quality without touching the held-out sets: k-fold over the FAQ's own alternates, plus OOS.

    python bench/match_quality.py [--dev ../shared/dev-questions.jsonl] [--errors]

Each fold removes every k-th alternate from the index and asks it back, so the numbers say how the matcher
does on phrasings it has never seen. Out-of-scope questions come from tests/data/oos-holdout.txt, which the
index never contains. The dev set, when given, is scored the same way as ../shared/tools/eval_questions.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ROOT
from bot.kb import KnowledgeBase, load
from bot.matcher import Matcher, Thresholds
from bot.models import Outcome

FOLDS = 5


def score(matcher: Matcher, items: list[tuple[str, str | None]], errors: list[str] | None = None) -> Counter:
    c: Counter = Counter()
    for q, expect in items:
        m = matcher.match(q)
        cands = [x.id for x in m.candidates[:3]]
        if expect is None:
            c["oos"] += 1
            kind = "oos_answered" if m.outcome is Outcome.ANSWER else "oos_ok"
        else:
            c["in"] += 1
            if m.outcome is Outcome.ANSWER:
                kind = "correct" if m.id == expect else "wrong"
            elif m.outcome is Outcome.SUGGEST:
                kind = "suggest_hit" if expect in cands else "suggest_miss"
            else:
                kind = "escalated"
        c[kind] += 1
        if errors is not None and kind in ("wrong", "suggest_miss", "escalated", "oos_answered"):
            errors.append(f"{kind:13} expect={expect} got={m.outcome.value}:{m.id} cands={cands} | {q}")
    return c


def metrics(c: Counter) -> dict[str, float]:
    n_in, n_oos = max(c["in"], 1), max(c["oos"], 1)
    return {
        "answer_acc": c["correct"] / n_in,
        "top3": (c["correct"] + c["suggest_hit"]) / n_in,
        "wrong": c["wrong"] / n_in,
        "oos_answered": c["oos_answered"] / n_oos,
    }


def without_folds(kb: KnowledgeBase, k: int) -> tuple[KnowledgeBase, list[tuple[str, str | None]]]:
    held: list[tuple[str, str | None]] = []
    entries = {}
    for e in kb.entries.values():
        keep = [a for i, a in enumerate(e.alternates) if i % FOLDS != k]
        held += [(a, e.id) for i, a in enumerate(e.alternates) if i % FOLDS == k]
        entries[e.id] = dataclasses.replace(e, alternates=tuple(keep))
    return dataclasses.replace(kb, entries=entries), held


def evaluate(kb: KnowledgeBase, th: Thresholds, dev: Path | None, show: bool) -> dict[str, dict[str, float]]:
    errors: list[str] = []
    folds: Counter = Counter()
    for k in range(FOLDS):
        kb_k, held = without_folds(kb, k)
        folds += score(Matcher(kb_k, th), held, errors if show else None)
    full = Matcher(kb, th)
    oos_lines = (ROOT / "tests/data/oos-holdout.txt").read_text(encoding="utf-8").splitlines()
    oos = [(q, None) for q in oos_lines if q.strip() and not q.startswith("#")]
    oos_c = score(full, oos, errors if show else None)
    out = {"k-fold alternates": metrics(folds), "oos holdout": metrics(oos_c)}
    if dev:
        items = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
        out["dev set"] = metrics(score(full, [(d["q"], d["expect"]) for d in items], errors if show else None))
    if show:
        print("\n".join(errors))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", type=Path)
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--answer", type=float, default=Thresholds.answer)
    ap.add_argument("--margin", type=float, default=Thresholds.margin)
    ap.add_argument("--suggest", type=float, default=Thresholds.suggest)
    args = ap.parse_args()
    kb = load(ROOT / "faq")
    res = evaluate(kb, Thresholds(args.answer, args.margin, args.suggest), args.dev, args.errors)
    print(f"{'set':20} {'answer_acc':>10} {'top3':>6} {'wrong':>6} {'oos_answered':>12}")
    for name, m in res.items():
        print(f"{name:20} {m['answer_acc']:10.3f} {m['top3']:6.3f} {m['wrong']:6.3f} {m['oos_answered']:12.3f}")


if __name__ == "__main__":
    main()
