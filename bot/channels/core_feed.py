"""The dialog core's thread, fed in batches: one hand-off per batch of messages instead of one per message.

The core is synchronous and runs outside the event loop, so the loop never waits on the database. Handed one
message at a time (`run_in_executor`), the core worked on the next message while the loop sent the last reply:
both threads were runnable at once and traded the GIL at every SQLite call and socket write, which cost about a
fifth of the bot's CPU under load and held replies up to a switch interval (5 ms) at each trade. Messages
submitted in the same loop iteration (the updates of one polled batch) now go to the core as one job and come
back in one wake-up, so the loop sleeps while the core works and the core sleeps while the loop talks HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class CoreFeed(Generic[In, Out]):
    """Runs `fn` on `threads` threads; calls made in one loop iteration are handed over together."""

    def __init__(self, fn: Callable[[In], Out], threads: int = 1, name: str = "core") -> None:
        self.fn = fn
        self.threads = max(1, threads)
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix=name)
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []

    async def __call__(self, item: In) -> Out:
        """`fn(item)` in a core thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)  # after the other tasks ready in this iteration had their turn
        self._pending.append((item, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        pending, self._pending = self._pending, []
        jobs = min(self.threads, len(pending))  # several threads only where the database overlaps them
        for i in range(jobs):
            batch = pending[i::jobs]
            try:
                self.executor.submit(self._work, batch, loop)
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
