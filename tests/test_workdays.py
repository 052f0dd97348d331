"""Working days beyond the holiday package's data: fixed-date holidays, the staff's own file, the warning (issue 13)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.config import TZ, ConfigError, Settings
from bot.desk.policy import TicketPolicy, WorkClock
from bot.desk.workdays import CalendarError, WorkCalendar, load_calendar

SPRING_2027 = """\
# 2027年春节放假安排（示例，按国务院办公厅通知填写）
holidays:
  - 2027-02-05..2027-02-12
workdays:
  - 2027-02-13   # 周六调休上班
"""


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_a_routine_ticket_opened_on_new_years_eve_2026_is_not_due_on_new_years_day() -> None:
    # Thursday 10:00 + 1 working day: 7 h on Thursday, then 1 h on the next working day — Monday 4 January 2027.
    assert TicketPolicy().due(at(2026, 12, 31, 10), "常规") == at(2027, 1, 4, 10)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2027-01-01", False),  # 元旦, a Friday
        ("2027-10-01", False),  # 国庆, a Friday
        ("2028-05-01", False),  # 劳动节, a Monday
        ("2028-05-02", False),  # 劳动节's second day since 2025, a Tuesday
        ("2028-10-03", False),  # 国庆's third day, a Tuesday
        ("2027-10-04", True),  # an ordinary Monday as far as anyone knows without the State Council's notice
        ("2027-01-02", False),  # a Saturday
    ],
)
def test_fixed_date_statutory_holidays_are_known_without_data(day: str, working: bool) -> None:
    assert WorkCalendar().is_workday(dt.date.fromisoformat(day)) is working


def test_years_the_package_covers_still_come_from_the_package() -> None:
    cal = WorkCalendar()
    assert not cal.is_workday(dt.date(2026, 2, 17)), "春节 2026"
    assert cal.is_workday(dt.date(2026, 2, 28)), "a make-up Saturday of 2026"


def test_the_staff_file_adds_a_years_spring_festival_and_make_up_day(tmp_path: Path) -> None:
    path = tmp_path / "workdays.yaml"
    path.write_text(SPRING_2027, encoding="utf-8")
    cal = load_calendar(path)
    assert not cal.is_workday(dt.date(2027, 2, 8)) and cal.is_workday(dt.date(2027, 2, 13))
    clock = WorkClock(calendar=cal)
    # Thursday 4 February 16:00 + 1 working day: 1 h, the festival (5th–12th), Saturday 13th (调休) 09:00–16:00.
    assert TicketPolicy(clock=clock).due(at(2027, 2, 4, 16), "常规") == at(2027, 2, 13, 16)
    assert TicketPolicy().due(at(2027, 2, 4, 16), "常规") == at(2027, 2, 5, 16), "without the file: a plain Friday"


def test_a_year_without_data_is_warned_about_in_time_and_the_file_silences_it(tmp_path: Path) -> None:
    assert WorkCalendar().uncovered_years(dt.date(2026, 12, 4)) == [2027]
    assert WorkCalendar().uncovered_years(dt.date(2026, 6, 1)) == []
    warning = WorkCalendar().warning(dt.date(2026, 12, 4)) or ""
    assert "尚无2027年的放假调休安排" in warning and "WORK_CALENDAR_FILE" in warning
    path = tmp_path / "workdays.yaml"
    path.write_text(SPRING_2027, encoding="utf-8")
    assert load_calendar(path).warning(dt.date(2026, 12, 4)) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("holidays: [2027-02-30]", "无效日期"),
        ("holidays: ['2027-02-3O']", "“2027-02-3O”不是日期"),
        ("holidays: ['2027-02-11..2027-02-05']", "不是一个月以内的日期范围"),
        ("holidays: [2027-02-13]\nworkdays: [2027-02-13]", "2027-02-13 同时列为放假和调休上班"),
        ("holiday: [2027-01-01]", "只能包含 holidays（放假）和 workdays（调休上班）"),
        ("holidays: 2027-01-01", "holidays 应为日期列表"),
        ("holidays: [", "不是有效的 YAML"),
    ],
)
def test_a_bad_calendar_file_stops_the_start_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "workdays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match=message):
        load_calendar(path)
    with pytest.raises(ConfigError, match=r"^WORK_CALENDAR_FILE: ") as refused:
        Settings.from_env({"WORK_CALENDAR_FILE": str(path)})
    assert str(path) in str(refused.value)
    with pytest.raises(ConfigError, match="无法读取节假日文件"):
        Settings.from_env({"WORK_CALENDAR_FILE": str(tmp_path / "missing.yaml")})


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(list(args))
    out = capsys.readouterr()
    return out.out, out.err


def test_faq_check_and_the_desk_warn_about_years_without_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'desk.db'}")
    today = dt.datetime.now(TZ).date()
    missing = WorkCalendar().uncovered_years(today)
    out, err = run_cli(monkeypatch, capsys, "tickets", "list")
    assert ("放假调休安排" in err) is bool(missing) and "共 0 件" in out
    out, _ = run_cli(monkeypatch, capsys, "faq", "check")
    assert ("放假调休安排" in out) is bool(missing)
    covering = tmp_path / "workdays.yaml"
    covering.write_text("holidays:\n" + "".join(f"  - {y}-01-01\n" for y in (today.year, today.year + 1)))
    monkeypatch.setenv("WORK_CALENDAR_FILE", str(covering))
    out, err = run_cli(monkeypatch, capsys, "tickets", "list")
    assert "放假调休安排" not in err and "共 0 件" in out
