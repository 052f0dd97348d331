"""The Telegram update queue between the polling worker and the others, on every backend."""

from __future__ import annotations

import datetime as dt
import time

from bot.store import SqlStore
from bot.store.updates import Doorbell, UpdateQueue

AT = dt.datetime(2020, 3, 21, 8, 0, tzinfo=dt.UTC)


def body(update_id: int, chat_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "chat": {"id": chat_id, "type": "private"}}}


def test_put_take_done_failed(store: SqlStore) -> None:
    queue = UpdateQueue(store.engine)
    queue.put([(1, 10, body(1, 10)), (2, 11, body(2, 11)), (3, -1003, body(3, -1003)), (4, 10, body(4, 10))], AT)
    queue.put([(2, 11, {"changed": True})], AT)  # Telegram delivers it again: the first copy stays
    assert queue.pending() == 4
    evens = queue.take(0, 2)
    odds = queue.take(1, 2)
    assert [u for u, _b, _n in evens] == [1, 4]  # chat 10's updates, oldest first
    assert [u for u, _b, _n in odds] == [2, 3]  # chats 11 and -1003 (by the chat id's size)
    assert odds[0][1] == body(2, 11) and odds[0][2] == 0
    assert [u for u, _b, _n in queue.take(0, 1, limit=2)] == [1, 2]
    queue.failed([4])
    queue.done([1, 2])
    assert [(u, n) for u, _b, n in queue.take(0, 2)] == [(4, 1)]
    queue.done([3, 4])
    assert queue.pending() == 0 and queue.take(0, 1) == []


def test_doorbell_rings_on_put_and_times_out_otherwise(store: SqlStore) -> None:
    queue = UpdateQueue(store.engine)
    bell = Doorbell(store.engine)
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
