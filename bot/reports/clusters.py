"""Group questions that ask for the same thing: weighted token overlap plus character similarity.

Leader clustering over distinct normalized texts, most frequent first: each text joins the most similar
existing group (compared with its first few members) or starts a new one. An inverted index over each
text's heaviest tokens limits the comparisons, so 100,000 questions take seconds, not hours. Deterministic:
the same input in the same order gives the same groups and numbers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

THRESHOLD = 0.3  # similarity (0–1) at which two questions are taken to ask for the same thing
KEY_TOKENS = 3  # heaviest tokens of a text used to find groups to compare with
LEADERS = 5  # members of a group a new text is compared with
MAX_CANDIDATES = 30  # groups compared per text at most


@dataclass(frozen=True, slots=True)
class Text:
    """A normalized question (no spaces) and its weighted content tokens."""

    norm: str
    weights: dict[str, float]

    def key_tokens(self) -> list[str]:
        return sorted(self.weights, key=lambda t: (-self.weights[t], t))[:KEY_TOKENS]


@dataclass
class _Group:
    leaders: list[Text] = field(default_factory=list)
    members: list[int] = field(default_factory=list)  # indices of distinct texts


def similarity(a: Text, b: Text) -> float:
    """0–1: weighted token overlap (Jaccard and overlap-of-the-shorter, averaged) blended with rapidfuzz."""
    shared = sum(min(a.weights[t], b.weights[t]) for t in a.weights.keys() & b.weights.keys())
    wa, wb = sum(a.weights.values()), sum(b.weights.values())
    if not wa or not wb:
        return fuzz.ratio(a.norm, b.norm) / 100.0
    jaccard = shared / (wa + wb - shared)
    overlap = shared / min(wa, wb)
    chars = fuzz.ratio(a.norm, b.norm) / 100.0
    return 0.35 * jaccard + 0.35 * overlap + 0.30 * chars


def group(texts: Sequence[Text], threshold: float = THRESHOLD) -> list[list[int]]:
    """Indices of `texts` grouped by need, largest group first (ties: first seen first)."""
    counts = Counter(t.norm for t in texts)
    first_at: dict[str, int] = {}
    for i, t in enumerate(texts):
        first_at.setdefault(t.norm, i)
    distinct = sorted(first_at, key=lambda n: (-counts[n], first_at[n]))
    groups: list[_Group] = []
    index: dict[str, list[int]] = defaultdict(list)
    group_of: dict[str, int] = {}
    for norm in distinct:
        text = texts[first_at[norm]]
        keys = text.key_tokens()
        seen = Counter(g for k in keys for g in index.get(k, ()))
        best, best_sim = -1, threshold
        for g, _ in sorted(seen.items(), key=lambda x: (-x[1], x[0]))[:MAX_CANDIDATES]:
            sim = max(similarity(text, leader) for leader in groups[g].leaders)
            if sim >= best_sim:
                best, best_sim = g, sim
        if best < 0:
            best = len(groups)
            groups.append(_Group())
        grp = groups[best]
        if len(grp.leaders) < LEADERS:
            grp.leaders.append(text)
            for k in keys:
                index[k].append(best)
        group_of[norm] = best
    members: list[list[int]] = [[] for _ in groups]
    for i, t in enumerate(texts):
        members[group_of[t.norm]].append(i)
    order = sorted(range(len(groups)), key=lambda g: (-len(members[g]), min(members[g])))
    return [members[g] for g in order]
