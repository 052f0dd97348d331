"""Chinese word segmentation: jieba's accurate mode with its HMM, on a pruned dictionary, computed faster.

jieba's `lcut` spends most of a short question's time in its route search, which calls `log()` on every
candidate word of every position through a generator. `Segmenter` walks the same prefix dictionary with the
log-probabilities computed once and breaks ties the same way; runs of unknown characters go through jieba's own
HMM model (`jieba.finalseg`'s probabilities) with a Viterbi pass that keeps back-pointers instead of copying
paths. The output is jieba's, word for word (tests/test_segment.py holds it to that), in about half the time.
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

_MIN = finalseg.MIN_FLOAT
_START, _EMIT = finalseg.start_P, finalseg.emit_P
_TRANS = {(a, b): finalseg.trans_P[a].get(b, _MIN) for a in "BMES" for b in "BMES"}
_PREVIOUS = (("B", "E", "S"), ("M", "M", "B"), ("E", "B", "M"), ("S", "S", "E"))  # state, the two it may follow

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
            out += hmm_cut(buf)
        else:
            out += buf


def hmm_cut(text: str) -> list[str]:
    """`jieba.finalseg.cut`: Chinese runs by the HMM's most likely B/M/E/S tags, other runs as they are."""
    out: list[str] = []
    for block in finalseg.re_han.split(text):
        if not finalseg.re_han.match(block):
            out += [part for part in finalseg.re_skip.split(block) if part]
            continue
        words: list[str] = []
        begin = taken = 0
        for i, tag in enumerate(_viterbi(block)):
            if tag == "B":
                begin = i
            elif tag == "E":
                words.append(block[begin : i + 1])
                taken = i + 1
            elif tag == "S":
                words.append(block[i])
                taken = i + 1
        if taken < len(block):
            words.append(block[taken:])
        banned = finalseg.Force_Split_Words  # words jieba was told never to produce (jieba.del_word)
        out += [piece for w in words for piece in (w if w in banned else (w,))] if banned else words
    return out


def _viterbi(chars: str) -> list[str]:
    """The most likely tag sequence, with jieba's float order and tie-breaking (the later state letter wins)."""
    score = {y: _START[y] + _EMIT[y].get(chars[0], _MIN) for y in "BMES"}
    back: list[dict[str, str]] = []
    for ch in chars[1:]:
        now: dict[str, float] = {}
        came: dict[str, str] = {}
        for y, a, b in _PREVIOUS:
            emit = _EMIT[y].get(ch, _MIN)
            via_a = score[a] + _TRANS[a, y] + emit
            via_b = score[b] + _TRANS[b, y] + emit
            if via_a > via_b or (via_a == via_b and a > b):
                now[y], came[y] = via_a, a
            else:
                now[y], came[y] = via_b, b
        back.append(came)
        score = now
    state = "E" if (score["E"], "E") > (score["S"], "S") else "S"
    tags = [state]
    for came in reversed(back):
        state = came[state]
        tags.append(state)
    tags.reverse()
    return tags
