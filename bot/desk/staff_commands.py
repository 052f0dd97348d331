"""Staff commands and the staff group's texts for a chat channel: text in, reply text out, no channel library.

A chat channel (Telegram today) decides who is staff there, hands the command or the card button here and
shows the reply; what a command does, what it answers and what a ticket card says are desk decisions, so
every channel gives the same answers. Synchronous like `StaffService`: a channel runs one call per command off
its event loop, and shows a changed ticket (`Reply.changed`) on its card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.kb import KnowledgeBase
from bot.desk.digest import format_digest
from bot.desk.privacy import masked
from bot.desk.staff import Staff, StaffService
from bot.desk.ticket_text import detail_text, ticket_line
from bot.desk.tickets import TIERS, Change, TicketError, format_due, is_overdue
from bot.models import Ticket, TicketStatus

STAFF_COMMANDS = (
    ("queue", "在办工单列表"),
    ("ticket", "工单详情：/ticket 工单号"),
    ("answer", "答复：/answer 工单号 答复内容"),
    ("claim", "认领：/claim 工单号"),
    ("transfer", "转办：/transfer 工单号 部门 [级别]"),
    ("note", "备注：/note 工单号 内容"),
    ("close", "办结：/close 工单号 [说明]；无效：/close 工单号 无效 [说明]；重复：/close 工单号 重复 保留的工单号"),
    ("reopen", "重新打开：/reopen 工单号 [原因]"),
    ("digest", "今日工单日报"),
)


@dataclass(frozen=True)
class Reply:
    """What staff are told, and the ticket the command changed (its card shows the change)."""

    text: str
    changed: Ticket | None = None
    alert: bool = False  # a card button's answer worth a dialog rather than a passing note


def card_text(t: Ticket, kb: KnowledgeBase | None, now: dt.datetime) -> str:
    """The card staff see: number, status, district, enterprise, question (masked), candidates, due time."""
    t = masked(t)
    question = t.question if len(t.question) <= 1500 else t.question[:1500] + "…"
    lines = [
        f"📋 工单 {t.number}｜{t.status.value}",
        f"区县：{t.district or '未选'}｜企业：{t.enterprise or '—'}｜渠道：{t.channel}",
        f"级别：{t.tier}｜承办：{t.department or '未分配'}｜承办人：{t.assignee or '未认领'}",
        f"办理时限：{format_due(t.due_at) if t.due_at else '—'}" + ("（已超期）" if is_overdue(t, now) else ""),
        f"问题：{question}",
    ]
    if t.candidates and kb is not None:
        lines.append("候选答案：")
        for i, c in enumerate(t.candidates[:3], 1):
            entry = kb.entries.get(c.id)
            lines.append(f"  {i}. {entry.question if entry else c.id}（{c.score:.0f}分）")
    if t.answer:
        lines.append(f"答复：{t.answer if len(t.answer) <= 1000 else t.answer[:1000] + '…'}")
    if t.satisfaction:
        lines.append(f"满意度：{t.satisfaction}")
    lines.append("直接回复本消息即可答复企业。")
    return "\n".join(lines)


def card_actions(t: Ticket, kb: KnowledgeBase | None) -> list[tuple[str, str]]:
    """(label, operation) of the card's buttons: 认领 / 用候选答案回复 / 转办 / 办结, as the status allows."""
    if t.status in (TicketStatus.CLOSED, TicketStatus.DISMISSED):
        return []
    actions = [("认领", "claim")]
    if t.candidates and kb is not None and t.candidates[0].id in kb.entries:
        actions.append(("用候选答案回复", "faq"))
    return [*actions, ("转办", "transfer"), ("办结", "close")]


def closed_text(t: Ticket) -> str:
    """What staff read after /close: 已办结, or 已作废 with the reason (无效, 重复 and the ticket kept)."""
    if t.status is TicketStatus.DISMISSED:
        return f"工单 {t.number} 已作废（不计入答复和办结）。"
    return f"工单 {t.number} 已办结。"


def answered_text(t: Ticket) -> str:
    return f"已答复工单 {t.number}，答复已发送给企业。"


