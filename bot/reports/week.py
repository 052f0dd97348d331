"""ISO weeks in Asia/Shanghai: the report's unit of time, with boundaries as UTC instants for the queries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.clock import TZ

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


class WeekError(ValueError):
    """A week label we cannot read; the message is Chinese, for the command line."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO week (Monday 00:00 to the next Monday 00:00, Beijing time)."""

    year: int
    week: int

    @classmethod
    def parse(cls, label: str) -> IsoWeek:
        """`2026-W47` (or `2026W47`, `2026-w7`) → IsoWeek; a clear error for anything else."""
        m = _WEEK_RE.match(label or "")
        if not m:
            raise WeekError(f"无法识别的周次“{label}”，请使用 ISO 周格式，例如 2026-W47")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{year} 年没有第 {week} 周") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: dt.date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_before(cls, today: dt.date) -> IsoWeek:
        """The week before the one containing `today` (the default: last week)."""
        return cls.of(today - dt.timedelta(days=7))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> dt.datetime:
        """Monday 00:00 Beijing time, as an aware datetime (compare in any zone)."""
        return dt.datetime.combine(self.monday, dt.time(), TZ)

    @property
    def end(self) -> dt.datetime:
        """The next Monday 00:00 Beijing time (exclusive)."""
        return self.start + dt.timedelta(days=7)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - dt.timedelta(days=7))

    def __str__(self) -> str:
        return self.label
