"""CoreFeed: messages submitted together reach the core thread as one job; each caller gets its own result."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from bot.channels.core_feed import CoreFeed


def count_jobs(feed: CoreFeed[Any, Any]) -> list[int]:
    """The size of every job handed to the feed's threads."""
    sizes: list[int] = []
    submit = feed.executor.submit

    def counting(fn: Any, batch: list[Any], *args: Any) -> Any:
        sizes.append(len(batch))
        return submit(fn, batch, *args)

    feed.executor.submit = counting  # type: ignore[method-assign]
    return sizes


def test_calls_made_together_are_one_job_in_the_core_thread() -> None:
    threads: set[int] = set()

    def double(x: int) -> int:
        threads.add(threading.get_ident())
        return 2 * x

    feed = CoreFeed(double)
    jobs = count_jobs(feed)

    async def main() -> list[int]:
        return await asyncio.gather(*(feed(i) for i in range(10)))

    assert asyncio.run(main()) == [2 * i for i in range(10)]
    assert jobs == [10]
    assert threads and threading.get_ident() not in threads


def test_later_calls_make_a_new_job() -> None:
    feed = CoreFeed(lambda x: x + 1)
    jobs = count_jobs(feed)

    async def main() -> list[int]:
        first = await feed(1)
        return [first, *await asyncio.gather(feed(2), feed(3))]

    assert asyncio.run(main()) == [2, 3, 4]
    assert jobs == [1, 2]


def test_an_exception_reaches_only_its_caller() -> None:
    def fussy(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    feed = CoreFeed(fussy)

    async def main() -> list[Any]:
        return await asyncio.gather(*(feed(i) for i in range(5)), return_exceptions=True)

    results = asyncio.run(main())
    assert [r for i, r in enumerate(results) if i != 3] == [0, 1, 2, 4]
    assert isinstance(results[3], ValueError)


def test_several_threads_share_a_batch() -> None:
    feed = CoreFeed(lambda x: x, threads=3)
    jobs = count_jobs(feed)

    async def main() -> list[int]:
        return await asyncio.gather(*(feed(i) for i in range(7)))

    assert asyncio.run(main()) == list(range(7))
    assert sorted(jobs) == [2, 2, 3]


def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    release = threading.Event()

    def slow(x: int) -> int:
        release.wait(5)
        return x

    feed = CoreFeed(slow)

    async def main() -> int:
        first = asyncio.ensure_future(feed(1))
        second = asyncio.ensure_future(feed(2))
        await asyncio.sleep(0)
        first.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert asyncio.run(main()) == 2


def test_a_feed_whose_threads_are_gone_fails_its_callers() -> None:
    feed = CoreFeed(lambda x: x)
    feed.executor.shutdown()

    async def main() -> Any:
        return await asyncio.gather(feed(1), feed(2), return_exceptions=True)

    assert [type(r) for r in asyncio.run(main())] == [RuntimeError, RuntimeError]


def test_waiting_in_place_answers_a_lone_call_without_a_batch() -> None:
    def triple(x: int) -> int:
        return x * 3

    feed = CoreFeed(triple, wait_in_place=1.0)
    submitted: list[Any] = []
    submit = feed.executor.submit

    def spy(fn: Any, *args: Any) -> Any:
        submitted.append(fn)
        return submit(fn, *args)

    feed.executor.submit = spy  # type: ignore[method-assign]

    async def main() -> int:
        return await feed(5)

    assert asyncio.run(main()) == 15
    assert submitted == [triple], "the call itself, not a batch job"


def test_waiting_in_place_gives_up_on_a_slow_answer_and_awaits_it() -> None:
    release = threading.Event()
    ticks: list[int] = []

    def slow(x: int) -> int:
        release.wait(5)
        return x

    feed = CoreFeed(slow, wait_in_place=0.05)

    async def tick() -> None:
        ticks.append(1)
        release.set()  # the loop runs again only once the in-place wait gave up

    async def main() -> int:
        call = asyncio.ensure_future(feed(7))
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(tick()))
        return await call

    assert asyncio.run(main()) == 7
    assert ticks == [1]


def test_with_several_threads_nothing_waits_in_place() -> None:
    assert CoreFeed(lambda x: x, threads=2, wait_in_place=1.0).wait_in_place == 0.0
