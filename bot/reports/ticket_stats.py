"""Ticket figures for the week's tickets: opened, answered, closed, overdue, time to first answer, satisfaction.

Closed means what the daily digest means by it: `bot.desk.history.closed_tickets` over the tickets' history.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

from bot.desk.history import closed_tickets
from bot.desk.tickets import ACTION_NAMES
from bot.models import TicketStatus
from bot.reports.data import EventRow, TicketRow, WeekData
from bot.reports.model import TicketGroup, TicketStats

ANSWER_ACTIONS = frozenset({ACTION_NAMES["answer"]})
ANSWERED_STATUSES = frozenset({TicketStatus.ANSWERED.value, TicketStatus.CLOSED.value})
DISMISSED = TicketStatus.DISMISSED.value  # 无效/重复: closed without an answer, neither answered nor overdue
UNKNOWN = "未指定"


def _first_answers(events: list[EventRow]) -> dict[int, dt.datetime]:
    first: dict[int, dt.datetime] = {}
    for e in events:
        if e.action in ANSWER_ACTIONS and e.ticket_id not in first:
            first[e.ticket_id] = e.at
    return first


def _group(
    department: str,
    tier: str,
    rows: list[TicketRow],
    first: dict[int, dt.datetime],
    closed_ids: set[int],
    now: dt.datetime,
) -> TicketGroup:
    answered = [
        t for t in rows if t.id in first or t.status in ANSWERED_STATUSES or (t.answer and t.status != DISMISSED)
    ]
    overdue = 0
    for t in rows:
        if t.due_at is None or (t.status == DISMISSED and t.id not in first):
            continue
        answered_at = first.get(t.id)
        if (answered_at is not None and answered_at > t.due_at) or (
            answered_at is None and t.due_at < now and t.status not in ANSWERED_STATUSES
        ):
            overdue += 1
    waits = [first[t.id] - t.created_at for t in rows if t.id in first]
    return TicketGroup(
        department=department,
        tier=tier,
        opened=len(rows),
        answered=len(answered),
        closed=sum(t.id in closed_ids for t in rows),
        overdue=overdue,
        median_first_answer=dt.timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
        if waits
        else None,
    )


def ticket_stats(data: WeekData, now: dt.datetime) -> TicketStats:
    """Figures for the tickets opened in the week, as they stand `now`, overall and by department × tier."""
    first = _first_answers(data.events)
    closed_ids = closed_tickets((e.ticket_id, e.action, e.detail) for e in data.events)
    rows = list(data.tickets.values())
    by_key: dict[tuple[str, str], list[TicketRow]] = defaultdict(list)
    for t in rows:
        by_key[(t.department or UNKNOWN, t.tier or UNKNOWN)].append(t)
    groups = [_group(d, tier, by_key[(d, tier)], first, closed_ids, now) for d, tier in sorted(by_key)]
    groups.sort(key=lambda g: -g.opened)
    satisfaction = Counter(t.satisfaction for t in rows if t.satisfaction)
    return TicketStats(
        total=_group("合计", "全部", rows, first, closed_ids, now),
        groups=groups,
        satisfaction=dict(satisfaction.most_common()),
    )
