"""Render replies for text-only channels (console, WeChat): options become a numbered list."""

from __future__ import annotations

from bot.core import numbered
from bot.models import Outgoing


def as_text(out: Outgoing) -> str:
    """The reply text with its numbered options, matching the numbers the core accepts back."""
    items = numbered(out.options)
    if not items:
        return out.text
    lines = [out.text, *(f"{i}. {o.label}" for i, o in enumerate(items, 1)), "（回复数字查看）"]
    return "\n".join(lines)
