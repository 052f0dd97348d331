"""Weekly report generation time for 10,000 and 100,000 questions in one week (SQLite, bulk-inserted rows).

    .venv/bin/python bench/bench_report.py [--sizes 10000,100000] [--runs 3]

Prints one table: the baseline (an empty week, same process), then each size — median and p99 of the
whole build (queries, clustering, sections) plus rendering Markdown, HTML and CSV.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App
from bot.config import TZ, Settings
from bot.reports import IsoWeek, build_report, render
from bot.store import make_engine, migrate
from bot.store.reports import ReportStore
from bot.store.schema import messages, tickets

WEEK = IsoWeek(2026, 47)
NEEDS = [
    ("叉车操作证", "到期换证"),
    ("公司公章", "丢了补刻"),
    ("员工宿舍", "最多住几个人"),
    ("食堂", "能不能堂食"),
    ("外地货车", "进不了城"),
    ("锅炉年检证书", "丢了补办"),
    ("出口订单", "被取消怎么办"),
    ("厂房消防验收", "怎么预约"),
    ("员工核酸检测", "费用谁出"),
    ("电梯年检", "能不能延期"),
    ("污水排放许可", "到期续办"),
    ("网约车司机", "有补贴吗"),
    ("直播带货", "怎么办执照"),
    ("危化品仓库", "复工检查"),
    ("外籍员工", "签证到期"),
    ("商标注册", "加急"),
]
LEADS = ["", "请问", "你好，", "我们厂", "想问一下", "麻烦问下，", "我们公司"]
TAILS = ["", "吗", "？", "，急", "，在线等", "怎么办", "去哪里办"]
ANSWERED = ["社保费能缓缴吗", "稳岗返还怎么申请", "房租能减免吗", "电费能降吗", "工伤认定怎么申请"]
FAQ_IDS = ["si.deferral", "job.stable-refund-apply", "rent.private", "utility.electricity", "injury.online-apply"]


def gap_text(rng: random.Random) -> str:
    subject, need = NEEDS[min(int(rng.expovariate(0.25)), len(NEEDS) - 1)]
    pii = rng.choice(["", "", "", f"电话1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)}，"])
    return f"{rng.choice(LEADS)}{pii}{subject}{need}{rng.choice(TAILS)}"


def fill(url: str, n: int, seed: int = 7) -> None:
    """`n` questions in WEEK (55% answered, 15% suggested, 30% escalated with a ticket), 1,000 the week before."""
    rng = random.Random(seed)
    engine = make_engine(url)
    migrate(engine)
    start = WEEK.start
    rows, ticket_rows = [], []
    for i in range(n + 1000):
        at = (start if i < n else start - dt.timedelta(days=7)) + dt.timedelta(seconds=rng.randrange(7 * 86400))
        base = {
            "at": at,
            "direction": "in",
            "channel": rng.choice(["telegram", "wechat"]),
            "chat_id": f"c{i}",
            "user_id": f"u{i}",
            "kind": "text",
            "district": rng.choice(["二七区", "上街区", "中牟县", None]),
        }
        roll = rng.random()
        if roll < 0.55:
            k = rng.randrange(len(ANSWERED))
            rows.append(
                {
                    **base,
                    "text": ANSWERED[k],
                    "outcome": "answer",
                    "faq_id": FAQ_IDS[k],
                    "score": 90.0,
                    "candidates": [{"id": FAQ_IDS[k], "score": 90.0}],
                    "ticket_id": None,
                }
            )
        elif roll < 0.70:
            rows.append(
                {
                    **base,
                    "text": gap_text(rng),
                    "outcome": "suggest",
                    "faq_id": None,
                    "score": 50.0,
                    "candidates": [{"id": "si.deferral", "score": 50.0}],
                    "ticket_id": None,
                }
            )
        else:
            tid = len(ticket_rows) + 1
            text = gap_text(rng)
            ticket_rows.append(
                {
                    "id": tid,
                    "number": f"FG-{tid:07d}",
                    "created_at": at,
                    "updated_at": at,
                    "channel": base["channel"],
                    "chat_id": base["chat_id"],
                    "user_id": base["user_id"],
                    "question": text,
                    "status": "待认领",
                    "tier": "常规",
                    "department": "区复工复产服务专班",
                    "due_at": at + dt.timedelta(days=1),
                }
            )
            rows.append(
                {
                    **base,
                    "text": text,
                    "outcome": "escalate",
                    "faq_id": None,
                    "score": 20.0,
                    "candidates": None,
                    "ticket_id": tid,
                }
            )
    with engine.begin() as conn:
        conn.execute(tickets.insert(), ticket_rows)
        conn.execute(messages.insert(), rows)
    engine.dispose()


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def p99(xs: list[float]) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    app = App(Settings())  # the shipped FAQ; the report's matcher is lexical, as `run_bot.py report` builds it
    kb, matcher = app.kb, app.matcher(semantic=False)
    today = dt.date(2026, 11, 23)
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    header = f"{'questions':>10} | {'runs':>4} | {'median s':>9} | {'p99 s':>7} | {'gap qs':>7} | {'clusters':>8}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [0, *(int(s) for s in args.sizes.split(","))]
        for n in sizes:
            url = f"sqlite:///{tmp}/bench-{n}.db"
            fill(url, n)
            engine = make_engine(url)
            result = {}

            def once(engine=engine, result=result) -> None:  # type: ignore[no-untyped-def]
                report = build_report(ReportStore(engine), kb, matcher, WEEK, today, now)
                for fmt in ("md", "html", "csv"):
                    render(report, fmt)
                result["report"] = report

            times = timed(once, args.runs)
            report = result["report"]
            label = "0 (base)" if n == 0 else f"{n:,}"
            print(
                f"{label:>10} | {args.runs:>4} | {statistics.median(times):>9.2f} | {p99(times):>7.2f} | "
                f"{report.gap_questions:>7,} | {len(report.clusters):>8,}"
            )
            engine.dispose()


if __name__ == "__main__":
    main()
