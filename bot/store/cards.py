"""The staff group's ticket cards, kept in the database: which message shows which ticket.

Tickets are opened by any process (Telegram, WeChat, the hotline desk), so the bot announces them from the
database. A worker first claims a ticket's card row (one insert; a second worker's insert does nothing), then
posts the card and records its message id. A claim whose post never completed expires after `LEASE`, so a
crash between claiming and posting delays a card but never loses it. A staff member's reply to a card is
resolved through this record, never through `forward_from` (users can hide it).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.desk.tickets import ACTIVE
from bot.models import Ticket
from bot.store.base import Card
from bot.store.dialect import insert
from bot.store.rows import row_to_ticket
from bot.store.schema import telegram_cards, tickets

LEASE = dt.timedelta(minutes=5)


class CardStore:
    """Claims, records and looks up staff-group cards (`Cards`); every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._claim = (
            insert(telegram_cards, engine.dialect.name)
            .values(ticket_id=sa.bindparam("ticket_id"), chat_id=sa.bindparam("chat_id"), claimed_at=sa.bindparam("at"))
            .on_conflict_do_nothing(index_elements=["ticket_id"])
        )

    def claim_unposted(self, chat_id: int, now: dt.datetime, limit: int = 20) -> list[Ticket]:
        """Active tickets without a card, oldest first, each now claimed by this caller for posting."""
        stale = now - LEASE
        has_card = sa.exists().where(
            telegram_cards.c.ticket_id == tickets.c.id,
            sa.or_(telegram_cards.c.message_id.is_not(None), telegram_cards.c.claimed_at >= stale),
        )
        q = (
            sa.select(tickets)
            .where(tickets.c.status.in_([s.value for s in ACTIVE]), ~has_card)
            .order_by(tickets.c.id)
            .limit(limit)
        )
        claimed: list[Ticket] = []
        with self.engine.begin() as conn:
            for row in conn.execute(q).all():
                params = {"ticket_id": row.id, "chat_id": chat_id, "at": now}
                got = (
                    conn.execute(self._claim, params).rowcount
                    or conn.execute(
                        telegram_cards.update()
                        .where(
                            telegram_cards.c.ticket_id == row.id,
                            telegram_cards.c.message_id.is_(None),
                            telegram_cards.c.claimed_at < stale,
                        )
                        .values(claimed_at=now, chat_id=chat_id)
                    ).rowcount
                )
                if got:
                    claimed.append(row_to_ticket(row))
        return claimed

    def posted(self, ticket_id: int, card: Card) -> None:
        """The card is in the chat: remember its message for replies and edits."""
        with self.engine.begin() as conn:
            conn.execute(
                telegram_cards.update()
                .where(telegram_cards.c.ticket_id == ticket_id)
                .values(chat_id=card.chat_id, message_id=card.message_id)
            )

    def release(self, ticket_id: int) -> None:
        """Posting failed: drop the claim so the next round tries again."""
        with self.engine.begin() as conn:
            conn.execute(
                telegram_cards.delete().where(
                    telegram_cards.c.ticket_id == ticket_id, telegram_cards.c.message_id.is_(None)
                )
            )

    def ticket_number(self, chat_id: int, message_id: int) -> str | None:
        """The number of the ticket whose card is this message; None for any other message."""
        q = (
            sa.select(tickets.c.number)
            .select_from(telegram_cards.join(tickets, telegram_cards.c.ticket_id == tickets.c.id))
            .where(telegram_cards.c.chat_id == chat_id, telegram_cards.c.message_id == message_id)
        )
        with self.engine.connect() as conn:
            return conn.execute(q).scalar()

    def card_of(self, ticket_id: int) -> Card | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(telegram_cards.c.chat_id, telegram_cards.c.message_id).where(
                    telegram_cards.c.ticket_id == ticket_id, telegram_cards.c.message_id.is_not(None)
                )
            ).first()
        return Card(int(row.chat_id), int(row.message_id)) if row else None

    def overdue_unannounced(self, now: dt.datetime, limit: int = 50) -> list[Ticket]:
        """Overdue active tickets not yet announced for their current due time, most overdue first."""
        announced = sa.exists().where(
            telegram_cards.c.ticket_id == tickets.c.id, telegram_cards.c.overdue_due_at == tickets.c.due_at
        )
        q = (
            sa.select(tickets)
            .where(tickets.c.status.in_([s.value for s in ACTIVE]), tickets.c.due_at < now, ~announced)
            .order_by(tickets.c.due_at, tickets.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [row_to_ticket(r) for r in conn.execute(q).all()]

    def announced_overdue(self, chat_id: int, announced: list[Ticket], now: dt.datetime) -> None:
        """Remember the due times announced, so each lateness is announced once (again after a reopen)."""
        with self.engine.begin() as conn:
            for t in announced:
                conn.execute(self._claim, {"ticket_id": t.id, "chat_id": chat_id, "at": now})
                conn.execute(
                    telegram_cards.update().where(telegram_cards.c.ticket_id == t.id).values(overdue_due_at=t.due_at)
                )
