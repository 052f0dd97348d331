"""How an FAQ answer reads to an enterprise: question, district wording, sources, validity, department."""

from __future__ import annotations

import datetime as dt

from bot.models import FaqEntry


def format_validity(entry: FaqEntry, today: dt.date) -> str | None:
    """One line on the policy period; says plainly when it has expired as of `today`; none for a standing rule."""
    start = entry.valid_from.isoformat() if entry.valid_from else "发布之日"
    if entry.end_unknown:
        return f"有效期：{start} 起；截止日期未查到，现在是否仍在执行请向负责部门确认"
    if entry.permanent or not entry.valid_until:
        return None
    line = f"有效期：{start} 至 {entry.valid_until.isoformat()}"
    if entry.expired_on(today):
        line += "（该政策已到期，以上为当时的规定，仅供参考；现行规定请咨询负责部门）"
    elif entry.valid_from and entry.valid_from > today:
        line += "（尚未开始执行）"
    return line


def format_sources(entry: FaqEntry, district: str | None) -> str:
    """The 依据 line: the documents this user may see, or who to ask when there is none."""
    sources = entry.citable_sources(district)
    if not sources:
        department = entry.department_for(district).replace("；", "或")
        return f"依据：暂无可向您引用的公开文件，请向{department}咨询"
    return "依据：" + "；".join(s.citation() for s in sources)


def format_answer(entry: FaqEntry, district: str | None, today: dt.date) -> str:
    """The full answer as a user reads it: question, district wording, sources, validity, department."""
    lines = [f"【{entry.question}】", entry.answer_for(district), format_sources(entry, district)]
    validity = format_validity(entry, today)
    if validity:
        lines.append(validity)
    lines.append(f"负责部门：{entry.department_for(district)}")
    if district in entry.regions:
        lines.append(f"（已按{district}口径答复）")
    elif entry.regions and not district:
        lines.append(f"提示：{'、'.join(entry.regions)}另有具体口径，回复“切换区县”选择您所在区县可查看。")
    return "\n".join(lines)
