"""Capacity and latency at load of the Telegram channel, one worker and 1/2/4 processes, via a fake Bot API server.

    .venv/bin/python bench/bench_telegram.py [--messages 2000] [--users 16] [--rate 250] [--chats 600] [--runs 3]
                                             [--database-url URL] [--workers 1,2,4] [--scaling-url postgresql://…]

The bot is the real channel (python-telegram-bot Application, long polling, the real dialog core on a fresh
SQLite file unless --database-url is given) in this process. The fake Bot API server (tests/telegram_harness.py)
runs in a child process and plays the users; it timestamps each update when it is due and each reply when the
bot's sendMessage reaches it, so a reply's latency covers getUpdates delivery, queueing, the core and the send.
Two runs, one after the other:

- Capacity (closed loop): `--users` chats each send their next question as soon as the previous reply
  arrives. The rate it reaches is the saturation throughput. Its latency is not a latency at any chosen load:
  with N chats always waiting, latency ≈ N / throughput (Little's law), so it is shown only for completeness.
- Latency at load (open loop): `--open-messages` updates offered at a fixed `--rate` (evenly paced; Poisson
  arrivals with --poisson) from `--chats` chats taken in turn, independent of the bot's replies. Latency is
  measured from the time an update was due, not from when the server got round to queuing it, so a late
  server cannot hide queueing (no coordinated omission). This is the figure the target's p99 refers to.

Where the machine has two cores or more, the bot is pinned to one and the fake server (the load client) to
another (os.sched_setaffinity); the fake server's CPU per message is reported too. Each figure is the median
of `--runs` runs, with the range.

Several processes: `run_bot.py` with BOT_WORKERS=N on PostgreSQL (a private schema of --scaling-url, default
TEST_DATABASE_URL; skipped without one), polling as deployed: worker 0 polls into the database queue and every
worker answers its share of the chats. Closed loop with 16 chats per worker; the bot's processes are pinned
away from the fake server only when the machine has more than N cores. Beside the capacity it gives the CPU
per message of the workers, the fake server, PostgreSQL and the rest of the machine, so the capacity per core
can be computed where N cores are not free.

CPU is the bot process's, all threads. `Assistant.handle` and the matcher are timed with the core thread's CPU
clock, so the split between matching, the rest of the core (dialog + store) and the library + HTTP + thread
hand-off (the process's CPU less the core's, so SQLite's background checkpoints too) is of CPU spent, not of
wall time waiting. The baseline is the bot's own round trip to the fake server's `echo` method through the same
python-telegram-bot and HTTP stack. The fake server's CPU is not counted, but it runs on the same machine (2
cores here). Questions are FAQ alternates (not the tests' questions), each answered by one sendMessage; flood
control is off (one chat sends far more than 20 a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
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

from bench import machine
from bot.answering.kb import load
from bot.config import ROOT
from tests.telegram_harness import TOKEN

TARGET_RATE = 300  # messages per second, one worker
TARGET_LOAD = 250  # messages per second offered for the latency target
TARGET_P99_MS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantiles(values: list[float]) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def serve_fake(port: int, ready: Any, pin: set[int] | None = None) -> None:
    """The child process: the fake Bot API server, plus /closed and /open that play the users."""
    import os

    from aiohttp import web

    if pin:
        os.sched_setaffinity(0, pin)

    from tests.telegram_harness import Call, FakeBotApi, Users

    fake = FakeBotApi()
    users = Users()
    # chat → (due time, future or None) of its questions not answered yet, oldest first
    waiting: dict[int, collections.deque[tuple[float, asyncio.Future[float] | None]]] = {}
    latencies: list[float] = []
    replies: list[float] = []  # arrival time of every reply

    def on_call(call: Call) -> None:
        if call.method != "sendMessage" or not waiting.get(call.chat_id or 0):
            return
        now = time.perf_counter()
        due, future = waiting[call.chat_id or 0].popleft()
        latencies.append(now - due)
        replies.append(now)
        if future is not None and not future.done():
            future.set_result(now - due)

    fake.listeners.append(on_call)

    def ask(uid: int, text: str, due: float, future: asyncio.Future[float] | None = None) -> None:
        waiting.setdefault(uid, collections.deque()).append((due, future))
        fake.push(users.message(uid, text), asyncio.get_running_loop())

    async def closed(request: web.Request) -> web.Response:
        spec = await request.json()
        questions: list[str] = spec["questions"]
        loop = asyncio.get_running_loop()
        latencies.clear()

        async def user(uid: int, count: int) -> None:
            rng = random.Random(uid)
            for _ in range(count):
                future: asyncio.Future[float] = loop.create_future()
                ask(uid, rng.choice(questions), time.perf_counter(), future)
                await asyncio.wait_for(future, 30)

        per_user = spec["messages"] // spec["users"]
        start = time.perf_counter()
        await asyncio.gather(*(user(spec["first_uid"] + i, per_user) for i in range(spec["users"])))
        return web.json_response({"elapsed": time.perf_counter() - start, "latencies": latencies})

    async def open_(request: web.Request) -> web.Response:
        spec = await request.json()
        questions: list[str] = spec["questions"]
        rng = random.Random(1)
        n, rate, chats = spec["messages"], spec["rate"], spec["chats"]
        gaps = [rng.expovariate(rate) if spec["poisson"] else 1 / rate for _ in range(n)]
        latencies.clear()
        replies.clear()
        start = time.perf_counter() + 0.05
        due = start
        late = 0.0  # how far behind schedule the server queued an update (its own lag)
        for i in range(n):
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            late = max(late, time.perf_counter() - due)
            ask(spec["first_uid"] + i % chats, rng.choice(questions), due)
            due += gaps[i]
        deadline = time.perf_counter() + 30
        while len(latencies) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        last = max(replies, default=start)
        return web.json_response(
            {"elapsed": last - start, "offered": n / (due - start), "latencies": latencies, "late": late}
        )

    async def polls(_request: web.Request) -> web.Response:
        """How often the bot has called getUpdates (it is serving once it polls)."""
        return web.json_response(sum(1 for c in fake.calls if c.method == "getUpdates"))

    async def main() -> None:
        app = fake.app()
        app.router.add_post("/closed", closed)
        app.router.add_post("/open", open_)
        app.router.add_get("/polls", polls)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


class CpuTimer:
    """Wraps a function to add up the calling thread's CPU time spent in it (GIL waits not counted)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                self.total += time.thread_time() - start
                self.calls += 1

        return wrapper

    def reset(self) -> None:
        self.total, self.calls = 0.0, 0


