"""The staff group on Telegram: ticket cards posted and kept current, 督办 notices, the Monday report.

Texts and rules come from the desk (bot/desk/staff_commands.py); here they are sent, edited and recorded
against the group's messages (`Cards`, bot/store/cards.py). The store is synchronous: each call runs in a thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.channels.telegram_sender import split_text
from bot.desk.staff_commands import StaffCommands, card_actions, card_text, overdue_text
from bot.models import Ticket
from bot.store.base import Card
from bot.store.interfaces import Cards

if TYPE_CHECKING:
    from bot.reports.document import ReportDocument

logger = logging.getLogger(__name__)

OVERDUE_ACTOR = "telegram:督办"
Report = Callable[[dt.datetime], Awaitable["ReportDocument"]]  # now → the week's report, rendered


def card_keyboard(t: Ticket, commands: StaffCommands) -> InlineKeyboardMarkup | None:
    """The card's buttons, two to a row; their data names the operation and the ticket."""
    row = [InlineKeyboardButton(label, callback_data=f"staff:{op}:{t.number}") for label, op in
           card_actions(t, commands.kb)]  # fmt: skip
    return InlineKeyboardMarkup([row[:2], row[2:]]) if row else None


class StaffGroup:
    """What the bot posts to the staff group (TELEGRAM_STAFF_CHAT_ID), on the JobQueue's schedule or on change."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int | None,
        cards: Cards,
        commands: StaffCommands,
        report: Report | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.cards = cards
        self.commands = commands
        self.clock = commands.clock
        self.report = report

    def _card(self, ticket: Ticket) -> dict[str, Any]:
        text = card_text(ticket, self.commands.kb, self.clock())
        return {"text": text, "reply_markup": card_keyboard(ticket, self.commands)}

    async def refresh_card(self, ticket: Ticket) -> None:
        """Show the ticket's new status on its card; a card that cannot be edited is left as it is."""
        card = await asyncio.to_thread(self.cards.card_of, ticket.id)
        if card is None:
            return
        try:
            await self.bot.edit_message_text(chat_id=card.chat_id, message_id=card.message_id, **self._card(ticket))
        except BadRequest as exc:  # "message is not modified", or the card was deleted
            logger.info("card of %s not edited: %s", ticket.number, exc)

    async def post_cards(self, context: object = None) -> int:
        """Post a card for every active ticket that has none yet; how many were posted."""
        chat_id = self.chat_id
        if chat_id is None:
            return 0
        posted = 0
        for ticket in await asyncio.to_thread(self.cards.claim_unposted, chat_id, self.clock()):
            try:
                msg = await self.bot.send_message(chat_id, **self._card(ticket))
            except TelegramError as exc:
                logger.warning("card for %s not posted: %s", ticket.number, exc)
                await asyncio.to_thread(self.cards.release, ticket.id)
                continue
            await asyncio.to_thread(self.cards.posted, ticket.id, Card(chat_id, msg.message_id))
            logger.info("card posted for ticket %s", ticket.number)
            posted += 1
        return posted

    async def announce_overdue(self, context: object = None) -> int:
        """督办: announce tickets that went past their due time since the last round, once per due time."""
        chat_id = self.chat_id
        if chat_id is None:
            return 0
        now = self.clock()
        late = await asyncio.to_thread(self.cards.overdue_unannounced, now)
        if not late:
            return 0
        for part in split_text(overdue_text(late, now)):
            await self.bot.send_message(chat_id, part)
        await asyncio.to_thread(self.commands.record_overdue, late, OVERDUE_ACTOR, now)
        await asyncio.to_thread(self.cards.announced_overdue, chat_id, late, now)
        return len(late)

    async def weekly_report(self, context: object = None) -> None:
        """Monday 09:00: last week's FAQ gap report to the staff group, a short summary and the document."""
        chat_id = self.chat_id
        if chat_id is None or self.report is None:
            return
        document = await self.report(self.clock())
        await self.bot.send_message(chat_id, split_text(document.summary)[0])
        await self.bot.send_document(
            chat_id, document.data, filename=document.filename, caption=f"咨询周报 {document.week.label}"
        )
        logger.info("weekly report %s sent to the staff group", document.week.label)
