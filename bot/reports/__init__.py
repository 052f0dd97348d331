"""The weekly FAQ gap report: what the bot could not answer, grouped, with proposed new entries.

data.py          one week (Asia/Shanghai ISO week) of messages, tickets and events, as bot/store/reports.py reads it
week.py          ISO week parsing and boundaries
clusters.py      grouping questions by need (jieba tokens via the matcher + rapidfuzz)
gaps.py          gap questions → clusters with closest entry and proposed action
volume.py, entries.py, ticket_stats.py   the other sections
build.py         assembles a WeeklyReport (model.py)
render_md.py, render_html.py (+ svg.py), render_csv.py, summary.py   the forms
document.py      file + summary for the Monday job: `build_weekly_report_document` (async)
suggest.py       accepted clusters → YAML stubs for faq/
"""

from bot.reports.build import build_report
from bot.reports.document import ReportDocument, build_weekly_report_document, render, weekly_report_document
from bot.reports.week import IsoWeek, WeekError

__all__ = [
    "IsoWeek",
    "ReportDocument",
    "WeekError",
    "build_report",
    "build_weekly_report_document",
    "render",
    "weekly_report_document",
]
