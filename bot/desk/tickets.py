"""Ticket rules: status transitions and the change each action makes (limits and working time: policy.py).

Pure functions only — no database, no channel. The store applies a `Change` atomically to a row it has locked,
so every rule here sees the ticket exactly as it is at that moment.

Errors (all `TicketError`, a `ValueError` whose message is the Chinese sentence staff or users read):
    TicketError
     ├── TicketNotFound      no ticket with that number (or not the user's own)
     ├── TransitionError     the action is not allowed in the ticket's current status
     │    └── NotDelivered  a rating of an answer that has not reached the enterprise yet
     ├── AlreadyClaimed      someone else holds the ticket
     └── NotStaff            the caller is not configured as staff

The clock (bot/desk/policy.py) pauses while the ticket waits for the enterprise: answering sets `paused_at`;
reopening moves `due_at` later by the working time spent waiting. 已答复 and 已办结 tickets are never overdue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.clock import TZ
from bot.desk.policy import TIERS, TicketPolicy
from bot.models import Address, Option, Outgoing, Ticket, TicketStatus

logger = logging.getLogger(__name__)

S = TicketStatus
ACTIVE: frozenset[TicketStatus] = frozenset({S.OPEN, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED})
SATISFACTION: tuple[str, ...] = ("满意", "基本满意", "不满意")
DISMISS_KINDS: tuple[str, ...] = ("无效", "重复")  # why staff close a ticket nobody answered

# action → (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: Mapping[str, tuple[frozenset[TicketStatus], TicketStatus | None]] = {
    "claim": (frozenset({S.OPEN, S.TRANSFERRED, S.REOPENED}), S.IN_PROGRESS),
    "answer": (frozenset({S.IN_PROGRESS}), S.ANSWERED),
    "transfer": (frozenset({S.OPEN, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED}), S.TRANSFERRED),
    "close": (frozenset({S.ANSWERED}), S.CLOSED),
    "dismiss": (ACTIVE, S.DISMISSED),
    "reopen": (frozenset({S.ANSWERED, S.CLOSED, S.DISMISSED}), S.REOPENED),
    "satisfied": (frozenset({S.ANSWERED, S.CLOSED}), S.CLOSED),
    "unsatisfied": (frozenset({S.ANSWERED, S.CLOSED}), S.REOPENED),
    "note": (frozenset(S), None),
    "faq_candidate": (frozenset({S.ANSWERED, S.CLOSED}), None),
}
ACTION_NAMES = {
    "claim": "认领",
    "answer": "答复",
    "transfer": "转办",
    "close": "办结",
    "dismiss": "作废",
    "merge": "合并",
    "reopen": "重办",
    "satisfied": "评价满意",
    "unsatisfied": "评价不满意",
    "note": "备注",
    "faq_candidate": "标记FAQ候选",
    "reveal": "查看个人信息",
}


class TicketError(ValueError):
    """A ticket action that cannot be done; the message is the Chinese sentence to show."""


class TicketNotFound(TicketError):
    pass


class TransitionError(TicketError):
    pass


class AlreadyClaimed(TicketError):
    pass


class NotStaff(TicketError):
    pass


class NotDelivered(TransitionError):
    pass


@dataclass(frozen=True)
class Change:
    """What one action does to a locked ticket row: new column values, one history event, messages to send."""

    action: str
    values: Mapping[str, object] = field(default_factory=dict)
    detail: str | None = None
    outgoing: tuple[Outgoing, ...] = ()
    faq_candidate: Mapping[str, object] | None = None


def check(ticket: Ticket, action: str) -> TicketStatus:
    """The status `action` leads to from the ticket's status; TransitionError when it is not allowed there."""
    sources, target = TRANSITIONS[action]
    if ticket.status not in sources:
        allowed = "、".join(s.value for s in TicketStatus if s in sources)
        raise TransitionError(
            f"工单 {ticket.number} 当前状态为“{ticket.status.value}”，不能{ACTION_NAMES[action]}（仅限：{allowed}）"
        )
    return target or ticket.status


def is_overdue(ticket: Ticket, now: dt.datetime) -> bool:
    return ticket.status in ACTIVE and ticket.due_at is not None and ticket.due_at < now


def format_due(at: dt.datetime) -> str:
    return at.astimezone(TZ).strftime("%m月%d日 %H:%M")


# ---- changes, one per action -----------------------------------------------------------------------------


def claim(ticket: Ticket, staff: str) -> Change:
    if ticket.status is S.IN_PROGRESS:
        who = "您" if ticket.assignee == staff else ticket.assignee
        raise AlreadyClaimed(f"工单 {ticket.number} 已由{who}认领处理")
    check(ticket, "claim")
    return claimed(staff)


def claimed(staff: str) -> Change:
    """What a claim writes; it depends only on the status being one of TRANSITIONS["claim"]'s sources."""
    return Change("claim", {"status": S.IN_PROGRESS.value, "assignee": staff})


def rating_options(number: str) -> tuple[Option, ...]:
    return tuple(Option(level, f"satisfaction:{number}:{level}", "feedback") for level in SATISFACTION)


