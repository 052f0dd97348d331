"""Which days are Chinese working days, also for years the `chinesecalendar` package has no data for yet.

Three sources, first match wins:
  1. the staff's own file (WORK_CALENDAR_FILE): a year's 放假 and 调休上班 days from the State Council's notice,
     for the weeks between its publication and a `chinesecalendar` release that carries it;
  2. `chinesecalendar` for the years it covers (holidays and make-up workdays);
  3. beyond both: Monday–Friday minus the statutory holidays on fixed dates (元旦 1-1, 劳动节 5-1/5-2,
     国庆 10-1..3, per 《全国年节及纪念日放假办法》). The lunar holidays (春节, 清明, 端午, 中秋) and 调休 are not
     known without data: `uncovered_years` names such years so start-up, `faq check` and `tickets` can warn.

The file, in YAML (dates as YYYY-MM-DD, a range as "YYYY-MM-DD..YYYY-MM-DD"):

    holidays:            # 放假
      - 2027-01-01
      - 2027-02-06..2027-02-12
    workdays:            # 调休上班
      - 2027-02-14
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import chinese_calendar
import yaml

# (month, day) of the statutory holidays on fixed solar dates; 劳动节 has two days since 2025 (国务院令第795号).
FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))
PACKAGE = "chinesecalendar"


class CalendarError(ValueError):
    """The staff's calendar file cannot be used; the message names the file and the entry (in Chinese)."""


def package_covers(year: int) -> bool:
    """Whether `chinesecalendar` has the State Council's holiday arrangement for `year`."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the staff file's days, then `chinesecalendar`, then weekdays minus fixed-date holidays."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    source: str = ""  # the file the extra days came from, for messages

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def covers(self, year: int) -> bool:
        """Whether the full arrangement (lunar holidays and 调休 included) of `year` is known."""
        return any(d.year == year for d in self.holidays | self.workdays) or package_covers(year)

    def uncovered_years(self, today: dt.date, horizon: dt.timedelta = dt.timedelta(days=60)) -> list[int]:
        """Years from `today` to `today + horizon` whose arrangement is not known: their due times are estimates."""
        return [y for y in range(today.year, (today + horizon).year + 1) if not self.covers(y)]

    def warning(self, today: dt.date) -> str | None:
        """The Chinese warning for staff when a year in sight is not covered, else None."""
        years = self.uncovered_years(today)
        if not years:
            return None
        names = "、".join(f"{y}年" for y in years)
        where = f"文件 {self.source} 中" if self.source else "WORK_CALENDAR_FILE 指定的 YAML 文件中"
        return (
            f"节假日数据（{PACKAGE}）尚无{names}的放假调休安排：工单办理时限暂按周一至周五、扣除元旦、劳动节、"
            f"国庆等固定日期假日计算，春节等农历假日和调休未计入。请按国务院办公厅通知在 {where}补充，"
            f"或升级 {PACKAGE}。"
        )


def _days(raw: object, path: Path, key: str) -> Iterable[dt.date]:
    """A date, or a "start..end" range, as days; CalendarError naming the entry otherwise."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return [raw]
    text = str(raw).strip()
    try:
        start_s, sep, end_s = text.partition("..")
        start = dt.date.fromisoformat(start_s.strip())
        end = dt.date.fromisoformat(end_s.strip()) if sep else start
    except ValueError:
        raise CalendarError(
            f"{path}：{key} 中的“{text}”不是日期（应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD）"
        ) from None
    if end < start or (end - start).days > 31:
        raise CalendarError(f"{path}：{key} 中的“{text}”不是一个月以内的日期范围")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def load_calendar(path: Path | None) -> WorkCalendar:
    """The calendar with the staff file's days (none when `path` is None); CalendarError for a bad file."""
    if path is None:
        return WorkCalendar()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise CalendarError(f"无法读取节假日文件 {path}：{exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CalendarError(f"节假日文件 {path} 不是有效的 YAML：{exc}") from None
    except ValueError as exc:  # YAML reads 2027-02-30 as a date and fails on it
        raise CalendarError(f"节假日文件 {path} 中有无效日期：{exc}") from None
    if not isinstance(data, dict) or set(data) - {"holidays", "workdays"}:
        raise CalendarError(f"节假日文件 {path} 只能包含 holidays（放假）和 workdays（调休上班）两个列表")
    found: dict[str, set[dt.date]] = {}
    for key in ("holidays", "workdays"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise CalendarError(f"{path}：{key} 应为日期列表")
        found[key] = {day for raw in items for day in _days(raw, path, key)}
    both = sorted(found["holidays"] & found["workdays"])
    if both:
        raise CalendarError(f"{path}：{both[0].isoformat()} 同时列为放假和调休上班")
    return WorkCalendar(frozenset(found["holidays"]), frozenset(found["workdays"]), str(path))
