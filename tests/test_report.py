"""The weekly FAQ gap report, read as the policy office reads it on Monday morning."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import TZ
from bot.desk.mask import mask
from bot.dialog.core import Assistant
from bot.reports import IsoWeek, WeekError, build_report, build_weekly_report_document, render
from bot.reports.model import WeeklyReport
from bot.store import SqlStore
from bot.store.reports import ReportStore
from tests.conftest import BOT_TODAY, Clock
from tests.report_week import FORKLIFT, LIFT, PERSONAL, POWER, SEAL, STAFF_ANSWER, WEEK, WeekWriter, write_week

NOW = dt.datetime(2020, 3, 23, 9, 0, tzinfo=TZ)


@pytest.fixture
def week_report(
    assistant: Assistant, clock: Clock, store: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> WeeklyReport:
    write_week(assistant, clock, store)
    return build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse(WEEK), BOT_TODAY, NOW)


def _all_forms(report: WeeklyReport) -> dict[str, str]:
    return {fmt: render(report, fmt).data.decode("utf-8-sig") for fmt in ("md", "html", "csv")}


def test_known_gaps_come_out_as_clusters_largest_first(week_report: WeeklyReport) -> None:
    top = week_report.clusters[:4]
    assert [c.size for c in top] == [5, 4, 3, 2]
    assert all("叉车" in e for e in top[0].examples)
    assert all("公章" in e for e in top[1].examples)
    assert all("电梯年检" in e for e in top[2].examples)
    assert all("电费" in e for e in top[3].examples)
    assert week_report.gap_questions == len(FORKLIFT) + len(SEAL) + len(LIFT) + len(POWER)
    assert [c.number for c in week_report.clusters] == list(range(1, len(week_report.clusters) + 1))


def test_each_cluster_has_three_examples_closest_entry_and_a_proposal(week_report: WeeklyReport) -> None:
    forklift, seal, _lift, power = week_report.clusters[:4]
    assert len(forklift.examples) == 3 and forklift.escalated == len(forklift.tickets) > 0
    assert forklift.action == "new" and "叉车" in forklift.draft_question and forklift.draft_question.endswith("？")
    assert seal.action == "new" and seal.draft_answer is not None
    assert seal.draft_answer.startswith("公章遗失需先登报声明") and "67891234" not in seal.draft_answer
    assert seal.department == "区市场监管局"
    assert power.action == "alternates" and power.closest_id == "utility.electricity"
    assert power.closest_score == 58.0 and set(POWER) <= {p.rstrip("？") for p in power.phrasings}


def test_personal_data_is_masked_in_every_form(week_report: WeeklyReport) -> None:
    examples = [e for c in week_report.clusters for e in c.examples]
    assert "我叫张*，电话138****5678，叉车操作证快到期了怎么换新证" in examples
    for fmt, text in _all_forms(week_report).items():
        for secret in PERSONAL:
            assert secret not in text, f"{secret} visible in the {fmt} report"
    assert STAFF_ANSWER not in render(week_report, "md").data.decode()


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("电话 13812345678", "电话 138****5678"),
        ("手机+86 139-1234-5678", "手机139****5678"),
        ("座机0371-67891234", "座机0371-****1234"),
        ("身份证41010219900101123X", "身份证410102********123X"),
        ("邮箱 zhang.san@qq.com", "邮箱 z***@qq.com"),
        ("卡号6222020212345678901", "卡号6222***********8901"),
        ("联系人：王小明，电话", "联系人：王**，电话"),
        ("社保费能缓缴吗", "社保费能缓缴吗"),
    ],
)
def test_masking_rules(raw: str, masked: str) -> None:
    assert mask(raw) == masked


def test_volume_by_channel_district_outcome_and_week_over_week(week_report: WeeklyReport) -> None:
    v = week_report.volume
    gaps = len(FORKLIFT) + len(SEAL) + len(LIFT)
    assert v.by_outcome["answer"] == 11 and v.by_outcome["suggest"] + v.by_outcome["escalate"] == gaps + 2
    assert v.questions == 11 + 2 + gaps
    assert v.by_channel["console"] == 9 and sum(v.by_channel.values()) == v.questions
    assert v.by_district["中牟县"] == 9
    assert v.human_requests == 1
    assert v.previous_questions == 4 and v.change == pytest.approx(v.questions / 4 - 1)
    assert sum(sum(c.values()) for _, c in v.by_day) == v.questions


def test_entries_marked_unhelpful_escalated_after_answer_never_matched_and_expired(
    week_report: WeeklyReport, kb: KnowledgeBase
) -> None:
    assert [(e.faq_id, e.count) for e in week_report.feedback_down] == [("si.deferral", 1)]
    assert [(e.faq_id, e.count) for e in week_report.escalated_after_answer] == [("rent.state-owned", 1)]
    never = {e.faq_id for e in week_report.never_matched}
    assert "si.deferral" not in never and "utility.electricity" not in never and "hire.shared-staff" in never
    expired = {e.faq_id for e in week_report.expired}
    assert expired == {e.id for e in kb.entries.values() if e.expired_on(BOT_TODAY)}


def test_ticket_figures_by_department_and_tier(week_report: WeeklyReport) -> None:
    t = week_report.tickets
    assert t.total.opened == week_report.volume.by_outcome["escalate"] + 1
    assert (t.total.answered, t.total.closed, t.total.overdue) == (1, 1, 1)
    assert t.total.median_first_answer == dt.timedelta(hours=2)
    seal = next(g for g in t.groups if g.department == "区市场监管局")
    assert (seal.tier, seal.opened, seal.answered) == ("常规", 1, 1)
    assert t.satisfaction == {"满意": 1}


def test_week_boundaries_are_beijing_time(
    assistant: Assistant, clock: Clock, store: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    w = WeekWriter(assistant, clock)
    sunday_late = dt.datetime(2020, 3, 22, 15, 30, tzinfo=dt.UTC)  # Sunday 23:30 in Beijing
    monday_early = dt.datetime(2020, 3, 22, 16, 30, tzinfo=dt.UTC)  # Monday 00:30 in Beijing
    w.say(sunday_late, "叉车操作证到期了去哪里换证")
    w.say(monday_early, "公司公章丢了怎么补刻")
    w12 = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W12"), BOT_TODAY, NOW)
    w13 = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W13"), BOT_TODAY, NOW)
    assert [c.examples for c in w12.clusters] == [("叉车操作证到期了去哪里换证",)]
    assert [c.examples for c in w13.clusters] == [("公司公章丢了怎么补刻",)]
    assert sum(w12.volume.by_day[-1][1].values()) == 1 and sum(w13.volume.by_day[0][1].values()) == 1
    assert w13.volume.previous_questions == 1


def test_default_week_is_last_week_in_beijing() -> None:
    assert IsoWeek.last_before(dt.date(2026, 11, 23)).label == "2026-W47"
    assert IsoWeek.parse("2026w47") == IsoWeek(2026, 47)
    assert IsoWeek(2026, 47).start == dt.datetime(2026, 11, 15, 16, 0, tzinfo=dt.UTC)
    with pytest.raises(WeekError, match="ISO 周格式"):
        IsoWeek.parse("上周")


def test_empty_week_gives_a_valid_empty_report(store: SqlStore, kb: KnowledgeBase, matcher: Matcher) -> None:
    report = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W20"), BOT_TODAY, NOW)
    assert report.is_empty and report.clusters == [] and report.volume.questions == 0
    forms = _all_forms(report)
    assert "本周没有收到咨询" in forms["md"] and "本周没有转人工或低置信度的问题" in forms["md"]
    assert forms["html"].startswith("<!DOCTYPE html>") and forms["html"].count("<svg") == 3
    rows = list(csv.reader(io.StringIO(forms["csv"])))
    assert len(rows) == 1 and rows[0][:2] == ["周次", "编号"]
    assert "没有收到咨询" in render(report, "md").summary


def test_csv_is_utf8_with_bom_one_row_per_cluster(week_report: WeeklyReport) -> None:
    data = render(week_report, "csv").data
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(week_report.clusters)
    assert rows[0]["编号"] == "1" and rows[0]["问题数"] == "5" and rows[0]["建议"] == "新增条目"
    assert rows[3]["最接近条目"] == "utility.electricity" and rows[3]["建议"] == "为已有条目补充问法"


def test_scheduled_document_with_chinese_summary(
    assistant: Assistant, clock: Clock, store: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    write_week(assistant, clock, store)
    doc = asyncio.run(
        build_weekly_report_document(ReportStore(store.engine), kb, matcher, dt.date(2020, 3, 23), now=NOW)
    )
    assert doc.week.label == WEEK and doc.filename == "faq-report-2020-W12.html"
    assert doc.mime.startswith("text/html") and b"<svg" in doc.data
    assert doc.summary.startswith("【咨询周报 2020-W12】") and "叉车" in doc.summary
    for secret in PERSONAL:
        assert secret not in doc.summary
