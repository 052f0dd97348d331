"""The per-word cap of the matcher's inverted index bounds the work per question without changing any ranking."""

import dataclasses
import json

import pytest

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import ROOT
from bot.models import Outcome


class Uncapped(Matcher):
    """Every entry that shares a word with the question is scored: the reference the cap must not move away from."""

    MAX_POSTINGS = 10**9


def _rankings(matcher: Matcher, questions: list[str]) -> list[tuple[str, list[float]]]:
    """Per question: the best entry and every score ranked (entries tied on a score may come in either order)."""
    out = []
    for q in questions:
        lexical = matcher.lexical(matcher.normalize.clean(q))
        ranked = lexical[0] if lexical else []
        out.append((ranked[0][0] if ranked else "", [pytest.approx(s, abs=1e-9) for _, s in ranked]))
    return out


def test_capped_index_decides_the_real_questions_as_scoring_everything_does(kb: KnowledgeBase) -> None:
    """The shipped FAQ already has words (员工, 企业, 社保 …) in more phrasings than the cap keeps; every entry the
    question's words bring in is scored in full, so no decision moves (a score below the top may, where an entry
    only common words lead to is left out)."""
    lines = (ROOT / "faq" / "real-questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    capped, full = Matcher(kb), Uncapped(kb)
    decisions = [(capped.match(q).outcome, capped.match(q).id) for q in questions]
    assert decisions == [(full.match(q).outcome, full.match(q).id) for q in questions]


SUBJECTS = ("冷库", "鞋帽", "绿化", "花卉", "茶叶", "陶瓷", "家具", "玩具", "眼镜", "乐器")


def _crowded(kb: KnowledgeBase, per_subject: int) -> KnowledgeBase:
    """Entries that all ask about 社保缓缴 for one trade each; a few trades share a subject, so the common words
    (社保, 缓缴, 企业) are in far more phrasings than a small cap keeps, and the subject decides."""
    template = kb.entries["si.deferral"]
    entries = {}
    for n in range(per_subject * len(SUBJECTS)):
        subject = SUBJECTS[n % len(SUBJECTS)]
        filler = "分店" * (n // len(SUBJECTS))  # longer phrasings: the common words weigh less in them
        eid = f"crowd.{n}"
        entries[eid] = dataclasses.replace(
            template,
            id=eid,
            question=f"{subject}{filler}企业社保缓缴怎么办第{n}号",
            alternates=(f"做{subject}{filler}的企业社保能缓缴吗编号{n}",),
            keywords=(subject,),
            regions={},
            related=(),
        )
    target = dataclasses.replace(
        template,
        id="crowd.target",
        question="我们是一家做钟表维修和零售的小企业，社保费能不能缓缴",
        alternates=("钟表维修企业的社保缓缴政策",),
        keywords=("钟表",),
        regions={},
        related=(),
    )
    entries[target.id] = target
    return dataclasses.replace(kb, entries=entries, overrides={}, out_of_scope=())


class SmallCap(Matcher):
    MAX_POSTINGS = 5


def test_a_rare_word_reaches_its_entry_however_common_the_other_words(kb: KnowledgeBase) -> None:
    kb = _crowded(kb, per_subject=8)
    capped, full = SmallCap(kb), Uncapped(kb)
    question = "钟表维修企业社保可以缓缴吗"
    assert _rankings(capped, [question]) == _rankings(full, [question])
    m = capped.match(question)
    assert (m.outcome, m.id) == (Outcome.ANSWER, "crowd.target"), m
