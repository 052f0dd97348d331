"""What an enterprise reads: the 依据 line per district, the validity line, and the audited content fixes."""

import datetime as dt
from pathlib import Path

import pytest

from bot.answering.answer_text import format_answer, format_sources, format_validity
from bot.answering.kb import KnowledgeBase
from bot.cli.main import main
from bot.models import DISTRICTS, FaqEntry, Source

IN_2020 = dt.date(2020, 3, 21)
IN_2026 = dt.date(2026, 3, 21)
DISTRICT_TITLE_WORDS = {"二七区": "二七区", "上街区": "聚力“三送一强”", "中牟县": "大孟镇"}


def sources_line(kb: KnowledgeBase, eid: str, district: str | None) -> str:
    return format_sources(kb.entries[eid], district)


@pytest.mark.parametrize("district", [*DISTRICTS, None])
def test_electricity_tells_every_district_the_national_95_percent_rule(kb: KnowledgeBase, district: str | None) -> None:
    text = format_answer(kb.entries["utility.electricity"], district, IN_2020)
    assert "95%" in text and "国家发展改革委" in text and "发改价格〔2020〕258号" in text
    assert "没有查到" not in text


@pytest.mark.parametrize(
    ("eid", "shown", "not_shown"),
    [
        ("si.reduction", "豫人社〔2020〕7号，河南省人力资源和社会保障厅", "2020-03-10"),
        ("housing-fund.deferral", "建金〔2020〕23号，住房和城乡建设部 财政部 中国人民银行，2020-02）", "2020-02-26"),
        ("job.stable-refund", "郑人社办〔2020〕4号，郑州市人力资源和社会保障局）", "2020-02-28"),
    ],
)
def test_corrected_document_dates_in_the_sources_line(kb: KnowledgeBase, eid: str, shown: str, not_shown: str) -> None:
    line = sources_line(kb, eid, None)
    assert shown in line and not_shown not in line


