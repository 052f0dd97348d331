"""Text normalization shared by the FAQ index, overrides and incoming questions.

Both sides of every comparison go through the same `Normalizer`, so a staff member can write an override or
an alternate in any form (traditional characters, full-width, with 请问) and it still lines up with what users type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import opencc

_T2S = opencc.OpenCC("t2s")

# Politeness and filler that carry no meaning for matching. Longest first so 麻烦问一下 wins over 问一下.
FILLERS: tuple[str, ...] = tuple(
    sorted(
        {
            "您好",
            "你好",
            "请问",
            "麻烦问一下",
            "麻烦问下",
            "麻烦咨询一下",
            "麻烦您",
            "想问一下",
            "想问下",
            "问一下",
            "问下",
            "咨询一下",
            "咨询下",
            "想咨询一下",
            "想咨询下",
            "想了解一下",
            "了解一下",
            "谢谢",
            "多谢",
            "感谢",
            "在吗",
            "在不在",
            "打扰了",
            "打扰一下",
            "打扰下",
            "老师好",
            "领导好",
            "hello",
            "急急急",
            "哈哈",
            "呵呵",
            "嗯嗯",
        },
        key=len,
        reverse=True,
    )
)
_FILLER_RE = re.compile("|".join(map(re.escape, FILLERS)))
_NON_WORD_RE = re.compile(r"[^0-9a-z\u4e00-\u9fff.%]+")
_SPACES_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Width, script and case folding only: full-width→half-width, traditional→simplified, lower case."""
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower()


def strip_noise(text: str) -> str:
    """Drop punctuation, emoji and symbols; keep Chinese, Latin letters, digits, '.' and '%'."""
    text = _NON_WORD_RE.sub(" ", text)
    text = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", text)  # a dot only survives inside a number
    return _SPACES_RE.sub(" ", text).strip()


class Normalizer:
    """Folds text, removes filler and maps synonyms onto one canonical form."""

    def __init__(self, synonyms: Mapping[str, str] | None = None) -> None:
        self.synonyms = {fold(k): fold(v) for k, v in (synonyms or {}).items() if fold(k) != fold(v)}
        # Canonical forms map to themselves, so a variant inside a longer canonical word (停产 in 停工停产)
        # is not replaced: the regex prefers the longest alternative at each position.
        for canonical in set(self.synonyms.values()):
            self.synonyms.setdefault(canonical, canonical)
        keys = sorted(self.synonyms, key=len, reverse=True)
        self._syn_re = re.compile("|".join(map(re.escape, keys))) if keys else None

    def clean(self, text: str) -> str:
        """Folded text without filler and noise, synonyms not yet applied (used for override keys)."""
        text = fold(text)
        text = _FILLER_RE.sub(" ", text)
        return strip_noise(text)

    def __call__(self, text: str) -> str:
        """The canonical form the matcher compares."""
        return self.synonymize(self.clean(text))

    def synonymize(self, text: str) -> str:
        """Map synonyms in already cleaned text onto their canonical form."""
        if self._syn_re is not None:
            text = self._syn_re.sub(lambda m: self.synonyms[m.group(0)], text)
        return text
