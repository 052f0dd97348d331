"""`run_bot.py match` (JSON Lines decisions) and `run_bot.py faq check` (the knowledge base's own checks)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import App
from bot.cli import Subcommands
from bot.config import ROOT
from bot.models import Outcome

if TYPE_CHECKING:
    from bot.answering.matcher import Matcher


def match_line(matcher: Matcher, line: str) -> dict[str, object]:
    """One JSON Lines question → the matcher's decision as a JSON object (an error field for a bad line)."""
    try:
        item = json.loads(line)
        question = item["q"] if isinstance(item, dict) else None
        if not isinstance(question, str):
            raise ValueError("missing string field 'q'")
    except (ValueError, KeyError) as exc:
        return {"q": None, "outcome": Outcome.ESCALATE.value, "id": None, "score": 0.0, "candidates": [],
                "error": f"bad input line: {exc}"}  # fmt: skip
    m = matcher.match(question)
    return {
        "q": question,
        "outcome": m.outcome.value,
        "id": m.id,
        "score": round(m.score, 1),
        "candidates": [{"id": c.id, "score": c.score} for c in m.candidates],
    }


def cmd_match(app: App, _args: argparse.Namespace) -> int:
    """JSON Lines in ({"q": …}), one decision per line out, in order."""
    matcher = app.matcher()
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(match_line(matcher, line), ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def default_catalogue() -> Path | None:
    for path in (os.environ.get("FAQ_CATALOGUE"), ROOT.parent / "shared" / "faq-topics.yaml"):
        if path and Path(path).is_file():
            return Path(path)
    return None


def faq_report(app: App, catalogue: Path | None) -> tuple[list[str], list[str]]:
    """(errors, infos) for `faq check`; raises KbError when the files themselves are invalid."""
    from bot.answering.kb import catalogue_ids

    kb = app.kb
    matcher = app.matcher(semantic=False)  # the checks are lexical; no need to load the model
    errors: list[str] = []
    infos: list[str] = []
    if catalogue is None:
        infos.append("未找到主题目录（FAQ_CATALOGUE 或 ../shared/faq-topics.yaml），跳过目录核对")
    else:
        missing = [i for i in catalogue_ids(catalogue) if i not in kb.entries]
        errors += [f"目录中的主题缺失: {i}" for i in missing]
    weak = 0
    for entry in kb.entries.values():
        for phrasing in (entry.question, *entry.alternates):
            m = matcher.match(phrasing)
            if m.outcome is Outcome.ANSWER and m.id != entry.id:
                errors.append(f"{entry.file}: 条目 {entry.id}: 问法“{phrasing}”被匹配到 {m.id}（冲突）")
            elif m.outcome is not Outcome.ANSWER:
                weak += 1
    today = app.settings.bot_today()
    expired = [e.id for e in kb.entries.values() if e.expired_on(today)]
    if expired:
        infos.append(f"{len(expired)} 个条目的政策有效期已于 {today} 前到期（回答中会注明）: {', '.join(expired)}")
    unknown = [e.id for e in kb.entries.values() if e.end_unknown]
    if unknown:
        infos.append(f"{len(unknown)} 个条目的截止日期未查到（回答中请用户向负责部门确认）: {', '.join(unknown)}")
    if weak:
        infos.append(f"{weak} 个问法未被直接回答（给出候选或转人工），可考虑调整")
    if warning := app.calendar_warning():
        infos.append(warning)
    n_alt = sum(len(e.alternates) for e in kb.entries.values())
    infos.insert(
        0, f"{len(kb.entries)} 个条目，{n_alt} 个问法，{len(kb.categories)} 个类别，{len(kb.synonyms)} 个同义词"
    )
    return errors, infos


def cmd_faq_check(app: App, args: argparse.Namespace) -> int:
    """Validate the knowledge base; non-zero exit on any error."""
    from bot.answering.kb import KbError

    catalogue = Path(args.catalogue) if args.catalogue else default_catalogue()
    try:
        errors, infos = faq_report(app, catalogue)
    except KbError as exc:
        print(exc, file=sys.stderr)
        return 1
    for line in infos:
        print(f"信息: {line}")
    for line in errors:
        print(f"错误: {line}")
    print("FAQ 检查未通过" if errors else "FAQ 检查通过")
    return 1 if errors else 0


def register(sub: Subcommands) -> Subcommands:
    """Add `match` and `faq check`; returns `faq`'s own subcommands for the report's `faq suggest`."""
    match = sub.add_parser("match", help='JSON Lines {"q": …} on stdin → one decision per line')
    match.set_defaults(func=cmd_match)
    faq = sub.add_parser("faq", help="knowledge-base tools")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    check = faq_sub.add_parser("check", help="validate faq/ and report collisions, expiry, catalogue gaps")
    check.add_argument("--catalogue", help="topic catalogue (default: FAQ_CATALOGUE or ../shared/faq-topics.yaml)")
    check.set_defaults(func=cmd_faq_check)
    return faq_sub
