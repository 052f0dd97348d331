"""`run_bot.py` (serve) and `run_bot.py worker K`: the channels in one process, or BOT_WORKERS processes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot.app import App, ChannelTask
from bot.cli import Subcommands

logger = logging.getLogger(__name__)


async def serve_channels(tasks: Sequence[ChannelTask]) -> None:
    """Run every channel in one event loop until one of them stops or fails, or SIGINT/SIGTERM arrives.

    A signal cancels every channel task; each finishes what it has in hand in its cleanup before the exit.
    """
    import contextlib
    import signal

    running = asyncio.gather(*(task() for task in tasks))
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread / not Unix
            asyncio.get_running_loop().add_signal_handler(sig, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await running


def cmd_run(app: App, _args: argparse.Namespace) -> int:
    """Serve the configured channels (BOT_WORKERS processes on PostgreSQL); the console when none is configured."""
    settings = app.settings
    channels = bool(settings.wechat_token or settings.telegram_token)
    if channels and settings.workers > 1:
        if settings.database_url.startswith("sqlite"):
            from bot.workers import SQLITE_REFUSED

            print(SQLITE_REFUSED.format(n=settings.workers), file=sys.stderr)
        else:
            return supervise(app)
    return serve(app)


def cmd_worker(app: App, args: argparse.Namespace) -> int:
    """One of BOT_WORKERS serving processes, as the supervisor starts it."""
    settings = app.settings
    if not 0 <= args.index < settings.workers:
        print(f"配置错误: 工作进程编号 {args.index} 超出 BOT_WORKERS={settings.workers} 的范围", file=sys.stderr)
        return 2
    if settings.database_url.startswith("sqlite"):
        from bot.workers import SQLITE_WORKER

        print(SQLITE_WORKER, file=sys.stderr)
        return 2
    return serve(app, worker=args.index, workers=settings.workers, parent=os.getppid())


def supervise(app: App) -> int:
    """Bring the schema up to date once, then start and watch BOT_WORKERS workers (bot/workers.py)."""
    from bot.store import make_engine, migrate
    from bot.workers import Supervisor

    engine = make_engine(app.settings.database_url)
    try:
        migrate(engine)
    except Exception as exc:  # the workers would fail the same way, over and over
        print(f"数据库无法使用（{type(exc).__name__}），请检查 DATABASE_URL: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return Supervisor(app.settings.workers).run()


def serve(app: App, worker: int = 0, workers: int = 1, parent: int | None = None) -> int:
    """Serve the configured channels together in this process; chat in the console when none is configured."""
    from bot.channels import console
    from bot.config import ConfigError

    if warning := app.calendar_warning():
        logger.warning("注意：%s", warning)
    assistant = app.assistant
    try:
        serving = app.serving(worker, workers)
    except ConfigError as exc:
        print(f"配置错误: {exc}", file=sys.stderr)
        return 2
    if not serving.tasks:
        console.run(assistant)
        return 0
    if parent is not None:
        from bot.workers import orphan_watch

        serving.tasks.append(lambda: orphan_watch(parent))
    assistant.push_channels = frozenset(serving.senders)  # WeChat without its customer-service API shows answers later
    assistant.matcher.warm()  # before the first user of any channel, not on it
    asyncio.run(serve_channels(serving.tasks))
    return 0


def register(sub: Subcommands) -> None:
    """Add `worker` to the main parser's subparsers (serving itself is the default command)."""
    worker = sub.add_parser("worker", help="one of BOT_WORKERS serving processes (started by the supervisor)")
    worker.add_argument("index", type=int, help="0 … BOT_WORKERS-1; worker 0 also polls Telegram")
    worker.set_defaults(func=cmd_worker)
