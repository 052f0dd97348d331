"""Throughput and latency of the WeChat endpoint for text messages, plain and safe mode, one worker.

    python bench/bench_wechat.py [--requests 2000] [--concurrency 8] [--database-url URL]

The server (one process, the real dialog core on a fresh SQLite file unless --database-url is given) runs in
a child process; this process plays WeChat over loopback with pre-signed (and pre-encrypted) pushes, so the
client's work is not counted. The baseline is a trivial endpoint on the same aiohttp stack in the same server:
it reads the body and answers "success". Questions are FAQ alternates (not the tests' questions), many users.
The server also reports the CPU time it spent per request (all threads), and how much of it was the dialog core
(`Assistant.handle`: matcher and store) — the rest is the endpoint itself and aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.config import ROOT
from bot.kb import load

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxbench0000000001"
USERS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, database_url: str, ready: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    """The child process: the real endpoint on /wechat, the baseline on /echo, CPU counters on /cpu."""
    import datetime as dt

    from aiohttp import web

    from bot.channels import default_threads
    from bot.channels.wechat import WeChatConfig, WeChatEndpoint
    from bot.cli import build_assistant, checkpoint_task
    from bot.config import Settings
    from bot.models import Address, Incoming, Outgoing

    settings = Settings.from_env({"DATABASE_URL": database_url, "BOT_TODAY": "2020-03-21", "FLOOD_PER_MINUTE": "0"})
    assistant = build_assistant(settings)
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
        checkpoints = checkpoint_task(assistant.store)  # as `run_bot.py` serves: SQLite checkpoints off the path
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--database-url", help="default: a fresh SQLite file")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    database_url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    port = free_port()
    ready = mp.get_context("spawn").Event()
    server = mp.get_context("spawn").Process(target=serve, args=(port, database_url, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            sys.exit("server did not start")
        qs = questions()
        base = time.time_ns() // 1000
        rows = []
        for name, path, safe in (
            ("baseline echo", "/echo", False),
            ("text, plain mode", "/plain/wechat", False),
            ("text, safe mode (AES)", "/wechat", True),
        ):
            work = pushes(args.requests, safe, qs, base)
            base += args.requests
            url = f"http://127.0.0.1:{port}"
            asyncio.run(run(f"{url}{path}", work[:100], args.concurrency))  # warm-up
            cpu_before, core_before = asyncio.run(cpu_seconds(url))
            elapsed, lat = asyncio.run(run(f"{url}{path}", work[100:], args.concurrency))
            cpu_after, core_after = asyncio.run(cpu_seconds(url))
            n = len(lat)
            lat.sort()
            cpu_ms, core_ms = (cpu_after - cpu_before) * 1000 / n, (core_after - core_before) * 1000 / n
            rows.append((name, n, n / elapsed, statistics.median(lat), lat[int(n * 0.99) - 1], cpu_ms, core_ms))
    finally:
        server.terminate()
        server.join(10)
        tmp.cleanup()
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"WeChat endpoint, one worker, {backend}, concurrency {args.concurrency}, loopback")
    print(f"{'mode':24} {'requests':>8} {'req/s':>8} {'median ms':>10} {'p99 ms':>8}   server CPU ms/request")
    for name, n, rps, med, p99, cpu_ms, core_ms in rows:
        split = f"(core {core_ms:.2f} + endpoint/HTTP {cpu_ms - core_ms:.2f})" if core_ms else ""
        print(f"{name:24} {n:8d} {rps:8.0f} {med:10.2f} {p99:8.2f}   {cpu_ms:.2f} {split}")
    print("target: ≥ 500 req/s and p99 ≤ 50 ms for text messages")


if __name__ == "__main__":
    main()
