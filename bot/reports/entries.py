"""What the week says about existing entries: 👎没帮助, 转人工 right after an answer, never matched, expired."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from bot.answering.kb import KnowledgeBase
from bot.reports.data import WeekData
from bot.reports.gaps import by_chat
from bot.reports.model import EntryCount, EntryNote

FEEDBACK = ("feedback_up", "feedback_down")


def _counts(kb: KnowledgeBase, counter: Counter[str]) -> list[EntryCount]:
    return [
        EntryCount(faq_id, kb.entries[faq_id].question if faq_id in kb.entries else "（已删除的条目）", n)
        for faq_id, n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    ]


def feedback_down(kb: KnowledgeBase, data: WeekData) -> list[EntryCount]:
    """Entries users marked 👎没帮助 this week, most marks first."""
    return _counts(kb, Counter(t.faq_id for t in data.turns if t.outcome == "feedback_down" and t.faq_id))


def escalated_after_answer(kb: KnowledgeBase, data: WeekData) -> list[EntryCount]:
    """Entries whose answer was followed (feedback and junk aside) by the user's 转人工 request."""
    counter: Counter[str] = Counter()
    for chat in by_chat(data.turns):
        last_answer: str | None = None
        for t in chat:
            if t.outcome in FEEDBACK or t.outcome == "junk":
                continue
            if t.outcome == "escalate" and not t.is_question and last_answer:
                counter[last_answer] += 1
            last_answer = t.faq_id if t.outcome in ("answer", "pick") else None
    return _counts(kb, counter)


def never_matched(kb: KnowledgeBase, data: WeekData) -> list[EntryNote]:
    """Entries no user has been answered with, up to the end of the week."""
    return [EntryNote(e.id, e.question, e.category) for e in kb.entries.values() if e.id not in data.matched_ever]


def expired(kb: KnowledgeBase, today: dt.date) -> list[EntryNote]:
    """Entries whose policy period ended before the bot's date."""
    return [
        EntryNote(e.id, e.question, f"{e.valid_until.isoformat()} 到期")
        for e in sorted(kb.entries.values(), key=lambda e: (e.valid_until or today, e.id))
        if e.valid_until is not None and e.expired_on(today)
    ]
