"""The report as a file (Markdown, HTML or CSV), and the Monday job's entry point for the Telegram adapter.

The Telegram adapter schedules `build_weekly_report_document` every Monday 09:00 Beijing time
(`job_queue.run_daily(callback, time=SCHEDULE_TIME, days=(SCHEDULE_DAY,))` — python-telegram-bot counts
0 = Sunday … 6 = Saturday, so Monday is 1) and sends `document.data` as `document.filename` with
`document.summary` as the caption or a message before it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import TZ
from bot.reports.build import build_report
from bot.reports.model import WeeklyReport
from bot.reports.render_csv import render_csv
from bot.reports.render_html import render_html
from bot.reports.render_md import render_markdown
from bot.reports.summary import summary
from bot.reports.week import IsoWeek
from bot.store.interfaces import ReportReader

SCHEDULE_TIME = dt.time(9, 0, tzinfo=TZ)
SCHEDULE_DAY = 1  # Monday in python-telegram-bot's run_daily numbering (0 = Sunday)
FORMATS: dict[str, tuple[str, Callable[[WeeklyReport, int], bytes]]] = {
    "md": ("text/markdown; charset=utf-8", lambda r, top: render_markdown(r, top).encode("utf-8")),
    "html": ("text/html; charset=utf-8", lambda r, top: render_html(r, top).encode("utf-8")),
    "csv": ("text/csv; charset=utf-8", lambda r, _top: render_csv(r)),
}


@dataclass(frozen=True)
class ReportDocument:
    """A rendered report ready to send: file name, bytes, MIME type and a short Chinese summary."""

    week: IsoWeek
    filename: str
    data: bytes
    mime: str
    summary: str


def render(report: WeeklyReport, fmt: str, top: int = 20) -> ReportDocument:
    """`report` in one of FORMATS (`top` clusters in detail); a ValueError names the valid formats."""
    if fmt not in FORMATS:
        raise ValueError(f"不支持的格式“{fmt}”，可选：{'、'.join(FORMATS)}")
    mime, renderer = FORMATS[fmt]
    name = f"faq-report-{report.week.label}.{fmt}"
    return ReportDocument(report.week, name, renderer(report, top), mime, summary(report))


def weekly_report_document(
    reader: ReportReader,
    kb: KnowledgeBase,
    matcher: Matcher,
    today: dt.date,
    week: IsoWeek | None = None,
    fmt: str = "html",
    now: dt.datetime | None = None,
) -> ReportDocument:
    """Build and render one week's report (default: last week as of `today`); blocking."""
    week = week or IsoWeek.last_before(today)
    return render(build_report(reader, kb, matcher, week, today, now), fmt)


async def build_weekly_report_document(
    reader: ReportReader,
    kb: KnowledgeBase,
    matcher: Matcher,
    today: dt.date,
    week: IsoWeek | None = None,
    fmt: str = "html",
    now: dt.datetime | None = None,
) -> ReportDocument:
    """The same, in a worker thread, so the bot's event loop keeps answering while the report is built."""
    return await asyncio.to_thread(weekly_report_document, reader, kb, matcher, today, week, fmt, now)
