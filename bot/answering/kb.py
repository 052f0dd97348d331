"""Load and validate the FAQ knowledge base (`faq/*.yaml`).

Every problem is reported with the file, the entry id and the field, because the people fixing it are staff
editing YAML, not developers reading tracebacks. Loading collects all problems before failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.answering.faq_entry import Problems, parse_entry, strings
from bot.models import FaqEntry


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader (5x faster start) that keeps dates as text, so a bad date names its entry."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (yaml reads it as a class attribute)
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


SPECIAL_FILES = {"synonyms.yaml", "overrides.yaml", "out-of-scope.yaml", "intents.yaml"}
REAL_QUESTIONS = "real-questions.jsonl"
ESCALATE = "escalate"


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


def _read_yaml(path: Path, p: Problems) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        p.add(path.name, None, None, f"YAML 无法解析: {exc}".replace("\n", " "))
        return None


def _load_synonyms(path: Path, p: Problems) -> dict[str, str]:
    """synonyms.yaml maps a canonical form to its variants: `社保: [社会保险, 五险]`."""
    raw = _read_yaml(path, p) if path.exists() else {}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        p.add(path.name, None, None, "应为 规范词: [同义词, …] 的映射")
        return {}
    out: dict[str, str] = {}
    for canonical, variants in raw.items():
        values = strings(variants)
        if not isinstance(canonical, str) or values is None:
            p.add(path.name, str(canonical), None, "同义词应为非空文本列表")
            continue
        for v in values:
            if v in out and out[v] != canonical:
                p.add(path.name, str(canonical), None, f"“{v}”同时属于“{out[v]}”和“{canonical}”")
            out[v] = canonical
    return out


def _load_overrides(path: Path, ids: Iterable[str], p: Problems) -> dict[str, str | None]:
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
    p = Problems()
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
            entry = parse_entry(item, path.name, i, p)
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
    out_of_scope = strings(oos_raw)
    if out_of_scope is None:
        p.add("out-of-scope.yaml", None, None, "应为问题文本列表")
    intents = _load_intents(faq_dir / "intents.yaml", p)
    asked = _load_real_questions(faq_dir / REAL_QUESTIONS, entries, p)
    if p.items:
        raise KbError(p.items)
    kb = KnowledgeBase(entries, synonyms, overrides, tuple(out_of_scope or ()), intents)
    return with_real_questions(kb, asked)


def _load_real_questions(path: Path, entries: Mapping[str, FaqEntry], p: Problems) -> list[tuple[str, str | None]]:
    """real-questions.jsonl: questions real enterprises asked on public pages, each labelled with the entry that
    answers it (`expect`) or null when no entry does. One JSON object per line; `source` and `also` are kept for the
    quality bench."""
    if not path.exists():
        return []
    out: list[tuple[str, str | None]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            p.add(path.name, f"第{n}行", None, f"JSON 无法解析: {exc}")
            continue
        question = item.get("q") if isinstance(item, dict) else None
        if not isinstance(question, str) or not question.strip():
            p.add(path.name, f"第{n}行", "q", "应为非空问题文本")
            continue
        target, also = item.get("expect"), strings(item.get("also"))
        labels = [target, *also] if target is not None and also is not None else [target]
        known = all(x is None or (isinstance(x, str) and x in entries) for x in labels)
        if also is None or (target is None and also) or not known:
            p.add(path.name, f"第{n}行", "expect", f"应为已有条目的 id 或 null，also 为条目 id 列表：{line[:80]}")
            continue
        out.append((question.strip(), target))
    return out


def with_real_questions(kb: KnowledgeBase, asked: Iterable[tuple[str, str | None]]) -> KnowledgeBase:
    """Real questions join the index: an answered one as a phrasing of its entry, an unanswered one as an
    out-of-scope exemplar. Real phrasing is what the written alternates miss, and real near misses are what the
    out-of-scope guard must recognise."""
    more: dict[str, list[str]] = {}
    oos = list(kb.out_of_scope)
    for question, target in asked:
        if target is None:
            oos.append(question)
        else:
            more.setdefault(target, []).append(question)
    entries = {
        eid: replace(e, alternates=tuple(dict.fromkeys((*e.alternates, *more[eid])))) if eid in more else e
        for eid, e in kb.entries.items()
    }
    return replace(kb, entries=entries, out_of_scope=tuple(dict.fromkeys(oos)))


def without_phrasings(kb: KnowledgeBase, texts: frozenset[str]) -> KnowledgeBase:
    """The knowledge base with these phrasings removed from every entry and from the exemplars: what a question is
    scored against when it must not meet itself (the quality bench's folds, the tests of near misses)."""
    entries = {
        eid: replace(e, alternates=tuple(a for a in e.alternates if a not in texts)) for eid, e in kb.entries.items()
    }
    return replace(kb, entries=entries, out_of_scope=tuple(x for x in kb.out_of_scope if x not in texts))


def _load_intents(path: Path, p: Problems) -> tuple[tuple[str, ...], ...]:
    """intents.yaml lists groups of words that name one kind of ask: `- [解除, 辞退, 开除]`."""
    raw = _read_yaml(path, p) if path.exists() else []
    if not isinstance(raw, list):
        p.add(path.name, None, None, "应为词组列表，每组如 [解除, 辞退, 开除]")
        return ()
    groups = []
    for i, group in enumerate(raw, 1):
        words = strings(group)
        if not words:
            p.add(path.name, f"#{i}", None, "每组应为非空文本列表")
            continue
        groups.append(tuple(words))
    return tuple(groups)


def catalogue_ids(path: Path) -> list[str]:
    """Topic ids from a catalogue file such as ../shared/faq-topics.yaml."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [str(item["id"]) for item in raw if isinstance(item, Mapping) and "id" in item]
