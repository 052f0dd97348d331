"""Small Chinese formatting helpers shared by the renderers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.reports.model import Alternate, TicketStats
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


QUESTION_CHARS = 80  # a question in the HTML/Markdown report; the CSV has every text whole
ANSWER_CHARS = 300
CLIPPED_NOTE = "过长的问题和答复在本报告中截断（以“…”结尾），全文见 CSV 明细。"


def clip(text: str, limit: int = QUESTION_CHARS) -> str:
    """One line of at most `limit` characters, ending in … when cut: a 575-character question must not
    squeeze the table it sits in."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alternates_text(alternates: Sequence[Alternate], limit: int = 5) -> str:
    """Proposed alternates with why each is proposed: "问法（得分 58，共同词：电费）；…"."""
    return "；".join(f"{clip(a.text)}（{a.reason}）" for a in alternates[:limit])


TICKET_HEADER = ["部门", "类别", "新建", "已答复", "已办结", "超时", "首次答复用时（中位数）"]


def ticket_rows(t: TicketStats) -> list[tuple[object, ...]]:
    """The ticket table's rows, by department and tier, then the total; none for a week without tickets."""
    if not t.total.opened:
        return []
    return [
        (g.department, g.tier, g.opened, g.answered, g.closed, g.overdue, duration(g.median_first_answer))
        for g in (*t.groups, t.total)
    ]


def satisfaction(t: TicketStats) -> str:
    return "，".join(f"{k} {n}" for k, n in t.satisfaction.items()) or "暂无评价"
