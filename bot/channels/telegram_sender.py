"""Render the core's replies for Telegram and send them: inline buttons, 4096-character parts, the outbox Sender.

Options become inline buttons whose callback data is the option's action. Telegram allows 64 bytes of callback
data; longer actions are sent as "#" plus a digest and mapped back through a table built from every action the
knowledge base can produce (the same in every worker and after a restart).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.answering.kb import KnowledgeBase
from bot.channels import parts
from bot.desk.delivery import DeliveryError
from bot.desk.tickets import SATISFACTION
from bot.models import DISTRICTS, Option, Outgoing

logger = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message's text
MAX_CALLBACK_BYTES = 64
ROW_KINDS = ("feedback", "human")  # small buttons that share the last row


def split_text(text: str) -> list[str]:
    """Parts of one Telegram message each."""
    return parts.split_text(text, MAX_TEXT)


class CallbackCodec:
    """Maps actions to callback data of at most 64 bytes and back."""

    def __init__(self, actions: Iterable[str] = ()) -> None:
        self._long = {self._digest(a): a for a in actions if len(a.encode()) > MAX_CALLBACK_BYTES}

    @classmethod
    def for_kb(cls, kb: KnowledgeBase) -> CallbackCodec:
        """Every action the core offers for this knowledge base."""
        actions = [f"topic:{c}" for c in kb.categories] + [f"district:{d}" for d in (*DISTRICTS, "其他")]
        for faq_id in kb.entries:
            actions += [f"pick:{faq_id}", f"feedback:up:{faq_id}", f"feedback:down:{faq_id}"]
        return cls(actions)

    @staticmethod
    def _digest(action: str) -> str:
        return "#" + hashlib.blake2b(action.encode(), digest_size=16).hexdigest()

    def encode(self, action: str) -> str:
        if len(action.encode()) <= MAX_CALLBACK_BYTES:
            return action
        digest = self._digest(action)
        self._long.setdefault(digest, action)
        return digest

    def decode(self, data: str) -> str | None:
        """The action behind callback data; None for a digest this bot does not know (a stale button)."""
        return self._long.get(data) if data.startswith("#") else data


def _rows(options: tuple[Option, ...], codec: CallbackCodec) -> list[list[tuple[str, str]]]:
    """(label, callback data) rows: one per long choice, districts two by two, feedback and 转人工 together last."""
    rows: list[list[tuple[str, str]]] = []
    small: list[tuple[str, str]] = []
    districts: list[tuple[str, str]] = []
    for o in options:
        button = (o.label[:64], codec.encode(o.action))
        if o.kind in ROW_KINDS or o.label in SATISFACTION:
            small.append(button)
        elif o.kind == "district":
            districts.append(button)
        else:
            rows.append([button])
    rows += [districts[i : i + 2] for i in range(0, len(districts), 2)]
    if small:
        rows.append(small)
    return rows


def keyboard(options: tuple[Option, ...], codec: CallbackCodec) -> InlineKeyboardMarkup | None:
    """The inline buttons as PTB objects."""
    if not options:
        return None
    rows = _rows(options, codec)
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows])


async def send_outgoing(bot: Bot, out: Outgoing, codec: CallbackCodec) -> None:
    """Send one reply, split if long; the buttons go with the last part (python-telegram-bot's public API)."""
    parts = split_text(out.text)
    markup = keyboard(out.options, codec)
    chat_id = int(out.address.chat_id)
    for i, part in enumerate(parts):
        await bot.send_message(chat_id, part, reply_markup=markup if i == len(parts) - 1 else None)


class TelegramSender:
    """The `Sender` for channel "telegram": staff answers from the outbox, with their rating buttons."""

    channel = "telegram"

    def __init__(self, bot: Bot, codec: CallbackCodec) -> None:
        self.bot = bot
        self.codec = codec

    async def send(self, out: Outgoing) -> None:
        try:
            await send_outgoing(self.bot, out, self.codec)
        except (Forbidden, BadRequest) as exc:  # blocked the bot, chat gone: waiting will not help
            logger.warning("telegram message to %s refused: %s", out.address.chat_id, exc)
            raise DeliveryError(f"Telegram 消息无法送达：{exc}", permanent=True) from exc
        except (RetryAfter, NetworkError, TelegramError) as exc:
            logger.info("telegram message to %s failed for now: %s", out.address.chat_id, exc)
            raise DeliveryError(f"Telegram 消息暂时无法发送：{exc}") from exc
        except RuntimeError as exc:  # the bot is shutting down
            raise DeliveryError("Telegram 通道正在关闭，稍后重试") from exc
        except ValueError as exc:  # a chat id that is not a number: not a Telegram chat
            raise DeliveryError(f"无效的 Telegram 会话：{out.address.chat_id}", permanent=True) from exc
