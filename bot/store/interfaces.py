"""What each consumer needs from storage, one small Protocol per consumer; bot/store implements every one.

Every method is one transaction. Methods that create something from a channel message are idempotent on that
message's id, because channels re-deliver (Telegram after a restart, WeChat up to three times). Consumers are
typed against these, so none of them imports SQLAlchemy; tests/test_store_contract.py holds every
implementation to them on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bot.models import Address, Outgoing, Ticket, TicketStatus
from bot.store.base import (
    Card,
    Exchange,
    Filter,
    NewTicket,
    OutboxItem,
    Refusal,
    TicketEvent,
    UserState,
    WaitingAnswer,
)

if TYPE_CHECKING:
    from bot.desk.tickets import Change
    from bot.reports.data import WeekData
    from bot.reports.week import IsoWeek


class ConversationRecord(Protocol):
    """The dialog core's memory: users, the conversation log, and the tickets an enterprise opens and rates."""

    def arrival(
        self, address: Address, user_id: str, message_id: str | None
    ) -> tuple[list[Outgoing] | None, UserState]:
        """As each message starts: (replies already recorded for it, or None if new; the user's state).

        The user's `answers_waiting` says whether any staff answer to this chat is undelivered, so the common
        message pays no second query for `waiting_answers`. A new user gets a fresh default (not yet saved).
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


class TicketDesk(Protocol):
    """What the staff service, the digest and the ticket CLI read and change."""

    def get(self, number: str) -> Ticket | None: ...

    def context(self, ticket_id: int) -> list[dict[str, str]]:
        """The conversation recorded around the question when the ticket was opened."""
        ...

    def events(self, ticket_id: int) -> list[TicketEvent]: ...

    def find(self, f: Filter) -> list[Ticket]:
        """Tickets matching `f`, the most urgent (earliest due) first."""
        ...

    def actions_between(self, start: dt.datetime, end: dt.datetime) -> list[tuple[Ticket, TicketEvent]]:
        """Every history event in [start, end) with its ticket."""
        ...

    def open_ticket(self, new: NewTicket) -> Ticket:
        """A ticket registered at the desk (a hotline call), numbered like the dialog's."""
        ...

    def apply(self, number: str, actor: str, at: dt.datetime, decide: Callable[[Ticket], Change]) -> Ticket:
        """Lock the ticket, let `decide` compute the change, write it with its event and messages atomically."""
        ...

    def apply_if(
        self, number: str, actor: str, at: dt.datetime, sources: frozenset[TicketStatus], change: Change
    ) -> Ticket | None:
        """Apply `change` if the ticket's status is one of `sources` (exactly one racer wins), else None."""
        ...

    def log(self, ticket_ids: Iterable[int], actor: str, at: dt.datetime, change: Change) -> None:
        """Record one event on several tickets without changing them (催办, 督办)."""
        ...

    def close(self) -> None:
        """Release pooled connections (a one-shot command, before it exits)."""
        ...


class Outbox(Protocol):
    """Messages produced outside an exchange (staff answers), leased to the channel that delivers them."""

    def claim_outbox(
        self,
        channel: str,
        now: dt.datetime,
        limit: int = 20,
        lease: dt.timedelta = dt.timedelta(minutes=2),
        chat_id: str | None = None,
    ) -> list[OutboxItem]:
        """Lease up to `limit` due messages of `channel`, oldest first; others see them again after `lease`."""
        ...

    def delivered(self, item_id: int, at: dt.datetime) -> None: ...

    def retry_later(self, item_id: int, at: dt.datetime, error: str) -> None:
        """Keep the message for another attempt at `at`."""
        ...

    def give_up(self, item: OutboxItem, at: dt.datetime, error: str) -> None:
        """Stop trying; the ticket is flagged for a phone call-back, with a history event."""
        ...

    def pending_count(self, channel: str | None = None) -> int: ...


