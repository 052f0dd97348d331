"""The report as Markdown: what staff read in a chat attachment or paste into a document."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.desk.neutralize import markdown
from bot.reports.fmt import (
    ANSWER_CHARS,
    CLIPPED_NOTE,
    TICKET_HEADER,
    alternates_text,
    change,
    channel,
    clip,
    day,
    pct,
    period,
    satisfaction,
    ticket_rows,
)
from bot.reports.model import OUTCOME_NAMES, Cluster, EntryCount, EntryNote, WeeklyReport

NONE = "无。"


def cell(value: object) -> str:
    """A value inside a table cell or list item: on one line, no table separators, Markdown and HTML as text."""
    return markdown(str(value)).replace("|", "｜").replace("\r", " ").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines if len(lines) > 2 else [NONE]


def _volume(r: WeeklyReport) -> list[str]:
    v = r.volume
    out = ["## 一、咨询量", ""]
    if not v.questions and not v.human_requests:
        return [*out, "本周没有收到咨询。", ""]
    out += [
        f"- 收到问题 **{v.questions}** 个，上周 {v.previous_questions} 个，环比 {change(v.change)}",
        *(
            f"- {name}：{v.by_outcome.get(o, 0)} 个（{pct(v.share(o))}，上周 {pct(v.share(o, previous=True))}）"
            for o, name in OUTCOME_NAMES.items()
        ),
        f"- 用户在答复或候选后要求转人工：{v.human_requests} 次",
        "",
        "按渠道：",
        "",
        *table(["渠道", "问题数", "占比"], ((channel(c), n, pct(n / v.questions)) for c, n in v.by_channel.items())),
        "",
        "按区县：",
        "",
        *table(["区县", "问题数", "占比"], ((d, n, pct(n / v.questions)) for d, n in v.by_district.items())),
        "",
        "按日：",
        "",
        *table(
            ["日期", "问题数", *OUTCOME_NAMES.values()], ((day(d), sum(c.values()), *c.values()) for d, c in v.by_day)
        ),
        "",
    ]
    return out


def _cluster(c: Cluster) -> list[str]:
    closest = f"{c.closest_id}「{cell(c.closest_question)}」，得分 {c.closest_score}" if c.closest_id else "无相近条目"
    question = cell(clip(c.draft_question))
    out = [
        f"### {c.number}. {question}（{c.size} 次，转人工 {c.escalated} 次）",
        "",
        *(f"- 示例：{cell(clip(e))}" for e in c.examples),
        f"- 最接近的条目：{closest}",
        f"- 建议：**{c.action_name}**"
        + (f"（{c.closest_id}）" if c.action == "alternates" else f"，草拟问题：{question}"),
    ]
    if c.action == "alternates":
        out.append("- 可补充的问法：" + cell(alternates_text(c.alternates)))
    if c.draft_answer:
        out.append(f"- 草拟答复（取自工作人员答复）：{cell(clip(c.draft_answer, ANSWER_CHARS))}")
    if c.department:
        out.append(f"- 负责部门：{c.department}")
    if c.tickets:
        out.append(f"- 相关工单：{'、'.join(c.tickets[:5])}" + ("等" if len(c.tickets) > 5 else ""))
    return [*out, ""]


def _gaps(r: WeeklyReport, top: int) -> list[str]:
    out = ["## 二、未答好的问题（FAQ 缺口）", ""]
    if not r.clusters:
        return [*out, "本周没有转人工或低置信度的问题。", ""]
    out += [f"共 {r.gap_questions} 个问题转人工或只给出候选，按需求归为 {len(r.clusters)} 组，由多到少：", ""]
    out += [CLIPPED_NOTE, ""]
    out += table(
        ["序号", "问题数", "示例", "最接近条目（得分）", "建议"],
        (
            (c.number, c.size, clip(c.examples[0]), f"{c.closest_id or '—'}（{c.closest_score}）", c.action_name)
            for c in r.clusters[:top]
        ),
    )
    out.append("")
    for c in r.clusters[:top]:
        out += _cluster(c)
    if len(r.clusters) > top:
        rest = r.clusters[top:]
        out += [f"其余 {len(rest)} 组共 {sum(c.size for c in rest)} 个问题见 CSV 明细。", ""]
    return out


def _counts(title: str, rows: list[EntryCount]) -> list[str]:
    return [f"### {title}", "", *table(["条目", "问题", "次数"], ((e.faq_id, e.question, e.count) for e in rows)), ""]


def _notes(title: str, rows: list[EntryNote], note: str) -> list[str]:
    return [f"### {title}", "", *table(["条目", "问题", note], ((e.faq_id, e.question, e.note) for e in rows)), ""]


def _tickets(r: WeeklyReport) -> list[str]:
    rows = ticket_rows(r.tickets)
    return ["## 四、工单", "", *table(TICKET_HEADER, rows), "", f"满意度：{satisfaction(r.tickets)}", ""]


def render_markdown(r: WeeklyReport, top: int = 20) -> str:
    """The whole report; `top` clusters in detail, the rest counted."""
    lines = [
        f"# 复工复产政策咨询周报 {r.week.label}",
        "",
        f"统计周期：{period(r.week)}（北京时间）　生成时间：{r.generated_at:%Y-%m-%d %H:%M}　"
        f"政策有效期判断日期：{r.today.isoformat()}",
        "",
        "> 示例中的手机号、身份证号、邮箱、姓名等个人信息已脱敏。",
        "",
        *_volume(r),
        *_gaps(r, top),
        "## 三、已有条目",
        "",
        *_counts("用户点“👎没帮助”的条目", r.feedback_down),
        *_counts("答复后用户随即转人工的条目", r.escalated_after_answer),
        *_notes("截至本周从未被匹配的条目", r.never_matched, "类别"),
        *_notes("政策已到期的条目", r.expired, "有效期"),
        *_tickets(r),
        "## 五、工作人员标记的 FAQ 候选",
        "",
        *table(
            ["工单", "问题", "答复", "部门"],
            (
                (p.ticket, clip(p.question), clip(p.answer, ANSWER_CHARS), p.department or "—")
                for p in r.staff_proposals
            ),
        ),
        "",
    ]
    return "\n".join(lines)
