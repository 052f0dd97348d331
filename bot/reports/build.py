"""Assemble the weekly report from the store's reader, the knowledge base and the matcher (read-only)."""

from __future__ import annotations

import datetime as dt
import logging
import time

import bot.reports.entries as entries
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import TZ
from bot.desk.mask import mask
from bot.reports.gaps import GapFinder
from bot.reports.model import StaffProposal, WeeklyReport
from bot.reports.ticket_stats import ticket_stats
from bot.reports.volume import volume
from bot.reports.week import IsoWeek
from bot.store.interfaces import ReportReader

logger = logging.getLogger(__name__)


def build_report(
    reader: ReportReader,
    kb: KnowledgeBase,
    matcher: Matcher,
    week: IsoWeek,
    today: dt.date,
    now: dt.datetime | None = None,
) -> WeeklyReport:
    """The report for `week`; `today` judges policy expiry, `now` judges overdue tickets."""
    started = time.perf_counter()
    now = now or dt.datetime.now(TZ)
    data = reader.read_week(week)
    n_gaps, clusters = GapFinder(kb, matcher, matcher.thresholds.answer).clusters(data)
    report = WeeklyReport(
        week=week,
        generated_at=now,
        today=today,
        volume=volume(data),
        gap_questions=n_gaps,
        clusters=clusters,
        feedback_down=entries.feedback_down(kb, data),
        escalated_after_answer=entries.escalated_after_answer(kb, data),
        never_matched=entries.never_matched(kb, data),
        expired=entries.expired(kb, today),
        tickets=ticket_stats(data, now),
        staff_proposals=[StaffProposal(n, mask(q), mask(a), d) for n, q, a, d in data.proposals],
    )
    logger.info(
        "report %s: %d questions, %d gap questions in %d clusters, %.2fs",
        week,
        report.volume.questions,
        n_gaps,
        len(clusters),
        time.perf_counter() - started,
    )
    return report
