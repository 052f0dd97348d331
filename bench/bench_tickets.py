"""Tickets created and claimed per second, on SQLite and PostgreSQL, with 1 and 4 worker processes.

    .venv/bin/python bench/bench_tickets.py [--pairs 400] [--pg postgresql://postgres@127.0.0.1:5432/test]

Each worker process opens tickets the way the dialog core does (`SqlStore.open_ticket`: database counter,
insert, history event) and claims each one the way staff do (`StaffService.claim`: a conditional update with
its history event, the locked rule when it does not match). PostgreSQL runs in a private schema that is
dropped afterwards. The first row (SQLite, 1 worker) is the baseline the others are compared with.
Target: ≥ 500 pairs/s on PostgreSQL with 4 workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import TZ  # noqa: E402
from bot.desk.staff import Staff, StaffService  # noqa: E402
from bot.models import Address  # noqa: E402
from bot.store import make_engine, migrate  # noqa: E402
from bot.store.base import NewTicket  # noqa: E402
from bot.store.queue import TicketQueue  # noqa: E402
from bot.store.sql import SqlStore  # noqa: E402

AT = dt.datetime(2020, 3, 23, 10, tzinfo=TZ)


def worker(url: str, worker_id: int, pairs: int, barrier: Any, results: Any) -> None:
    """Create and claim `pairs` tickets; report (start, end, per-pair latencies in seconds)."""
    engine = make_engine(url)
    store = SqlStore(engine)
    queue = TicketQueue(store)
    service = StaffService(queue, clock=lambda: AT)
    staff = Staff("cli", f"staff{worker_id}")
    queue.get("warm-up")
    barrier.wait()
    latencies = []
    start = time.perf_counter()
    for i in range(pairs):
        t0 = time.perf_counter()
        new = NewTicket(Address("telegram", f"w{worker_id}-{i}"), f"u{worker_id}", "复工备案找谁", AT, f"m{i}")
        ticket = store.open_ticket(new)
        service.claim(staff, ticket.number)
        latencies.append(time.perf_counter() - t0)
    results.put((start, time.perf_counter(), latencies))
    engine.dispose()


def run(url: str, workers: int, pairs: int) -> dict[str, float]:
    """One measurement: `workers` processes, `pairs` each, on a freshly migrated database."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, w, pairs, barrier, results)) for w in range(workers)]
    for p in procs:
        p.start()
    out = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    wall = max(o[1] for o in out) - min(o[0] for o in out)
    lat = sorted(x for o in out for x in o[2])
    return {
        "pairs": len(lat),
        "rate": len(lat) / wall,
        "median": statistics.median(lat) * 1000,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
    }


def sqlite_db(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}.db"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


class PgSchema:
    """A private schema on the server, dropped on exit."""

    def __init__(self, base: str) -> None:
        self.base, self.schema = base, f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = make_engine(base)

    def __enter__(self) -> str:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        url = f"{self.base}{'&' if '?' in self.base else '?'}options=-csearch_path%3D{self.schema}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        return url

    def __exit__(self, *_exc: object) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=400, help="create+claim pairs per worker (default 400)")
    ap.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 4):
            rows.append(("SQLite", workers, run(sqlite_db(Path(tmp), f"w{workers}"), workers, args.pairs)))
    if not args.no_pg:
        for workers in (1, 4):
            with PgSchema(args.pg) as url:
                rows.append(("PostgreSQL", workers, run(url, workers, args.pairs)))
    baseline = rows[0][2]["rate"]
    print(f"{'backend':<11} {'workers':>7} {'pairs':>6} {'pairs/s':>8} {'median ms':>9} {'p99 ms':>7} {'vs base':>7}")
    for backend, workers, r in rows:
        print(f"{backend:<11} {workers:>7} {r['pairs']:>6.0f} {r['rate']:>8.0f} {r['median']:>9.2f} {r['p99']:>7.2f} "
              f"{r['rate'] / baseline:>6.2f}×")  # fmt: skip
    pg4 = [r for b, w, r in rows if b == "PostgreSQL" and w == 4]
    if pg4:
        verdict = "met" if pg4[0]["rate"] >= 500 else "NOT met"
        print(f"target ≥ 500 pairs/s on PostgreSQL with 4 workers: {verdict} ({pg4[0]['rate']:.0f}/s)")


if __name__ == "__main__":
    main()
