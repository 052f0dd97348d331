"""The gap report proposes only edits worth making (issue 13, break 5): no junk, close alternates with why,
no draft answer the enterprise rejected, long text cut in the tables but whole in the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.dialog.core import Assistant
from bot.reports import IsoWeek, build_report, render
from bot.reports.model import Cluster, WeeklyReport
from bot.store import SqlStore
from bot.store.reports import ReportStore
from bot.store.schema import messages, ticket_events, tickets
from tests.conftest import BOT_TODAY, Clock
from tests.report_week import FORKLIFT, MONDAY, WEEK, write_week

NOW = dt.datetime(2020, 3, 23, 9, 0, tzinfo=MONDAY.tzinfo)
REJECTED = "这个问题请您自己上网查一下吧。"
BETTER = "叉车操作证到期前3个月内，请持原证和体检证明到区市场监管局特种设备窗口换证。"
LONG = "我们是一家做机械加工的小微企业" + "，疫情期间厂里的叉车操作证到期了" * 30 + "，请问怎么换证？"


def ask(
    store: SqlStore, at: dt.datetime, user: str, text: str, candidates: list[tuple[str, float]], pick: str | None = None
) -> None:
    """A question the bot only suggested for (with these candidates), then maybe the user's pick — as logged."""
    common: dict[str, Any] = {
        "direction": "in",
        "channel": "wechat",
        "chat_id": f"chat-{user}",
        "user_id": user,
        "kind": "text",
    }
    scored = [{"id": i, "score": s} for i, s in candidates]
    with store.engine.begin() as conn:
        outcome, score = ("suggest", scored[0]["score"]) if scored else ("escalate", 5.0)
        conn.execute(
            messages.insert().values(at=at, text=text, outcome=outcome, score=score, candidates=scored, **common)
        )
        if pick:
            conn.execute(
                messages.insert().values(
                    at=at + dt.timedelta(minutes=1),
                    text="",
                    action=f"pick:{pick}",
                    outcome="pick",
                    faq_id=pick,
                    **common,
                )
            )


def report_of(store: SqlStore, kb: KnowledgeBase, matcher: Matcher) -> WeeklyReport:
    return build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse(WEEK), BOT_TODAY, NOW)


def everything(report: WeeklyReport) -> str:
    return "\n".join(
        [*(e for c in report.clusters for e in c.examples), *(p for c in report.clusters for p in c.phrasings),
         *(c.draft_question for c in report.clusters)]
    )  # fmt: skip


@pytest.fixture
def week(assistant: Assistant, clock: Clock, store: SqlStore) -> SqlStore:
    write_week(assistant, clock, store)
    return store


