"""The daily ticket digest (new, answered, overdue, by department) and the CSV export for Excel."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from bot.clock import TZ
from bot.desk.history import RATING_EVENTS, closed_tickets
from bot.desk.neutralize import csv_row
from bot.desk.ticket_text import ticket_line
from bot.desk.tickets import ACTION_NAMES, is_overdue
from bot.models import Ticket
from bot.store.base import Filter
from bot.store.interfaces import TicketDesk

ANSWERED_ACTIONS = (ACTION_NAMES["answer"],)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The Asia/Shanghai day as [start, end)."""
    start = dt.datetime.combine(day, dt.time(0), TZ)
    return start, start + dt.timedelta(days=1)


@dataclass
class Digest:
    """One day's ticket work, as the daily report (日报) needs it."""

    day: dt.date
    as_of: dt.datetime  # the day's end, or now for today: what "overdue" and "still open" are judged at
    new: list[Ticket] = field(default_factory=list)
    answered: list[Ticket] = field(default_factory=list)
    closed: list[Ticket] = field(default_factory=list)
    overdue: list[Ticket] = field(default_factory=list)
    open_total: int = 0
    callbacks: list[Ticket] = field(default_factory=list)
    satisfaction: Counter[str] = field(default_factory=Counter)
    by_department: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def build_digest(queue: TicketDesk, day: dt.date, now: dt.datetime) -> Digest:
    """New and answered that day; overdue and still open as of the day's end (or now, for today)."""
    start, end = day_bounds(day)
    cutoff = min(end, now)
    d = Digest(day, cutoff)
    d.new = queue.find(Filter(statuses=None, created_from=start, created_to=end, limit=100_000))
    actions = queue.actions_between(start, end)
    answered: set[str] = set()
    for ticket, event in actions:
        if event.action in ANSWERED_ACTIONS and ticket.number not in answered:
            answered.add(ticket.number)
            d.answered.append(ticket)
        if event.action in RATING_EVENTS and event.detail:
            d.satisfaction[event.detail] += 1
    closed = closed_tickets((t.number, e.action, e.detail) for t, e in actions)
    d.closed = list({t.number: t for t, _ in actions if t.number in closed}.values())
    active = queue.find(Filter(created_to=end, limit=100_000))
    d.open_total = len(active)
    d.overdue = [t for t in active if is_overdue(t, cutoff)]
    d.callbacks = [t for t in queue.find(Filter(statuses=None, created_to=end, limit=100_000)) if t.callback_needed]
    for key, items in (("新增", d.new), ("答复", d.answered), ("超期", d.overdue), ("在办", active)):
        for t in items:
            d.by_department[t.department or "未分配"][key] += 1
    return d


def format_digest(d: Digest) -> str:
    """The digest as plain text for the daily report."""
    lines = [
        f"工单日报 {d.day.isoformat()}",
        f"新增 {len(d.new)} 件，答复 {len(d.answered)} 件，办结 {len(d.closed)} 件，"
        f"在办 {d.open_total} 件，超期 {len(d.overdue)} 件",
    ]
    if d.satisfaction:
        lines.append("满意度：" + "，".join(f"{k} {v}" for k, v in sorted(d.satisfaction.items())))
    if d.by_department:
        lines.append("按承办部门：")
        for dept, c in sorted(d.by_department.items()):
            lines.append(f"  {dept}：新增 {c['新增']}，答复 {c['答复']}，在办 {c['在办']}，超期 {c['超期']}")
    if d.overdue:
        lines.append("超期工单：")
        lines += [f"  {ticket_line(t, d.as_of)}" for t in d.overdue]
    if d.callbacks:
        lines.append("需电话回访（答复未能送达）：")
        lines += [f"  {t.number}｜{t.contact or t.chat_id}" for t in d.callbacks]
    return "\n".join(lines)


CSV_HEADER = (
    "工单号",
    "创建时间",
    "渠道",
    "区县",
    "企业",
    "联系方式",
    "问题",
    "类别",
    "级别",
    "承办部门",
    "状态",
    "承办人",
    "办理时限",
    "是否超期",
    "答复",
    "满意度",
    "需电话回访",
)


def _local(at: dt.datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if at else ""


def export_csv(tickets: list[Ticket], out: TextIO, now: dt.datetime) -> None:
    """Write tickets as CSV; open `out` with encoding "utf-8-sig" so Excel reads the Chinese correctly."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for t in tickets:
        writer.writerow(
            csv_row(
                [
                    t.number,
                    _local(t.created_at),
                    t.channel,
                    t.district or "",
                    t.enterprise or "",
                    t.contact or "",
                    t.question,
                    t.category or "",
                    t.tier,
                    t.department or "",
                    t.status.value,
                    t.assignee or "",
                    _local(t.due_at),
                    "是" if is_overdue(t, now) else "否",
                    t.answer or "",
                    t.satisfaction or "",
                    "是" if t.callback_needed else "否",
                ]
            )
        )
