"""Handing a question to a person: the ticket it becomes, the 转人工 request, and the enterprise's rating.

The dialog core decides *when* a question goes to staff; this decides what the ticket holds (category,
department, due date, the conversation so far), what the enterprise is told about it, and how a rating of
the staff answer is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.answering.kb import KnowledgeBase
from bot.desk.tickets import ACTIVE, Change, NotDelivered, TicketError, TicketNotFound, TicketPolicy
from bot.desk.tickets import rate as rate_change
from bot.dialog.turn import Turn, say
from bot.dialog.words import handed_over
from bot.models import Candidate, Incoming, Outgoing, Ticket
from bot.store.base import NewTicket, UserState
from bot.store.interfaces import ConversationRecord

PUSH_CHANNELS = frozenset({"telegram"})  # channels whose running adapter always sends staff answers at once


class Handover:
    """Opens tickets for the core and records ratings; `push_channels` says which chats get answers pushed."""

    def __init__(
        self,
        kb: KnowledgeBase,
        store: ConversationRecord,
        policy: TicketPolicy,
        push_channels: frozenset[str] = PUSH_CHANNELS,
    ) -> None:
        self.kb = kb
        self.store = store
        self.policy = policy
        self.push_channels = push_channels

    def human(self, inc: Incoming, user: UserState, at: dt.datetime) -> Turn:
        question = user.state.get("last_question")
        if not question and (pending := self.pending_ticket(inc, user)) is not None:
            text = (
                f"您的问题已在工作人员处办理（工单号：{pending.number}，{pending.status.value}），不用再描述一遍。"
                + self.reply_route(inc)
            )
            return Turn("human_pending", [Outgoing(inc.address, text, ticket_number=pending.number)])
        if not question:
            user.state["awaiting_human"] = True
            return say(inc, "human_prompt", "好的，请用一句话描述您的问题，我会直接转给工作人员。")
        return self.open_ticket(inc, question, user, at, ())

    def pending_ticket(self, inc: Incoming, user: UserState) -> Ticket | None:
        """The ticket the user's last question became, while staff are still working on it."""
        number = user.state.get("last_ticket")
        if not number:
            return None
        mine = self.store.tickets_of(inc.address.channel, inc.user_id, limit=5)
        return next((t for t in mine if t.number == number and t.status in ACTIVE), None)

    def reply_route(self, inc: Incoming) -> str:
        """How the staff answer will reach this chat, said honestly: pushed, or shown at the next message."""
        if inc.address.channel in self.push_channels:
            return "答复将直接发送到本对话；回复“查询工单”可查看进度。"
        return "本对话不能主动推送答复：工作人员答复后，您再发送任意消息（如“查询工单”）即可看到答复。"

    def open_ticket(
        self, inc: Incoming, question: str, user: UserState, at: dt.datetime, candidates: tuple[Candidate, ...]
    ) -> Turn:
        ticket = self.ticket(inc, question, user, at, candidates)
        text = handed_over(ticket, "您的问题已转交工作人员处理", self.reply_route(inc))
        return Turn("escalate", [Outgoing(inc.address, text, ticket_number=ticket.number)], ticket=ticket,
                    candidates=candidates)  # fmt: skip

    def ticket(
        self,
        inc: Incoming,
        question: str,
        user: UserState,
        at: dt.datetime,
        candidates: tuple[Candidate, ...],
        message: str | None = None,
    ) -> Ticket:
        """Open a ticket; `message`, when the question is only part of it, is added to the context staff read."""
        context = self.store.recent_turns(inc.address)
        if message:
            context.append({"direction": "in", "text": message})
        top = self.kb.entries.get(candidates[0].id) if candidates else None
        tier, department = self.policy.classify(top, user.district)
        ticket = self.store.open_ticket(
            NewTicket(
                address=inc.address,
                user_id=inc.user_id,
                question=question,
                at=at,
                source_message_id=inc.message_id,
                district=user.district,
                enterprise=user.enterprise,
                contact=user.contact,
                candidates=candidates,
                category=top.category if top else None,
                department=department,
                context=tuple(context),
                tier=tier,
                due_at=self.policy.due(at, tier),
            )
        )
        user.state.update(misses=0, last_question=None, awaiting_human=False, last_ticket=ticket.number)
        return ticket

    def awaiting_rating(self, inc: Incoming) -> Ticket | None:
        """The user's newest answered ticket that has no rating yet."""
        for t in self.store.tickets_of(inc.address.channel, inc.user_id, limit=5):
            if t.answer and not t.satisfaction and t.status.value in ("已答复", "已办结"):
                return t
        return None

    def rate(self, inc: Incoming, number: str | None, level: str, at: dt.datetime, delivering: frozenset[str]) -> Turn:
        """Record the enterprise's rating of an answer it has seen; 不满意 reopens the ticket."""
        target = number or (t.number if (t := self.awaiting_rating(inc)) else "")

        def decide(t: Ticket) -> Change:
            return rate_change(t, level, self.policy, at, delivered=self.store.answer_delivered(t.id))

        try:
            ticket = self.store.change_ticket(target, f"{inc.address.channel}:{inc.user_id}", at, _own(inc, decide))
        except NotDelivered as exc:
            if target.strip().upper() not in delivering:
                return say(inc, "rating_refused", str(exc))
            text = f"请先阅读上面工单 {target} 的答复，再回复“满意”“基本满意”或“不满意”。"
            return say(inc, "rating_refused", text)
        except TicketError as exc:
            return say(inc, "rating_refused", str(exc))
        if level == "不满意":
            text = f"抱歉答复未能解决您的问题，工单 {ticket.number} 已重新打开，工作人员会再次与您联系。"
        else:
            text = f"感谢您的评价（{level}），工单 {ticket.number} 已办结。"
        return Turn("rating", [Outgoing(inc.address, text, ticket_number=ticket.number)], ticket=ticket)


def _own(inc: Incoming, decide: Callable[[Ticket], Change]) -> Callable[[Ticket], Change]:
    """Only the enterprise that asked may rate its ticket; anyone else is told it does not exist."""

    def checked(ticket: Ticket) -> Change:
        if (ticket.channel, ticket.user_id) != (inc.address.channel, inc.user_id):
            raise TicketNotFound(f"没有找到工单 {ticket.number}")
        return decide(ticket)

    return checked
