"""The fast segmenter gives jieba's own segmentation, word for word, on everything the bot segments."""

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.answering.segment import Segmenter

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "dev-questions.jsonl"
ODD_INPUTS = [
    "",
    " ",
    "社宝缓缴",  # a typo: an unknown character run goes to jieba's HMM
    "yanchi fugong 社保",
    "abc 123 社保 x1.5% 降到4.1元",
    "hello世界\r\n第二行\t制表",
    "缓一缓缓几个月",
    "稳岗返还稳岗返还稳岗返还",
    "的的的的的的",
    "a-b_c+d#e&f",
    "㐀㐁社保𠀀𠀁缓缴",  # characters outside jieba's Chinese range
    "ＡＢＣ社保１２３",
]


def texts(kb: KnowledgeBase, matcher: Matcher) -> list[str]:
    raw = [t for e in kb.entries.values() for t in (e.question, *e.alternates, e.answer, *e.keywords)]
    raw += list(kb.out_of_scope)
    if DEV_QUESTIONS.exists():
        raw += [json.loads(line)["q"] for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    return [matcher.normalize(t) for t in raw] + raw + ODD_INPUTS


def test_same_words_as_jieba_on_the_faq_and_questions(kb: KnowledgeBase, matcher: Matcher) -> None:
    segmenter = matcher._segmenter
    for text in texts(kb, matcher):
        assert segmenter.lcut(text) == segmenter.jieba.lcut(text), text


def test_user_words_stay_whole() -> None:
    plain, ours = Segmenter(), Segmenter(["稳岗返还", "以工代训"])
    assert "稳岗返还" not in plain.lcut("稳岗返还怎么申请")
    assert ours.lcut("稳岗返还怎么申请以工代训") == ours.jieba.lcut("稳岗返还怎么申请以工代训")
    assert {"稳岗返还", "以工代训"} <= set(ours.lcut("稳岗返还怎么申请以工代训"))


def test_random_text_is_cut_as_jieba_cuts_it(kb: KnowledgeBase, matcher: Matcher) -> None:
    """Runs of characters no dictionary holds go to the HMM; mixed with letters, digits and punctuation."""
    rng = random.Random(20200321)
    chars = "".join(sorted({c for e in kb.entries.values() for c in e.answer if "\u4e00" <= c <= "\u9fff"}))
    chars += "abcXYZ0123456789.%-_+#& ，。？！、\n"
    runs = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    runs += ["缓一缓", "ab12缓一缓x", "12.5%", "a", "社保1.5%降到4.1元abc"]
    segmenter = matcher._segmenter
    for run in runs:
        assert segmenter.lcut(run) == segmenter.jieba.lcut(run), run


def test_one_segmenter_serves_several_core_threads(matcher: Matcher) -> None:
    """With PostgreSQL the core runs on several threads that share the matcher and its segmenter."""
    segmenter = matcher._segmenter
    texts = ["稳岗返还怎么申请，社保能不能缓缴几个月", "我们是一家小企业，疫情期间员工工资怎么发", "abc-1.5%社宝缓缴"]
    expected = [segmenter.jieba.lcut(t) for t in texts]

    def cut_all(_: int) -> list[list[str]]:
        return [segmenter.lcut(t) for _ in range(300) for t in texts]

    with ThreadPoolExecutor(4) as pool:
        for result in pool.map(cut_all, range(4)):
            assert result == expected * 300
