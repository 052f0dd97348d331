"""Tier, department and due time of a ticket: per-tier limits in Chinese working time (office hours on workdays).

Kept apart from the ticket rules so settings can check TICKET_SLA_DAYS and TICKET_WORK_HOURS without loading them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.clock import TZ
from bot.desk.workdays import WorkCalendar
from bot.models import FaqEntry, Ticket

TIERS: tuple[str, ...] = ("常规", "一般", "专业")
DEFAULT_SLA_DAYS: Mapping[str, float] = {"常规": 1, "一般": 3, "专业": 5}
SPECIALIST_CATEGORIES = frozenset({"税费", "社会保险", "工伤", "金融"})
DEFAULT_DEPARTMENT = "区复工复产服务专班"


@dataclass(frozen=True)
class WorkClock:
    """Office hours on Chinese working days (bot/desk/workdays.py), in Asia/Shanghai."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    @property
    def day_length(self) -> dt.timedelta:
        return dt.datetime.combine(dt.date.min, self.end) - dt.datetime.combine(dt.date.min, self.start)

    def _span(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        if not self.calendar.is_workday(day):
            return None
        return dt.datetime.combine(day, self.start, TZ), dt.datetime.combine(day, self.end, TZ)

    def add(self, start: dt.datetime, work: dt.timedelta) -> dt.datetime:
        """The moment when `work` of working time has passed since `start`."""
        t = start.astimezone(TZ)
        remaining = work
        for _ in range(3660):  # ten years of days: a bound, never reached by real limits
            span = self._span(t.date())
            if span is not None:
                t = max(t, span[0])
                if t < span[1]:
                    if remaining <= span[1] - t:
                        return t + remaining
                    remaining -= span[1] - t
            t = dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time(0), TZ)
        raise ValueError("working time limit too large")

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Working time from `a` to `b` (zero when b ≤ a)."""
        a, b = a.astimezone(TZ), b.astimezone(TZ)
        total = dt.timedelta()
        day = a.date()
        while day <= b.date():
            span = self._span(day)
            if span is not None:
                lo, hi = max(a, span[0]), min(b, span[1])
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total


@dataclass(frozen=True)
class TicketPolicy:
    """Tier and department of a new ticket, and its due time from the per-tier limit in working days."""

    sla_days: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    clock: WorkClock = WorkClock()

    def classify(self, entry: FaqEntry | None, district: str | None) -> tuple[str, str]:
        """(tier, department): specialist categories → 专业, other matched topics → 常规, unknown → 一般 to 专班."""
        if entry is None:
            return "一般", f"{district}复工复产服务专班" if district else DEFAULT_DEPARTMENT
        tier = "专业" if entry.category in SPECIALIST_CATEGORIES else "常规"
        return tier, entry.department_for(district)

    def due(self, start: dt.datetime, tier: str) -> dt.datetime:
        days = self.sla_days.get(tier, self.sla_days.get("一般", 3))
        return self.clock.add(start, self.clock.day_length * days)

    def resumed_due(self, ticket: Ticket, at: dt.datetime) -> dt.datetime | None:
        """The due time after a pause ends at `at`: moved later by the working time spent waiting."""
        if ticket.due_at is None or ticket.paused_at is None:
            return ticket.due_at
        return ticket.due_at + self.clock.between(ticket.paused_at, at)


def parse_sla(raw: str) -> dict[str, float]:
    """`常规=1,一般=3,专业=5` → per-tier working days; raises ValueError naming the bad part."""
    days = dict(DEFAULT_SLA_DAYS)
    for part in filter(None, (p.strip() for p in raw.replace("，", ",").split(","))):
        tier, _, value = part.partition("=")
        if tier.strip() not in TIERS:
            raise ValueError(f"unknown tier {tier.strip()!r} (expected one of {', '.join(TIERS)})")
        try:
            days[tier.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: expected tier=working days") from None
        if days[tier.strip()] <= 0:
            raise ValueError(f"{part!r}: the limit must be positive")
    return days


def parse_hours(raw: str) -> WorkClock:
    """`09:00-17:00` → office hours."""
    try:
        start, end = (dt.time.fromisoformat(x.strip()) for x in raw.split("-"))
    except ValueError:
        raise ValueError(f"{raw!r}: expected HH:MM-HH:MM") from None
    if end <= start:
        raise ValueError(f"{raw!r}: the end must be after the start")
    return WorkClock(start, end)
