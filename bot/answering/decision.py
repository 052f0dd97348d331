"""The answer / suggest / escalate decision, from a question's lexical ranking and the model's similarities.

Pure functions of the ranking and the thresholds, so `bench/match_quality.py` can try many thresholds on one
ranking, and the rule a wrong answer would come from can be read in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.models import Candidate, Match, Outcome

OOS_PREFIX = "oos:"  # ids of the out-of-scope exemplars in a ranking


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds; the semantic ones were chosen by `bench/match_quality.py --tune` (cross-validated)."""

    answer: float = 46.0  # lexical score (0–100) an answer needs
    margin: float = 7.0  # … and its lead over the runner-up
    suggest: float = 30.0  # lexical score a suggestion needs
    sure: float = 75.0  # a lexical answer this strong (and with `sure_margin`) does not consult the model
    sure_margin: float = 10.0
    alpha: float = 0.5  # weight of the model's standardised similarity against the lexical score
    fused_answer: float = 1.0  # fused score an answer needs (lexical/100 + alpha · z/10)
    fused_margin: float = 0.15  # … and its lead over the runner-up
    fused_suggest: float = 0.2  # fused score from which suggestions are offered


def decide(
    ranked: list[tuple[str, float]],
    similarities: Callable[[], dict[str, float]] | None,
    th: Thresholds,
    uncovered: Callable[[str], bool],
) -> Match:
    """Answer, suggest or escalate, from the lexical ranking and (only when needed) the model's similarities.

    `uncovered(entry_id)`: the question asks for something (an intent) that entry never mentions."""
    in_scope = [(i, s) for i, s in ranked if not i.startswith(OOS_PREFIX)]
    best_id, best = in_scope[0] if in_scope else ("", 0.0)
    runner_up = in_scope[1][1] if len(in_scope) > 1 else 0.0
    oos = next((s for i, s in ranked if i.startswith(OOS_PREFIX)), 0.0)
    lexical_oos = oos >= best and oos >= th.suggest
    covered = bool(best_id) and not uncovered(best_id)
    lexical_answer = best >= th.answer and best - runner_up >= th.margin and covered and not lexical_oos
    lexical = [Candidate(i, round(s, 1)) for i, s in in_scope[:3] if s >= th.suggest * 0.75]
    if lexical_answer and (similarities is None or (best >= th.sure and best - runner_up >= th.sure_margin)):
        return Match(Outcome.ANSWER, tuple(lexical), reason="score")
    if similarities is None:
        return _without_model(lexical, best, lexical_oos, th)
    return _fuse(dict(in_scope), oos, similarities(), th, uncovered)


def _fuse(
    lexical: dict[str, float], oos: float, sims: dict[str, float], th: Thresholds, uncovered: Callable[[str], bool]
) -> Match:
    """Rank by lexical score plus the model's similarity, standardised over the entries (how far above the
    crowd the model puts an entry matters, not the raw cosine, which is 0.8–0.97 for almost anything)."""
    ids = [i for i in sims if not i.startswith(OOS_PREFIX)]
    values = np.array([sims[i] for i in ids])
    mean, spread = float(values.mean()), float(values.std()) or 1.0
    fused = sorted(
        ((i, lexical.get(i, 0.0) / 100.0 + th.alpha * (sims[i] - mean) / spread / 10.0) for i in ids),
        key=lambda x: -x[1],
    )
    sem_oos = max((s for i, s in sims.items() if i.startswith(OOS_PREFIX)), default=mean)
    fused_oos = oos / 100.0 + th.alpha * (sem_oos - mean) / spread / 10.0
    (top, f1), (_, f2) = fused[0], fused[1] if len(fused) > 1 else ("", 0.0)
    candidates = tuple(Candidate(i, round(lexical.get(i, 0.0), 1)) for i, _ in fused[:3])
    if fused_oos >= f1:
        return Match(Outcome.ESCALATE, candidates, reason="out-of-scope")
    if f1 >= th.fused_answer and f1 - f2 >= th.fused_margin and not uncovered(top):
        return Match(Outcome.ANSWER, candidates, reason="semantic")
    if f1 >= th.fused_suggest:
        return Match(Outcome.SUGGEST, candidates, reason="uncertain")
    return Match(Outcome.ESCALATE, candidates, reason="low-score")


def _without_model(lexical: list[Candidate], best: float, oos: bool, th: Thresholds) -> Match:
    """No lexical answer and no model (not installed, could not load): choices, or a person."""
    if oos:
        return Match(Outcome.ESCALATE, tuple(lexical), reason="out-of-scope")
    if lexical and best >= th.suggest:
        return Match(Outcome.SUGGEST, tuple(lexical), reason="uncertain")
    return Match(Outcome.ESCALATE, tuple(lexical), reason="low-score")
