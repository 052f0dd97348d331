"""The `report` and `faq suggest` commands; `cli.parser()` registers them with `add_report_commands`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings


def _context(settings: Settings) -> tuple[Any, Any, Any]:
    """(engine, kb, matcher) on the configured database and FAQ."""
    from bot.answering.kb import load
    from bot.cli.main import build_matcher
    from bot.store import open_store

    kb = load(settings.faq_dir)
    return (
        open_store(settings.database_url, settings.ticket_prefix).engine,
        kb,
        build_matcher(settings, kb, semantic=False),
    )


def _week(settings: Settings, label: str | None) -> Any:
    from bot.reports import IsoWeek

    return IsoWeek.parse(label) if label else IsoWeek.last_before(settings.bot_today())


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """Build one week's report; print it, or write it into --out and print the summary."""
    from bot.reports import WeekError, build_report, render

    try:
        week = _week(settings, args.week)
    except WeekError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine, kb, matcher = _context(settings)
    report = build_report(engine, kb, matcher, week, settings.bot_today())
    doc = render(report, args.format, max(args.top, 0))
    if args.out is None:
        sys.stdout.buffer.write(doc.data)
        sys.stdout.flush()
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / doc.filename).write_bytes(doc.data)
    except OSError as exc:
        print(f"无法写入 {out}：{exc}", file=sys.stderr)
        return 1
    print(f"已生成 {out / doc.filename}")
    print(doc.summary)
    return 0


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def cmd_faq_suggest(settings: Settings, args: argparse.Namespace) -> int:
    """Accepted clusters → YAML stubs on stdout or in a new file outside faq/."""
    from bot.reports import WeekError, build_report
    from bot.reports.suggest import SuggestError, parse_numbers, read_csv, select, stubs_yaml

    out = Path(args.out) if args.out else None
    if out is not None and _inside(out, settings.faq_dir):
        print(f"不会写入 FAQ 目录 {settings.faq_dir}：请输出到其他位置，核对后再人工并入。", file=sys.stderr)
        return 2
    if out is not None and out.exists():
        print(f"{out} 已存在，为避免覆盖请换一个文件名。", file=sys.stderr)
        return 2
    try:
        if args.csv:
            proposals = read_csv(Path(args.csv))
        else:
            if not args.clusters:
                raise SuggestError("请指定 --clusters（配合 --week）或 --csv")
            numbers = parse_numbers(args.clusters)
            week = _week(settings, args.week)
            engine, kb, matcher = _context(settings)
            report = build_report(engine, kb, matcher, week, settings.bot_today())
            proposals = select(week.label, report.clusters, numbers)
    except (SuggestError, WeekError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not proposals:
        print("没有被采纳的组（CSV 的“采纳”列填“是”的行）。", file=sys.stderr)
        return 1
    text = stubs_yaml(proposals)
    if out is None:
        sys.stdout.write(text)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("x", encoding="utf-8") as fh:
        fh.write(text)
    print(f"已写入 {out}（{len(proposals)} 组）")
    return 0


def add_report_commands(sub: Any, faq_sub: Any) -> None:
    """Register `report` on the top-level subparsers and `suggest` under `faq`."""
    report = sub.add_parser("report", help="weekly FAQ gap report (md, html or csv)")
    report.add_argument("--week", help="ISO week such as 2026-W47 (default: last week, Asia/Shanghai)")
    report.add_argument("--format", choices=["md", "html", "csv"], default="md")
    report.add_argument("--out", help="folder to write faq-report-<week>.<ext> into (default: stdout)")
    report.add_argument("--top", type=int, default=20, help="clusters shown in detail (default 20)")
    report.set_defaults(func=cmd_report)
    suggest = faq_sub.add_parser("suggest", help="accepted report clusters → YAML stubs for faq/")
    suggest.add_argument("--week", help="report week, e.g. 2026-W47 (default: last week)")
    suggest.add_argument("--clusters", help="accepted cluster numbers, e.g. 1,3 or 2-5")
    suggest.add_argument("--csv", help="a report CSV whose 采纳 column marks accepted rows")
    suggest.add_argument("--out", help="new YAML file to write (never inside faq/; default: stdout)")
    suggest.set_defaults(func=cmd_faq_suggest)
