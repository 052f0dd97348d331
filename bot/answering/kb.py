"""Load and validate the FAQ knowledge base (`faq/*.yaml`).

Every problem is reported with the file, the entry id and the field, because the people fixing it are staff
editing YAML, not developers reading tracebacks. Loading collects all problems before failing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.models import DISTRICTS, FaqEntry, RegionVariant, Source


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader (5x faster start) that keeps dates as text, so a bad date names its entry."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (yaml reads it as a class attribute)
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


SPECIAL_FILES = {"synonyms.yaml", "overrides.yaml", "out-of-scope.yaml", "intents.yaml"}
ESCALATE = "escalate"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
REQUIRED = ("id", "category", "question", "answer", "department", "sources")
ALLOWED = set(REQUIRED) | {"alternates", "keywords", "facts", "valid_from", "valid_until", "regions", "related"}
SOURCE_FIELDS = {"title", "number", "issuer", "date", "url", "notes", "district", "cite"}
PERMANENT = "permanent"  # valid_until of a standing rule (a law): no end date, no expiry note
UNKNOWN = "unknown"  # valid_until when no source confirms the end date (say less, never guess one)
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
REGION_FIELDS = {"extra", "answer", "department"}


class KbError(ValueError):
    """The knowledge base is invalid; `problems` lists every finding, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("FAQ 校验失败:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class KnowledgeBase:
    entries: dict[str, FaqEntry]
    synonyms: dict[str, str] = field(default_factory=dict)  # variant → canonical
    overrides: dict[str, str | None] = field(default_factory=dict)  # question → entry id, None = escalate
    out_of_scope: tuple[str, ...] = ()  # phrasings we know we do not answer
    intents: tuple[tuple[str, ...], ...] = ()  # groups of words that name what a question asks for (解除, 年报 …)

    @property
    def categories(self) -> list[str]:
        """Categories in file order, each once."""
        return list(dict.fromkeys(e.category for e in self.entries.values()))

    def in_category(self, category: str) -> list[FaqEntry]:
        return [e for e in self.entries.values() if e.category == category]


class _Problems:
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


def _strings(value: Any) -> list[str] | None:
    """A list of non-empty strings, or None if `value` is not one."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    items = [str(v).strip() for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
    if len(items) != len(value) or not all(items):
        return None
    return items


def _parse_entry(raw: Any, file: str, index: int, p: _Problems) -> FaqEntry | None:
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
        value = _strings(raw.get(name))
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


def _parse_validity(raw: dict[str, Any], file: str, eid: str, p: _Problems) -> _Validity:
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


def _parse_sources(raw: Any, file: str, eid: str, p: _Problems) -> list[Source]:
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


def _parse_regions(raw: Any, file: str, eid: str, p: _Problems) -> dict[str, RegionVariant]:
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


def _read_yaml(path: Path, p: _Problems) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        p.add(path.name, None, None, f"YAML 无法解析: {exc}".replace("\n", " "))
        return None


def _load_synonyms(path: Path, p: _Problems) -> dict[str, str]:
    """synonyms.yaml maps a canonical form to its variants: `社保: [社会保险, 五险]`."""
    raw = _read_yaml(path, p) if path.exists() else {}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        p.add(path.name, None, None, "应为 规范词: [同义词, …] 的映射")
        return {}
    out: dict[str, str] = {}
    for canonical, variants in raw.items():
        values = _strings(variants)
        if not isinstance(canonical, str) or values is None:
            p.add(path.name, str(canonical), None, "同义词应为非空文本列表")
            continue
        for v in values:
            if v in out and out[v] != canonical:
                p.add(path.name, str(canonical), None, f"“{v}”同时属于“{out[v]}”和“{canonical}”")
            out[v] = canonical
    return out


def _load_overrides(path: Path, ids: Iterable[str], p: _Problems) -> dict[str, str | None]:
    """overrides.yaml maps a question to an entry id, or to `escalate`."""
    raw = _read_yaml(path, p) if path.exists() else {}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        p.add(path.name, None, None, "应为 问题: 条目id 或 escalate 的映射")
        return {}
    known = set(ids)
    out: dict[str, str | None] = {}
    for question, target in raw.items():
        target = str(target).strip()
        if target != ESCALATE and target not in known:
            p.add(path.name, str(question), None, f"指向不存在的条目 {target}")
            continue
        out[str(question)] = None if target == ESCALATE else target
    return out


def load(faq_dir: Path | str) -> KnowledgeBase:
    """Read every YAML file in `faq_dir`; raise KbError listing all problems."""
    faq_dir = Path(faq_dir)
    p = _Problems()
    if not faq_dir.is_dir():
        raise KbError([f"{faq_dir}: FAQ 目录不存在"])
    entries: dict[str, FaqEntry] = {}
    for path in sorted(faq_dir.glob("*.yaml")):
        if path.name in SPECIAL_FILES:
            continue
        raw = _read_yaml(path, p)
        if raw is None:
            continue
        if not isinstance(raw, list):
            p.add(path.name, None, None, "文件内容应为条目列表")
            continue
        for i, item in enumerate(raw):
            entry = _parse_entry(item, path.name, i, p)
            if entry is None:
                continue
            if entry.id in entries:
                p.add(path.name, entry.id, "id", f"重复，已在 {entries[entry.id].file} 中定义")
                continue
            entries[entry.id] = entry
    if not entries and not p.items:
        p.add(str(faq_dir), None, None, "没有任何 FAQ 条目")
    for entry in entries.values():
        for rid in entry.related:
            if rid == entry.id or rid not in entries:
                p.add(entry.file, entry.id, "related", f"未知或指向自身的条目 {rid}")
    synonyms = _load_synonyms(faq_dir / "synonyms.yaml", p)
    overrides = _load_overrides(faq_dir / "overrides.yaml", entries, p)
    oos_raw = _read_yaml(faq_dir / "out-of-scope.yaml", p) if (faq_dir / "out-of-scope.yaml").exists() else []
    out_of_scope = _strings(oos_raw)
    if out_of_scope is None:
        p.add("out-of-scope.yaml", None, None, "应为问题文本列表")
    intents = _load_intents(faq_dir / "intents.yaml", p)
    if p.items:
        raise KbError(p.items)
    return KnowledgeBase(entries, synonyms, overrides, tuple(out_of_scope or ()), intents)


def _load_intents(path: Path, p: _Problems) -> tuple[tuple[str, ...], ...]:
    """intents.yaml lists groups of words that name one kind of ask: `- [解除, 辞退, 开除]`."""
    raw = _read_yaml(path, p) if path.exists() else []
    if not isinstance(raw, list):
        p.add(path.name, None, None, "应为词组列表，每组如 [解除, 辞退, 开除]")
        return ()
    groups = []
    for i, group in enumerate(raw, 1):
        words = _strings(group)
        if not words:
            p.add(path.name, f"#{i}", None, "每组应为非空文本列表")
            continue
        groups.append(tuple(words))
    return tuple(groups)


def catalogue_ids(path: Path) -> list[str]:
    """Topic ids from a catalogue file such as ../shared/faq-topics.yaml."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [str(item["id"]) for item in raw if isinstance(item, Mapping) and "id" in item]
