"""Process entry points for the concurrency tests and the benchmark: import only what a worker needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import TZ
from bot.desk.tickets import AlreadyClaimed, claim
from bot.models import Address
from bot.store import SqlStore, make_engine
from bot.store.base import NewTicket
from bot.store.queue import TicketQueue

AT = dt.datetime(2020, 3, 23, 10, tzinfo=TZ)


def claim_one(url: str, number: str, name: str, barrier: Any, results: Any) -> None:
    """One staff member's process: connect, wait for the others, then claim exactly as StaffService does."""
    engine = make_engine(url)
    queue = TicketQueue(SqlStore(engine))
    queue.get(number)  # the connection is open before the race starts
    barrier.wait()
    try:
        queue.apply(number, name, AT, lambda t: claim(t, name))
        results.put((name, "won"))
    except AlreadyClaimed:
        results.put((name, "lost"))
    finally:
        engine.dispose()


def create_many(url: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    """One bot worker's process: open `count` tickets for its own chats."""
    engine = make_engine(url)
    store = SqlStore(engine)
    barrier.wait()
    numbers = [
        store.open_ticket(NewTicket(Address("telegram", f"w{worker}-{i}"), f"w{worker}", "问题", AT, f"m{i}")).number
        for i in range(count)
    ]
    results.put(numbers)
    engine.dispose()
