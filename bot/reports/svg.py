"""Inline SVG charts, generated as text: no JavaScript, no external files, readable without a network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLORS = {"answer": "#2e7d32", "suggest": "#f9a825", "escalate": "#c62828"}
FONT = 'font-family="sans-serif" font-size="12"'


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#333") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" {FONT}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def legend(x: float, y: float, names: dict[str, str]) -> list[str]:
    out = []
    for key, name in names.items():
        out += [_rect(x, y - 10, 12, 12, COLORS[key], name), _text(x + 16, y, name)]
        x += 24 + 13 * len(name)
    return out


def stacked_columns(label: str, columns: Sequence[tuple[str, dict[str, int]]], names: dict[str, str]) -> str:
    """One column per label, stacked by outcome (volume by day)."""
    width, height, left, top, bottom = 640, 260, 40, 30, 40
    plot_h = height - top - bottom
    peak = max((sum(c.values()) for _, c in columns), default=0) or 1
    slot = (width - left - 10) / max(len(columns), 1)
    body = legend(left, 16, names)
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#999"/>')
    body.append(_text(left - 6, top + 4, str(peak), "end"))
    for i, (name, counts) in enumerate(columns):
        x, y = left + i * slot + slot * 0.2, float(top + plot_h)
        for key, n in counts.items():
            h = plot_h * n / peak
            y -= h
            body.append(_rect(x, y, slot * 0.6, h, COLORS.get(key, "#607d8b"), f"{name} {names.get(key, key)} {n}"))
        total = sum(counts.values())
        body.append(_text(x + slot * 0.3, top + plot_h + 16, name, "middle"))
        body.append(_text(x + slot * 0.3, y - 4, str(total), "middle"))
    return _svg(width, height, label, body)


def share_bars(label: str, rows: Sequence[tuple[str, dict[str, int]]], names: dict[str, str]) -> str:
    """One 100% bar per row (this week, last week), split by outcome."""
    width, left, bar_h = 640, 70, 26
    height = 30 + len(rows) * (bar_h + 14)
    body = legend(left, 16, names)
    for i, (name, counts) in enumerate(rows):
        y = 28 + i * (bar_h + 14)
        body.append(_text(left - 8, y + bar_h * 0.65, name, "end"))
        total = sum(counts.values())
        if not total:
            body.append(_text(left, y + bar_h * 0.65, "无数据"))
            continue
        x = float(left)
        for key, n in counts.items():
            w = (width - left - 10) * n / total
            body.append(_rect(x, y, w, bar_h, COLORS.get(key, "#607d8b"), f"{name} {names.get(key, key)} {n}"))
            if w > 40:
                body.append(_text(x + w / 2, y + bar_h * 0.65, f"{n / total * 100:.0f}%", "middle", "#fff"))
            x += w
    return _svg(width, height, label, body)


def horizontal_bars(label: str, rows: Sequence[tuple[str, int]]) -> str:
    """Labelled bars, largest first (top gaps)."""
    width, left, bar_h = 640, 260, 20
    height = max(40, 10 + len(rows) * (bar_h + 8))
    peak = max((n for _, n in rows), default=0) or 1
    body: list[str] = []
    if not rows:
        body.append(_text(10, 24, "本周没有缺口问题"))
    for i, (name, n) in enumerate(rows):
        y = 8 + i * (bar_h + 8)
        short = name if len(name) <= 18 else name[:17] + "…"
        body.append(_text(left - 8, y + bar_h * 0.7, short, "end"))
        w = (width - left - 50) * n / peak
        body.append(_rect(left, y, w, bar_h, "#1565c0", f"{name} {n}"))
        body.append(_text(left + w + 6, y + bar_h * 0.7, str(n)))
    return _svg(width, height, label, body)
