"""The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no external resources."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

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
from bot.reports.model import OUTCOME_NAMES, Cluster, WeeklyReport
from bot.reports.svg import horizontal_bars, share_bars, stacked_columns

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:980px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.55}
h1{font-size:24px;border-bottom:3px solid #1565c0;padding-bottom:6px}h2{font-size:19px;margin-top:32px;color:#1565c0}
h3{font-size:16px}table{border-collapse:collapse;margin:8px 0 16px;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}
th{background:#e3f2fd}.num{text-align:right}.note{color:#666;font-size:13px}.figure{margin:12px 0}
.cluster{border-left:4px solid #1565c0;padding:4px 12px;margin:12px 0;background:#fafafa}
.cluster th{white-space:nowrap;width:1%}td{overflow-wrap:anywhere}
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if isinstance(v, int | float) else ''}>{escape(str(v))}</td>" for v in r)
        + "</tr>"
        for r in rows
    )
    if not body:
        return "<p>无。</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(title: str, chart: str) -> str:
    return f'<div class="figure"><h3>{escape(title)}</h3>{chart}</div>'


def _volume(r: WeeklyReport) -> str:
    v = r.volume
    items = [f"收到问题 <b>{v.questions}</b> 个，上周 {v.previous_questions} 个，环比 {escape(change(v.change))}"]
    items += [
        f"{name}：{v.by_outcome.get(o, 0)} 个（{pct(v.share(o))}，上周 {pct(v.share(o, previous=True))}）"
        for o, name in OUTCOME_NAMES.items()
    ]
    items.append(f"用户在答复或候选后要求转人工：{v.human_requests} 次")
    total = v.questions or 1
    return "".join(
        [
            "<h2>一、咨询量</h2><ul>",
            *(f"<li>{i}</li>" for i in items),
            "</ul>",
            _figure("每日问题量", stacked_columns("每日问题量", [(day(d), c) for d, c in v.by_day], OUTCOME_NAMES)),
            _figure(
                "答复方式占比",
                share_bars("答复方式占比", [("本周", v.by_outcome), ("上周", v.previous_by_outcome)], OUTCOME_NAMES),
            ),
            "<h3>按渠道</h3>",
            _table(["渠道", "问题数", "占比"], ((channel(c), n, pct(n / total)) for c, n in v.by_channel.items())),
            "<h3>按区县</h3>",
            _table(["区县", "问题数", "占比"], ((d, n, pct(n / total)) for d, n in v.by_district.items())),
        ]
    )


def _cluster(c: Cluster) -> str:
    closest = f"{c.closest_id}「{c.closest_question}」，得分 {c.closest_score}" if c.closest_id else "无相近条目"
    rows = [*(("示例", clip(e)) for e in c.examples), ("最接近的条目", closest), ("建议", c.action_name)]
    if c.action == "alternates":
        rows.append(("可补充的问法", alternates_text(c.alternates)))
    else:
        rows.append(("草拟问题", clip(c.draft_question)))
    if c.draft_answer:
        rows.append(("草拟答复（取自工作人员答复）", clip(c.draft_answer, ANSWER_CHARS)))
    if c.department:
        rows.append(("负责部门", c.department))
    if c.tickets:
        rows.append(("相关工单", "、".join(c.tickets[:5]) + ("等" if len(c.tickets) > 5 else "")))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (
        f'<div class="cluster"><h3>{c.number}. {escape(clip(c.draft_question))}（{c.size} 次，转人工 {c.escalated} 次）'
        f"</h3><table>{body}</table></div>"
    )


def _gaps(r: WeeklyReport, top: int) -> str:
    parts = ["<h2>二、未答好的问题（FAQ 缺口）</h2>"]
    parts.append(
        _figure(
            "缺口问题 Top 10",
            horizontal_bars("缺口问题 Top 10", [(c.draft_question, c.size) for c in r.clusters[:10]]),
        )
    )
    if not r.clusters:
        return "".join([*parts, "<p>本周没有转人工或低置信度的问题。</p>"])
    parts.append(f"<p>共 {r.gap_questions} 个问题转人工或只给出候选，按需求归为 {len(r.clusters)} 组，由多到少：</p>")
    parts.append(f"<p class=note>{escape(CLIPPED_NOTE)}</p>")
    parts += [_cluster(c) for c in r.clusters[:top]]
    if len(r.clusters) > top:
        rest = r.clusters[top:]
        parts.append(f"<p>其余 {len(rest)} 组共 {sum(c.size for c in rest)} 个问题见 CSV 明细。</p>")
    return "".join(parts)


def _entries(r: WeeklyReport) -> str:
    return "".join(
        [
            "<h2>三、已有条目</h2>",
            "<h3>用户点“👎没帮助”的条目</h3>",
            _table(["条目", "问题", "次数"], ((e.faq_id, e.question, e.count) for e in r.feedback_down)),
            "<h3>答复后用户随即转人工的条目</h3>",
            _table(["条目", "问题", "次数"], ((e.faq_id, e.question, e.count) for e in r.escalated_after_answer)),
            "<h3>截至本周从未被匹配的条目</h3>",
            _table(["条目", "问题", "类别"], ((e.faq_id, e.question, e.note) for e in r.never_matched)),
            "<h3>政策已到期的条目</h3>",
            _table(["条目", "问题", "有效期"], ((e.faq_id, e.question, e.note) for e in r.expired)),
        ]
    )


def _tickets(r: WeeklyReport) -> str:
    rows, sat = ticket_rows(r.tickets), satisfaction(r.tickets)
    proposals = _table(
        ["工单", "问题", "答复", "部门"],
        ((p.ticket, clip(p.question), clip(p.answer, ANSWER_CHARS), p.department or "—") for p in r.staff_proposals),
    )
    return "".join(
        [
            "<h2>四、工单</h2>",
            _table(TICKET_HEADER, rows),
            f"<p>满意度：{escape(sat)}</p>",
            "<h2>五、工作人员标记的 FAQ 候选</h2>",
            proposals,
        ]
    )


def render_html(r: WeeklyReport, top: int = 20) -> str:
    """A complete HTML document; opens offline in any browser."""
    title = f"复工复产政策咨询周报 {r.week.label}"
    meta = (
        f"统计周期：{period(r.week)}（北京时间）　生成时间：{r.generated_at:%Y-%m-%d %H:%M}　"
        f"政策有效期判断日期：{r.today.isoformat()}"
    )
    return "".join(
        [
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1><p class=note>{escape(meta)}</p>",
            "<p class=note>示例中的手机号、身份证号、邮箱、姓名等个人信息已脱敏。</p>",
            _volume(r),
            _gaps(r, top),
            _entries(r),
            _tickets(r),
            "</body></html>\n",
        ]
    )
