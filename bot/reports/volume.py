"""Question volume: by outcome, channel, district and Beijing day, with last week's totals."""

from __future__ import annotations

from collections import Counter

from bot.clock import TZ
from bot.reports.data import QUESTION_OUTCOMES, WeekData
from bot.reports.model import Volume

NO_DISTRICT = "未选择区县"


def volume(data: WeekData) -> Volume:
    """Count the week's questions (messages the matcher decided on) and 转人工 requests."""
    questions = [t for t in data.turns if t.is_question]
    days = {d: Counter[str]() for d in data.week.days}
    for t in questions:
        day = t.at.astimezone(TZ).date()
        if day in days:
            days[day][t.outcome or ""] += 1
    by_outcome = Counter(t.outcome for t in questions)
    return Volume(
        questions=len(questions),
        by_outcome={o: by_outcome.get(o, 0) for o in QUESTION_OUTCOMES},
        human_requests=sum(t.outcome == "escalate" and not t.is_question for t in data.turns),
        by_channel=dict(Counter(t.channel for t in questions).most_common()),
        by_district=dict(Counter(t.district or NO_DISTRICT for t in questions).most_common()),
        by_day=[(d, {o: c.get(o, 0) for o in QUESTION_OUTCOMES}) for d, c in days.items()],
        previous_questions=sum(data.previous_outcomes.values()),
        previous_by_outcome={o: data.previous_outcomes.get(o, 0) for o in QUESTION_OUTCOMES},
    )
