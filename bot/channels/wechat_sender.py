"""Delivers replies to WeChat followers outside their own exchange, through customer-service (客服) messages.

Each message spends one of the window's 5 slots, so replies to one user that are pending at the same time
(several staff answers, a slow answer split in parts) are merged into one message first. A reply that can no
longer be delivered raises `DeliveryError(permanent=True)`, so the ticket is flagged for a phone call-back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels import parts
from bot.channels.wechat_api import ApiError, WeChatApi
from bot.desk.delivery import DeliveryError
from bot.dialog.render import as_text
from bot.models import Outgoing
from bot.store.base import Refusal
from bot.store.interfaces import Windows

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 2048  # WeChat's limit for one text message (passive reply or customer-service message)
MERGE_SEPARATOR = "\n\n————————\n\n"
REFUSALS = {
    Refusal.CLOSED: "微信客服消息无法送达：用户48小时内未与公众号互动，请电话回访",
    Refusal.QUOTA: "微信客服消息无法送达：本次互动后可发送的5条消息已用完，请电话回访",
}


def split_text(text: str) -> list[str]:
    """Parts of one WeChat text message each."""
    return parts.split_text(text, MAX_TEXT_BYTES, parts.utf8_bytes)


@dataclass
class _Pending:
    texts: list[str] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class WeChatSender:
    """The `Sender` for channel "wechat": merges what is pending per user and respects the 48 h / 5 window."""

    channel = "wechat"

    def __init__(
        self,
        api: WeChatApi,
        windows: Windows,
        linger: float = 0.3,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.api = api
        self.windows = windows
        self.linger = linger
        self.clock = clock
        self._pending: dict[str, _Pending] = {}

    async def send(self, out: Outgoing) -> None:
        """Deliver one reply, merged with others for the same user that arrive within `linger` seconds."""
        openid = out.address.chat_id
        pending = self._pending.get(openid)
        if pending is None:
            pending = self._pending[openid] = _Pending()
            asyncio.get_running_loop().call_later(self.linger, self._flush, openid)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending.texts.append(as_text(out))
        pending.waiters.append(waiter)
        await waiter

    def _flush(self, openid: str) -> None:
        pending = self._pending.pop(openid)
        task = asyncio.get_running_loop().create_task(self.deliver(openid, MERGE_SEPARATOR.join(pending.texts)))

        def settle(done: asyncio.Task[None]) -> None:
            exc = done.exception() if not done.cancelled() else DeliveryError("delivery cancelled")
            if exc is not None and not isinstance(exc, DeliveryError):
                logger.error("wechat delivery to %s failed", openid, exc_info=exc)
                exc = DeliveryError(f"微信消息发送出错：{type(exc).__name__}")
            for waiter in pending.waiters:
                if waiter.done():
                    continue
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)

        task.add_done_callback(settle)

    async def deliver(self, openid: str, text: str) -> None:
        """Send text now as one or more customer-service messages, each taking a slot of the user's window."""
        for part in split_text(text):
            refusal = await asyncio.to_thread(self.windows.reserve, openid, self.clock())
            if refusal is not None:
                logger.warning("wechat reply to %s not sent: window %s", openid, refusal.value)
                raise DeliveryError(REFUSALS[refusal], permanent=True)
            try:
                await self.api.send_text(openid, part)
            except ApiError as exc:
                if not exc.permanent:
                    await asyncio.to_thread(self.windows.release, openid)
                logger.warning("wechat customer-service message to %s failed: %s", openid, exc)
                raise DeliveryError(f"微信客服消息发送失败：{exc}", permanent=exc.permanent) from exc
        logger.info("wechat customer-service message delivered to %s", openid)
