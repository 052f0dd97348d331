"""The short Chinese message that goes with the report document to the staff chat."""

from __future__ import annotations

from bot.reports.fmt import change, pct, period
from bot.reports.model import WeeklyReport


def summary(report: WeeklyReport, top: int = 3) -> str:
    """A few lines: volume, shares, the largest gaps and ticket figures."""
    v, t = report.volume, report.tickets.total
    head = f"【咨询周报 {report.week.label}】{period(report.week)}"
    if report.is_empty:
        return f"{head}\n本周没有收到咨询，也没有新工单。"
    lines = [
        head,
        f"咨询 {v.questions} 个（环比 {change(v.change)}）：FAQ直接答复 {pct(v.share('answer'))}，"
        f"给出候选 {pct(v.share('suggest'))}，转人工 {pct(v.share('escalate'))}。",
    ]
    if report.clusters:
        gaps = "；".join(f"{c.draft_question}（{c.size}次）" for c in report.clusters[:top])
        lines.append(f"未答好的问题 {report.gap_questions} 个，归为 {len(report.clusters)} 组，最多的是：{gaps}")
    lines.append(f"新工单 {t.opened} 件，已答复 {t.answered} 件，已办结 {t.closed} 件，超时 {t.overdue} 件。")
    if report.feedback_down:
        lines.append(f"被点“没帮助”最多的条目：{report.feedback_down[0].question}（{report.feedback_down[0].count}次）")
    lines.append("详见附件。")
    return "\n".join(lines)
