"""Chinese word segmentation: jieba's accurate mode with its HMM, on a pruned dictionary, computed in Rust.

jieba's `lcut` spends most of a question's time in its route search and Viterbi pass, in Python: about 0.1 ms
for a long message. `Segmenter` loads the very same dictionary (jieba's words, counts and the FAQ's own words)
into jieba-rs (the `rjieba` binding), whose route search and HMM are ports of jieba's, and gives it only the
blocks jieba's own regular expression picks out, so both see the same text. The output is jieba's, word for
word (tests/test_segment.py holds it to that), in about a tenth of the time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import jieba
from jieba import finalseg, re_han_default, re_skip_default

from bot.imports import submodule_alone

jieba.setLogLevel(logging.WARNING)

_CJK_ONLY_RE = re.compile("[\u4e00-\u9fd5]+")  # jieba's Chinese range: blocks of it need no repair
_HAS_CJK_RE = re.compile("[\u4e00-\u9fd5]")
_PADDING = "\ue000"  # a private-use character: never inside the Chinese blocks jieba-rs is given
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
            tokenizer.add_word(word)  # jieba picks each word's count, so both libraries get the same one
        self.jieba = tokenizer  # the reference implementation, for tests and anything else jieba offers
        self.freq: dict[str, int] = tokenizer.FREQ  # word → count; a word's prefixes are present with 0
        self.total: int = tokenizer.total
        # rjieba's extension alone: `import rjieba` would also build a segmenter on its own full dictionary
        self._rust = submodule_alone("rjieba", "rjieba").Jieba.empty()
        for word, count in self.freq.items():
            if count:
                self._rust.add_word(word, count, None)
        # jieba's add_word adds a re-added word's new count to its total without taking the old one off; jieba-rs
        # sums the counts it holds. A padding word carries the difference, so both weigh routes by the same total.
        surplus = self.total - sum(self.freq.values())
        if surplus > 0:
            self._rust.add_word(_PADDING, surplus, None)

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

    def _cut_block(self, block: str) -> list[str]:
        """jieba-rs's words, except where it keeps a run of letters, digits and signs together that jieba splits.

        Inside a run of single characters, jieba's HMM passes non-Chinese stretches (a-b_c) through
        `finalseg.re_skip`, which splits them at every sign; jieba-rs keeps them whole. Such a stretch is a run of
        tokens without Chinese that are not dictionary words, and it is split here as jieba would.
        """
        words = self._rust.cut(block, True)
        if _CJK_ONLY_RE.fullmatch(block):
            return words
        out: list[str] = []
        run = ""
        for word in words:
            if not _HAS_CJK_RE.search(word) and (len(word) == 1 or not self.freq.get(word)):
                run += word
                continue
            if run:
                out += [piece for piece in finalseg.re_skip.split(run) if piece]
                run = ""
            out.append(word)
        if run:
            out += [piece for piece in finalseg.re_skip.split(run) if piece]
        return out
