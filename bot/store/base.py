"""The storage contract the dialog core needs; `SqlStore` implements it for SQLite and PostgreSQL.

Every method is one transaction. Methods that create something from a channel message are idempotent on
that message's id, because channels re-deliver (Telegram after a restart, WeChat up to three times).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.models import Address, Candidate, Incoming, Outgoing, Ticket

if TYPE_CHECKING:
    from bot.desk.tickets import Change


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


class Store(Protocol):
    def user(self, channel: str, user_id: str) -> UserState:
        """The user's state; a fresh default (not yet saved) when the user is new."""
        ...

    def replies_to(self, address: Address, message_id: str) -> list[Outgoing] | None:
        """Replies already recorded for that channel message, or None if it was never processed."""
        ...

    def arrival(
        self, address: Address, user_id: str, message_id: str | None
    ) -> tuple[list[Outgoing] | None, UserState]:
        """`replies_to` and `user` in one read, as each message starts: (earlier replies or None, the user).

        The user's `answers_waiting` says whether any staff answer to this chat is undelivered, so the common
        message pays no second query for `waiting_answers`.
        """
        ...

    def record(self, exchange: Exchange) -> list[Outgoing]:
        """Save the incoming message, its replies and the user's state atomically, marking `delivered` delivered.

        If the same channel message was recorded meanwhile (a concurrent re-delivery), nothing is written and
        the replies recorded the first time are returned; otherwise `exchange.replies`.
        """
        ...

    def waiting_answers(self, address: Address, at: dt.datetime) -> list[WaitingAnswer]:
        """Staff answers queued for this chat, oldest first, that nobody delivered and no sender holds at `at`.

        Ones whose push failed (given up, or waiting for a retry) are included: the user's contact is their chance.
        """
        ...

    def answer_delivered(self, ticket_id: int) -> bool:
        """Whether the ticket's latest staff answer has reached the enterprise's chat (False when none was queued)."""
        ...

    def open_ticket(self, new: NewTicket) -> Ticket:
        """Create a ticket with the next number of its day; the existing one if its message opened one already."""
        ...

    def tickets_of(self, channel: str, user_id: str, limit: int = 10) -> list[Ticket]:
        """The user's tickets, newest first."""
        ...

    def change_ticket(self, number: str, actor: str, at: dt.datetime, decide: Callable[[Ticket], Change]) -> Ticket:
        """Apply `decide`'s change to the locked ticket with its history event; its TicketError writes nothing."""
        ...

    def recent_turns(self, address: Address, limit: int = 6) -> list[dict[str, str]]:
        """The last turns of a chat, oldest first, as {"direction", "text"} (context for a new ticket)."""
        ...

    def claim_nonce(self, at: int, nonce: str, body_sha256: str, expired_before: int) -> bool:
        """Remember a signed WeChat push's (timestamp `at`, nonce) with its body's hash; whether that hash is the first.

        The first hash stored for a pair wins, atomically across processes: the same hash again (WeChat's own
        retry) is True, another hash (a replayed signature on a forged body) is False. Pairs signed before
        `expired_before` (Unix seconds) can no longer be fresh; each call drops a few of them.
        """
        ...
