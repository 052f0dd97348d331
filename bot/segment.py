"""Chinese word segmentation: jieba's accurate mode with its HMM, on a pruned dictionary, computed faster.

jieba's `lcut` spends most of a short question's time in its route search, which calls `log()` on every
candidate word of every position through a generator. `Segmenter` walks the same prefix dictionary with the
log-probabilities computed once, breaks ties the same way, and hands runs of unknown characters to jieba's own
HMM (`jieba.finalseg`), so its output is jieba's, word for word (tests/test_segment.py holds it to that), in
about half the time.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import jieba
from jieba import finalseg, re_han_default, re_skip_default

jieba.setLogLevel(logging.WARNING)

GENERAL_MIN_FREQ = 30  # words rarer than this in jieba's dictionary are left out of ours: 4x faster start


def pruned_dictionary() -> Path:
    """jieba's dictionary without its rarest words, written once to the temp dir (jieba caches it from there).

    Loading the full 350k-word dictionary costs about a second at every start; the 60k words kept segment
    our questions the same way, and a word missing from it counts as rare, which is what its weight says.
    """
    source = Path(jieba.__file__).with_name("dict.txt")
    key = hashlib.sha1(f"{source.stat().st_size}:{source.stat().st_mtime_ns}:{GENERAL_MIN_FREQ}".encode()).hexdigest()
    target = Path(tempfile.gettempdir()) / f"fugong-jieba-{key[:12]}.txt"
    if not target.exists():
        kept = []
        with source.open(encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and int(parts[1]) >= GENERAL_MIN_FREQ:
                    kept.append(line)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, target)
    return target


class Segmenter:
    """`lcut(text)` as `jieba.Tokenizer(dictionary).lcut(text)` would give it after `add_word` of `words`."""

    def __init__(self, words: Iterable[str] = (), dictionary: Path | None = None) -> None:
        tokenizer = jieba.Tokenizer(str(dictionary or pruned_dictionary()))
        tokenizer.initialize()
        for word in words:
            tokenizer.add_word(word)
        self.jieba = tokenizer  # the reference implementation, for tests and anything else jieba offers
        self.freq: dict[str, int] = tokenizer.FREQ  # word → count; a word's prefixes are present with 0
        self.total: int = tokenizer.total
        self._log_total = math.log(self.total)
        # log P(word), None for a prefix that is no word: the same float jieba computes per candidate
        self._logp: dict[str, float | None] = {
            w: math.log(f) - self._log_total if f else None for w, f in self.freq.items()
        }

    def lcut(self, text: str) -> list[str]:
        out: list[str] = []
        for block in re_han_default.split(text):
            if not block:
                continue
            if re_han_default.match(block):
                out += self._cut_block(block)
            else:
                for part in re_skip_default.split(block):
                    if re_skip_default.match(part):
                        out.append(part)
                    else:
                        out += part  # one character at a time, as jieba does
        return out

    def _cut_block(self, s: str) -> list[str]:
        """The most probable path through the words the dictionary knows; lone characters go to the HMM."""
        n = len(s)
        get = self._logp.get
        absent = self._logp  # sentinel: no key is ever this dict
        score = [0.0] * (n + 1)
        end = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            best: float | None = None
            last = k
            i = k + 1
            frag = s[k]
            while True:
                logp = get(frag, absent)
                if logp is absent:
                    break
                if logp is not None:
                    candidate = logp + score[i]  # type: ignore[operator]
                    if best is None or candidate >= best:  # ties go to the longer word, as in jieba
                        best, last = candidate, i - 1
                if i >= n:
                    break
                i += 1
                frag = s[k:i]
            if best is None:
                best = (math.log(self.freq.get(s[k]) or 1) - self._log_total) + score[k + 1]
            score[k] = best
            end[k] = last
        out: list[str] = []
        x = 0
        buf = ""
        while x < n:
            y = end[x] + 1
            if y - x == 1:
                buf += s[x]
            else:
                if buf:
                    self._flush(buf, out)
                    buf = ""
                out.append(s[x:y])
            x = y
        if buf:
            self._flush(buf, out)
        return out

    def _flush(self, buf: str, out: list[str]) -> None:
        """A run of single characters: a known word stays split, an unknown run is segmented by the HMM."""
        if len(buf) == 1:
            out.append(buf)
        elif not self.freq.get(buf):
            out += finalseg.cut(buf)
        else:
            out += buf
