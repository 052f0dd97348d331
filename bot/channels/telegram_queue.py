"""Telegram long polling shared by several workers (BOT_WORKERS > 1) through the database queue.

Only one process may call getUpdates. Worker 0 polls, stores each batch (bot/store/updates.py) and confirms
it to Telegram only once stored; every worker, worker 0 included, answers the queued updates of its share of
the chats and deletes them once processed. Whichever process dies, an update is still at Telegram or still in
the queue: the supervisor restarts the worker, which answers what its share left (a re-processed update finds
its recorded replies in the store and opens no second ticket).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.store.interfaces import Updates

logger = logging.getLogger(__name__)

ProcessAll = Callable[[Sequence[Update]], Awaitable[list[int]]]
Row = tuple[int, dict[str, Any], int]  # update_id, body, failed attempts so far


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(update: Update) -> tuple[int, int, dict[str, Any]]:
    chat = update.effective_chat
    return update.update_id, chat.id if chat else 0, update.to_dict()


async def fetch_updates(
    bot: Bot, offset: int | None, timeout: int, allowed: list[str], delay: float
) -> tuple[Sequence[Update], float]:
    """One getUpdates call and the backoff to use next; a transient failure is waited out and gives no updates
    (a refused token or a blocked bot is not transient: it ends polling)."""
    try:
        updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=allowed)
    except (InvalidToken, Forbidden):
        raise
    except RetryAfter as exc:
        await asyncio.sleep(float(exc.retry_after if isinstance(exc.retry_after, int) else 5))
        return (), delay
    except NetworkError as exc:
        logger.warning("telegram getUpdates failed: %s; retrying in %.0f s", exc, delay)
        await asyncio.sleep(delay)
        return (), min(delay * 2, 60)
    return updates, 1.0


async def poll_into(bot: Bot, queue: Updates, timeout: int, allowed: list[str]) -> None:
    """Worker 0: fetch updates and store them; each batch is confirmed by the next call's offset after storing."""
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    fetch_delay = delay = 1.0  # backoffs of Telegram's failures and of the database's
    try:
        while True:
            updates, fetch_delay = await fetch_updates(bot, offset, timeout, allowed, fetch_delay)
            if not updates:
                continue
            storing = asyncio.ensure_future(asyncio.to_thread(queue.put, [_row(u) for u in updates], _now()))
            try:
                await asyncio.shield(storing)
            except asyncio.CancelledError:  # stopping: a batch stored in the meantime is still confirmed
                with contextlib.suppress(Exception):
                    await storing
                    offset = updates[-1].update_id + 1
                raise
            except Exception:  # the database is down: not confirmed, so Telegram keeps the batch
                logger.exception("telegram updates could not be queued; retrying in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            delay = 1.0
            offset = updates[-1].update_id + 1
    finally:
        if offset is not None:
            with contextlib.suppress(NetworkError, asyncio.CancelledError):
                await bot.get_updates(offset=offset, timeout=0, limit=1)  # confirm the stored updates


async def answer_share(
    bot: Bot,
    queue: Updates,
    process_all: ProcessAll,
    share: int,
    shares: int,
    max_attempts: int,
    idle: float = 1.0,
) -> None:
    """Every worker: answer the queued updates of chats in `share` of `shares`, oldest first, until cancelled.

    A batch in hand is finished and recorded before a cancellation takes effect.
    """
    bell = queue.doorbell()
    try:
        while True:
            try:
                rows = await asyncio.to_thread(queue.take, share, shares)
            except Exception:  # the database is unreachable: the updates wait in it (or at Telegram)
                logger.exception("telegram update queue unreadable; retrying in %.0f s", idle)
                await asyncio.sleep(idle)
                continue
            if not rows:
                await asyncio.to_thread(bell.wait, idle)
                continue
            work = asyncio.ensure_future(_answer(bot, queue, process_all, rows, max_attempts))
            try:
                pause = bool(await asyncio.shield(work))  # some updates failed: retried, not spun on
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await work
                raise
            except Exception:  # not recorded as done: answered again later, the store knows them
                logger.exception("telegram queued updates not marked done; retrying in %.0f s", idle)
                pause = True
            if pause:
                await asyncio.sleep(idle)
    finally:
        bell.close()


async def _answer(bot: Bot, queue: Updates, process_all: ProcessAll, rows: list[Row], max_attempts: int) -> list[int]:
    """Process one batch of queued updates; delete the done ones, count the failures; the ids still failing."""
    attempts = {update_id: n for update_id, _body, n in rows}
    updates = [Update.de_json(body, bot) for _id, body, _n in rows]
    failed = set(await process_all(updates))
    give_up = [i for i in failed if attempts[i] + 1 >= max_attempts]
    for update_id in give_up:
        logger.error("telegram update %s skipped after %s failed attempts", update_id, max_attempts)
    retry = sorted(failed - set(give_up))
    await asyncio.to_thread(queue.done, [i for i in attempts if i not in failed] + give_up)
    await asyncio.to_thread(queue.failed, retry)
    return retry
