"""Cold start to the first answer, and the memory of a serving process, on the shipped FAQ.

    .venv/bin/python bench/bench_start.py [--runs 5]

Cold start is timed the way a user meets it: `run_bot.py ask "…"` in a new process, through the dialog core and the
database, on a fresh database (created and migrated) and on an existing one, with the sentence-embedding model
off and on (its phrasing vectors cached, as after the first start). Beside it, in the same run, the floor any
jieba-based bot pays: `python -c "import jieba; jieba.lcut('社保')"`. Each figure is the median of `--runs`
starts (range), wall clock and the process's CPU time; on a shared machine the CPU time is the steadier one.

Memory is the resident set (RSS) of a real serving process, the WeChat endpoint (plain mode) on a local port: once it
listens (the matcher built and warmed) and after it has answered 20 questions, with MATCH_SEMANTIC=off and on.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from tests.wechat_harness import FakeWeChat  # noqa: E402

QUESTION = "社保能缓缴吗"
JIEBA_FLOOR = "import jieba; jieba.lcut('社保')"
QUESTIONS = ("社保能缓缴吗", "稳岗返还怎么申请", "房租能减免吗", "复工需要备案吗", "员工隔离期间工资怎么发")
TOKEN = "bench-start-token"


def run(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def environment(semantic: bool, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
    env.update(DATABASE_URL=f"sqlite:///{db}", MATCH_SEMANTIC="on" if semantic else "off", LOG_LEVEL="ERROR")
    return env


def ask(env: dict[str, str], cwd: Path) -> tuple[float, float]:
    wall, cpu, out = run([sys.executable, str(ROOT / "run_bot.py"), "ask", QUESTION], env, cwd)
    if not out.strip():
        raise SystemExit("run_bot.py ask printed no answer")
    return wall, cpu


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def cold_start(runs: int) -> None:
    rows: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        ask(environment(True, cwd / "warm.db"), cwd)  # embeds the phrasings once if the vector cache is new
        for i in range(runs):
            for label, argv in (("plain jieba floor", [sys.executable, "-c", JIEBA_FLOOR]),):
                wall, cpu, _ = run(argv, dict(os.environ), cwd)
                rows.setdefault(label, ([], []))[0].append(wall)
                rows[label][1].append(cpu)
            for semantic in (False, True):
                db = cwd / f"run{i}-{semantic}.db"
                env = environment(semantic, db)
                for state in ("fresh", "existing"):  # the first start creates and migrates the database
                    wall, cpu = ask(env, cwd)
                    label = f"ask, {state} db, model {'on' if semantic else 'off'}"
                    rows.setdefault(label, ([], []))[0].append(wall)
                    rows[label][1].append(cpu)
    floor_wall, floor_cpu = (statistics.median(x) for x in rows["plain jieba floor"])
    print(f"cold start to the first answer, seconds, median of {runs} starts (range)")
    print(f"{'':34} {'wall':>20} {'CPU':>20} {'wall/floor':>10} {'CPU/floor':>10}")
    for label, (walls, cpus) in rows.items():
        ratios = f"{statistics.median(walls) / floor_wall:>9.2f}x {statistics.median(cpus) / floor_cpu:>9.2f}x"
        print(f"{label:34} {fmt(walls):>20} {fmt(cpus):>20} {ratios}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serving_rss(semantic: bool) -> tuple[float, float]:
    """MiB resident in a WeChat serving process once it listens, and after it answered 20 questions."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = environment(semantic, Path(tmp) / "serve.db")
        env.update(WECHAT_TOKEN=TOKEN, WECHAT_PORT=str(port), WECHAT_PATH="/wechat")
        log = Path(tmp) / "serve.log"
        with log.open("w") as err:
            proc = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, cwd=tmp,
                                    stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        client = FakeWeChat(f"http://127.0.0.1:{port}/wechat", token=TOKEN)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the serving process did not start: {log.read_text()}") from None
                    time.sleep(0.1)
            started = psutil.Process(proc.pid).memory_info().rss / 2**20
            for i in range(20):
                reply = client.say(QUESTIONS[i % len(QUESTIONS)])
                if reply.status != 200:
                    raise SystemExit(f"the serving process answered {reply.status}")
            answered = psutil.Process(proc.pid).memory_info().rss / 2**20
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=30)
    return started, answered


def memory(runs: int) -> None:
    print("\nRSS of a serving process (WeChat endpoint) on the shipped FAQ, MiB, median of "
          f"{runs} processes (range)")  # fmt: skip
    print(f"{'':22} {'listening':>24} {'after 20 answers':>24}")
    for semantic in (False, True):
        figures = [serving_rss(semantic) for _ in range(runs)]
        started = [f[0] for f in figures]
        answered = [f[1] for f in figures]
        print(f"MATCH_SEMANTIC={'on' if semantic else 'off':4}   {fmt(started):>24} {fmt(answered):>24}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cold_start(args.runs)
    memory(max(1, min(args.runs, 3)))


if __name__ == "__main__":
    main()
