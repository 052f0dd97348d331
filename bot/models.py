"""Plain frozen data that crosses the seams between core, channels, storage and the matcher.

Nothing here imports a channel library or touches the database, so every layer can share these types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

DISTRICTS: tuple[str, ...] = ("二七区", "上街区", "中牟县")
"""The districts with their own answer variants; any other district gets the default answer."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where a reply goes: a channel and a chat in it, so a staff answer can reach any channel."""

    channel: str  # "console" | "telegram" | "wechat" | "hotline" | "cli"
    chat_id: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message (or button press) from an enterprise user, already stripped of channel specifics."""

    address: Address
    user_id: str
    text: str = ""
    kind: str = "text"  # "text" | "image" | "voice" | "video" | "sticker" | "file" | "location" | "link" | "event"
    action: str | None = None  # an option's action when the user pressed a button
    message_id: str | None = None  # the channel's own id, used to drop re-deliveries
    district: str | None = None  # a district the channel already knows (e.g. `ask --district`)
    user_name: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A choice offered with a reply; text channels number them, Telegram shows buttons."""

    label: str
    action: str
    kind: str = "pick"  # "pick" | "human" | "feedback" | "district" | "topic"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One reply to deliver to an address."""

    address: Address
    text: str
    options: tuple[Option, ...] = ()
    ticket_number: str | None = None


_COUNT = {4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九"}


@dataclass(frozen=True, slots=True)
class Source:
    """A document an answer rests on.

    `district` set: shown in the 依据 line only to users of that district. `cite` False: evidence for facts and
    figures only (internal material, news commentary), never shown to users.
    """

    title: str
    number: str | None = None
    issuer: str | None = None
    date: dt.date | None = None  # the document's own date; the 1st of the month when only the month is known
    url: str | None = None
    notes: str | None = None
    district: str | None = None
    cite: bool = True
    month_only: bool = False  # `date: 2020-03`: the day is not known

    @property
    def date_text(self) -> str:
        """The date as printed: 2020-03-02, or 2020-03 when only the month is known, or ''."""
        if self.date is None:
            return ""
        return self.date.isoformat()[:7] if self.month_only else self.date.isoformat()

    def citation(self) -> str:
        """《title》（文号，issuer，date） in the form a Chinese reader expects; 4+ issuers read 甲等四部门."""
        issuers = (self.issuer or "").split()
        issuer = f"{issuers[0]}等{_COUNT[len(issuers)]}部门" if len(issuers) in _COUNT else self.issuer
        extra = "，".join(x for x in (self.number, issuer, self.date_text) if x)
        return f"《{self.title}》" + (f"（{extra}）" if extra else "")

    def shown_to(self, district: str | None) -> bool:
        """Whether a user of `district` (None: unknown) sees this source in the 依据 line."""
        return self.cite and (self.district is None or self.district == district)


@dataclass(frozen=True, slots=True)
class RegionVariant:
    """A district's own wording: `extra` is appended to the default answer, `answer` replaces it."""

    extra: str | None = None
    answer: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One curated question with its answer, sources, validity and follow-ups."""

    id: str
    category: str
    question: str
    answer: str
    department: str
    sources: tuple[Source, ...]
    alternates: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # last day the policy applies; None when permanent or end_unknown
    permanent: bool = False  # a standing rule with no end date (a law); never expires
    end_unknown: bool = False  # no source confirms when it ended: the answer says so instead of a date
    regions: dict[str, RegionVariant] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    file: str = ""

    def answer_for(self, district: str | None) -> str:
        """The answer text for a district: its replacement, or the default plus its extra."""
        variant = self.regions.get(district or "")
        if variant is None:
            return self.answer
        if variant.answer:
            return variant.answer
        return f"{self.answer.rstrip()}\n{variant.extra}" if variant.extra else self.answer

    def department_for(self, district: str | None) -> str:
        variant = self.regions.get(district or "")
        return variant.department if variant and variant.department else self.department

    def citable_sources(self, district: str | None) -> tuple[Source, ...]:
        """The sources a user of `district` sees as 依据: general ones plus their own district's."""
        return tuple(s for s in self.sources if s.shown_to(district))

    def expired_on(self, today: dt.date) -> bool:
        """True once `today` is past valid_until; a permanent rule never expires."""
        return not self.permanent and self.valid_until is not None and self.valid_until < today


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's decision for one question; `id` is set only for an answer."""

    outcome: Outcome
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""  # "override", "score", "margin", "out-of-scope", "empty" … for logs and reports

    @property
    def id(self) -> str | None:
        return self.candidates[0].id if self.outcome is Outcome.ANSWER and self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


class TicketStatus(StrEnum):
    OPEN = "待认领"
    IN_PROGRESS = "处理中"
    ANSWERED = "已答复"
    CLOSED = "已办结"
    TRANSFERRED = "已转办"
    REOPENED = "重新打开"
    DISMISSED = "已作废"  # closed by staff as 无效 or 重复 without an answer; never counted as answered


@dataclass(frozen=True, slots=True)
class Ticket:
    """A hotline-style work item: one enterprise question that a person has to answer."""

    id: int
    number: str
    created_at: dt.datetime
    channel: str
    user_id: str
    chat_id: str
    question: str
    status: TicketStatus
    district: str | None = None
    enterprise: str | None = None
    contact: str | None = None
    category: str | None = None
    tier: str = "常规"
    department: str | None = None
    assignee: str | None = None
    due_at: dt.datetime | None = None
    answer: str | None = None
    satisfaction: str | None = None
    candidates: tuple[Candidate, ...] = ()
    updated_at: dt.datetime | None = None
    paused_at: dt.datetime | None = None  # the clock waits for the enterprise since then (see bot/desk/tickets.py)
    callback_needed: bool = False  # a staff answer could not be delivered: call the enterprise back
