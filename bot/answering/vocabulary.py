"""Which entry uses which word: how much of a question an entry explains, and whether it covers what is asked.

The ranking needs the first (a question explained by an entry's words ranks it higher); the intent guard needs the
second (a near miss shares an entry's nouns but asks for something — 解除, 年报, 申诉 — the entry never mentions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

ANSWER_TOKEN_SHARE = 0.5  # a question word found only in an entry's answer explains half as much
_EMPTY: frozenset[int] = frozenset()


def _inverted(vocab: Mapping[int, set[str]]) -> dict[str, frozenset[int]]:
    """Token → the entries using it: a candidate set meets it in one C-level intersection."""
    out: dict[str, set[int]] = defaultdict(set)
    for idx, tokens in vocab.items():
        for t in tokens:
            out[t].add(idx)
    return {t: frozenset(v) for t, v in out.items()}


class Vocabulary:
    """Words per entry (by index): from its phrasings and keywords, and from its answer alone."""

    def __init__(
        self,
        ids: Sequence[str],
        phrasing_words: Mapping[int, set[str]],
        answer_words: Mapping[int, set[str]],
        intents: Iterable[frozenset[str]],
    ) -> None:
        self._index = {eid: idx for idx, eid in enumerate(ids)}
        self._entries_with = _inverted(phrasing_words)
        self._answers_with = _inverted(answer_words)
        self._intents = tuple(
            (words, frozenset(ids[i] for w in words for i in self._entries_with.get(w, _EMPTY))) for words in intents
        )

    def explained(self, candidates: Iterable[int], weights: Mapping[str, float]) -> dict[int, float]:
        """Share (0–1) of the question's weight each candidate entry uses; words only in its answer count half."""
        cands = set(candidates)
        explained = dict.fromkeys(cands, 0.0)
        for t, w in weights.items():
            for idx in cands.intersection(self._entries_with.get(t, _EMPTY)):
                explained[idx] += w
            half = w * ANSWER_TOKEN_SHARE
            for idx in cands.intersection(self._answers_with.get(t, _EMPTY)):
                explained[idx] += half
        total = sum(weights.values())
        return {idx: e / total for idx, e in explained.items()}

    def uncovered(self, entry_id: str, tokens: Iterable[str]) -> bool:
        """True when the question asks for something (an intent group) the entry's phrasings never mention."""
        asked = frozenset(tokens)
        return any(asked & words and entry_id not in entries for words, entries in self._intents)
