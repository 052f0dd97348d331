"""A ticket as each audience reads it, written once: the staff list line, the staff detail, the enterprise's line.

The CLI desk, the Telegram staff commands, the daily digest and the dialog core's /status all render through here,
so a ticket reads the same wherever staff (or the enterprise) meet it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import TZ
from bot.desk.privacy import masked
from bot.desk.tickets import format_due, is_overdue
from bot.models import Ticket

if TYPE_CHECKING:  # bot.store's package pulls in the database layer; rendering does not need it
    from bot.store.base import TicketEvent


@dataclass(frozen=True)
class TicketDetail:
    """What staff see of one ticket: the ticket, its history and the conversation before it."""

    ticket: Ticket
    events: list[TicketEvent]
    context: list[dict[str, str]]


def short(text: str, n: int = 30) -> str:
    """One line of at most `n` characters, runs of whitespace folded."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


def ticket_line(t: Ticket, now: dt.datetime) -> str:
    """Staff, in a list: one ticket on one line, personal data masked."""
    t = masked(t)
    due = f"时限 {format_due(t.due_at)}" if t.due_at else "无时限"
    flags = ("｜超期" if is_overdue(t, now) else "") + ("｜需电话回访" if t.callback_needed else "")
    return (
        f"{t.number}｜{t.status.value}｜{t.tier}｜{t.department or '未分配'}｜{t.district or '未选区县'}｜"
        f"{t.assignee or '未认领'}｜{due}{flags}｜{short(t.question)}"
    )


def detail_text(d: TicketDetail, now: dt.datetime) -> str:
    """Staff, one ticket in full: its fields, the conversation before it and its history."""
    t = d.ticket
    lines = [
        f"工单号：{t.number}（{t.status.value}）",
        f"创建：{t.created_at.astimezone(TZ):%Y-%m-%d %H:%M}｜渠道：{t.channel}｜区县：{t.district or '未选'}",
        f"企业：{t.enterprise or '—'}｜联系方式：{t.contact or '—'}｜用户：{t.user_id}",
        f"级别：{t.tier}｜承办部门：{t.department or '未分配'}｜承办人：{t.assignee or '未认领'}",
        f"办理时限：{format_due(t.due_at) if t.due_at else '—'}"
        + ("（已超期）" if is_overdue(t, now) else "")
        + ("（等待企业评价，计时暂停）" if t.paused_at and t.status.value == "已答复" else ""),
        f"问题：{t.question}",
    ]
    if t.candidates:
        lines.append("机器匹配候选：" + "，".join(f"{c.id}({c.score:.0f})" for c in t.candidates))
    if d.context:
        lines.append("对话记录：")
        lines += [
            f"  {'企业' if turn.get('direction') == 'in' else '助手'}：{short(turn.get('text', ''), 60)}"
            for turn in d.context
        ]
    if t.answer:
        lines.append(f"答复：{t.answer}")
    if t.satisfaction:
        lines.append(f"满意度：{t.satisfaction}")
    if t.callback_needed:
        lines.append("注意：答复未能送达，请电话回访")
    lines.append("办理记录：")
    for e in d.events:
        detail = f"｜{e.detail}" if e.detail else ""
        lines.append(f"  {e.at.astimezone(TZ):%m-%d %H:%M}｜{e.actor}｜{e.action}{detail}")
    return "\n".join(lines)


def enterprise_line(t: Ticket) -> str:
    """The enterprise, listing its own tickets (/status): number, status, when, the question's start."""
    when = t.created_at.astimezone(TZ).strftime("%m-%d %H:%M")
    question = t.question if len(t.question) <= 30 else t.question[:30] + "…"
    return f"· {t.number}｜{t.status.value}｜{when}｜{question}"
