"""One week of the conversation log and tickets as plain rows: what a `ReportReader` (bot/store) returns.

The report is read-only: its reader never writes, so it can run against a live database at any time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.models import Candidate
from bot.reports.week import IsoWeek

QUESTION_OUTCOMES = ("answer", "suggest", "escalate")
ANSWERED_OUTCOMES = ("answer", "pick")


@dataclass(frozen=True, slots=True)
class Turn:
    """One incoming message with what the bot decided."""

    id: int
    at: dt.datetime
    channel: str
    chat_id: str
    user_id: str | None
    text: str
    action: str | None
    district: str | None
    outcome: str | None
    faq_id: str | None
    score: float | None
    candidates: tuple[Candidate, ...]
    ticket_id: int | None

    @property
    def is_question(self) -> bool:
        """A question the matcher decided on (a 转人工 request carries no score and is not one)."""
        if self.outcome in ("answer", "suggest"):
            return True
        return self.outcome == "escalate" and self.score is not None


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    number: str
    created_at: dt.datetime
    question: str
    status: str
    department: str | None
    tier: str
    due_at: dt.datetime | None
    answer: str | None
    satisfaction: str | None
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class EventRow:
    ticket_id: int
    at: dt.datetime
    action: str
    detail: str | None


@dataclass
class WeekData:
    """Everything the report needs from the database for one week."""

    week: IsoWeek
    turns: list[Turn] = field(default_factory=list)  # incoming messages, by chat then time
    tickets: dict[int, TicketRow] = field(default_factory=dict)  # opened this week
    events: list[EventRow] = field(default_factory=list)  # of those tickets, in time order
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, user_id) → display name
    previous_outcomes: dict[str, int] = field(default_factory=dict)  # last week's questions by outcome
    matched_ever: set[str] = field(default_factory=set)  # entries answered up to the week's end
    proposals: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # (ticket, q, a, department)
