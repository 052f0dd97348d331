"""Staff on Telegram: who counts as staff, and their commands, card buttons and replies to cards.

Who is staff: anyone writing in the staff group (TELEGRAM_STAFF_CHAT_ID), and the configured user ids
(TELEGRAM_STAFF_USER_IDS, or STAFF_USER_IDS as `telegram:<id>` or a bare id) in any chat. `StaffGate` decides
that here, from the chat and the sender; the `StaffService` it hands the vetted person to then trusts Telegram
staff (`GateDirectory`). Everyone else gets a polite refusal and nothing changes. What a command does and
answers is the desk's (`StaffCommands`, one call off the loop per command); a changed ticket's card is updated.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.channels.telegram_group import StaffGroup
from bot.channels.telegram_sender import split_text
from bot.desk.staff import Staff, StaffDirectory
from bot.desk.staff_commands import Reply, StaffCommands

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
REFUSAL = "抱歉，只有登记的工作人员可以使用工单命令。如需咨询政策，请直接输入您的问题。"


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


async def reply_long(message: Message, text: str) -> None:
    for part in split_text(text):
        await message.reply_text(part)


class StaffDesk:
    """PTB handlers for staff commands, card buttons and replies to cards."""

    def __init__(self, commands: StaffCommands, gate: StaffGate, group: StaffGroup) -> None:
        self.commands = commands
        self.gate = gate
        self.group = group

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

    async def _shown(self, reply: Reply) -> Reply:
        """The reply, once the ticket it changed shows the change on its card."""
        if reply.changed is not None:
            await self.group.refresh_card(reply.changed)
        return reply

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
        private = message.chat.type == "private"
        reply = await asyncio.to_thread(self.commands.run, staff, name, rest.strip(), private)
        await reply_long(message, (await self._shown(reply)).text)

    async def card_button(self, update: Update, context: Context) -> None:
        """认领 / 用候选答案回复 / 转办 / 办结 pressed on a card."""
        query = update.callback_query
        if query is None or not query.data:
            return
        staff = await self._staff(update)
        if staff is None:
            return
        _, op, number = query.data.split(":", 2)
        reply = await self._shown(await asyncio.to_thread(self.commands.card_action, staff, op, number))
        await query.answer(reply.text, show_alert=reply.alert)

    async def card_reply(self, update: Update, context: Context) -> None:
        """A staff member replied to a card in the staff group: that text answers the ticket."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or not message.text:
            return
        cards = self.group.cards
        number = await asyncio.to_thread(cards.ticket_number, message.chat_id, message.reply_to_message.message_id)
        if number is None:
            return  # a reply to something other than a card: staff talking among themselves
        staff = await self._staff(update)
        if staff is None:
            return
        reply = await self._shown(await asyncio.to_thread(self.commands.answer, staff, number, message.text))
        await message.reply_text(reply.text)
