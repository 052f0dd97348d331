"""Staff operations on tickets, the same for every front end (CLI, Telegram, WeChat).

Methods are synchronous and each is one short database transaction; async adapters call them through
`asyncio.to_thread` so the event loop never waits on the database. Every method first checks that the caller
is configured staff (`NotStaff` otherwise), and every change is written with its history event.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable

from bot.answering.answer_text import format_answer
from bot.answering.kb import KnowledgeBase
from bot.clock import TZ
from bot.desk import tickets as rules
from bot.desk.digest import Digest, build_digest, day_bounds
from bot.desk.people import Staff, StaffDirectory
from bot.desk.policy import TicketPolicy
from bot.desk.privacy import has_personal_data, masked, masked_turns
from bot.desk.ticket_text import TicketDetail
from bot.desk.tickets import ACTIVE, Change, NotStaff, TicketError
from bot.models import Address, Ticket, TicketStatus
from bot.store.base import Filter, NewTicket
from bot.store.interfaces import TicketDesk

logger = logging.getLogger(__name__)
_LEADING_NUMBER = re.compile(r"([A-Za-z]*\d{8}-\d+)[\s：:，,。；;]*")  # "FG20200321-0007，同一企业"


def parse_statuses(raw: Iterable[str]) -> frozenset[TicketStatus]:
    """Chinese status names → statuses; TicketError naming the valid ones for anything else."""
    out = set()
    for name in raw:
        try:
            out.add(TicketStatus(name.strip()))
        except ValueError:
            raise TicketError(f"没有“{name}”这个状态（可选：{'、'.join(s.value for s in TicketStatus)}）") from None
    return frozenset(out)


class StaffService:
    """List, show, claim, answer, transfer, close, reopen, rate, note, remind, supervise, record hotline calls."""

    def __init__(
        self,
        queue: TicketDesk,
        policy: TicketPolicy | None = None,
        directory: StaffDirectory | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(TZ),
        kb: KnowledgeBase | None = None,
        today: Callable[[], dt.date] | None = None,
        remind_window: dt.timedelta = dt.timedelta(hours=4),
    ) -> None:
        self.queue = queue
        self.policy = policy or TicketPolicy()
        self.directory = directory or StaffDirectory()
        self.clock = clock
        self.kb = kb
        self.today = today or (lambda: self.clock().astimezone(TZ).date())
        self.remind_window = remind_window

    def check(self, staff: Staff) -> None:
        """Raise NotStaff unless `staff` is configured."""
        if not self.directory.allows(staff):
            logger.warning("refused staff operation for %s", staff.id)
            raise NotStaff("您不是已登记的工作人员，无法处理工单")

    def check_reader(self, staff: Staff) -> None:
        """Reading the (masked) queue needs no name on the CLI: whoever runs it already holds the database."""
        if staff.channel == "cli" and not staff.user_id.strip():
            return
        self.check(staff)

    def _apply(self, staff: Staff, number: str, decide: Callable[[Ticket], Change]) -> Ticket:
        self.check(staff)
        return self.queue.apply(number, staff.id, self.clock(), decide)

    # ---- reading -----------------------------------------------------------------------------------------

    def list_queue(
        self,
        staff: Staff,
        statuses: frozenset[TicketStatus] | None = ACTIVE,
        district: str | None = None,
        department: str | None = None,
        overdue: bool = False,
        limit: int = 200,
    ) -> list[Ticket]:
        """The queue, earliest due first; by default every ticket still being worked on."""
        self.check_reader(staff)
        f = Filter(statuses, district, department, self.clock() if overdue else None, limit=limit)
        return [masked(t) for t in self.queue.find(f)]

    def show(self, staff: Staff, number: str, reveal: bool = True) -> TicketDetail:
        """The ticket with its history and conversation; personal data whole only for its handler (recorded).

        `reveal=False` masks it for the handler too: the view is read where others see it (a staff group).
        """
        self.check_reader(staff)
        ticket = self.queue.get(number)
        if ticket is None:
            raise rules.TicketNotFound(f"没有找到工单 {number}")
        context = self.queue.context(ticket.id)
        if not reveal or ticket.assignee != staff.id:
            return TicketDetail(masked(ticket), self.queue.events(ticket.id), masked_turns(context))
        if has_personal_data(ticket, context):
            self.queue.log([ticket.id], staff.id, self.clock(), Change("reveal", detail="承办人查看完整联系方式"))
        return TicketDetail(ticket, self.queue.events(ticket.id), context)

    # ---- the workflow ------------------------------------------------------------------------------------

    def claim(self, staff: Staff, number: str) -> Ticket:
        """Take the ticket; of several staff racing for it exactly one wins, the others get AlreadyClaimed.

        The common case is one conditional statement; when it matches nothing, the locked rule explains why.
        """
        self.check(staff)
        at = self.clock()
        won = self.queue.apply_if(number, staff.id, at, rules.TRANSITIONS["claim"][0], rules.claimed(staff.id))
        return won or self.queue.apply(number, staff.id, at, lambda t: rules.claim(t, staff.id))

    def claim_if_free(self, staff: Staff, number: str) -> None:
        """Claim the ticket when nobody holds it (answering implies claiming, on every desk); else leave it."""
        self.check(staff)
        self.queue.apply_if(number, staff.id, self.clock(), rules.TRANSITIONS["claim"][0], rules.claimed(staff.id))

    def answer(self, staff: Staff, number: str, text: str, faq_candidate: bool = False) -> Ticket:
        """Answer, claiming first when nobody holds it; queued to the enterprise's chat with a rating request."""
        if not text.strip():
            raise TicketError("答复内容不能为空")
        self.claim_if_free(staff, number)
        at = self.clock()
        ticket = self._apply(staff, number, lambda t: rules.answer(t, staff.id, text, at))
        if faq_candidate:
            ticket = self.mark_faq(staff, number)
        return ticket

    def answer_faq(self, staff: Staff, number: str, faq_id: str) -> Ticket:
        """Answer with a knowledge-base entry, in the ticket's district wording."""
        if self.kb is None or faq_id not in self.kb.entries:
            raise TicketError(f"知识库中没有条目 {faq_id}")
        entry = self.kb.entries[faq_id]
        self.claim_if_free(staff, number)
        at = self.clock()

        def decide(t: Ticket) -> Change:
            return rules.answer(t, staff.id, format_answer(entry, t.district, self.today()), at, faq_id)

        return self._apply(staff, number, decide)

    def transfer(self, staff: Staff, number: str, department: str, tier: str | None = None) -> Ticket:
        return self._apply(staff, number, lambda t: rules.transfer(t, department, tier))

    def close(self, staff: Staff, number: str, reason: str | None = None, duplicate_of: str | None = None) -> Ticket:
        """办结 an answered ticket; a reason starting with 无效 or 重复 (or `duplicate_of`) voids an unanswered one.

        "重复 FG…" names the ticket kept; the duplicate points to it in its history and the kept one records
        the merge, so whoever works the kept ticket sees every enterprise that asked.
        """
        kind = rules.dismissal(reason) or (("重复", (reason or "").strip()) if duplicate_of else None)
        if kind is None:
            return self._apply(staff, number, lambda t: rules.close(t, reason))
        dismiss_kind, note = kind
        named = _LEADING_NUMBER.match(note) if dismiss_kind == "重复" and not duplicate_of else None
        if named:
            duplicate_of, note = named.group(1), note[named.end() :]
        kept = None
        if duplicate_of:
            kept = self.queue.get(duplicate_of.strip(" ：:，,"))
            if kept is None:
                raise rules.TicketNotFound(f"没有找到要保留的工单 {duplicate_of}")
        at = self.clock()
        ticket = self._apply(staff, number, lambda t: rules.dismiss(t, dismiss_kind, at, note, kept))
        if kept is not None:
            self.queue.log([kept.id], staff.id, at, rules.merged(ticket))
        return ticket

    def reopen(self, staff: Staff, number: str, reason: str | None = None) -> Ticket:
        at = self.clock()
        return self._apply(staff, number, lambda t: rules.reopen(t, self.policy, at, reason))

    def rate(self, staff: Staff, number: str, level: str) -> Ticket:
        """Record the satisfaction a caller gave on the phone: hotline tickets, or a call-back after a failed push.

        Chat tickets are rated by the enterprise itself once the answer reached its chat.
        """
        at = self.clock()

        def decide(t: Ticket) -> Change:
            if t.channel != "hotline" and not t.callback_needed:
                raise TicketError(
                    f"工单 {t.number} 来自在线对话，由企业在对话中评价；工作人员只登记来电工单和电话回访的评价"
                )
            return rules.rate(t, level.strip(), self.policy, at, delivered=True)

        return self._apply(staff, number, decide)

    def note(self, staff: Staff, number: str, text: str) -> Ticket:
        return self._apply(staff, number, lambda t: rules.note(t, text))

    def mark_faq(self, staff: Staff, number: str, question: str | None = None) -> Ticket:
        """Propose the question and its answer as a new FAQ entry (listed in the weekly report)."""
        at = self.clock()
        return self._apply(staff, number, lambda t: rules.faq_candidate(t, staff.id, at, question))

    def remind(self, staff: Staff) -> list[Ticket]:
        """催办: active tickets due within the reminder window, not yet overdue; each gets a 催办 event."""
        self.check(staff)
        now = self.clock()
        due_soon = [t for t in self.queue.find(Filter(due_before=now + self.remind_window)) if not self._late(t, now)]
        self.queue.log([t.id for t in due_soon], staff.id, now, Change("催办", detail="即将到期"))
        return [masked(t) for t in due_soon]

    def supervise(self, staff: Staff) -> list[Ticket]:
        """督办: overdue tickets for the supervisor, oldest due first; each gets a 督办 event."""
        self.check(staff)
        now = self.clock()
        overdue = self.queue.find(Filter(overdue_at=now))
        self.queue.log([t.id for t in overdue], staff.id, now, Change("督办", detail="已超期"))
        return [masked(t) for t in overdue]

    def _late(self, ticket: Ticket, now: dt.datetime) -> bool:
        return rules.is_overdue(ticket, now)

    def hotline(
        self,
        staff: Staff,
        question: str,
        caller: str | None = None,
        contact: str | None = None,
        district: str | None = None,
        enterprise: str | None = None,
        tier: str | None = None,
        department: str | None = None,
    ) -> Ticket:
        """Record a hotline call as a new ticket: the staff member types what the caller asked."""
        self.check(staff)
        question = question.strip()
        if not question:
            raise TicketError("请填写来电人咨询的问题")
        if tier is not None and tier not in rules.TIERS:
            raise TicketError(f"级别只能是：{'、'.join(rules.TIERS)}")
        default_tier, default_department = self.policy.classify(None, district)
        at = self.clock()
        tier = tier or default_tier
        who = contact or caller or "来电"
        ticket = self.queue.open_ticket(
            NewTicket(
                address=Address("hotline", who),
                user_id=who,
                question=question,
                at=at,
                district=district,
                enterprise=enterprise,
                contact=contact,
                department=department or default_department,
                tier=tier,
                due_at=self.policy.due(at, tier),
            )
        )
        detail = "，".join(x for x in (caller, contact, enterprise) if x) or None
        self.queue.log([ticket.id], staff.id, at, Change("登记来电", detail=detail))
        return ticket

    # ---- reports -----------------------------------------------------------------------------------------

    def digest(self, staff: Staff, day: dt.date | None = None) -> Digest:
        """The daily digest (today by default)."""
        self.check_reader(staff)
        return build_digest(self.queue, day or self.clock().astimezone(TZ).date(), self.clock())

    def export(self, staff: Staff, start: dt.date | None = None, end: dt.date | None = None) -> list[Ticket]:
        """Every ticket created from `start` to `end` (inclusive, Asia/Shanghai days), for the CSV export."""
        self.check(staff)
        f = Filter(
            statuses=None,
            created_from=day_bounds(start)[0] if start else None,
            created_to=day_bounds(end)[1] if end else None,
            limit=1_000_000,
        )
        return sorted((masked(t) for t in self.queue.find(f)), key=lambda t: t.id)
