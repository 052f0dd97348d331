"""Throughput and reply latency of the Telegram channel for one worker, through a fake Bot API server.

    python bench/bench_telegram.py [--messages 2000] [--users 16] [--database-url URL]

The fake Bot API server (tests/telegram_harness.py) runs in a child process and plays the users: each of
`--users` chats sends its next question as soon as the bot's reply arrives (closed loop), and a reply's
latency is the time from queuing the update to receiving the bot's sendMessage. The bot is the real channel
(long polling, the real dialog core on a fresh SQLite file unless --database-url is given) in this process;
`Assistant.handle` and the matcher are timed inside it, so matching and storage are told apart from the
library and HTTP. The baseline, in the same run: the bot's own round trip to the fake server's `echo` method
through the same python-telegram-bot and httpx stack. Questions are FAQ alternates (not the tests' questions).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ROOT
from bot.kb import load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantiles(values: list[float]) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def serve_fake(port: int, ready: Any) -> None:
    """The child process: the fake Bot API server, plus /load that plays the users and returns latencies."""
    from aiohttp import web

    from tests.telegram_harness import Call, FakeBotApi, Users

    fake = FakeBotApi()
    users = Users()
    waiting: dict[int, tuple[float, asyncio.Future[float]]] = {}

    def on_call(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id in waiting:
            sent_at, future = waiting.pop(call.chat_id)
            if not future.done():
                future.set_result(time.perf_counter() - sent_at)

    fake.listeners.append(on_call)

    async def load(request: web.Request) -> web.Response:
        spec = await request.json()
        questions: list[str] = spec["questions"]
        loop = asyncio.get_running_loop()
        latencies: list[float] = []

        async def user(uid: int, count: int) -> None:
            rng = random.Random(uid)
            for _ in range(count):
                future: asyncio.Future[float] = loop.create_future()
                waiting[uid] = (time.perf_counter(), future)
                fake.push(users.message(uid, rng.choice(questions)), loop)
                latencies.append(await asyncio.wait_for(future, 30))

        per_user = spec["messages"] // spec["users"]
        start = time.perf_counter()
        await asyncio.gather(*(user(10_000 + i, per_user) for i in range(spec["users"])))
        return web.json_response({"elapsed": time.perf_counter() - start, "latencies": latencies})

    async def main() -> None:
        app = fake.app()
        app.router.add_post("/load", load)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def timed(fn: Callable[..., Any], sink: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            sink.append(time.perf_counter() - start)

    return wrapper


async def run(args: argparse.Namespace, base_url: str, database_url: str) -> dict[str, Any]:
    import aiohttp

    from bot.channels.telegram import TelegramConfig, build_channel
    from bot.cli import build_assistant
    from bot.config import Settings
    from tests.telegram_harness import TOKEN

    settings = Settings.from_env({"DATABASE_URL": database_url, "BOT_TODAY": "2020-03-21"})
    assistant = build_assistant(settings)
    handle_times: list[float] = []
    match_times: list[float] = []
    assistant.matcher.match = timed(assistant.matcher.match, match_times)
    handle = timed(assistant.handle, handle_times)
    assistant.handle = handle
    config = TelegramConfig(token=TOKEN, api_base_url=base_url, flood_per_minute=0, poll_timeout=10)
    channel = build_channel(config, assistant)
    channel.chat.handle = handle
    started = asyncio.Event()
    task = asyncio.create_task(channel.run(started))
    await asyncio.wait_for(started.wait(), 30)

    echo: list[float] = []
    for _ in range(args.echo):
        t = time.perf_counter()
        await channel.app.bot.do_api_request("echo")
        echo.append(time.perf_counter() - t)

    kb = load(ROOT / "faq")
    questions = [alt for entry in kb.entries.values() for alt in entry.alternates[1::3]]
    for sink in (handle_times, match_times):
        sink.clear()
    cpu = time.process_time()
    async with aiohttp.ClientSession() as session:
        spec = {"messages": args.messages, "users": args.users, "questions": questions}
        async with session.post(f"{base_url}/load", json=spec, timeout=aiohttp.ClientTimeout(600)) as resp:
            result = await resp.json()
    cpu = time.process_time() - cpu
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return {**result, "echo": echo, "handle": handle_times, "match": match_times, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--users", type=int, default=16, help="chats sending at the same time (closed loop)")
    ap.add_argument("--echo", type=int, default=500, help="baseline round trips")
    ap.add_argument("--database-url", help="default: a fresh SQLite file")
    args = ap.parse_args()

    port = free_port()
    ready = mp.get_context("spawn").Event()
    child = mp.get_context("spawn").Process(target=serve_fake, args=(port, ready), daemon=True)
    child.start()
    ready.wait(30)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        r = asyncio.run(run(args, f"http://127.0.0.1:{port}", url))
    child.terminate()

    n = len(r["latencies"])
    total = sum(r["latencies"])
    handle, match = sum(r["handle"]), sum(r["match"])
    print(f"Telegram channel, one worker: {n} messages from {args.users} chats (closed loop), "
          f"{'SQLite' if not args.database_url else args.database_url.split(':')[0]}")  # fmt: skip
    print(f"{'measure':<44}{'median ms':>12}{'p99 ms':>10}")
    rows = [
        ("baseline: echo round trip (PTB + HTTP)", r["echo"]),
        ("reply latency (update queued → sendMessage)", r["latencies"]),
        ("  Assistant.handle (matching + store)", r["handle"]),
        ("    of which matching", r["match"]),
    ]
    for name, values in rows:
        median, p99 = quantiles(values)
        print(f"{name:<44}{median:>12.2f}{p99:>10.2f}")
    print(f"throughput: {n / r['elapsed']:.0f} messages/s; bot process CPU {r['cpu']:.1f} s for {r['elapsed']:.1f} s")
    print(
        f"share of reply latency: matching {match / total:.0%}, store {(handle - match) / total:.0%}, "
        f"library + HTTP + waiting {(total - handle) / total:.0%}"
    )


if __name__ == "__main__":
    main()