class FloodCounter(Protocol):
    """Messages per user in their current window, shared by every worker and restart (the flood limit)."""

    def count_message(self, channel: str, user_id: str, now: float, window: float = 60.0) -> int:
        """Count one message of the user; how many in their current window of `window` s, this one included."""
        ...


# ---- channel state --------------------------------------------------------------------------------------------


class Nonces(Protocol):
    """WeChat's replay defence, shared by every worker."""

    def claim_nonce(self, at: int, nonce: str, body_sha256: str, expired_before: int) -> bool:
        """Remember a signed push's (timestamp `at`, nonce) with its body's hash; whether that hash is the first.

        The first hash stored for a pair wins, atomically across processes: the same hash again (WeChat's own
        retry) is True, another hash (a replayed signature on a forged body) is False. Pairs signed before
        `expired_before` (Unix seconds) can no longer be fresh; each call drops a few of them.
        """
        ...


class Cards(Protocol):
    """The Telegram staff group's ticket cards: claimed, posted once, resolved from a reply."""

    def claim_unposted(self, chat_id: int, now: dt.datetime, limit: int = 20) -> list[Ticket]:
        """Active tickets without a card, oldest first, each now claimed by this caller (for a lease) to post."""
        ...

    def posted(self, ticket_id: int, card: Card) -> None: ...

    def release(self, ticket_id: int) -> None:
        """Posting failed: drop the claim so the next round tries again."""
        ...

    def ticket_number(self, chat_id: int, message_id: int) -> str | None:
        """The number of the ticket whose card is this message; None for any other message."""
        ...

    def card_of(self, ticket_id: int) -> Card | None: ...

    def overdue_unannounced(self, now: dt.datetime, limit: int = 50) -> list[Ticket]:
        """Overdue active tickets not yet announced for their current due time, most overdue first."""
        ...

    def announced_overdue(self, chat_id: int, announced: list[Ticket], now: dt.datetime) -> None: ...


class Windows(Protocol):
    """WeChat's customer-service window: at most `quota` messages within 48 hours of the user's last message."""

    def reserve(self, openid: str, at: dt.datetime) -> Refusal | None:
        """Take one message slot atomically; None when taken, else why the window refuses."""
        ...

    def release(self, openid: str) -> None:
        """Give back a slot whose message WeChat did not accept."""
        ...


class Bell(Protocol):
    """Wakes one waiting thread when updates are queued, so an idle worker need not poll the table."""

    def wait(self, timeout: float) -> bool:
        """True when updates were announced; False after `timeout` (where the database cannot announce)."""
        ...

    def close(self) -> None:
        """Stop listening; a `wait` blocked in another thread returns False."""
        ...


class Updates(Protocol):
    """Telegram updates between the one polling worker and the workers that answer them."""

    def put(self, updates: Sequence[tuple[int, int, dict[str, Any]]], at: dt.datetime) -> None:
        """Store (update_id, chat_id, body) rows; an update already stored is kept as it is."""
        ...

    def take(self, share: int, shares: int, limit: int = 100) -> list[tuple[int, dict[str, Any], int]]:
        """(update_id, body, attempts) of the oldest pending updates whose chat is in share `share` of `shares`."""
        ...

    def done(self, update_ids: Sequence[int]) -> None: ...

    def failed(self, update_ids: Sequence[int]) -> None:
        """Count one more failed attempt; the updates stay queued."""
        ...

    def pending(self) -> int: ...

    def doorbell(self) -> Bell:
        """A bell for one waiting worker that `put` rings; the caller closes it."""
        ...


class Once(Protocol):
    """Jobs that run once per period however many workers and machines schedule them."""

    def claim(self, job: str, period: str, at: dt.datetime) -> bool:
        """True for the one caller that claims `job` for `period`; False for every later one."""
        ...


class ReportReader(Protocol):
    """The weekly report's one read of the database."""

    def read_week(self, week: IsoWeek) -> WeekData:
        """One consistent read of the week's messages, tickets and events, previous week's totals included."""
        ...
