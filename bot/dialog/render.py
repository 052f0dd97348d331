"""Render replies for text-only channels (console, WeChat): options become a numbered list."""

from __future__ import annotations

from bot.dialog.words import numbered
from bot.models import Outgoing

VOTE_HINT = "这条答复对您有帮助吗？回复“有帮助”或“没帮助”。"


def as_text(out: Outgoing, vote_hint: bool = True) -> str:
    """The reply text with its numbered options, matching the numbers the core accepts back.

    Telegram shows 👍/👎 as buttons; here they become the words the core reads as the same vote (`vote_hint`).
    """
    items = numbered(out.options)
    lines = [out.text]
    if items:
        lines += [*(f"{i}. {o.label}" for i, o in enumerate(items, 1)), "（回复数字查看）"]
    if vote_hint and any(o.action.startswith("feedback:") for o in out.options):
        lines.append(VOTE_HINT)
    return "\n".join(lines)
