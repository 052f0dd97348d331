"""Throughput and latency of the WeChat endpoint for text messages: one worker, then 1, 2 and 4 processes.

    .venv/bin/python bench/bench_wechat.py [--requests 2000] [--concurrency 8] [--runs 3] [--database-url URL]
                                           [--workers 1,2,4] [--scaling-url postgresql://…]

One worker: the server (one process, the real dialog core on a fresh SQLite file unless --database-url is
given) runs in a child process; this process plays WeChat over loopback with pre-signed (and pre-encrypted)
pushes, so building them is not counted. Where the machine has two cores or more, the server is pinned to one
core and this load client to another (os.sched_setaffinity), so they do not take turns on one. The baseline is
a trivial endpoint on the same aiohttp stack in the same server: it reads the body and answers "success".
Questions are FAQ alternates (not the tests' questions), many users. The server reports the CPU time it spent
per request (all threads), and how much of it was the dialog core (`Assistant.handle`: matcher and store) —
the rest is the endpoint itself and aiohttp. Each figure is the median of `--runs` runs, with the range.

Several processes: `run_bot.py` with BOT_WORKERS=N on PostgreSQL (a private schema of --scaling-url, default
TEST_DATABASE_URL; skipped without one), exactly as deployed, plain mode, 8 connections per worker. The load
client gets a core of its own and the workers the others when the machine has more than N cores; otherwise
nothing is pinned and the table says the cores were shared. Beside throughput it gives the CPU per message of
the workers (from /proc), of the load client, and of everything else on the machine (PostgreSQL, other users),
so the capacity per core (1000 / worker CPU ms per message) can be computed where N cores are not free.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bench import machine
from bot.answering.kb import load
from bot.config import ROOT

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxbench0000000001"
USERS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, database_url: str, ready: Any, pin: set[int] | None) -> None:
    """The child process: the real endpoint on /wechat, the baseline on /echo, CPU counters on /cpu."""
    import datetime as dt

    if pin:
        os.sched_setaffinity(0, pin)  # before any thread starts, so every thread inherits it

    from aiohttp import web

    from bot.app import App, checkpoint_task
    from bot.channels import default_threads
    from bot.channels.wechat import WeChatConfig, WeChatEndpoint
    from bot.config import Settings
    from bot.models import Address, Incoming, Outgoing

    settings = Settings.from_env({"DATABASE_URL": database_url, "BOT_TODAY": "2020-03-21", "FLOOD_PER_MINUTE": "0"})
    root = App(settings)
    assistant = root.assistant
    core_cpu = 0.0

    def handle(incoming: Incoming) -> list[Outgoing]:
        nonlocal core_cpu
        start = time.thread_time()
        try:
            return assistant.handle(incoming)
        finally:
            core_cpu += time.thread_time() - start

    threads = default_threads(database_url)  # as `run_bot.py` does with WECHAT_THREADS unset
    config = WeChatConfig(token=TOKEN, aes_key=AES_KEY, app_id=APP_ID, port=port, threads=threads)
    endpoint = WeChatEndpoint(config, handle, assistant.store)
    # Safe mode takes encrypted pushes only, so plain mode is an account without an AES key, served under /plain.
    plain_config = WeChatConfig(token=TOKEN, app_id=APP_ID, port=port, threads=threads)
    plain = WeChatEndpoint(plain_config, handle, assistant.store)
    assistant.matcher.warm()  # as `run_bot.py` does before serving
    assistant.handle(Incoming(Address("wechat", "warmup"), "warmup", "社保", message_id=str(dt.datetime.now())))

    async def echo(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="success")

    async def cpu(_request: web.Request) -> web.Response:
        return web.json_response({"process": time.process_time(), "core": core_cpu})

    async def main() -> None:
        app = endpoint.app()
        app.add_subapp("/plain", plain.app())
        app.router.add_post("/echo", echo)
        app.router.add_get("/cpu", cpu)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        checkpoints = checkpoint_task(root.store)  # as `run_bot.py` serves: SQLite checkpoints off the path
        ready.set()
        await (checkpoints() if checkpoints else asyncio.Event().wait())

    asyncio.run(main())


def questions() -> list[str]:
    """FAQ alternates: phrasings enterprises use, answered by the core (different from the tests' questions)."""
    kb = load(ROOT / "faq")
    return [alt for entry in kb.entries.values() for alt in entry.alternates[1:3]] or [
        e.question for e in kb.entries.values()
    ]


def pushes(n: int, safe: bool, qs: list[str], base: int) -> list[tuple[dict[str, str], bytes]]:
    """n signed text pushes (encrypted in safe mode) from USERS followers, built before the clock starts."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    out = []
    for i in range(n):
        timestamp, nonce = str(int(time.time())), f"n{base + i}"
        signer = WeChatSigner()
        signer.add_data(TOKEN, timestamp, nonce)
        params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBench{i % USERS:04d}]]>"
            f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{qs[i % len(qs)]}]]></Content><MsgId>{base + i}</MsgId></xml>"
        )
        if safe:
            env = crypto.encrypt_message(xml, nonce, timestamp)
            encrypt = env.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            params.update(encrypt_type="aes", msg_signature=env.split("<MsgSignature><![CDATA[")[1].split("]]>")[0])
            xml = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        out.append((params, xml.encode()))
    return out


async def run(url: str, work: list[tuple[dict[str, str], bytes]], concurrency: int) -> tuple[float, list[float]]:
    """Send everything with `concurrency` requests in flight; (elapsed seconds, latencies in ms)."""
    latencies: list[float] = []
    queue = iter(work)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for params, body in queue:
                start = time.perf_counter()
                async with http.post(url, params=params, data=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies


async def cpu_seconds(base_url: str) -> tuple[float, float]:
    """The server's CPU seconds so far: the whole process, and the dialog core's share."""
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/cpu") as resp:
        counters = await resp.json()
    return counters["process"], counters["core"]


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """Median [min–max] of several runs."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def one_worker(args: argparse.Namespace) -> None:
    """The one-process table: baseline, plain and safe mode, `args.runs` runs each."""
    tmp = tempfile.TemporaryDirectory()
    database_url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    port = free_port()
    cores = machine.cores()
    server_core, client_core = ({cores[0]}, {cores[-1]}) if len(cores) >= 2 else (None, None)
    ready = mp.get_context("spawn").Event()
    server = mp.get_context("spawn").Process(target=serve, args=(port, database_url, ready, server_core), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            sys.exit("server did not start")
        if client_core:
            os.sched_setaffinity(0, client_core)
        qs = questions()
        base = time.time_ns() // 1000
        rows = []
        for name, path, safe in (
            ("baseline echo", "/echo", False),
            ("text, plain mode", "/plain/wechat", False),
            ("text, safe mode (AES)", "/wechat", True),
        ):
            url = f"http://127.0.0.1:{port}"
            runs = []
            for _ in range(args.runs):
                work = pushes(args.requests, safe, qs, base)
                base += args.requests
                asyncio.run(run(f"{url}{path}", work[:100], args.concurrency))  # warm-up
                cpu_before, core_before = asyncio.run(cpu_seconds(url))
                client_before = time.process_time()
                elapsed, lat = asyncio.run(run(f"{url}{path}", work[100:], args.concurrency))
                client_ms = (time.process_time() - client_before) * 1000
                cpu_after, core_after = asyncio.run(cpu_seconds(url))
                n = len(lat)
                lat.sort()
                cpu_ms, core_ms = (cpu_after - cpu_before) * 1000 / n, (core_after - core_before) * 1000 / n
                p99 = lat[int(n * 0.99) - 1]
                runs.append((n / elapsed, statistics.median(lat), p99, cpu_ms, core_ms, client_ms / n))
            rows.append((name, args.requests - 100, runs))
    finally:
        os.sched_setaffinity(0, set(cores))
        server.terminate()
        server.join(10)
        tmp.cleanup()
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    pinning = (
        f"server on core {min(server_core)}, load client on core {min(client_core)}"
        if server_core and client_core
        else "one core: server and load client share it"
    )
    print(f"WeChat endpoint, one worker, {backend}, concurrency {args.concurrency}, loopback; {pinning}")
    print(f"median [range] of {args.runs} runs; machine load average at the end {machine.load_average()}")
    print(f"{'mode':22} {'requests':>8} {'req/s':>16} {'median ms':>18} {'p99 ms':>18}   server CPU ms/req "
          "(core + endpoint/HTTP)   client CPU ms/req")  # fmt: skip
    for name, n, runs in rows:
        col = [list(c) for c in zip(*runs, strict=True)]
        cpu, core = statistics.median(col[3]), statistics.median(col[4])
        split = f"({core:.2f} + {cpu - core:.2f})" if core else ""
        client = statistics.median(col[5])
        print(f"{name:22} {n:8d} {spread(col[0]):>16} {spread(col[1], '{:.2f}'):>18} "
              f"{spread(col[2], '{:.2f}'):>18}   {cpu:.2f} {split:<24} {client:.2f}")  # fmt: skip
    print("target: ≥ 500 req/s and p99 ≤ 50 ms for text messages, with the client on another core")


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


def start_workers(n: int, database_url: str, port: int, pin: set[int] | None, log: Path) -> subprocess.Popen[bytes]:
    """`run_bot.py` with BOT_WORKERS=n serving WeChat in plain mode; returns once every worker listens."""
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_WORKERS": str(n), "WECHAT_TOKEN": TOKEN,
           "WECHAT_PORT": str(port), "BOT_TODAY": "2020-03-21", "FLOOD_PER_MINUTE": "0"}  # fmt: skip
    for name in ("TELEGRAM_BOT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "LOG_LEVEL"):
        env.pop(name, None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_bot.py")],
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None,
        )
    deadline = time.monotonic() + 300
    while machine.listening(port) < n:
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"BOT_WORKERS={n} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc


def measure_workers(n: int, database_url: str, args: argparse.Namespace, qs: list[str]) -> dict[str, Any]:
    """Throughput of BOT_WORKERS=n over `args.runs` runs, with CPU per message by process."""
    cores = machine.cores()
    own_core = len(cores) > n
    client_core, worker_cores = ({cores[-1]}, set(cores[:-1])) if own_core else (None, None)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_workers(n, database_url, port, worker_cores, Path(tmp) / "bot.log")
        try:
            if client_core:
                os.sched_setaffinity(0, client_core)
            workers = machine.children(proc.pid) or [proc.pid]  # BOT_WORKERS=1 serves in the process itself
            url = f"http://127.0.0.1:{port}/wechat"
            concurrency = 8 * n
            base = time.time_ns() // 1000
            asyncio.run(run(url, pushes(100 * n, False, qs, base), concurrency))  # warm-up: every worker answers
            base += 100 * n
            runs = []
            for _ in range(args.runs):
                work = pushes(args.requests, False, qs, base)
                base += args.requests
                cpu = [machine.process_cpu(pid) for pid in workers]
                client, busy, pg = time.process_time(), machine.machine_busy(), machine.named_cpu("postgres")
                elapsed, lat = asyncio.run(run(url, work, concurrency))
                client_s, busy_s = time.process_time() - client, machine.machine_busy() - busy
                pg_s = machine.named_cpu("postgres") - pg  # backends that ended in between are missed
                per_worker = [machine.process_cpu(pid) - c for pid, c in zip(workers, cpu, strict=True)]
                m = len(lat)
                lat.sort()
                workers_s = sum(per_worker)
                runs.append({
                    "rps": m / elapsed,
                    "p99": lat[int(m * 0.99) - 1],
                    "worker_ms": workers_s * 1000 / m,
                    "share": (min(per_worker) / max(per_worker)) if max(per_worker) else 0.0,
                    "client_ms": client_s * 1000 / m,
                    "pg_ms": pg_s * 1000 / m,
                    "other_ms": max(busy_s - workers_s - client_s - pg_s, 0.0) * 1000 / m,
                })  # fmt: skip
        finally:
            os.sched_setaffinity(0, set(cores))
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    return {"n": n, "own_core": own_core, "runs": runs}


def scaling(args: argparse.Namespace) -> None:
    """The several-processes table (PostgreSQL only: SQLite serves one process)."""
    url = args.scaling_url or os.environ.get("TEST_DATABASE_URL")
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    print()
    if not url or not counts:
        print("WeChat, several processes: skipped (needs PostgreSQL: --scaling-url or TEST_DATABASE_URL)")
        return
    qs = questions()
    results = []
    for n in counts:
        schema, database_url = private_schema(url)
        try:
            results.append(measure_workers(n, database_url, args, qs))
        finally:
            drop_schema(url, schema)
    cores = machine.cores()
    print(f"WeChat endpoint, BOT_WORKERS processes (run_bot.py), PostgreSQL on this machine, plain mode, "
          f"8 connections per worker; {len(cores)} cores; median [range] of {args.runs} runs of "
          f"{args.requests}; load average at the end {machine.load_average()}")  # fmt: skip
    print(f"{'processes':>9} {'req/s':>16} {'× one':>6} {'p99 ms':>18} {'cores':>18}   CPU ms/message: workers "
          "(least/most busy worker)  client  PostgreSQL  rest of the machine")  # fmt: skip
    one = statistics.median([r["rps"] for r in results[0]["runs"]])
    for res in results:
        runs = res["runs"]
        rps = [r["rps"] for r in runs]

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median([r[key] for r in runs])

        placement = "client on its own" if res["own_core"] else "shared with client"
        print(f"{res['n']:>9} {spread(rps):>16} {statistics.median(rps) / one:>6.2f} "
              f"{spread([r['p99'] for r in runs], '{:.1f}'):>18} {placement:>18}   {med('worker_ms'):.2f} "
              f"({med('share'):.2f})  {med('client_ms'):.2f}  {med('pg_ms'):.2f}  {med('other_ms'):.2f}")  # fmt: skip
    worker_ms = statistics.median([r["worker_ms"] for r in results[0]["runs"]])
    pg_ms = statistics.median([r["pg_ms"] for r in results[0]["runs"]])
    print(f"capacity per core from one process's CPU per message: {1000 / worker_ms:.0f} req/s for the bot alone, "
          f"{1000 / (worker_ms + pg_ms):.0f} req/s with its PostgreSQL work on the same cores")  # fmt: skip
    short = [str(res["n"]) for res in results if not res["own_core"]]
    if short:
        print(f"not judged here: ≥ 0.85 × N × one process needs N free cores besides the client's; this machine "
              f"has {len(cores)}, so N = {', '.join(short)} shared cores with the client and PostgreSQL")  # fmt: skip
    print("target: N processes ≥ 0.85 × N × one process's throughput where N cores are free")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database-url", help="one worker: default a fresh SQLite file")
    ap.add_argument("--workers", default="1,2,4", help="several processes: the BOT_WORKERS values ('' skips)")
    ap.add_argument("--scaling-url", help="several processes: PostgreSQL (default TEST_DATABASE_URL)")
    args = ap.parse_args()
    one_worker(args)
    scaling(args)


if __name__ == "__main__":
    main()