def test_a_zhongmu_user_sees_no_erqi_or_shangjie_source(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        line = format_sources(entry, "中牟县")
        assert "二七区" not in line and DISTRICT_TITLE_WORDS["上街区"] not in line, entry.id


def test_a_user_without_district_sees_only_general_sources(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        shown = entry.citable_sources(None)
        assert all(s.district is None and s.cite for s in shown), entry.id
        assert not any(word in format_sources(entry, None) for word in DISTRICT_TITLE_WORDS.values()), entry.id


def test_a_district_user_sees_their_own_district_sources(kb: KnowledgeBase) -> None:
    assert "《聚力“三送一强”活动" in sources_line(kb, "utility.water", "上街区")
    assert "大孟镇" in sources_line(kb, "loan.bank-support", "中牟县")
    assert "二七区" in sources_line(kb, "hire.chartered-bus", "二七区")


def test_internal_and_commentary_material_is_never_cited(kb: KnowledgeBase) -> None:
    uncited = [(e, s) for e in kb.entries.values() for s in e.sources if not s.cite]
    assert any("地方史志" in (s.issuer or "") for _, s in uncited)
    for entry, source in uncited:
        for district in [*DISTRICTS, None]:
            assert source.citation() not in format_answer(entry, district, IN_2026), entry.id
    for entry in kb.entries.values():
        for source in entry.sources:
            if "内部资料" in (source.notes or "") or "评论" in (source.issuer or "") + (source.notes or ""):
                assert not source.cite, (entry.id, source.title)


def test_no_rendered_title_merges_two_documents(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        for district in [*DISTRICTS, None]:
            line = format_sources(entry, district)
            assert "；" not in "".join(part.split("》（")[0] for part in line.split("》；《")), entry.id


def test_a_source_line_names_the_issuer() -> None:
    source = Source("关于阶段性减免企业社会保险费的通知", "人社部发〔2020〕11号", "人力资源社会保障部 财政部 税务总局",
                    dt.date(2020, 2, 20))  # fmt: skip
    assert source.citation() == (
        "《关于阶段性减免企业社会保险费的通知》（人社部发〔2020〕11号，人力资源社会保障部 财政部 税务总局，2020-02-20）"
    )


def test_without_a_citable_source_the_line_says_who_to_ask(kb: KnowledgeBase) -> None:
    line = sources_line(kb, "land.auction-deposit", "中牟县")
    assert line.startswith("依据：") and "区自然资源和规划局" in line and "《" not in line


def test_loss_carryforward_is_not_expired_in_2026(kb: KnowledgeBase) -> None:
    entry = kb.entries["tax.loss-carryforward"]
    assert not entry.expired_on(IN_2026) and entry.expired_on(dt.date(2029, 1, 1))
    validity = format_validity(entry, IN_2026)
    assert validity is not None and "已到期" not in validity and "2028" in validity


def test_expiry_note_is_right_before_and_after(kb: KnowledgeBase) -> None:
    water = kb.entries["utility.water"]
    assert "已到期" not in (format_validity(water, IN_2020) or "")
    assert "已到期" in (format_validity(water, IN_2026) or "") and "以上为当时的规定" in (
        format_validity(water, IN_2026) or ""
    )


def test_permanent_rules_have_no_expiry_note(kb: KnowledgeBase) -> None:
    entry = kb.entries["labor.dismissal"]
    assert entry.permanent and format_validity(entry, IN_2026) is None
    text = format_answer(entry, None, IN_2026)
    assert "有效期" not in text and "另行通知" not in text and "已到期" not in text


def test_unknown_end_says_so_instead_of_a_date(kb: KnowledgeBase) -> None:
    entry = kb.entries["tax.service-vat-exemption"]
    assert entry.end_unknown and not entry.expired_on(IN_2026)
    assert "截止日期未查到" in (format_validity(entry, IN_2026) or "")


def test_every_entry_states_its_validity(kb: KnowledgeBase) -> None:
    assert [e.id for e in kb.entries.values() if not (e.valid_until or e.permanent or e.end_unknown)] == []


def test_dismissal_states_the_layoff_threshold(kb: KnowledgeBase) -> None:
    answer = kb.entries["labor.dismissal"].answer
    assert "20人以上" in answer and "10%" in answer and "30日" in answer and "第41条" in answer


def test_answers_read_like_a_hotline(kb: KnowledgeBase) -> None:
    def texts(e: FaqEntry) -> list[str]:
        return [e.answer] + [v.answer or v.extra or "" for v in e.regions.values()]

    program_words = ("本库", "本助手", "本FAQ")
    assert [e.id for e in kb.entries.values() if any(w in t for t in texts(e) for w in program_words)] == []


def test_one_town_is_not_told_as_the_whole_county(kb: KnowledgeBase) -> None:
    for eid in ("ppe.supply", "reopen.requirements", "reopen.worker-health", "loan.bank-support"):
        extra = kb.entries[eid].regions["中牟县"].extra or ""
        assert "大孟镇" in extra and "各镇" not in extra and "中牟县由" not in extra, eid
    assert "二七区" not in kb.entries["ppe.supply"].answer_for("中牟县")
    assert "二七区" not in kb.entries["ppe.supply"].answer_for("上街区")


def test_faq_check_fails_on_an_entry_without_validity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    (tmp_path / "a.yaml").write_text(
        "- id: a.one\n  category: 社会保险\n  question: 问题一？\n  answer: 答案一\n  department: 区人社局\n"
        "  sources: [{title: 文件一}]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FAQ_DIR", str(tmp_path))
    monkeypatch.setenv("FAQ_CATALOGUE", str(tmp_path / "none.yaml"))
    with pytest.raises(SystemExit) as done:
        main(["faq", "check"])
    assert done.value.code == 1
    assert "a.yaml: 条目 a.one: 字段 valid_until: 缺少" in capsys.readouterr().err


def test_four_or_more_issuers_read_as_the_first_and_a_count() -> None:
    source = Source("关于做好疫情防控期间有关就业工作的通知", "人社部明电〔2020〕2号",
                    "人力资源社会保障部 教育部 财政部 交通运输部 国家卫生健康委", dt.date(2020, 2, 5))  # fmt: skip
    assert (
        source.citation()
        == "《关于做好疫情防控期间有关就业工作的通知》（人社部明电〔2020〕2号，人力资源社会保障部等五部门，2020-02-05）"
    )