def test_junk_digits_and_chit_chat_never_become_clusters_or_alternates(
    week: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    at = MONDAY + dt.timedelta(hours=60)
    ask(week, at, "j1", "1？", [("tax.vat-small-scale", 58.0)], pick="tax.vat-small-scale")
    ask(week, at, "j2", "1", [("tax.vat-small-scale", 47.0)])
    ask(week, at, "j3", "👍？", [])
    ask(week, at, "j4", "👍", [])
    ask(week, at, "j5", "哈哈哈哈", [])
    ask(week, at, "j6", "今天天气怎么样", [("utility.electricity", 31.0)])
    report = report_of(week, kb, matcher)
    text = everything(report)
    for junk in ("1？", "👍", "哈哈", "天气"):
        assert junk not in text, f"{junk!r} reached the report"
    assert all(c.closest_id != "tax.vat-small-scale" for c in report.clusters)
    assert [c.size for c in report.clusters[:4]] == [5, 4, 3, 2], "the real gaps are untouched"


def test_an_alternate_is_proposed_only_when_it_is_close_to_the_entry_and_says_why(
    week: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    at = MONDAY + dt.timedelta(hours=61)
    # A user asked about social insurance, was offered electricity and clicked it anyway.
    ask(
        week,
        at,
        "m1",
        "社宝减面怎么办理啊",
        [("utility.electricity", 52.0), ("si.reduction", 50.0)],
        pick="utility.electricity",
    )
    report = report_of(week, kb, matcher)
    for c in report.clusters:
        if c.action == "alternates":
            assert all("社宝" not in p for p in c.phrasings), f"proposed for {c.closest_id}"
    power = next(c for c in report.clusters if c.action == "alternates" and c.closest_id == "utility.electricity")
    assert power.alternates and {a.text for a in power.alternates} == set(power.phrasings)
    reason = power.alternates[0].reason
    assert reason.startswith("得分 ") and "用户从候选中选了该条目" in reason and "电费" in reason.split("共同词：")[1]
    assert all(a.score >= matcher.thresholds.suggest for a in power.alternates)
    md = render(report, "md").data.decode()
    assert f"（{reason}）" in md
    rows = list(csv.DictReader(io.StringIO(render(report, "csv").data.decode("utf-8-sig"))))
    assert any(reason in row["问法依据"] for row in rows)


def _answer_forklift(store: SqlStore, *answers: tuple[str, str | None]) -> None:
    """Staff answers to the first forklift ticket, each followed by the enterprise's rating (or none)."""
    with store.engine.begin() as conn:
        ticket = conn.execute(
            sa.select(tickets.c.id, tickets.c.created_at)
            .where(tickets.c.question.contains("叉车"))
            .order_by(tickets.c.id)
        ).first()
        assert ticket is not None
        at = ticket.created_at
        last: tuple[str, str | None] = ("", None)
        for i, (text, rating) in enumerate(answers, 1):
            conn.execute(
                ticket_events.insert().values(
                    ticket_id=ticket.id, at=at + dt.timedelta(hours=i), actor="张三", action="答复", detail=text
                )
            )
            if rating:
                conn.execute(
                    ticket_events.insert().values(
                        ticket_id=ticket.id,
                        at=at + dt.timedelta(hours=i, minutes=30),
                        actor="u1",
                        action="评价",
                        detail=rating,
                    )
                )
            last = (text, rating)
        status = "重新打开" if last[1] == "不满意" else "已答复"
        row = tickets.update().where(tickets.c.id == ticket.id)
        conn.execute(row.values(answer=last[0], satisfaction=last[1], status=status))


def forklift(report: WeeklyReport) -> Cluster:
    return next(c for c in report.clusters if any(q in c.examples[0] or "叉车" in c.examples[0] for q in FORKLIFT))


def test_an_answer_rated_unsatisfactory_is_never_a_draft(week: SqlStore, kb: KnowledgeBase, matcher: Matcher) -> None:
    _answer_forklift(week, (REJECTED, "不满意"))
    report = report_of(week, kb, matcher)
    assert forklift(report).draft_answer is None
    for fmt in ("md", "html", "csv"):
        assert REJECTED not in render(report, fmt).data.decode("utf-8-sig")


def test_the_answer_given_after_a_rejected_one_is_the_draft(
    week: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    _answer_forklift(week, (REJECTED, "不满意"), (BETTER, None))
    assert forklift(report_of(week, kb, matcher)).draft_answer == BETTER


def test_long_text_is_cut_in_the_tables_and_whole_in_the_csv(
    week: SqlStore, kb: KnowledgeBase, matcher: Matcher
) -> None:
    for i in range(6):  # the largest cluster, so it is shown in detail
        ask(week, MONDAY + dt.timedelta(hours=70 + i), f"l{i}", LONG, [("licensing.special-equipment", 40.0)])
    report = report_of(week, kb, matcher)
    assert len(LONG) > 500 and report.clusters[0].examples[0] == LONG
    for fmt in ("md", "html"):
        text = re.sub(r"<svg.*?</svg>", "", render(report, fmt).data.decode())  # a chart's tooltip may hold it
        assert LONG not in text and LONG[:79] in text and LONG[:79] + "…" in text, fmt
        assert "全文见 CSV 明细" in text
    rows = list(csv.DictReader(io.StringIO(render(report, "csv").data.decode("utf-8-sig"))))
    assert rows[0]["示例1"] == LONG
    assert ".cluster th{white-space:nowrap" in render(report, "html").data.decode(), "labels never wrap per character"
