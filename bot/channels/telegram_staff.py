"""The staff side on Telegram: ticket cards in the staff group, answers by reply, staff commands, scheduled jobs.

Who is staff: anyone writing in the staff group (TELEGRAM_STAFF_CHAT_ID), and the configured user ids
(TELEGRAM_STAFF_USER_IDS, or STAFF_USER_IDS as `telegram:<id>` or a bare id) in any chat. `StaffGate` decides
that here, from the chat and the sender; the `StaffService` it hands the vetted person to then trusts Telegram
staff (`GateDirectory`). Everyone else gets a polite refusal and nothing changes.

The staff service is synchronous (one database transaction per call), so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.answering.kb import KnowledgeBase
from bot.channels.telegram_sender import split_text
from bot.config import TZ
from bot.desk.digest import format_digest
from bot.desk.privacy import masked
from bot.desk.staff import Staff, StaffDirectory, StaffService
from bot.desk.ticket_text import detail_text, ticket_line
from bot.desk.tickets import TIERS, Change, TicketError, format_due
from bot.models import Ticket, TicketStatus
from bot.store.base import Card
from bot.store.interfaces import Cards

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
REFUSAL = "抱歉，只有登记的工作人员可以使用工单命令。如需咨询政策，请直接输入您的问题。"
CLAIMABLE = frozenset({TicketStatus.OPEN, TicketStatus.TRANSFERRED, TicketStatus.REOPENED})
OVERDUE_ACTOR = "telegram:督办"
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


class GateDirectory(StaffDirectory):
    """Trusts the Telegram users `StaffGate` has vetted; no one from any other channel."""

    def allows(self, staff: Staff) -> bool:
        return staff.channel == "telegram"


@dataclass(frozen=True)
class StaffGate:
    """Staff on Telegram: members of the staff group there, configured user ids everywhere."""

    chat_id: int | None
    user_ids: frozenset[str]

    def allows(self, chat_id: int, user_id: int) -> bool:
        if self.chat_id is not None and chat_id == self.chat_id:
            return True
        return str(user_id) in self.user_ids or f"telegram:{user_id}" in self.user_ids


def card_text(t: Ticket, kb: KnowledgeBase | None, now: dt.datetime) -> str:
    """The card staff see: number, status, district, enterprise, question (masked), candidates, due time."""
    t = masked(t)
    question = t.question if len(t.question) <= 1500 else t.question[:1500] + "…"
    lines = [
        f"📋 工单 {t.number}｜{t.status.value}",
        f"区县：{t.district or '未选'}｜企业：{t.enterprise or '—'}｜渠道：{t.channel}",
        f"级别：{t.tier}｜承办：{t.department or '未分配'}｜承办人：{t.assignee or '未认领'}",
        f"办理时限：{format_due(t.due_at) if t.due_at else '—'}"
        + ("（已超期）" if t.due_at and t.due_at < now and t.status in CLAIMABLE | {TicketStatus.IN_PROGRESS} else ""),
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


def closed_text(t: Ticket) -> str:
    """What staff read after /close: 已办结, or 已作废 with the reason (无效, 重复 and the ticket kept)."""
    if t.status is TicketStatus.DISMISSED:
        return f"工单 {t.number} 已作废（不计入答复和办结）。"
    return f"工单 {t.number} 已办结。"


def card_keyboard(t: Ticket, kb: KnowledgeBase | None) -> InlineKeyboardMarkup | None:
    """认领 / 用候选答案回复 / 转办 / 办结, as far as they make sense in the ticket's status."""
    if t.status in (TicketStatus.CLOSED, TicketStatus.DISMISSED):
        return None
    row = [InlineKeyboardButton("认领", callback_data=f"staff:claim:{t.number}")]
    if t.candidates and kb is not None and t.candidates[0].id in kb.entries:
        row.append(InlineKeyboardButton("用候选答案回复", callback_data=f"staff:faq:{t.number}"))
    row += [
        InlineKeyboardButton("转办", callback_data=f"staff:transfer:{t.number}"),
        InlineKeyboardButton("办结", callback_data=f"staff:close:{t.number}"),
    ]
    return InlineKeyboardMarkup([row[:2], row[2:]])


async def reply_long(message: Message, text: str) -> None:
    for part in split_text(text):
        await message.reply_text(part)