async def run(args: argparse.Namespace, base_url: str, database_url: str, fake_pid: int) -> dict[str, Any]:
    import aiohttp

    from bot.app import App, checkpoint_task, telegram_channel
    from bot.channels import default_threads
    from bot.channels.telegram import TelegramConfig
    from bot.config import Settings

    settings = Settings.from_env({"DATABASE_URL": database_url, "BOT_TODAY": "2020-03-21", "FLOOD_PER_MINUTE": "0"})
    root = App(settings)
    assistant = root.assistant
    handle, match = CpuTimer(), CpuTimer()
    assistant.matcher.match = match.wrap(assistant.matcher.match)
    assistant.handle = handle.wrap(assistant.handle)
    threads = default_threads(database_url)  # as the channel runs by default: 1 on SQLite, 4 on PostgreSQL
    config = TelegramConfig(token=TOKEN, api_base_url=base_url, poll_timeout=10, threads=threads)
    channel = telegram_channel(config, assistant, root.store)
    assistant.matcher.warm()  # as `run_bot.py` does before serving
    started = asyncio.Event()
    task = asyncio.create_task(channel.run(started))
    checkpoints = checkpoint_task(root.store)  # as `run_bot.py` serves: SQLite checkpoints off the path
    background = [task] + ([asyncio.create_task(checkpoints())] if checkpoints else [])
    await asyncio.wait_for(started.wait(), 30)

    echo: list[float] = []
    for _ in range(args.echo):
        t = time.perf_counter()
        await channel.app.bot.do_api_request("echo")
        echo.append(time.perf_counter() - t)

    kb = load(ROOT / "faq")
    questions = [alt for entry in kb.entries.values() for alt in entry.alternates[1::3]]
    results: dict[str, Any] = {"echo": echo, "runs": []}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(600)) as session:
        for i in range(args.runs):
            phases = {
                "closed": {"messages": args.messages, "users": args.users, "first_uid": 10_000 + i * 1000},
                "open": {"messages": args.open_messages, "rate": args.rate, "chats": args.chats,
                         "poisson": args.poisson, "first_uid": 100_000 + i * 10_000},
            }  # fmt: skip
            one: dict[str, Any] = {}
            for name, spec in phases.items():
                handle.reset()
                match.reset()
                cpu, fake_cpu = time.process_time(), machine.process_cpu(fake_pid)
                async with session.post(f"{base_url}/{name}", json={**spec, "questions": questions}) as resp:
                    result = await resp.json()
                result["cpu"] = time.process_time() - cpu
                result["fake_cpu"] = machine.process_cpu(fake_pid) - fake_cpu
                result["handle"], result["match"], result["handled"] = handle.total, match.total, handle.calls
                one[name] = result
            results["runs"].append(one)
    for t in background:
        t.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    return results


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """Median [min–max] of several runs."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def report(args: argparse.Namespace, r: dict[str, Any], pinned: str) -> None:
    runs = r["runs"]
    backend = "SQLite" if not args.database_url else args.database_url.split(":")[0]
    arrivals = "Poisson" if args.poisson else "evenly paced"
    echo = quantiles(r["echo"])
    print(
        f"Telegram channel, one worker, {backend}; {pinned}; fake Bot API server echo round trip (PTB + HTTP): "
        f"median {echo[0]:.2f} ms, p99 {echo[1]:.2f} ms"
    )
    print(f"median [range] of {len(runs)} runs; machine load average at the end {machine.load_average()}")
    columns = (f"closed loop, {args.users} chats", f"open loop, {args.rate}/s offered")
    print(f"\n{'':<42}{columns[0]:>30}{columns[1]:>30}")

    def row(name: str, cells: tuple[str, str]) -> None:
        print(f"{name:<42}{cells[0]:>30}{cells[1]:>30}")

    def both(fn: Callable[[dict[str, Any]], float], fmt: str = "{:.0f}") -> tuple[str, str]:
        return tuple(spread([fn(run[phase]) for run in runs], fmt) for phase in ("closed", "open"))  # type: ignore[return-value]

    def median(fn: Callable[[dict[str, Any]], float]) -> tuple[str, str]:
        return tuple(f"{statistics.median(fn(run[p]) for run in runs):.2f}" for p in ("closed", "open"))  # type: ignore[return-value]

    row("messages answered", both(lambda x: len(x["latencies"])))
    row("throughput, messages/s", both(lambda x: len(x["latencies"]) / x["elapsed"]))
    row("reply latency median, ms", both(lambda x: quantiles(x["latencies"])[0], "{:.1f}"))
    row("reply latency p99, ms", both(lambda x: quantiles(x["latencies"])[1], "{:.1f}"))
    row("bot CPU per message, ms", median(lambda x: x["cpu"] / x["handled"] * 1000))
    row("  matching", median(lambda x: x["match"] / x["handled"] * 1000))
    row("  rest of the core (dialog, store)", median(lambda x: (x["handle"] - x["match"]) / x["handled"] * 1000))
    row("  library + HTTP + hand-off", median(lambda x: (x["cpu"] - x["handle"]) / x["handled"] * 1000))
    row("fake server (load client) CPU per message, ms", median(lambda x: x["fake_cpu"] / x["handled"] * 1000))
    lates = [run["open"]["late"] * 1000 for run in runs]
    answered = [len(run["open"]["latencies"]) for run in runs]
    offered = statistics.median(run["open"]["offered"] for run in runs)
    print(
        f"\nopen loop: {min(answered)}–{max(answered)} of {args.open_messages} answered, from {args.chats} chats, "
        f"{arrivals}, offered {offered:.0f}/s; the server queued updates at most {max(lates):.1f} ms late"
    )
    capacity = statistics.median(len(run["closed"]["latencies"]) / run["closed"]["elapsed"] for run in runs)
    p99 = statistics.median(quantiles(run["open"]["latencies"])[1] for run in runs)
    complete = min(answered) == args.open_messages
    met = capacity >= TARGET_RATE and p99 <= TARGET_P99_MS and complete and args.rate >= TARGET_LOAD
    print(
        f"target ≥ {TARGET_RATE} messages/s and p99 ≤ {TARGET_P99_MS} ms at {TARGET_LOAD}/s offered: "
        f"capacity {capacity:.0f}/s, p99 {p99:.1f} ms at {args.rate}/s → {'met' if met else 'NOT met'}"
    )


# ---- several processes --------------------------------------------------------------------------------------


def private_schema(url: str) -> tuple[str, str]:
    """(schema, URL whose connections use it) in the PostgreSQL at `url`."""
    import uuid

    from bot.store import make_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return schema, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    from bot.store import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


def listeners(database_url: str) -> int:
    """Workers waiting for queued updates (each holds one LISTEN connection once it is serving)."""
    import sqlalchemy as sa

    from bot.store import make_engine
    from bot.store.updates import CHANNEL

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            q = sa.text("SELECT count(*) FROM pg_stat_activity WHERE query = :q")
            return int(conn.execute(q, {"q": f"LISTEN {CHANNEL}"}).scalar_one())
    finally:
        engine.dispose()


async def polls(base_url: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/polls") as resp:
        return int(await resp.json())


def start_workers(n: int, database_url: str, base_url: str, pin: set[int] | None, log: Path) -> Any:
    """`run_bot.py` with BOT_WORKERS=n polling the fake server; returns once every worker serves."""
    import os
    import subprocess

    env = {**os.environ, "DATABASE_URL": database_url, "BOT_WORKERS": str(n), "BOT_TODAY": "2020-03-21",
           "FLOOD_PER_MINUTE": "0", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base_url}  # fmt: skip
    for name in ("WECHAT_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_STAFF_CHAT_ID", "LOG_LEVEL"):
        env.pop(name, None)
    first_polls = asyncio.run(polls(base_url))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_bot.py")],
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None,
        )
    deadline = time.monotonic() + 300
    while asyncio.run(polls(base_url)) == first_polls or (n > 1 and listeners(database_url) < n):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"BOT_WORKERS={n} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc


def measure_workers(
    n: int, database_url: str, args: argparse.Namespace, base_url: str, fake_pid: int, first_uid: int
) -> dict[str, Any]:
    """Capacity of BOT_WORKERS=n (closed loop, 16 chats per worker) over `args.runs` runs, CPU by process."""
    import os
    import signal

    import aiohttp

    cores = machine.cores()
    own_core = len(cores) > n
    worker_cores = set(cores[:-1]) if own_core else None
    kb = load(ROOT / "faq")
    questions = [alt for entry in kb.entries.values() for alt in entry.alternates[1::3]]
    users = 16 * n
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_workers(n, database_url, base_url, worker_cores, Path(tmp) / "bot.log")
        workers = machine.children(proc.pid) or [proc.pid]  # BOT_WORKERS=1 serves in the process itself

        async def phase(messages: int, uid: int) -> dict[str, Any]:
            spec = {"messages": messages, "users": users, "first_uid": uid, "questions": questions}
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(600)) as session,
                session.post(f"{base_url}/closed", json=spec) as resp,
            ):
                return dict(await resp.json())

        try:
            asyncio.run(phase(users * 5, first_uid))  # warm-up: every worker answers
            runs = []
            for i in range(args.runs):
                cpu = [machine.process_cpu(pid) for pid in workers]
                fake, busy, pg = machine.process_cpu(fake_pid), machine.machine_busy(), machine.named_cpu("postgres")
                result = asyncio.run(phase(args.messages, first_uid + (i + 1) * users))
                fake_s, busy_s = machine.process_cpu(fake_pid) - fake, machine.machine_busy() - busy
                pg_s = machine.named_cpu("postgres") - pg
                per_worker = [machine.process_cpu(pid) - c for pid, c in zip(workers, cpu, strict=True)]
                m = len(result["latencies"])
                workers_s = sum(per_worker)
                runs.append({
                    "rate": m / result["elapsed"],
                    "p99": quantiles(result["latencies"])[1],
                    "worker_ms": workers_s * 1000 / m,
                    "share": (min(per_worker) / max(per_worker)) if max(per_worker) else 0.0,
                    "fake_ms": fake_s * 1000 / m,
                    "pg_ms": pg_s * 1000 / m,
                    "other_ms": max(busy_s - workers_s - fake_s - pg_s, 0.0) * 1000 / m,
                })  # fmt: skip
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            os.sched_setaffinity(0, set(cores))
    return {"n": n, "own_core": own_core, "runs": runs}


def scaling(args: argparse.Namespace, base_url: str, fake_pid: int) -> None:
    """The several-processes table (PostgreSQL only: SQLite serves one process)."""
    import os

    url = args.scaling_url or os.environ.get("TEST_DATABASE_URL")
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    print()
    if not url or not counts:
        print("Telegram, several processes: skipped (needs PostgreSQL: --scaling-url or TEST_DATABASE_URL)")
        return
    results = []
    for i, n in enumerate(counts):
        schema, database_url = private_schema(url)
        try:
            results.append(measure_workers(n, database_url, args, base_url, fake_pid, 1_000_000 * (i + 1)))
        finally:
            drop_schema(url, schema)
    cores = machine.cores()
    print(f"Telegram polling, BOT_WORKERS processes (run_bot.py; worker 0 polls into the database queue when N > 1), "
          f"PostgreSQL on this machine, closed loop with 16 chats per worker; {len(cores)} cores; median [range] of "
          f"{args.runs} runs of {args.messages}; load average at the end {machine.load_average()}")  # fmt: skip
    print(f"{'processes':>9} {'messages/s':>16} {'× one':>6} {'p99 ms':>20} {'cores':>22}   CPU ms/message: workers "
          "(least/most busy worker)  fake server  PostgreSQL  rest of the machine")  # fmt: skip
    one = statistics.median([r["rate"] for r in results[0]["runs"]])
    for res in results:
        runs = res["runs"]
        rates = [r["rate"] for r in runs]

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median([r[key] for r in runs])

        placement = "fake server on its own" if res["own_core"] else "shared with fake server"
        print(f"{res['n']:>9} {spread(rates):>16} {statistics.median(rates) / one:>6.2f} "
              f"{spread([r['p99'] for r in runs], '{:.1f}'):>20} {placement:>22}   {med('worker_ms'):.2f} "
              f"({med('share'):.2f})  {med('fake_ms'):.2f}  {med('pg_ms'):.2f}  {med('other_ms'):.2f}")  # fmt: skip
    worker_ms = statistics.median([r["worker_ms"] for r in results[0]["runs"]])
    pg_ms = statistics.median([r["pg_ms"] for r in results[0]["runs"]])
    print(f"capacity per core from one process's CPU per message: {1000 / worker_ms:.0f} messages/s for the bot "
          f"alone, {1000 / (worker_ms + pg_ms):.0f}/s with its PostgreSQL work on the same cores")  # fmt: skip
    short = [str(res["n"]) for res in results if not res["own_core"]]
    if short:
        print(f"not judged here: ≥ 0.85 × N × one process needs N free cores besides the fake server's; this "
              f"machine has {len(cores)}, so N = {', '.join(short)} shared cores with it and PostgreSQL")  # fmt: skip
    print("target: N processes ≥ 0.85 × N × one process's throughput where N cores are free")


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000, help="closed loop: messages in all")
    ap.add_argument("--users", type=int, default=16, help="closed loop: chats sending at the same time")
    ap.add_argument("--rate", type=int, default=TARGET_LOAD, help="open loop: messages offered per second")
    ap.add_argument("--open-messages", type=int, default=2000, help="open loop: messages in all")
    ap.add_argument("--chats", type=int, default=600, help="open loop: chats the messages come from, in turn")
    ap.add_argument("--poisson", action="store_true", help="open loop: Poisson arrivals instead of evenly paced")
    ap.add_argument("--echo", type=int, default=500, help="baseline round trips")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database-url", help="one worker: default a fresh SQLite file")
    ap.add_argument("--workers", default="1,2,4", help="several processes: the BOT_WORKERS values ('' skips)")
    ap.add_argument("--scaling-url", help="several processes: PostgreSQL (default TEST_DATABASE_URL)")
    args = ap.parse_args()

    cores = machine.cores()
    bot_core, fake_core = ({cores[0]}, {cores[-1]}) if len(cores) >= 2 else (None, None)
    port = free_port()
    ready = mp.get_context("spawn").Event()
    child = mp.get_context("spawn").Process(target=serve_fake, args=(port, ready, fake_core), daemon=True)
    child.start()
    ready.wait(30)
    base_url = f"http://127.0.0.1:{port}"
    pinned = (
        f"bot on core {min(bot_core)}, fake server on core {min(fake_core)}"
        if bot_core and fake_core
        else "one core: bot and fake server share it"
    )
    try:
        if bot_core:
            os.sched_setaffinity(0, bot_core)
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
            results = asyncio.run(run(args, base_url, url, child.pid or 0))
        os.sched_setaffinity(0, set(cores))
        report(args, results, pinned)
        scaling(args, base_url, child.pid or 0)
    finally:
        child.terminate()


if __name__ == "__main__":
    main()
