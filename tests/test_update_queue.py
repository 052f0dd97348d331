"""The Telegram update queue between the polling worker and the others, on every backend."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from telegram import Bot, Update

from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_queue import answer_share, poll_into
from bot.store import SqlStore
from bot.store.updates import UpdateQueue
from tests.telegram_harness import TOKEN, FakeBotApi, Users
from tests.wechat_harness import LoopThread

AT = dt.datetime(2020, 3, 21, 8, 0, tzinfo=dt.UTC)


def body(update_id: int, chat_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "chat": {"id": chat_id, "type": "private"}}}


def test_doorbell_rings_on_put_and_times_out_otherwise(store: SqlStore) -> None:
    queue = UpdateQueue(store.engine)
    bell = queue.doorbell()
    try:
        start = time.monotonic()
        assert bell.wait(0.2) is False
        assert time.monotonic() - start >= 0.19
        if queue.pg:  # PostgreSQL wakes the workers; SQLite serves one process, which looks again after `idle`
            bell.wait(0)  # listening from now on
            queue.put([(7, 1, body(7, 1))], AT)
            assert bell.wait(5) is True
    finally:
        bell.close()


# ---- the polling worker and the answering workers around the queue ------------------------------------------


class FlakyQueue(UpdateQueue):
    """The queue on a database that refuses the first `failures` writes."""

    def __init__(self, engine: Any, failures: int) -> None:
        super().__init__(engine)
        self.failures = failures
        self.confirmed_at_failure: list[int] = []
        self.fake: FakeBotApi | None = None

    def put(self, updates: Sequence[tuple[int, int, dict[str, Any]]], at: dt.datetime) -> None:
        if self.failures:
            self.failures -= 1
            assert self.fake is not None
            self.confirmed_at_failure.append(self.fake.confirmed)
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))
        super().put(updates, at)


@pytest.fixture
def bot_api() -> Iterator[tuple[FakeBotApi, LoopThread, str]]:
    loop = LoopThread()
    fake = FakeBotApi()
    url = loop.serve(fake.app())
    yield fake, loop, url
    loop.close()


def make_bot(url: str) -> Bot:
    return Bot(TOKEN, base_url=f"{url}/bot", request=AiohttpRequest(2), get_updates_request=AiohttpRequest(1))


def test_poller_confirms_a_batch_only_once_it_is_stored(
    store: SqlStore, bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    fake, loop, url = bot_api
    queue = FlakyQueue(store.engine, failures=1)
    queue.fake = fake
    users = Users()
    ids = [fake.push(users.message(100 + i, "社保能缓缴吗"), loop.loop) for i in range(3)]

    async def poll_for_a_while() -> None:
        bot = make_bot(url)
        await bot.initialize()
        task = asyncio.ensure_future(poll_into(bot, queue, 1, ["message"]))
        while queue.pending() < 3:
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bot.shutdown()

    loop.run(poll_for_a_while(), timeout=30)
    assert queue.confirmed_at_failure == [0], "nothing was confirmed while the database refused the batch"
    assert [u for u, _b, _n in queue.take(0, 1)] == ids
    assert fake.confirmed == ids[-1], "stored, then confirmed (on stopping at the latest)"


def test_answering_worker_deletes_done_updates_and_gives_up_on_a_poison_one(
    store: SqlStore, bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    _fake, loop, url = bot_api
    queue = UpdateQueue(store.engine)
    users = Users()
    rows = []
    for i, chat in enumerate((200, 201, 202)):
        update = {**users.message(chat, "社保能缓缴吗"), "update_id": 500 + i}
        rows.append((500 + i, chat, update))
    queue.put(rows, AT)
    seen: list[int] = []

    async def process_all(updates: Sequence[Update]) -> list[int]:
        seen.extend(u.update_id for u in updates)
        return [u.update_id for u in updates if u.update_id == 501]  # this one always fails

    async def answer_until_empty() -> None:
        bot = make_bot(url)
        task = asyncio.ensure_future(answer_share(bot, queue, process_all, 0, 1, max_attempts=3, idle=0.05))
        while queue.pending():
            await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    loop.run(answer_until_empty(), timeout=30)
    assert seen.count(500) == 1 and seen.count(502) == 1
    assert seen.count(501) == 3, "retried until the attempts ran out, then dropped"
