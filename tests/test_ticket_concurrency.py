"""Several processes on one database: exactly one claim wins, and parallel tickets get distinct numbers.

The workers (tests/ticket_workers.py) claim through `TicketQueue.apply` with the same rule StaffService uses.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from typing import Any

import pytest

from bot.config import TZ
from bot.models import Address
from bot.store import SqlStore
from bot.store.base import NewTicket
from bot.store.queue import TicketQueue
from tests.conftest import table_count
from tests.ticket_workers import claim_one, create_many

AT = dt.datetime(2020, 3, 23, 10, tzinfo=TZ)
CTX = mp.get_context("spawn")


def _run(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    barrier, results = CTX.Barrier(len(args)), CTX.Queue()
    procs = [CTX.Process(target=target, args=(*a, barrier, results)) for a in args]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


@pytest.mark.slow
def test_of_eight_staff_racing_for_one_ticket_exactly_one_wins(store: SqlStore, db_url: str) -> None:
    ticket = store.open_ticket(NewTicket(Address("wechat", "c1"), "u1", "复工备案找谁", AT, "msg-1"))
    outcomes = dict(_run(claim_one, [(db_url, ticket.number, f"staff{i}") for i in range(8)]))
    winners = [name for name, result in outcomes.items() if result == "won"]
    assert len(winners) == 1 and len(outcomes) == 8
    assert TicketQueue(store).get(ticket.number).assignee == winners[0]  # type: ignore[union-attr]
    assert [e.action for e in TicketQueue(store).events(ticket.id)] == ["创建", "认领"]


@pytest.mark.slow
def test_four_workers_creating_in_parallel_get_distinct_consecutive_numbers(store: SqlStore, db_url: str) -> None:
    batches = _run(create_many, [(db_url, w, 25) for w in range(4)])
    numbers = [n for batch in batches for n in batch]
    assert len(set(numbers)) == 100
    assert sorted(numbers) == [f"FG20200323-{i:04d}" for i in range(1, 101)], "none lost, none skipped"
    assert table_count(db_url, "tickets") == 100
