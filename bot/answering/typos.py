"""Typos and pinyin repaired by the FAQ's own spelling: 社宝 → 社保, "shebao" → 社保, 减面 → 减免.

Only runs of segments that are no word of ours nor of the dictionary are looked at, so a real word (工商) never
becomes another (工伤); the pinyin tables are built on first need, since most questions never need them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

from bot.answering.segment import Segmenter
from bot.imports import submodule_alone

_LATIN_RUN_RE = re.compile(r"[a-z]+(?: [a-z]+)*")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_PINYIN_CACHE: dict[str, str] = {}


def _char_pinyin(ch: str) -> str:
    """The first reading of a character, toneless (社 → she); unknown characters stand for themselves."""
    py = _PINYIN_CACHE.get(ch)
    if py is None:
        # The character table alone (0.1 s, only when a question needs it): `import pypinyin` would also load
        # its phrase table, 0.4 s and 50 MiB that typo repair never reads.
        table = submodule_alone("pypinyin", "pinyin_dict").pinyin_dict
        reading = table.get(ord(ch), ch).split(",")[0]
        py = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
        py = py.replace("ü", "v")
        _PINYIN_CACHE[ch] = py
    return py


def _greedy_replace(items: list[str], lookup: Callable[[list[str]], str | None], min_size: int) -> list[str]:
    """Left to right, replace the longest window (4 items at most) that `lookup` knows; keep other items."""
    out: list[str] = []
    i = 0
    while i < len(items):
        for size in range(min(4, len(items) - i), min_size - 1, -1):
            word = lookup(items[i : i + size])
            if word is not None:
                out.append(word)
                i += size
                break
        else:
            out.append(items[i])
            i += 1
    return out


class TypoRepair:
    """Repairs a normalized question's unknown segments against `known` (the FAQ's words, by weight) and synonyms."""

    def __init__(self, segmenter: Segmenter, synonyms: Mapping[str, str], known: Mapping[str, float]) -> None:
        self.segmenter = segmenter
        self.synonyms = synonyms
        self.known = known  # token → IDF: a rarer word of ours wins a shared sound
        self._by_pinyin: dict[tuple[str, ...], str] | None = None
        self._by_joined_pinyin: dict[str, str] = {}

    def warm(self) -> None:
        """Build the tables now: a server calls this at start so its first user does not wait ~0.4 s."""
        self._pinyin_maps()
        _char_pinyin("社")  # imports pypinyin's character table

    def _pinyin_maps(self) -> dict[tuple[str, ...], str]:
        """Pinyin → word for the FAQ's own words and synonym variants (for typos and pinyin input)."""
        if self._by_pinyin is None:
            words: dict[str, str] = {}
            for variant, canonical in self.synonyms.items():
                words.setdefault(variant, canonical)
            # A sound shared by several of our words is read as the one most entries use (减面 → 减免, not the
            # 减勉 of one typo'd alternate), then as the more common word in general; ties by spelling.
            freq = self.segmenter.freq
            for token in sorted(self.known, key=lambda t: (self.known[t], -freq.get(t, 0), t)):
                words.setdefault(token, token)
            by_pinyin: dict[tuple[str, ...], str] = {}
            for word, target in words.items():
                if len(word) >= 2 and all(_CJK_RE.match(c) for c in word):
                    by_pinyin.setdefault(tuple(_char_pinyin(c) for c in word), target)
            self._by_joined_pinyin = {"".join(k): v for k, v in by_pinyin.items()}
            self._by_pinyin = by_pinyin
        return self._by_pinyin

    def _unknown(self, word: str) -> bool:
        """A segment that is no word of ours nor of the dictionary: a lone character or one jieba made up."""
        if word in self.known or not _CJK_RE.match(word):
            return False
        return len(word) == 1 or (not self.segmenter.freq.get(word) and all(_CJK_RE.match(c) for c in word))

    def segment(self, norm: str) -> tuple[str, list[str]]:
        """Segment, repairing misspelt or pinyin-typed domain words by the FAQ's own spelling first.

        Only runs of unknown segments are looked at (社宝 → shebao → 社保), so real words, and pairs that
        straddle two words, are never changed; the text is segmented again only when something was repaired.
        """
        if _LATIN_RUN_RE.search(norm):
            self._pinyin_maps()
            norm = _LATIN_RUN_RE.sub(self._repair_latin, norm)
        words = self.segmenter.lcut(norm)
        out: list[str] = []
        run: list[str] = []
        changed = False
        for word in [*words, ""]:
            if word and self._unknown(word):
                run.append(word)
                continue
            joined = "".join(run)
            if len(joined) >= 2:
                repaired = self._repair_run(joined)
                changed |= repaired != joined
                joined = repaired
            out += [joined, word]
            run = []
        if not changed:
            return norm, words
        norm = "".join(out)
        return norm, self.segmenter.lcut(norm)

    def _repair_run(self, chars: str) -> str:
        by_pinyin = self._pinyin_maps()
        return "".join(_greedy_replace(list(chars), lambda w: by_pinyin.get(tuple(map(_char_pinyin, w))), 2))

    def _repair_latin(self, m: re.Match[str]) -> str:
        """Pinyin typed in Latin letters, possibly spaced (yanchi fugong), becomes the FAQ's word."""
        return " ".join(_greedy_replace(m.group(0).split(), lambda w: self._by_joined_pinyin.get("".join(w)), 1))
