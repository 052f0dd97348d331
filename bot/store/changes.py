"""A staff or user decision applied to a locked ticket, with its history event and messages, in one transaction.

Shared by the conversation record (`SqlStore.change_ticket`: a user rates or adds to their ticket) and the
ticket desk (`TicketQueue.apply`), so the locking rule is written once. A change locks its ticket row first
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serializes writers), so `decide` sees the
current row and exactly one of several racing callers wins.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.desk.tickets import ACTION_NAMES, Change, TicketNotFound
from bot.models import Outgoing, Ticket
from bot.store.rows import row_to_ticket
from bot.store.schema import faq_candidates, outbox, tickets
from bot.store.statements import Statements

logger = logging.getLogger(__name__)


def apply_change(
    engine: Engine, sql: Statements, number: str, actor: str, at: dt.datetime, decide: Callable[[Ticket], Change]
) -> Ticket:
    """Lock the ticket, let `decide` compute the change, write it with its event and messages atomically.

    Raises TicketNotFound for an unknown number and whatever TicketError `decide` raises (nothing written).
    """
    with engine.begin() as conn:
        q = sa.select(tickets).where(tickets.c.number == number.strip().upper())
        row = conn.execute(q.with_for_update() if sql.pg else q).first()
        if row is None:
            raise TicketNotFound(f"没有找到工单 {number}")
        ticket = row_to_ticket(row)
        change = decide(ticket)
        if change.values:
            update = tickets.update().where(tickets.c.id == ticket.id).values(**change.values, updated_at=at)
            ticket = row_to_ticket(conn.execute(update.returning(*tickets.c)).one())
        write_event(conn, sql, ticket.id, at, actor, change)
        for out in change.outgoing:
            write_outgoing(conn, out, ticket.id, at)
        if change.faq_candidate is not None:
            conn.execute(faq_candidates.insert().values(ticket_id=ticket.id, **change.faq_candidate))
    logger.info("ticket %s: %s by %s", ticket.number, change.action, actor)
    return ticket


def write_event(conn: Connection, sql: Statements, ticket_id: int, at: dt.datetime, actor: str, change: Change) -> None:
    """One line of the ticket's history, in the caller's transaction."""
    action = ACTION_NAMES.get(change.action, change.action)
    conn.execute(
        sql.insert_event,
        {"ticket_id": ticket_id, "at": at, "actor": actor[:64], "action": action, "detail": change.detail},
    )


def write_outgoing(conn: Connection, out: Outgoing, ticket_id: int | None, at: dt.datetime) -> None:
    """Queue one message for its channel's running adapter, in the caller's transaction."""
    options = [{"label": o.label, "action": o.action, "kind": o.kind} for o in out.options] or None
    conn.execute(
        outbox.insert().values(
            channel=out.address.channel,
            chat_id=out.address.chat_id,
            text=out.text,
            options=options,
            ticket_id=ticket_id,
            created_at=at,
            next_attempt_at=at,
            attempts=0,
        )
    )