def answer(ticket: Ticket, staff: str, text: str, at: dt.datetime, faq_id: str | None = None) -> Change:
    """Answer the enterprise: recorded, queued to its chat (not for phone tickets), clock paused for the rating."""
    text = text.strip()
    if not text:
        raise TicketError("答复内容不能为空")
    check(ticket, "answer")
    if ticket.assignee != staff:
        raise AlreadyClaimed(f"工单 {ticket.number} 由{ticket.assignee}处理，请先认领")
    outgoing: tuple[Outgoing, ...] = ()
    if ticket.channel != "hotline":
        message = (
            f"您的工单 {ticket.number} 已答复：\n{text}\n\n"
            "请对本次答复进行评价：回复“满意”“基本满意”或“不满意”（不满意将重新办理）。"
        )
        outgoing = (
            Outgoing(Address(ticket.channel, ticket.chat_id), message, rating_options(ticket.number), ticket.number),
        )
    values = {"status": S.ANSWERED.value, "answer": text, "paused_at": at, "satisfaction": None}
    return Change("answer", values, text if faq_id is None else f"[FAQ {faq_id}] {text}", outgoing)


def transfer(ticket: Ticket, department: str, tier: str | None = None) -> Change:
    department = department.strip()
    if not department:
        raise TicketError("请填写转办的部门")
    if tier is not None and tier not in TIERS:
        raise TicketError(f"级别只能是：{'、'.join(TIERS)}")
    check(ticket, "transfer")
    values: dict[str, object] = {"status": S.TRANSFERRED.value, "department": department, "assignee": None}
    if tier:
        values["tier"] = tier
    return Change("transfer", values, f"转至{department}" + (f"（{tier}）" if tier else ""))


def close(ticket: Ticket, reason: str | None = None) -> Change:
    """办结 an answered ticket; one still being worked on can only be closed as 无效 or 重复 (see `dismiss`)."""
    if ticket.status in ACTIVE:
        raise TransitionError(
            f"工单 {ticket.number} 当前状态为“{ticket.status.value}”，尚未答复，不能办结。"
            "如为无效或重复工单，请注明原因“无效”，或“重复 保留的工单号”"
        )
    check(ticket, "close")
    return Change("close", {"status": S.CLOSED.value}, reason)


def dismissal(reason: str | None) -> tuple[str, str] | None:
    """(kind, rest) when a close reason starts with 无效 or 重复: "重复 FG…，同一企业" → ("重复", "FG…，同一企业")."""
    text = (reason or "").strip()
    for kind in DISMISS_KINDS:
        if text.startswith(kind):
            return kind, text[len(kind) :].strip(" ：:，,。；;")
    return None


def dismiss(ticket: Ticket, kind: str, at: dt.datetime, note: str = "", kept: Ticket | None = None) -> Change:
    """Close an unanswered ticket as 无效 or 重复 (pointing to the ticket kept); the clock stops, nothing is sent."""
    if kind not in DISMISS_KINDS:
        raise TicketError(f"作废原因只能是：{'、'.join(DISMISS_KINDS)}")
    if kind == "重复":
        if kept is None:
            raise TicketError("重复工单请写明保留的工单号，例如：重复 FG20200321-0007")
        if kept.number == ticket.number:
            raise TicketError(f"工单 {ticket.number} 不能与自身重复")
        if kept.status is S.DISMISSED:
            raise TicketError(f"工单 {kept.number} 已作废，请并入仍在办理或已答复的工单")
    check(ticket, "dismiss")
    detail = kind + (f"，并入 {kept.number}" if kept is not None else "") + (f"：{note}" if note else "")
    return Change("dismiss", {"status": S.DISMISSED.value, "paused_at": at}, detail)


def merged(duplicate: Ticket) -> Change:
    """The history line on the kept ticket that a duplicate now points to it."""
    return Change("merge", detail=f"重复工单 {duplicate.number} 已并入本工单")


def reopen(ticket: Ticket, policy: TicketPolicy, at: dt.datetime, reason: str | None = None) -> Change:
    check(ticket, "reopen")
    values = {"status": S.REOPENED.value, "due_at": policy.resumed_due(ticket, at), "paused_at": None}
    return Change("reopen", values, reason)


def rate(ticket: Ticket, level: str, policy: TicketPolicy, at: dt.datetime, delivered: bool) -> Change:
    """The enterprise's rating: 满意/基本满意 closes the ticket, 不满意 reopens it with the clock running again.

    Only an answer that reached the enterprise (`delivered`) can be rated: a rating of an unseen answer says
    nothing about it.
    """
    if level not in SATISFACTION:
        raise TicketError(f"评价只能是：{'、'.join(SATISFACTION)}")
    if ticket.satisfaction:
        raise TransitionError(f"工单 {ticket.number} 已评价为“{ticket.satisfaction}”，感谢您的反馈")
    check(ticket, "unsatisfied" if level == "不满意" else "satisfied")
    if not delivered:
        raise NotDelivered(f"工单 {ticket.number} 的答复还没有送达，暂不能评价；看到答复后再回复评价即可。")
    if level == "不满意":
        values = {
            "status": S.REOPENED.value,
            "satisfaction": level,
            "due_at": policy.resumed_due(ticket, at),
            "paused_at": None,
        }
        return Change("unsatisfied", values, level)
    return Change("satisfied", {"status": S.CLOSED.value, "satisfaction": level}, level)


def note(ticket: Ticket, text: str) -> Change:
    if not text.strip():
        raise TicketError("备注内容不能为空")
    return Change("note", {}, text.strip())


def faq_candidate(ticket: Ticket, staff: str, at: dt.datetime, question: str | None = None) -> Change:
    """Propose the ticket's question and answer as a new FAQ entry for the weekly report."""
    check(ticket, "faq_candidate")
    if not ticket.answer:
        raise TicketError(f"工单 {ticket.number} 还没有答复，不能作为FAQ候选")
    row = {
        "question": (question or ticket.question).strip(),
        "answer": ticket.answer,
        "proposed_by": staff,
        "at": at,
        "category": ticket.category,
        "department": ticket.department,
    }
    return Change("faq_candidate", {}, None, faq_candidate=row)