def overdue_text(late: list[Ticket], now: dt.datetime) -> str:
    """督办: the notice for tickets that went past their due time."""
    lines = [f"⚠️ 督办：以下 {len(late)} 件工单已超过办理时限，请尽快办理："]
    return "\n".join(lines + [ticket_line(t, now) for t in late])


class StaffCommands:
    """The staff commands (`STAFF_COMMANDS`) and card buttons on the staff service, as replies to show."""

    def __init__(self, service: StaffService, kb: KnowledgeBase | None, clock: Callable[[], dt.datetime]) -> None:
        self.service = service
        self.kb = kb
        self.clock = clock

    def run(self, staff: Staff, name: str, rest: str, private: bool) -> Reply:
        """The command's reply; personal data is shown whole only in the handler's private chat."""
        try:
            return self._run(staff, name, rest, private)
        except TicketError as exc:
            return Reply(str(exc))

    def _run(self, staff: Staff, name: str, rest: str, private: bool) -> Reply:
        svc = self.service
        number, _, arg = rest.partition(" ") if rest else ("", "", "")
        arg = arg.strip()
        if name not in ("queue", "digest") and not number:
            return Reply(f"请写明工单号。用法：{dict(STAFF_COMMANDS).get(name, '')}")
        if name == "queue":
            tickets = svc.list_queue(staff)
            now = self.clock()
            return Reply("\n".join([f"在办工单 {len(tickets)} 件：", *(ticket_line(t, now) for t in tickets)]))
        if name == "digest":
            return Reply(format_digest(svc.digest(staff)))
        if name == "ticket":
            return Reply(detail_text(svc.show(staff, number, private), self.clock()))
        if name == "answer":
            if not arg:
                return Reply("请写上答复内容。用法：/answer 工单号 答复内容")
            t = svc.answer(staff, number, arg)  # claims the ticket first when nobody holds it
            return Reply(answered_text(t), t)
        if name == "claim":
            t = svc.claim(staff, number)
            return Reply(f"已认领工单 {t.number}。", t)
        if name == "transfer":
            department, _, tier = arg.partition(" ")
            if tier.strip() and tier.strip() not in TIERS:
                return Reply(f"级别只能是：{'、'.join(TIERS)}")
            t = svc.transfer(staff, number, department, tier.strip() or None)
            return Reply(f"工单 {t.number} 已转办至{t.department}。", t)
        if name == "note":
            t = svc.note(staff, number, arg)
            return Reply(f"已为工单 {t.number} 添加备注。", t)
        if name == "close":
            t = svc.close(staff, number, arg or None)
            return Reply(closed_text(t), t)
        if name == "reopen":
            t = svc.reopen(staff, number, arg or None)
            return Reply(f"工单 {t.number} 已重新打开。", t)
        return Reply("没有这个命令。")

    def answer(self, staff: Staff, number: str, text: str) -> Reply:
        """A reply to a ticket's card answers it (claimed first when nobody holds it)."""
        try:
            t = self.service.answer(staff, number, text)
        except TicketError as exc:
            return Reply(str(exc))
        return Reply(answered_text(t), t)

    def card_action(self, staff: Staff, op: str, number: str) -> Reply:
        """A card button pressed: 认领 / 用候选答案回复 / 转办 / 办结; a refusal comes back as an alert."""
        svc = self.service
        try:
            if op == "claim":
                return Reply("已认领，请直接回复卡片答复企业", svc.claim(staff, number))
            if op == "faq":
                ticket = svc.queue.get(number)
                if ticket is None or not ticket.candidates:
                    raise TicketError("该工单没有候选答案")
                return Reply("已用候选答案答复企业", svc.answer_faq(staff, number, ticket.candidates[0].id))
            if op == "transfer":
                return Reply(f"请发送：/transfer {number} 部门名称 [级别：{'/'.join(TIERS)}]", alert=True)
            if op == "close":
                return Reply("已办结", svc.close(staff, number))
            return Reply("这个按钮已失效")
        except TicketError as exc:
            return Reply(str(exc)[:200], alert=True)

    def record_overdue(self, late: list[Ticket], actor: str, now: dt.datetime) -> None:
        """督办 announced: in each ticket's history."""
        self.service.queue.log([t.id for t in late], actor, now, Change("督办", detail="已超期"))
