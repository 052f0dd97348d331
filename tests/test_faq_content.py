"""The knowledge base's content rules: every topic present, sourced, and no unsourced figure."""

import re
from pathlib import Path

import pytest

from bot.answering.kb import KnowledgeBase, catalogue_ids
from bot.config import ROOT
from bot.models import DISTRICTS, FaqEntry

CATALOGUE = next(p for p in (ROOT.parent / "shared/faq-topics.yaml", ROOT / "tests/data/faq-topics.yaml") if p.exists())
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER_RE.findall(text)}


def evidence(entry: FaqEntry) -> set[float]:
    parts = [*entry.facts, str(entry.valid_from or ""), str(entry.valid_until or "")]
    for s in entry.sources:
        parts += [s.title, s.number or "", s.notes or "", s.date_text]
    return numbers(" ".join(parts).replace("-", " "))


def test_every_catalogue_topic_exists(kb: KnowledgeBase) -> None:
    assert [i for i in catalogue_ids(Path(CATALOGUE)) if i not in kb.entries] == []


@pytest.mark.parametrize("field", ["answer", "department"])
def test_every_entry_has(kb: KnowledgeBase, field: str) -> None:
    assert [e.id for e in kb.entries.values() if not getattr(e, field).strip()] == []


def test_every_entry_has_a_source_and_enough_phrasings(kb: KnowledgeBase) -> None:
    assert [e.id for e in kb.entries.values() if not e.sources] == []
    assert [e.id for e in kb.entries.values() if len(e.alternates) < 8] == []


def test_every_figure_in_an_answer_is_sourced(kb: KnowledgeBase) -> None:
    unsourced = {}
    for e in kb.entries.values():
        texts = [e.answer] + [v.answer or v.extra or "" for v in e.regions.values()]
        missing = set().union(*(numbers(t) for t in texts)) - evidence(e)
        if missing:
            unsourced[e.id] = sorted(missing)
    assert unsourced == {}


def test_answers_stay_short(kb: KnowledgeBase) -> None:
    assert [e.id for e in kb.entries.values() if len(e.answer) > 320] == []


def test_district_only_figures_stay_in_their_district(kb: KnowledgeBase) -> None:
    water = kb.entries["utility.water"]
    assert "4.1" not in water.answer and "4.1" in water.answer_for("上街区")
    assert "4.1" not in water.answer_for("二七区")
    assert set(water.regions) <= set(DISTRICTS)


def test_policy_lists_are_province_20_city_30(kb: KnowledgeBase) -> None:
    text = kb.entries["service.policy-list"].answer
    assert "省20条" in text and "市30条" in text
    assert "省30条" not in text and "市20条" not in text
