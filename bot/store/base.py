"""The plain data the store's interfaces (bot/store/interfaces.py) take and return; no SQL here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.desk.tickets import ACTIVE
from bot.models import Address, Candidate, Incoming, Outgoing, TicketStatus


@dataclass
class UserState:
    """What the dialog remembers about one user of one channel."""

    channel: str
    user_id: str
    district: str | None = None
    name: str | None = None
    enterprise: str | None = None
    contact: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # "options": pending numbered options, "misses": streak
    answers_waiting: bool = False  # read at arrival, not stored: a staff answer may wait (see `waiting_answers`)


@dataclass(frozen=True)
class NewTicket:
    """What the core knows when it opens a ticket."""

    address: Address
    user_id: str
    question: str
    at: dt.datetime
    source_message_id: str | None = None
    district: str | None = None
    enterprise: str | None = None
    contact: str | None = None
    candidates: tuple[Candidate, ...] = ()
    category: str | None = None
    department: str | None = None
    context: tuple[dict[str, str], ...] = ()  # recent turns: {"direction", "text"}
    channel_kind: str | None = None  # overrides address.channel for hotline tickets
    tier: str = "常规"  # 常规 | 一般 | 专业 (bot/desk/tickets.py TicketPolicy.classify)
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class Exchange:
    """One incoming message with everything the core decided about it."""

    incoming: Incoming
    at: dt.datetime
    user: UserState
    replies: tuple[Outgoing, ...]
    outcome: str
    faq_id: str | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = ()
    ticket_id: int | None = None
    delivered: tuple[int, ...] = ()  # outbox ids of staff answers shown among `replies` (marked delivered with it)


@dataclass(frozen=True)
class WaitingAnswer:
    """A staff answer queued for a chat and not yet delivered: shown at the user's next contact."""

    outbox_id: int
    out: Outgoing


@dataclass(frozen=True)
class TicketEvent:
    """One line of a ticket's append-only history."""

    at: dt.datetime
    actor: str
    action: str
    detail: str | None


@dataclass(frozen=True)
class OutboxItem:
    """A queued message with its delivery bookkeeping."""

    id: int
    out: Outgoing
    ticket_id: int | None
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Filter:
    """Which tickets a queue listing shows; every field narrows it, None means any."""

    statuses: frozenset[TicketStatus] | None = ACTIVE
    district: str | None = None
    department: str | None = None  # substring match: "人社" finds every 区人社局 desk
    overdue_at: dt.datetime | None = None  # only active tickets due before this moment
    due_before: dt.datetime | None = None  # only tickets due before this moment (reminders)
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    limit: int = 200


@dataclass(frozen=True)
class Card:
    """Where a ticket's card is shown in the Telegram staff group."""

    chat_id: int
    message_id: int


class Refusal(StrEnum):
    """Why a WeChat customer-service message may not be sent now; neither gets better by waiting."""

    CLOSED = "closed"  # no user message within 48 hours
    QUOTA = "quota"  # 5 messages already sent in this window
