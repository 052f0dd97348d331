"""The gap clusters as CSV (UTF-8 with BOM, so Excel opens Chinese correctly), one row per cluster.

Staff mark the rows they accept in the 采纳 column; `faq suggest --csv` reads the file back.
"""

from __future__ import annotations

import csv
import io

from bot.desk.neutralize import csv_row
from bot.reports.model import WeeklyReport

COLUMNS = (
    "周次",
    "编号",
    "问题数",
    "转人工数",
    "示例1",
    "示例2",
    "示例3",
    "最接近条目",
    "最接近问题",
    "得分",
    "建议",
    "草拟问题",
    "可补充问法",
    "问法依据",
    "草拟答复",
    "负责部门",
    "类别",
    "相关工单",
    "采纳",
)
LIST_SEP = "；"


def render_csv(report: WeeklyReport) -> bytes:
    """The clusters, largest first; an empty week gives the header only."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in report.clusters:
        examples = [*c.examples, "", "", ""][:3]
        writer.writerow(
            csv_row(
                [
                    report.week.label,
                    c.number,
                    c.size,
                    c.escalated,
                    *examples,
                    c.closest_id or "",
                    c.closest_question or "",
                    c.closest_score,
                    c.action_name,
                    c.draft_question,
                    LIST_SEP.join(c.phrasings),
                    LIST_SEP.join(a.reason for a in c.alternates),
                    c.draft_answer or "",
                    c.department or "",
                    c.category or "",
                    LIST_SEP.join(c.tickets),
                    "",
                ]
            )
        )
    return buf.getvalue().encode("utf-8-sig")
