"""Accepted gap clusters → YAML stubs for faq/ (drafts for staff to complete, never written into faq/).

Clusters come either from a report week and their numbers (`--week 2026-W47 --clusters 1,3`) or from the
report's CSV with the 采纳 column filled in, in which case the (possibly edited) CSV text is used.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.desk.neutralize import csv_uncell
from bot.reports.model import ACTION_NAMES, Cluster
from bot.reports.render_csv import LIST_SEP

ACCEPTED = frozenset({"是", "采纳", "接受", "y", "yes", "1", "true", "x", "✓", "√", "ok", "accepted"})
ACCEPT_COLUMNS = ("采纳", "accepted")
TODO = "待补充"


class SuggestError(ValueError):
    """Bad cluster numbers or an unreadable CSV; the message is Chinese, for the command line."""


@dataclass(frozen=True)
class Proposal:
    """One accepted cluster, as much as a stub needs."""

    week: str
    number: int
    action: str  # "new" | "alternates"
    closest_id: str | None
    question: str
    phrasings: tuple[str, ...]
    answer: str | None
    department: str | None
    category: str | None


def from_cluster(week: str, c: Cluster) -> Proposal:
    return Proposal(
        week, c.number, c.action, c.closest_id, c.draft_question, c.phrasings, c.draft_answer, c.department, c.category
    )


def parse_numbers(raw: str) -> list[int]:
    """`1,3,5-7` → [1, 3, 5, 6, 7]."""
    numbers: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in raw.replace("，", ",").split(","))):
            lo, _, hi = part.partition("-")
            numbers += range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise SuggestError(f"无法识别的编号“{raw}”，请写成 1,3 或 2-5") from None
    if not numbers:
        raise SuggestError("请用 --clusters 指定要采纳的组编号，例如 --clusters 1,3")
    return numbers


def select(week: str, clusters: Sequence[Cluster], numbers: Iterable[int]) -> list[Proposal]:
    by_number = {c.number: c for c in clusters}
    missing = [n for n in numbers if n not in by_number]
    if missing:
        valid = f"1–{len(clusters)}" if clusters else "（本周没有缺口问题）"
        raise SuggestError(f"{week} 没有编号为 {', '.join(map(str, missing))} 的组，可选编号：{valid}")
    return [from_cluster(week, by_number[n]) for n in dict.fromkeys(numbers)]


def _action(label: str) -> str:
    for key, name in ACTION_NAMES.items():
        if label.strip() in (key, name):
            return key
    return "new"


def read_csv(path: Path) -> list[Proposal]:
    """The rows of a report CSV marked as accepted."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuggestError(f"无法读取 {path}：{exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    column = next((c for c in ACCEPT_COLUMNS if c in (reader.fieldnames or ())), None)
    if column is None or "编号" not in (reader.fieldnames or ()):
        raise SuggestError(f"{path} 不是周报的聚类 CSV（缺少“编号”或“采纳”列）")
    out = []
    for raw in reader:
        row = {k: csv_uncell(v) if isinstance(v, str) else v for k, v in raw.items()}
        if (row.get(column) or "").strip().lower() not in ACCEPTED:
            continue
        try:
            number = int(row["编号"])
        except (TypeError, ValueError):
            raise SuggestError(f"{path}: 编号“{row.get('编号')}”不是数字") from None
        phrasings = tuple(p for p in (row.get("可补充问法") or "").split(LIST_SEP) if p.strip())
        out.append(
            Proposal(
                week=row.get("周次") or "",
                number=number,
                action=_action(row.get("建议") or ""),
                closest_id=row.get("最接近条目") or None,
                question=(row.get("草拟问题") or "").strip(),
                phrasings=phrasings,
                answer=(row.get("草拟答复") or "").strip() or None,
                department=row.get("负责部门") or None,
                category=row.get("类别") or None,
            )
        )
    return out


def _slug(p: Proposal) -> str:
    return f"draft.{p.week.lower() or 'week'}-{p.number}"


def _new_entry(p: Proposal) -> dict[str, object]:
    return {
        "id": _slug(p),
        "category": p.category or TODO,
        "question": p.question,
        "alternates": [a for a in p.phrasings if a != p.question],
        "answer": p.answer or f"{TODO}：请根据政策文件撰写答复（规则、条件、金额/比例、期限、办理方式）。",
        "facts": [f"{TODO}：答复中每个数字所依据的原文"],
        "sources": [{"title": f"{TODO}：政策文件名称", "number": TODO, "issuer": TODO}],
        "department": p.department or TODO,
    }


def stubs_yaml(proposals: Sequence[Proposal]) -> str:
    """YAML with `new_entries` (full stubs) and `add_alternates` (phrasings for existing entries)."""
    new = [_new_entry(p) for p in proposals if p.action == "new" or not p.closest_id]
    alternates = [
        {"id": p.closest_id, "from_cluster": f"{p.week} #{p.number}", "alternates": list(p.phrasings)}
        for p in proposals
        if p.action == "alternates" and p.closest_id
    ]
    header = (
        "# 由周报缺口聚类生成的 FAQ 草稿，请核对、补全“待补充”内容后人工并入 faq/*.yaml，\n"
        "# 并运行 `.venv/bin/python run_bot.py faq check`。个人信息已脱敏。\n"
        "# new_entries：新增条目草稿；add_alternates：为已有条目补充的问法。\n"
    )
    body = yaml.safe_dump(
        {"new_entries": new, "add_alternates": alternates}, allow_unicode=True, sort_keys=False, width=120
    )
    return header + body
