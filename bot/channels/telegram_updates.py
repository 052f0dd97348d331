"""Updates run through python-telegram-bot's Application, each chat's in order, failures counted, not confirmed.

Processing is PTB's own: `Application.process_update` through the application's update processor, and a
failing handler reaches us through the public error handler. What is ours is only what at-least-once needs:
knowing which update failed, so the transport (telegram_transport.py, telegram_queue.py) does not confirm it
and Telegram or the queue delivers it again, and giving up on one that fails `MAX_ATTEMPTS` times, so one
poison message cannot block every later one.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # an update that fails this often is logged and skipped, so one poison message cannot block all
MAX_CONCURRENT = 1024  # updates in hand at once: far above a polled batch (100), so in practice unbounded


def chat_of(update: object) -> int:
    """The chat an update belongs to (0 for updates without one)."""
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat else 0


class ChatOrder(BaseUpdateProcessor):
    """PTB's extension point for concurrent updates: one chat's one after another, different chats together.

    Webhook calls arrive concurrently; a user's second message must not overtake the first (a district chosen,
    then a question). Each busy chat has a lock, dropped when nobody waits on it, so the table holds only those.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self.locks: dict[int, tuple[asyncio.Lock, int]] = {}  # chat → its lock and how many updates use it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_of(update)
        lock, users = self.locks.get(key) or (asyncio.Lock(), 0)
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self.locks[key]
            if users > 1:
                self.locks[key] = (lock, users - 1)
            else:
                del self.locks[key]

    async def initialize(self) -> None:
        """Nothing to set up: the locks come and go with the chats."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class UpdateRunner:
    """Runs updates through the Application (built with a `ChatOrder`) and tells which of them failed."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app = app
        self.failed: set[int] = set()
        self.attempts: collections.Counter[int] = collections.Counter()
        app.add_error_handler(self.error)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remember which update failed, so it is not acknowledged and Telegram delivers it again."""
        if isinstance(update, Update):
            self.failed.add(update.update_id)
            logger.error("telegram update %s failed", update.update_id, exc_info=context.error)
        else:
            logger.error("telegram job failed", exc_info=context.error)

    async def process(self, update: Update) -> bool:
        """Run one update through the handlers, in order within its chat; False when it failed."""
        app = self.app
        await app.update_processor.process_update(update, app.process_update(update))
        ok = update.update_id not in self.failed
        self.failed.discard(update.update_id)
        if ok:
            self.attempts.pop(update.update_id, None)
        return ok

    async def process_all(self, updates: Sequence[Update]) -> list[int]:
        """Process updates, each chat's in order and different chats concurrently; the ids that failed."""
        by_chat: dict[int, list[Update]] = collections.defaultdict(list)
        for u in updates:
            by_chat[chat_of(u)].append(u)

        async def in_order(items: list[Update]) -> list[int]:
            return [u.update_id for u in items if not await self.process(u)]

        return sorted(i for ids in await asyncio.gather(*(in_order(v) for v in by_chat.values())) for i in ids)

    async def process_batch(self, updates: Sequence[Update]) -> int | None:
        """Process a polled batch; the offset to confirm next (None: the whole batch is done)."""
        failed = await self.process_all(updates)
        for update_id in failed:
            self.attempts[update_id] += 1
            if self.attempts[update_id] < MAX_ATTEMPTS:
                return update_id
            logger.error("telegram update %s skipped after %s failed attempts", update_id, MAX_ATTEMPTS)
            self.attempts.pop(update_id)
        return None
