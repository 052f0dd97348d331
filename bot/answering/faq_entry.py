"""One FAQ entry as staff write it in YAML: its fields, sources, validity and district variants, checked.

Every problem names the file, the entry id and the field, because the people fixing it are staff editing YAML.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bot.models import DISTRICTS, FaqEntry, RegionVariant, Source

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
REQUIRED = ("id", "category", "question", "answer", "department", "sources")
ALLOWED = set(REQUIRED) | {"alternates", "keywords", "facts", "valid_from", "valid_until", "regions", "related"}
SOURCE_FIELDS = {"title", "number", "issuer", "date", "url", "notes", "district", "cite"}
PERMANENT = "permanent"  # valid_until of a standing rule (a law): no end date, no expiry note
UNKNOWN = "unknown"  # valid_until when no source confirms the end date (say less, never guess one)
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
REGION_FIELDS = {"extra", "answer", "department"}


class Problems:
    """Every finding of one load, each naming its file, entry and field, so staff can fix them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, entry: str | None, field_: str | None, message: str) -> None:
        where = file + (f": 条目 {entry}" if entry else "") + (f": 字段 {field_}" if field_ else "")
        self.items.append(f"{where}: {message}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise ValueError(value)


def strings(value: Any) -> list[str] | None:
    """A list of non-empty strings, or None if `value` is not one."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    items = [str(v).strip() for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
    if len(items) != len(value) or not all(items):
        return None
    return items


def parse_entry(raw: Any, file: str, index: int, p: Problems) -> FaqEntry | None:
    if not isinstance(raw, dict):
        p.add(file, f"#{index + 1}", None, "条目必须是键值对（mapping）")
        return None
    eid = str(raw.get("id") or f"#{index + 1}")
    errors_before = len(p.items)
    for name in REQUIRED:
        if raw.get(name) in (None, "", []):
            p.add(file, eid, name, "缺少或为空")
    for name in sorted(set(raw) - ALLOWED):
        p.add(file, eid, name, f"未知字段（允许: {', '.join(sorted(ALLOWED))}）")
    if "id" in raw and not ID_RE.match(eid):
        p.add(file, eid, "id", "格式应为小写点分形式，如 si.deferral")
    for name in ("category", "question", "answer", "department"):
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            p.add(file, eid, name, "应为文本")
    lists = {}
    for name in ("alternates", "keywords", "facts", "related"):
        value = strings(raw.get(name))
        if value is None:
            p.add(file, eid, name, "应为非空文本组成的列表")
        lists[name] = value or []
    validity = _parse_validity(raw, file, eid, p)
    sources = _parse_sources(raw.get("sources"), file, eid, p)
    regions = _parse_regions(raw.get("regions"), file, eid, p)
    if len(p.items) > errors_before:
        return None
    return FaqEntry(
        id=eid,
        category=raw["category"].strip(),
        question=raw["question"].strip(),
        answer=raw["answer"].strip(),
        department=raw["department"].strip(),
        sources=tuple(sources),
        alternates=tuple(lists["alternates"]),
        keywords=tuple(lists["keywords"]),
        facts=tuple(lists["facts"]),
        valid_from=validity.valid_from,
        valid_until=validity.valid_until,
        permanent=validity.word == PERMANENT,
        end_unknown=validity.word == UNKNOWN,
        regions=regions,
        related=tuple(lists["related"]),
        file=file,
    )


@dataclass(frozen=True)
class _Validity:
    valid_from: dt.date | None
    valid_until: dt.date | None
    word: str  # "permanent", "unknown", or "" when valid_until is a date


def _parse_validity(raw: dict[str, Any], file: str, eid: str, p: Problems) -> _Validity:
    """valid_from (optional date) and valid_until (required: a date, `permanent` or `unknown`)."""
    word = str(raw.get("valid_until") or "").strip()
    if not word:
        p.add(file, eid, "valid_until", "缺少：填写截止日期 YYYY-MM-DD；长期有效的规定写 permanent，查不到写 unknown")
    dates: dict[str, dt.date | None] = {"valid_from": None, "valid_until": None}
    for name in dates:
        if raw.get(name) in (None, "") or (name == "valid_until" and word in (PERMANENT, UNKNOWN)):
            continue
        try:
            dates[name] = _date(raw[name])
        except ValueError:
            words = "；长期有效的规定写 permanent，查不到写 unknown" if name == "valid_until" else ""
            p.add(file, eid, name, f"日期无效: {raw[name]!r}（应为 YYYY-MM-DD{words}）")
    if dates["valid_from"] and dates["valid_until"] and dates["valid_from"] > dates["valid_until"]:
        p.add(file, eid, "valid_until", "早于 valid_from")
    return _Validity(dates["valid_from"], dates["valid_until"], word if word in (PERMANENT, UNKNOWN) else "")


def _parse_sources(raw: Any, file: str, eid: str, p: Problems) -> list[Source]:
    if raw in (None, []):
        return []  # reported as missing already
    if not isinstance(raw, list):
        p.add(file, eid, "sources", "应为列表")
        return []
    out = []
    for i, src in enumerate(raw, 1):
        where = f"sources[{i}]"
        if not isinstance(src, dict) or not str(src.get("title") or "").strip():
            p.add(file, eid, where, "每个来源必须有 title")
            continue
        for name in sorted(set(src) - SOURCE_FIELDS):
            p.add(file, eid, f"{where}.{name}", "未知字段")
        date, month_only = None, False
        if src.get("date") not in (None, ""):
            month_only = bool(MONTH_RE.match(str(src["date"]).strip()))
            try:
                date = _date(f"{str(src['date']).strip()}-01" if month_only else src["date"])
            except ValueError:
                p.add(file, eid, f"{where}.date", f"日期无效: {src['date']!r}（应为 YYYY-MM-DD，只知月份写 YYYY-MM）")

        district = str(src.get("district") or "").strip() or None
        if district is not None and district not in DISTRICTS:
            p.add(file, eid, f"{where}.district", f"未知区县 {district}（可用: {'、'.join(DISTRICTS)}）")
        cite = src.get("cite", True)
        if not isinstance(cite, bool):
            p.add(file, eid, f"{where}.cite", "应为 true 或 false")
            cite = True
        if "；" in str(src["title"]) or ";" in str(src["title"]):
            p.add(file, eid, f"{where}.title", "一个来源只写一个文件标题；多个文件请分列多个来源")

        def text(name: str, src: dict[str, Any] = src) -> str | None:
            value = src.get(name)
            return str(value).strip() if value not in (None, "") else None

        out.append(
            Source(
                title=str(src["title"]).strip().strip("《》"),
                number=text("number"),
                issuer=text("issuer"),
                date=date,
                url=text("url"),
                notes=text("notes"),
                district=district,
                cite=cite,
                month_only=month_only,
            )
        )
    return out


def _parse_regions(raw: Any, file: str, eid: str, p: Problems) -> dict[str, RegionVariant]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        p.add(file, eid, "regions", "应为 区县: {extra|answer: …} 的映射")
        return {}
    out = {}
    for district, variant in raw.items():
        where = f"regions.{district}"
        if district not in DISTRICTS:
            p.add(file, eid, where, f"未知区县（可用: {'、'.join(DISTRICTS)}）")
            continue
        if not isinstance(variant, dict):
            p.add(file, eid, where, "应为 {extra: …} 或 {answer: …}")
            continue
        for name in sorted(set(variant) - REGION_FIELDS):
            p.add(file, eid, f"{where}.{name}", "未知字段")
        texts = {k: str(variant[k]).strip() for k in ("extra", "answer") if str(variant.get(k) or "").strip()}
        if len(texts) != 1:
            p.add(file, eid, where, "必须且只能填写 extra（追加）或 answer（替换）之一，且不能为空")
            continue
        dept = str(variant.get("department") or "").strip() or None
        out[district] = RegionVariant(extra=texts.get("extra"), answer=texts.get("answer"), department=dept)
    return out
