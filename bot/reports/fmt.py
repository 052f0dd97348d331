"""Small Chinese formatting helpers shared by the renderers."""

from __future__ import annotations

import datetime as dt

from bot.reports.week import IsoWeek

CHANNEL_NAMES = {"telegram": "Telegram", "wechat": "微信", "console": "控制台", "cli": "命令行", "hotline": "热线"}
WEEKDAYS = "一二三四五六日"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def change(x: float | None) -> str:
    """+12.5% / -3.0% / —（上周无数据）."""
    if x is None:
        return "—（上周无数据）"
    return f"{x * 100:+.1f}%"


def duration(d: dt.timedelta | None) -> str:
    if d is None:
        return "—"
    minutes = int(d.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{hours / 24:.1f}天"


def period(week: IsoWeek) -> str:
    days = week.days
    return f"{days[0]:%Y年%m月%d日}—{days[-1]:%m月%d日}"


def day(d: dt.date) -> str:
    return f"{d:%m-%d} 周{WEEKDAYS[d.weekday()]}"


def channel(name: str) -> str:
    return CHANNEL_NAMES.get(name, name)
