"""The one way channels run the synchronous dialog core off the event loop: a few threads, fed in batches.

The core runs outside the event loop, so the loop never waits on the database. Handed one message at a time
(`run_in_executor`), the core worked on the next message while the loop sent the last reply: both threads were
runnable at once and traded the GIL at every SQLite call and socket write, which cost about a fifth of the
bot's CPU under load and held replies up to a switch interval (5 ms) at each trade. Messages submitted in the
same loop iteration (the updates of one polled batch, pushes that arrived together) go to the core as one job
and come back in one wake-up, so the loop sleeps while the core works and the core sleeps while the loop talks.

`wait_in_place`: a loop that serves nothing else (WeChat alone) may sleep on a lone message's answer for that
long instead of awaiting it; the core then runs alone instead of trading the GIL with the loop, and no wake-up
goes through the loop (together ~0.3 ms of a ~1.5 ms message). A slower answer is awaited on the loop as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class CoreFeed(Generic[In, Out]):
    """Runs `fn` on `threads` threads; calls made in one loop iteration are handed over together."""

    def __init__(self, fn: Callable[[In], Out], threads: int = 1, name: str = "core", wait_in_place: float = 0.0):
        self.fn = fn
        self.threads = max(1, threads)
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix=name)
        self.wait_in_place = wait_in_place if self.threads == 1 else 0.0  # with more threads others may be queued
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._last: Future[Any] | None = None  # the job submitted last (one thread, FIFO: all before it are done)

    async def __call__(self, item: In) -> Out:
        """`fn(item)` in a core thread."""
        return await self.submit(item)

    def submit(self, item: In) -> asyncio.Future[Out]:
        """`fn(item)` handed to a core thread (in the running loop); the future of its result.

        Waiting in place, the future may come back already done: the caller can take its result at once.
        """
        loop = asyncio.get_running_loop()
        if self.wait_in_place and not self._pending and (self._last is None or self._last.done()):
            job = self._last = self.executor.submit(self.fn, item)
            if not wait([job], self.wait_in_place).done:  # slept on the idle core's answer: not ready yet
                return asyncio.wrap_future(job)
            done: asyncio.Future[Out] = loop.create_future()
            exc = job.exception()
            if exc is not None:
                done.set_exception(exc)
            else:
                done.set_result(job.result())
            return done
        future: asyncio.Future[Out] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)  # after the other tasks ready in this iteration had their turn
        self._pending.append((item, future))
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        pending, self._pending = self._pending, []
        jobs = min(self.threads, len(pending))  # several threads only where the database overlaps them
        for i in range(jobs):
            batch = pending[i::jobs]
            try:
                self._last = self.executor.submit(self._work, batch, loop)
            except RuntimeError as exc:  # the executor is shut down (interpreter exit): the callers fail, not hang
                _resolve([(future, None, exc) for _, future in batch])

    def _work(self, batch: list[tuple[In, asyncio.Future[Out]]], loop: asyncio.AbstractEventLoop) -> None:
        """In a core thread: every item of the batch, then one wake-up of the loop with all the results."""
        results: list[tuple[asyncio.Future[Out], Out | None, BaseException | None]] = []
        for item, future in batch:
            try:
                results.append((future, self.fn(item), None))
            except BaseException as exc:  # the awaiting handler raises it, as with run_in_executor
                results.append((future, None, exc))
        with contextlib.suppress(RuntimeError):  # the loop closed while the batch ran: nobody is waiting
            loop.call_soon_threadsafe(_resolve, results)


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, exc in results:
        if future.done():  # its handler was cancelled
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