class StaffDesk:
    """Handlers for staff commands, card buttons and replies to cards, and the jobs that post to the group."""

    def __init__(
        self,
        bot: Any,
        service: StaffService,
        cards: Cards,
        gate: StaffGate,
        kb: KnowledgeBase | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(TZ),
        report: Callable[[dt.datetime], Any] | None = None,
    ) -> None:
        self.bot = bot
        self.service = service
        self.cards = cards
        self.gate = gate
        self.kb = kb
        self.clock = clock
        self.report = report  # async: now → ReportDocument (bot.reports.document.build_weekly_report_document)

    # ---- who acts -----------------------------------------------------------------------------------------

    async def _staff(self, update: Update) -> Staff | None:
        """The sender as staff, or None after telling them politely that they are not."""
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or user is None:
            return None
        if self.gate.allows(chat.id, user.id):
            return Staff("telegram", str(user.id))
        logger.warning("telegram user %s refused a staff command", user.id)
        if update.callback_query is not None:
            await update.callback_query.answer(REFUSAL, show_alert=True)
        elif message is not None:
            await message.reply_text(REFUSAL)
        return None

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # ---- commands -----------------------------------------------------------------------------------------

    async def command(self, update: Update, context: Context) -> None:
        """Every staff command: check the sender, run the operation, reply with the result or the refusal."""
        message = update.effective_message
        if message is None or not message.text:
            return
        staff = await self._staff(update)
        if staff is None:
            return
        name, _, rest = message.text.partition(" ")
        name = name.lstrip("/").split("@")[0].lower()
        try:
            text = await self._command(staff, name, rest.strip(), private=message.chat.type == "private")
        except TicketError as exc:
            text = str(exc)
        await reply_long(message, text)

    async def _command(self, staff: Staff, name: str, rest: str, private: bool) -> str:
        """The command's answer; personal data is shown whole only in the handler's private chat."""
        number, _, arg = rest.partition(" ") if rest else ("", "", "")
        arg = arg.strip()
        needs_number = name not in ("queue", "digest")
        if needs_number and not number:
            usage = dict(STAFF_COMMANDS).get(name, "")
            return f"请写明工单号。用法：{usage}"
        if name == "queue":
            tickets = await self._run(self.service.list_queue, staff)
            now = self.clock()
            return "\n".join([f"在办工单 {len(tickets)} 件：", *(ticket_line(t, now) for t in tickets)])
        if name == "digest":
            return format_digest(await self._run(self.service.digest, staff))
        if name == "ticket":
            return detail_text(await self._run(self.service.show, staff, number, private), self.clock())
        if name == "answer":
            if not arg:
                return "请写上答复内容。用法：/answer 工单号 答复内容"
            t = await self._answer(staff, number, arg)
            return f"已答复工单 {t.number}，答复已发送给企业。"
        if name == "claim":
            t = await self._change(self.service.claim, staff, number)
            return f"已认领工单 {t.number}。"
        if name == "transfer":
            department, _, tier = arg.partition(" ")
            if tier.strip() and tier.strip() not in TIERS:
                return f"级别只能是：{'、'.join(TIERS)}"
            t = await self._change(self.service.transfer, staff, number, department, tier.strip() or None)
            return f"工单 {t.number} 已转办至{t.department}。"
        if name == "note":
            t = await self._change(self.service.note, staff, number, arg)
            return f"已为工单 {t.number} 添加备注。"
        if name == "close":
            t = await self._change(self.service.close, staff, number, arg or None)
            return closed_text(t)
        if name == "reopen":
            t = await self._change(self.service.reopen, staff, number, arg or None)
            return f"工单 {t.number} 已重新打开。"
        return "没有这个命令。"

    async def _change(self, fn: Callable[..., Ticket], *args: Any) -> Ticket:
        """Run one workflow step (`fn(*args)`, in a thread) and show its result on the ticket's card."""
        ticket: Ticket = await self._run(fn, *args)
        await self.refresh_card(ticket)
        return ticket

    async def _answer(self, staff: Staff, number: str, text: str) -> Ticket:
        """Answer; the service claims the ticket first when nobody holds it (a reply to a card is enough)."""
        return await self._change(self.service.answer, staff, number, text)

    # ---- the card: buttons and replies --------------------------------------------------------------------

    async def card_button(self, update: Update, context: Context) -> None:
        """认领 / 用候选答案回复 / 转办 / 办结 pressed on a card."""
        query = update.callback_query
        if query is None or not query.data:
            return
        staff = await self._staff(update)
        if staff is None:
            return
        _, op, number = query.data.split(":", 2)
        try:
            if op == "claim":
                await self._change(self.service.claim, staff, number)
                note = "已认领，请直接回复卡片答复企业"
            elif op == "faq":
                ticket = await self._run(self.service.queue.get, number)
                if ticket is None or not ticket.candidates:
                    raise TicketError("该工单没有候选答案")
                await self._change(self.service.answer_faq, staff, number, ticket.candidates[0].id)
                note = "已用候选答案答复企业"
            elif op == "transfer":
                note = f"请发送：/transfer {number} 部门名称 [级别：{'/'.join(TIERS)}]"
            elif op == "close":
                await self._change(self.service.close, staff, number)
                note = "已办结"
            else:
                note = "这个按钮已失效"
        except TicketError as exc:
            await query.answer(str(exc)[:200], show_alert=True)
            return
        await query.answer(note, show_alert=op == "transfer")

    async def card_reply(self, update: Update, context: Context) -> None:
        """A staff member replied to a card in the staff group: that text answers the ticket."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or not message.text:
            return
        number = await self._run(self.cards.ticket_number, message.chat_id, message.reply_to_message.message_id)
        if number is None:
            return  # a reply to something other than a card: staff talking among themselves
        staff = await self._staff(update)
        if staff is None:
            return
        try:
            t = await self._answer(staff, number, message.text)
        except TicketError as exc:
            await message.reply_text(str(exc))
            return
        await message.reply_text(f"已答复工单 {t.number}，答复已发送给企业。")

    async def refresh_card(self, ticket: Ticket) -> None:
        """Show the ticket's new status on its card; a card that cannot be edited is left as it is."""
        card = await self._run(self.cards.card_of, ticket.id)
        if card is None:
            return
        try:
            await self.bot.edit_message_text(
                card_text(ticket, self.kb, self.clock()),
                chat_id=card.chat_id,
                message_id=card.message_id,
                reply_markup=card_keyboard(ticket, self.kb),
            )
        except BadRequest as exc:  # "message is not modified", or the card was deleted
            logger.info("card of %s not edited: %s", ticket.number, exc)

    # ---- jobs ---------------------------------------------------------------------------------------------

    async def post_cards(self, context: Context | None = None) -> int:
        """Post a card for every active ticket that has none yet; how many were posted."""
        chat_id = self.gate.chat_id
        if chat_id is None:
            return 0
        posted = 0
        for ticket in await self._run(self.cards.claim_unposted, chat_id, self.clock()):
            try:
                msg = await self.bot.send_message(
                    chat_id, card_text(ticket, self.kb, self.clock()), reply_markup=card_keyboard(ticket, self.kb)
                )
            except TelegramError as exc:
                logger.warning("card for %s not posted: %s", ticket.number, exc)
                await self._run(self.cards.release, ticket.id)
                continue
            await self._run(self.cards.posted, ticket.id, Card(chat_id, msg.message_id))
            logger.info("card posted for ticket %s", ticket.number)
            posted += 1
        return posted

    async def announce_overdue(self, context: Context | None = None) -> int:
        """督办: announce tickets that went past their due time since the last round, once per due time."""
        chat_id = self.gate.chat_id
        if chat_id is None:
            return 0
        now = self.clock()
        late = await self._run(self.cards.overdue_unannounced, now)
        if not late:
            return 0
        lines = [f"⚠️ 督办：以下 {len(late)} 件工单已超过办理时限，请尽快办理："]
        lines += [ticket_line(t, now) for t in late]
        for part in split_text("\n".join(lines)):
            await self.bot.send_message(chat_id, part)
        change = Change("督办", detail="已超期")
        await self._run(self.service.queue.log, [t.id for t in late], OVERDUE_ACTOR, now, change)
        await self._run(self.cards.announced_overdue, chat_id, late, now)
        return len(late)

    async def weekly_report(self, context: Context | None = None) -> None:
        """Monday 09:00: last week's FAQ gap report to the staff group, a short summary and the document."""
        chat_id = self.gate.chat_id
        if chat_id is None or self.report is None:
            return
        document = await self.report(self.clock())
        await self.bot.send_message(chat_id, split_text(document.summary)[0])
        await self.bot.send_document(
            chat_id, document.data, filename=document.filename, caption=f"咨询周报 {document.week.label}"
        )
        logger.info("weekly report %s sent to the staff group", document.week.label)
