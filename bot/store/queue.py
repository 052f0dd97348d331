"""Staff-side storage: the ticket desk (queue, locked changes with their history) and the outbox.

Works on the same engine as `SqlStore`, in any number of processes. A change locks its ticket row first (see
bot/store/changes.py), so a rule decides on the current row and exactly one of several racing staff members
claims a ticket. Outbox messages are leased with `FOR UPDATE SKIP LOCKED`, so several channel workers never
send the same message at the same time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from bot.desk.tickets import ACTION_NAMES, ACTIVE, Change
from bot.models import Address, Option, Outgoing, Ticket, TicketStatus
from bot.store.base import Filter, NewTicket, OutboxItem, TicketEvent
from bot.store.changes import apply_change, write_event
from bot.store.rows import row_to_ticket
from bot.store.schema import faq_candidates, outbox, ticket_events, tickets
from bot.store.sql import SqlStore

__all__ = ["Filter", "OutboxItem", "TicketEvent", "TicketQueue"]

logger = logging.getLogger(__name__)


def _options(raw: Any) -> tuple[Option, ...]:
    return tuple(Option(**o) for o in raw or ())


class TicketQueue:
    """The ticket desk and the outbox (bot/store/interfaces.py) on a `SqlStore`'s engine."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine
        self.pg = self.engine.dialect.name == "postgresql"

    def open_ticket(self, new: NewTicket) -> Ticket:
        """A ticket registered at the desk (a hotline call): the same numbering as the dialog's."""
        return self.store.open_ticket(new)

    def close(self) -> None:
        """Release pooled connections (a one-shot command, before it exits)."""
        self.engine.dispose()

    # ---- reading -----------------------------------------------------------------------------------------

    def get(self, number: str) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tickets).where(tickets.c.number == number.strip().upper())).first()
        return row_to_ticket(row) if row else None

    def context(self, ticket_id: int) -> list[dict[str, str]]:
        """The conversation recorded around the question when the ticket was opened."""
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(tickets.c.context).where(tickets.c.id == ticket_id)).scalar()
        return list(raw or ())

    def events(self, ticket_id: int) -> list[TicketEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id)
            ).all()
        return [TicketEvent(r.at, r.actor, r.action, r.detail) for r in rows]

    def find(self, f: Filter) -> list[Ticket]:
        """Tickets matching `f`, the most urgent (earliest due) first."""
        q = sa.select(tickets)
        if f.statuses is not None:
            q = q.where(tickets.c.status.in_([s.value for s in f.statuses]))
        if f.district:
            q = q.where(tickets.c.district == f.district)
        if f.department:
            q = q.where(tickets.c.department.contains(f.department, autoescape=True))
        if f.overdue_at is not None:
            q = q.where(tickets.c.status.in_([s.value for s in ACTIVE]), tickets.c.due_at < f.overdue_at)
        if f.due_before is not None:
            q = q.where(tickets.c.due_at < f.due_before)
        if f.created_from is not None:
            q = q.where(tickets.c.created_at >= f.created_from)
        if f.created_to is not None:
            q = q.where(tickets.c.created_at < f.created_to)
        q = q.order_by(tickets.c.due_at.is_(None), tickets.c.due_at, tickets.c.id).limit(f.limit)
        with self.engine.connect() as conn:
            return [row_to_ticket(r) for r in conn.execute(q).all()]

    def actions_between(self, start: dt.datetime, end: dt.datetime) -> list[tuple[Ticket, TicketEvent]]:
        """Every history event in [start, end) with its ticket, for the daily digest."""
        q = (
            sa.select(
                tickets,
                ticket_events.c.at.label("ev_at"),
                ticket_events.c.actor,
                ticket_events.c.action,
                ticket_events.c.detail,
            )
            .select_from(ticket_events.join(tickets, ticket_events.c.ticket_id == tickets.c.id))
            .where(ticket_events.c.at >= start, ticket_events.c.at < end)
            .order_by(ticket_events.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [(row_to_ticket(r), TicketEvent(r.ev_at, r.actor, r.action, r.detail)) for r in rows]

    def faq_candidates(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """FAQ entries proposed by staff in [start, end), oldest first, with their ticket numbers."""
        q = (
            sa.select(faq_candidates, tickets.c.number)
            .select_from(faq_candidates.join(tickets, faq_candidates.c.ticket_id == tickets.c.id))
            .where(faq_candidates.c.at >= start, faq_candidates.c.at < end)
            .order_by(faq_candidates.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    # ---- changing ----------------------------------------------------------------------------------------

    def apply(self, number: str, actor: str, at: dt.datetime, decide: Callable[[Ticket], Change]) -> Ticket:
        """Lock the ticket, let `decide` compute the change, write it with its event and messages atomically."""
        return apply_change(self.engine, self.store.sql, number, actor, at, decide)

    def apply_if(
        self, number: str, actor: str, at: dt.datetime, sources: frozenset[TicketStatus], change: Change
    ) -> Ticket | None:
        """Apply `change` if the ticket's status is one of `sources`, else write nothing and return None.

        For rules that depend only on the status (claim): the conditional UPDATE locks and checks the row at
        once, so of several racing callers exactly one matches; on PostgreSQL it is one statement with its
        history event. Changes that queue messages or FAQ candidates go through `apply`.
        """
        if change.outgoing or change.faq_candidate is not None:
            raise ValueError("apply_if writes ticket columns and the event only")
        stmt = self.store.sql.change_if(change.action, tuple(sorted(change.values)), sources)
        params = {
            "t_number": number.strip().upper(),
            "v_updated_at": at,
            "actor": actor[:64],
            "action": ACTION_NAMES.get(change.action, change.action),
            "detail": change.detail,
            **{f"v_{k}": v for k, v in change.values.items()},
        }
        if self.pg:
            with self.store.single.connect() as conn:
                row = conn.execute(stmt, params).first()
        else:
            with self.engine.begin() as conn:
                row = conn.execute(stmt, params).first()
                if row is not None:
                    write_event(conn, self.store.sql, row.id, at, actor, change)
        if row is None:
            return None
        ticket = row_to_ticket(row)
        logger.info("ticket %s: %s by %s", ticket.number, change.action, actor)
        return ticket

    def log(self, ticket_ids: Iterable[int], actor: str, at: dt.datetime, change: Change) -> None:
        """Record one event on several tickets without changing them (催办, 督办)."""
        with self.engine.begin() as conn:
            for ticket_id in ticket_ids:
                write_event(conn, self.store.sql, ticket_id, at, actor, change)

    # ---- outbox ------------------------------------------------------------------------------------------

    def claim_outbox(
        self,
        channel: str,
        now: dt.datetime,
        limit: int = 20,
        lease: dt.timedelta = dt.timedelta(minutes=2),
        chat_id: str | None = None,
    ) -> list[OutboxItem]:
        """Lease up to `limit` due messages of `channel` (oldest first); another worker sees them after `lease`."""
        pending = sa.and_(
            outbox.c.channel == channel,
            outbox.c.delivered_at.is_(None),
            outbox.c.failed_at.is_(None),
            outbox.c.next_attempt_at <= now,
        )
        if chat_id is not None:
            pending = sa.and_(pending, outbox.c.chat_id == chat_id)
        q = sa.select(outbox).where(pending).order_by(outbox.c.id).limit(limit)
        with self.engine.begin() as conn:
            rows = conn.execute(q.with_for_update(skip_locked=True) if self.pg else q).all()
            if rows:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=now + lease, attempts=outbox.c.attempts + 1)
                )
        number = self._numbers([r.ticket_id for r in rows if r.ticket_id])
        return [
            OutboxItem(
                r.id,
                Outgoing(Address(r.channel, r.chat_id), r.text, _options(r.options), number.get(r.ticket_id)),
                r.ticket_id,
                r.attempts + 1,
                r.created_at,
            )
            for r in rows
        ]

    def _numbers(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tickets.c.id, tickets.c.number).where(tickets.c.id.in_(ids))).all()
        return {r.id: r.number for r in rows}

    def delivered(self, item_id: int, at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == item_id).values(delivered_at=at, last_error=None))

    def retry_later(self, item_id: int, at: dt.datetime, error: str) -> None:
        """Keep the message for another attempt at `at`."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == item_id).values(next_attempt_at=at, last_error=error))

    def give_up(self, item: OutboxItem, at: dt.datetime, error: str) -> None:
        """Stop trying; the ticket is flagged so staff call the enterprise back, and the history says why."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == item.id).values(failed_at=at, last_error=error))
            if item.ticket_id is not None:
                conn.execute(
                    tickets.update().where(tickets.c.id == item.ticket_id).values(callback_needed=True, updated_at=at)
                )
                write_event(
                    conn,
                    self.store.sql,
                    item.ticket_id,
                    at,
                    "system",
                    Change("投递失败", detail=f"{error}；请电话回访"),
                )
        logger.warning("outbox %s to %s gave up after %s attempts", item.id, item.out.address.channel, item.attempts)

    def pending_count(self, channel: str | None = None) -> int:
        q = (
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None))
        )
        if channel:
            q = q.where(outbox.c.channel == channel)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())
