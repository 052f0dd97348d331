"""Deliver queued messages (staff answers) through each channel's `Sender`, retrying with backoff.

A message that fails for good — a permanent `DeliveryError`, or `MAX_ATTEMPTS` temporary ones — is given up
and its ticket flagged for a phone call-back. The database work runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from bot.clock import TZ
from bot.desk.delivery import DeliveryError, Sender
from bot.store.base import OutboxItem
from bot.store.interfaces import Outbox

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


class OutboxPump:
    """Moves due messages from the outbox to the senders, one channel each."""

    def __init__(
        self,
        queue: Outbox,
        senders: Mapping[str, Sender],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(TZ),
    ) -> None:
        self.queue = queue
        self.senders = dict(senders)
        self.clock = clock

    async def deliver_once(self, limit: int = 20) -> int:
        """Try every due message once; returns how many were delivered."""
        delivered = 0
        for channel, sender in self.senders.items():
            items = await asyncio.to_thread(self.queue.claim_outbox, channel, self.clock(), limit)
            for item in items:
                delivered += await self._deliver(sender, item)
        return delivered

    async def _deliver(self, sender: Sender, item: OutboxItem) -> int:
        try:
            await sender.send(item.out)
        except DeliveryError as exc:
            now = self.clock()
            if exc.permanent or item.attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(self.queue.give_up, item, now, str(exc))
            else:
                logger.info("outbox %s: attempt %s failed, retrying later", item.id, item.attempts)
                await asyncio.to_thread(self.queue.retry_later, item.id, now + backoff(item.attempts), str(exc))
            return 0
        await asyncio.to_thread(self.queue.delivered, item.id, self.clock())
        return 1

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Deliver until `stop` is set; a database hiccup is logged and retried on the next round."""
        while not stop.is_set():
            try:
                await self.deliver_once()
            except Exception:
                logger.exception("outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
