"""Several serving processes on one machine: the supervisor that starts, restarts and stops them.

`run_bot.py` with BOT_WORKERS=N (N > 1, on PostgreSQL) becomes this supervisor: it starts N copies of
`run_bot.py worker K` (K = 0 … N-1) as child processes, restarts any that dies (after a pause that grows while a
worker keeps failing at once), and on SIGTERM or SIGINT asks each to stop with SIGTERM, waits for it to finish
what it has in hand, and kills only a worker that outlives `stop_timeout`. The children share the listening
ports (SO_REUSEPORT) and the database; worker 0 also does the one-per-bot jobs (Telegram polling, the staff
group's schedule). Children run in their own process group, so a terminal's Ctrl-C reaches them once, through
the supervisor; a child whose supervisor vanished stops itself (`orphan_watch`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from bot.config import ROOT

logger = logging.getLogger(__name__)

CONFIG_ERROR = 2  # a worker's exit code for a setting it cannot use: restarting would not help
FIRST_DELAY = 0.5  # seconds before restarting a worker that died
MAX_DELAY = 30.0
STABLE_AFTER = 30.0  # a worker that ran this long had a healthy start: its next restart is quick again
SQLITE_REFUSED = (
    "BOT_WORKERS={n} 需要 PostgreSQL（DATABASE_URL=postgresql://…）：内置的 SQLite 数据库只支持一个进程，"
    "本次仍以 1 个进程运行。"
)
SQLITE_WORKER = "配置错误: 工作进程需要 PostgreSQL（DATABASE_URL=postgresql://…）；使用 SQLite 时请直接运行 run_bot.py"


def worker_command(index: int) -> list[str]:
    """How the supervisor starts worker `index`: this interpreter running `run_bot.py worker INDEX`."""
    return [sys.executable, str(ROOT / "run_bot.py"), "worker", str(index)]


@dataclass
class Slot:
    """One worker: its process, when it started and how long to wait before its next restart."""

    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = FIRST_DELAY
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Keeps `count` workers running until asked to stop; `command(k)` is worker k's argv."""

    count: int
    command: Callable[[int], Sequence[str]] = worker_command
    stop_timeout: float = 30.0
    tick: float = 0.2
    slots: list[Slot] = field(default_factory=list, init=False)
    stopping: bool = field(default=False, init=False)  # set by SIGTERM/SIGINT

    def run(self) -> int:
        """Start the workers and supervise them; the exit code (0 after a requested stop)."""
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.slots = [Slot(k) for k in range(self.count)]
            for slot in self.slots:
                self._start(slot)
            code = self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _request_stop(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("supervisor: %s received, stopping %s workers", signal.Signals(signum).name, self.count)
        self.stopping = True

    def _start(self, slot: Slot) -> None:
        slot.proc = subprocess.Popen(self.command(slot.index), process_group=0)
        slot.started = time.monotonic()
        slot.restart_at = None
        logger.info("supervisor: worker %s started (pid %s)", slot.index, slot.proc.pid)

    def _watch(self) -> int:
        while not self.stopping:
            now = time.monotonic()
            for slot in self.slots:
                if slot.restart_at is not None:
                    if now >= slot.restart_at:
                        self._start(slot)
                    continue
                code = slot.proc.poll() if slot.proc is not None else None
                if code is None:
                    continue
                if code == CONFIG_ERROR:
                    logger.error("supervisor: worker %s refused its configuration; stopping", slot.index)
                    return CONFIG_ERROR
                slot.delay = FIRST_DELAY if now - slot.started >= STABLE_AFTER else min(slot.delay * 2, MAX_DELAY)
                slot.restart_at = now + slot.delay
                logger.warning(
                    "supervisor: worker %s (pid %s) exited with %s; restarting in %.1f s",
                    slot.index,
                    slot.proc.pid if slot.proc else "?",
                    code,
                    slot.delay,
                )
            time.sleep(self.tick)
        return 0

    def _stop_all(self) -> None:
        """SIGTERM to every running worker, then wait; SIGKILL for any still running after `stop_timeout`."""
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc in running:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.error("supervisor: worker pid %s still runs; killing it", proc.pid)
                proc.kill()
                proc.wait()


async def orphan_watch(parent: int, every: float = 1.0) -> None:
    """In a worker: stop this process (through its own SIGTERM path) once its supervisor `parent` is gone."""
    while os.getppid() == parent:
        await asyncio.sleep(every)
    logger.warning("worker: supervisor %s is gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
