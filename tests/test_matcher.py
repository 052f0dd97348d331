"""Matching outcomes on the real FAQ, table-driven: what users type → answer / suggest / escalate."""

import shutil
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.kb import KnowledgeBase, load
from bot.matcher import Matcher
from bot.models import Outcome


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("社保缓缴", "si.deferral"),  # 2-character keyword query
        ("稳岗返还怎么申请，多久到账", "job.stable-refund-apply"),
        ("社宝能缓交吗", "si.deferral"),  # homophone typo + synonym
        ("稳刚返还申请流程", "job.stable-refund-apply"),  # homophone typo
        ("請問社會保險費可以緩繳嗎", "si.deferral"),  # traditional characters
        ("HR问下 shebao 可以 huanjiao 吗", "si.deferral"),  # pinyin mixed in
        (
            "您好，我们是二七区一家做餐饮的小公司，三十来个员工，疫情期间一直没营业，现金流很紧张，"
            "想问一下单位的社保费能不能先缓一缓再交，最长能缓多久，有没有滞纳金？谢谢",
            "si.deferral",
        ),  # a long message with greeting and company context
        ("上街区企业水价降了多少", "utility.water"),
        ("员工被隔离期间工资怎么发", "labor.wage-quarantine"),
        ("创业担保贷款能贷多少", "loan.startup-guarantee"),
    ],
)
def test_answers(matcher: Matcher, question: str, entry: str) -> None:
    m = matcher.match(question)
    assert (m.outcome, m.id) == (Outcome.ANSWER, entry), m


@pytest.mark.parametrize(
    "question",
    ["😂", "？？？", "", "今天郑州天气怎么样", "社保卡丢了去哪里补办", "帮我写一首诗", "asdfgh"],
)
def test_never_guesses_outside_the_faq(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).outcome is Outcome.ESCALATE


def test_ambiguous_question_suggests_up_to_three(matcher: Matcher) -> None:
    m = matcher.match("稳岗返还")
    assert m.outcome in (Outcome.SUGGEST, Outcome.ANSWER)
    assert {c.id for c in m.candidates[:2]} <= {"job.stable-refund", "job.stable-refund-apply"}
    assert len(m.candidates) <= 3


def test_every_faq_question_answers_itself(kb: KnowledgeBase, matcher: Matcher) -> None:
    wrong = [(e.id, matcher.match(e.question).id) for e in kb.entries.values()]
    assert [(i, got) for i, got in wrong if got not in (i, None)] == []


@pytest.fixture
def faq_copy(tmp_path: Path) -> Path:
    target = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", target)
    return target


def test_override_wins_over_scoring(faq_copy: Path) -> None:
    (faq_copy / "overrides.yaml").write_text(
        "請問社保能緩繳嗎？: escalate\n社保卡丢了: si.late-payment\n", encoding="utf-8"
    )
    matcher = Matcher(load(faq_copy))
    assert matcher.match("请问社保能缓缴吗").outcome is Outcome.ESCALATE  # same normalized form as the key
    m = matcher.match("您好，社保卡丢了")
    assert (m.outcome, m.id, m.reason) == (Outcome.ANSWER, "si.late-payment", "override")
