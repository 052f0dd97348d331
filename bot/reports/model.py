"""The weekly report as plain frozen data: built once, then rendered as Markdown, HTML or CSV."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.reports.week import IsoWeek

OUTCOME_NAMES = {"answer": "FAQ直接答复", "suggest": "给出候选", "escalate": "转人工"}
ACTION_NAMES = {"new": "新增条目", "alternates": "为已有条目补充问法"}


@dataclass(frozen=True)
class Volume:
    """Questions received: by outcome, channel, district and day, with last week's totals to compare."""

    questions: int
    by_outcome: dict[str, int]
    human_requests: int  # 转人工 pressed or typed after a reply (not questions of their own)
    by_channel: dict[str, int]
    by_district: dict[str, int]
    by_day: list[tuple[dt.date, dict[str, int]]]
    previous_questions: int
    previous_by_outcome: dict[str, int]

    def share(self, outcome: str, previous: bool = False) -> float | None:
        total = self.previous_questions if previous else self.questions
        counts = self.previous_by_outcome if previous else self.by_outcome
        return counts.get(outcome, 0) / total if total else None

    @property
    def change(self) -> float | None:
        """Week-over-week change of the number of questions (0.25 = +25%); None without last week."""
        if not self.previous_questions:
            return None
        return self.questions / self.previous_questions - 1


@dataclass(frozen=True)
class Alternate:
    """A phrasing proposed as an alternate of an existing entry, with why: its score and the words it shares."""

    text: str
    score: float  # the entry's score when the bot saw the question (0 when only the user's pick links them)
    shared: tuple[str, ...]  # content words the phrasing shares with the entry, heaviest first
    picked: bool = False  # the user picked the entry from the suggestions after asking this

    @property
    def reason(self) -> str:
        why = [f"得分 {self.score:.0f}"] if self.score else []
        if self.picked:
            why.append("用户从候选中选了该条目")
        return "，".join([*why, f"共同词：{'、'.join(self.shared)}"])


@dataclass(frozen=True)
class Cluster:
    """One group of unanswered or weakly answered questions asking for the same thing."""

    number: int
    size: int
    escalated: int
    examples: tuple[str, ...]  # masked, most frequent first, at most 3
    phrasings: tuple[str, ...]  # distinct phrasings, personal data removed: the proposal's alternates
    closest_id: str | None
    closest_question: str | None
    closest_score: float
    action: str  # "new" | "alternates"
    draft_question: str
    draft_answer: str | None  # a staff answer to such a ticket, masked
    department: str | None
    category: str | None
    tickets: tuple[str, ...]  # ticket numbers opened for these questions
    alternates: tuple[Alternate, ...] = ()  # for "alternates": the phrasings close to the entry, with why

    @property
    def action_name(self) -> str:
        return ACTION_NAMES[self.action]


@dataclass(frozen=True)
class EntryCount:
    faq_id: str
    question: str
    count: int


@dataclass(frozen=True)
class EntryNote:
    faq_id: str
    question: str
    note: str = ""


@dataclass(frozen=True)
class TicketGroup:
    """Ticket figures for one department and tier (or for all)."""

    department: str
    tier: str
    opened: int
    answered: int
    closed: int
    overdue: int
    median_first_answer: dt.timedelta | None


@dataclass(frozen=True)
class TicketStats:
    total: TicketGroup
    groups: list[TicketGroup]
    satisfaction: dict[str, int]


@dataclass(frozen=True)
class StaffProposal:
    """A staff answer marked as an FAQ candidate on a ticket (masked)."""

    ticket: str
    question: str
    answer: str
    department: str | None


@dataclass(frozen=True)
class WeeklyReport:
    week: IsoWeek
    generated_at: dt.datetime
    today: dt.date
    volume: Volume
    gap_questions: int
    clusters: list[Cluster]
    feedback_down: list[EntryCount]
    escalated_after_answer: list[EntryCount]
    never_matched: list[EntryNote]
    expired: list[EntryNote]
    tickets: TicketStats
    staff_proposals: list[StaffProposal] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.volume.questions == 0 and self.volume.human_requests == 0 and self.tickets.total.opened == 0
