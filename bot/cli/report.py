"""The `report` and `faq suggest` commands; `cli.main.parser()` registers them with `register`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import App
from bot.cli import Subcommands

if TYPE_CHECKING:
    from bot.reports.week import IsoWeek


def _week(app: App, label: str | None) -> IsoWeek:
    from bot.reports.week import IsoWeek

    return IsoWeek.parse(label) if label else IsoWeek.last_before(app.settings.bot_today())


def cmd_report(app: App, args: argparse.Namespace) -> int:
    """Build one week's report; print it, or write it into --out and print the summary."""
    from bot.reports.build import build_report
    from bot.reports.document import render
    from bot.reports.week import WeekError

    try:
        week = _week(app, args.week)
    except WeekError as exc:
        print(exc, file=sys.stderr)
        return 2
    src = app.report_source()
    report = build_report(src.reader, src.kb, src.matcher, week, app.settings.bot_today())
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


def cmd_faq_suggest(app: App, args: argparse.Namespace) -> int:
    """Accepted clusters → YAML stubs on stdout or in a new file outside faq/."""
    from bot.reports.build import build_report
    from bot.reports.suggest import SuggestError, parse_numbers, read_csv, select, stubs_yaml
    from bot.reports.week import WeekError

    settings = app.settings
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
            week = _week(app, args.week)
            src = app.report_source()
            report = build_report(src.reader, src.kb, src.matcher, week, settings.bot_today())
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


def register(sub: Subcommands, faq_sub: Subcommands) -> None:
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
