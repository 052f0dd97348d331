"""A start loads what the first answer needs: no unused dictionary of rjieba, no phrase table of pypinyin."""

import subprocess
import sys

from bot.config import ROOT

PROBE = """
import sys
from bot.answering.kb import load
from bot.answering.matcher import Matcher
m = Matcher(load(sys.argv[1]))
first = m.match("社宝减面")  # typo repair by pinyin: 社宝 → 社保, 减面 → 减免
print(first.outcome.value, first.id)
print(sorted(n for n in ("rjieba", "pypinyin", "pypinyin.core", "pypinyin.phrases_dict") if n in sys.modules))
import pypinyin, rjieba  # a later ordinary import still works, and reuses the modules already loaded
print(pypinyin.lazy_pinyin("社保"), rjieba.Jieba is sys.modules["rjieba.rjieba"].Jieba)
"""


def test_typo_repair_runs_without_the_packages_unused_tables() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "faq")], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.splitlines()
    assert out == ["answer si.reduction", "[]", "['she', 'bao'] True"]
