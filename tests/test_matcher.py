"""Matching outcomes on the real FAQ, table-driven: what users type → answer / suggest / escalate."""

import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.answering.kb import KbError, KnowledgeBase, load, without_phrasings
from bot.answering.matcher import Matcher
from bot.config import ROOT
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
        ("上街区企业水价降了多少", "utility.water"),
        ("员工被隔离期间工资怎么发", "labor.wage-quarantine"),
        ("创业担保贷款能贷多少", "loan.startup-guarantee"),
        ("社宝减面", "si.reduction"),  # two typos: 社宝 → 社保, 减面 → 减免 (not the 减勉 of one electricity alternate)
        ("稳岗返还怎么申请5", "job.stable-refund-apply"),  # a stray digit does not drop a perfect match
        ("复工要做哪些safety检查", "safety.reopen"),  # an English word in a Chinese question counts
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


@pytest.mark.parametrize(
    ("question", "look_alike"),
    [
        ("营业执照年报怎么报", "license.business-license"),  # 年报 is an ask the licence entry never covers
        ("健康码误判变黄码了怎么申诉", "reopen.worker-health"),
        ("深圳的以工代训补贴标准是多少", "job.training-subsidy"),  # another city's programme
    ],
)
def test_the_intent_guard_keeps_a_look_alike_from_answering(kb: KnowledgeBase, question: str, look_alike: str) -> None:
    """Without faq/intents.yaml the look-alike entry answers (it shares the nouns); with it, it may only be offered."""
    assert Matcher(dataclasses.replace(kb, intents=())).match(question).id == look_alike
    m = Matcher(kb).match(question)
    assert m.id != look_alike


def test_intents_are_read_from_the_faq_folder(faq_copy: Path) -> None:
    (faq_copy / "intents.yaml").write_text("- [年报, 年度报告]\n", encoding="utf-8")
    assert load(faq_copy).intents == (("年报", "年度报告"),)
    (faq_copy / "intents.yaml").write_text("- 年报\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"intents\.yaml"):
        load(faq_copy)


NEAR_MISSES = (  # asked on public Q&A pages (faq/real-questions.jsonl, labelled null): the FAQ does not answer them
    "营业执照过期怎么办?",
    "汕头以工代训每人能领多少钱?",
    "疫情期间车贷延期还款必须申请吗",
    "企业捐赠防疫物资可以抵税吗",
    "疫情期间,驾照到期了需要年检,怎么办?",
    "家里口罩消耗殆尽,到现在还买不到新的,怎么办?",
)
ASKED = "企业复工复产后,返岗员工故意隐瞒病情,拒绝接受核酸检测、强制隔离或者治疗的,企业可否解除劳动合同?"
HARD_PARAPHRASE = "返岗员工故意隐瞒病情、拒绝隔离，可否解除劳动合同?"  # ASKED, shortened


@pytest.fixture(scope="module")
def unseen(kb: KnowledgeBase, matcher: Matcher) -> Matcher:
    """The shipped matcher without these real questions in its index, so each meets only the others."""
    embedder = matcher.semantic.embedder if matcher.semantic else None
    return Matcher(without_phrasings(kb, frozenset((*NEAR_MISSES, ASKED))), embedder=embedder)


def test_real_questions_join_the_index(kb: KnowledgeBase, matcher: Matcher) -> None:
    """faq/real-questions.jsonl: a near miss is an out-of-scope exemplar, an answered question a phrasing."""
    assert set(NEAR_MISSES) <= set(kb.out_of_scope)
    assert ASKED in kb.entries["labor.hid-illness"].alternates
    assert (matcher.match(ASKED).outcome, matcher.match(ASKED).id) == (Outcome.ANSWER, "labor.hid-illness")


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_real_near_misses_are_not_answered_even_unseen(unseen: Matcher, question: str) -> None:
    assert unseen.match(question).outcome is not Outcome.ANSWER


@pytest.mark.parametrize(
    ("question", "entry"),
    [  # paraphrases with few shared words: answered, or offered first among the choices
        ("春节多放的那几天算啥假，工资咋算", "labor.holiday-extension"),
        ("年后延迟开工那几天算什么假", "labor.holiday-extension"),
        (
            "您好，我们是二七区一家做餐饮的小公司，三十来个员工，疫情期间一直没营业，现金流很紧张，"
            "想问一下单位的社保费能不能先缓一缓再交，最长能缓多久，有没有滞纳金？谢谢",
            "si.deferral",
        ),  # a long message with greeting and company context
        ("申报期能不能缓一缓", "tax.filing-deferral"),
        (HARD_PARAPHRASE, "labor.hid-illness"),
    ],
)
def test_paraphrases_reach_their_entry(unseen: Matcher, question: str, entry: str) -> None:
    m = unseen.match(question)
    assert m.outcome is not Outcome.ESCALATE and m.candidates[0].id == entry, m


def test_a_phrasing_asked_word_for_word_is_answered_by_its_entry_unless_two_entries_share_it(
    kb: KnowledgeBase,
) -> None:
    """Staff wrote the phrasing for that entry (or labelled the real question): no score can know better."""
    asked = kb.entries["si.deferral"].alternates[0]
    assert Matcher(kb).match(asked + "3").id == "si.deferral"  # a stray number aside
    reduction = kb.entries["si.reduction"]
    shared = dataclasses.replace(reduction, alternates=(*reduction.alternates, asked))
    matcher = Matcher(dataclasses.replace(kb, entries={**kb.entries, "si.reduction": shared}))
    assert matcher.verbatim(matcher.normalize.clean(asked)) is None
    assert matcher.match(asked).reason != "verbatim"
