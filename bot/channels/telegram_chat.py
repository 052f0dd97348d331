"""Enterprise users on Telegram: their messages and button presses to the dialog core, its replies back.

Only translation: a message or a press becomes an `Incoming`, the core (through the shared `CoreFeed`, off
the loop) decides everything, and its replies are sent with their options as inline buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Message, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.channels.core_feed import CoreFeed
from bot.channels.telegram_sender import CallbackCodec, send_outgoing
from bot.models import Address, Incoming, Outgoing

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
USER_COMMANDS = (
    ("start", "开始咨询，选择区县"),
    ("topics", "按类别浏览常见问题"),
    ("district", "切换企业所在区县"),
    ("status", "查询我的工单"),
    ("help", "使用说明"),
)
NONTEXT_KINDS = (
    ("photo", "image"),
    ("sticker", "sticker"),
    ("voice", "voice"),
    ("audio", "voice"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "video"),
    ("document", "file"),
    ("contact", "file"),
    ("location", "location"),
    ("venue", "location"),
)
ONE_SHOT_ACTIONS = ("feedback:", "satisfaction:")  # their buttons are removed once pressed


def kind_of(message: Message) -> str | None:
    """The core's kind for a non-text message; None for service messages (members joining, pins …)."""
    for attr, kind in NONTEXT_KINDS:
        if getattr(message, attr, None):
            return kind
    return None


class EnterpriseChat:
    """Enterprise users' messages and button presses through the dialog core, replies back as messages."""

    def __init__(self, core: CoreFeed[Incoming, list[Outgoing]], codec: CallbackCodec) -> None:
        self.core = core
        self.codec = codec

    async def text(self, update: Update, context: Context) -> None:
        """A text message (commands such as /start included: the core knows them)."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self._exchange(context, self._incoming(message, text=message.text))

    async def nontext(self, update: Update, context: Context) -> None:
        """Photos, stickers, voice, files, locations: the core answers them politely."""
        message = update.effective_message
        kind = kind_of(message) if message is not None else None
        if message is None or kind is None:
            return
        await self._exchange(context, self._incoming(message, kind=kind, text=message.caption or ""))

    async def button(self, update: Update, context: Context) -> None:
        """An inline button: its action goes to the core like a typed choice."""
        query = update.callback_query
        if query is None or query.message is None or query.from_user is None:
            return
        answering = asyncio.ensure_future(query.answer())  # stops the button's spinner, alongside the core's work
        action = self.codec.decode(query.data or "") or "stale"
        incoming = Incoming(
            address=Address("telegram", str(query.message.chat.id)),
            user_id=str(query.from_user.id),
            action=action,
            message_id=f"cb:{query.id}",
            user_name=query.from_user.full_name,
        )
        try:
            await self._exchange(context, incoming)
        finally:
            try:
                await answering
            except TelegramError as exc:  # the reply matters, the spinner times out by itself
                logger.warning("telegram callback %s not answered: %s", query.id, exc)
        if action.startswith(ONE_SHOT_ACTIONS) and isinstance(query.message, Message):
            with contextlib.suppress(NetworkError):
                await query.message.edit_reply_markup(None)

    def _incoming(self, message: Message, **kw: Any) -> Incoming:
        user = message.from_user
        return Incoming(
            address=Address("telegram", str(message.chat_id)),
            user_id=str(user.id if user else message.chat_id),
            message_id=f"{message.chat_id}:{message.message_id}",
            user_name=user.full_name if user else None,
            **kw,
        )

    async def _exchange(self, context: Context, incoming: Incoming) -> None:
        for out in await self.core(incoming):
            await send_outgoing(context.bot, out, self.codec)
