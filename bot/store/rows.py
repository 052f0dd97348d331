"""Stored rows ↔ model objects, and the ticket number: shared by every store module, written once here."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.models import Candidate, Ticket, TicketStatus

NUMBER_DIGITS = 4  # FG20200321-0007: the day's sequence has at least four digits


def ticket_number(prefix: Any, day: Any, seq: Any) -> sa.ColumnElement[str]:
    """The ticket number as SQL (prefix, Asia/Shanghai day, sequence of the day), the same on both backends.

    Built in SQL because PostgreSQL draws the sequence inside the statement that inserts the ticket; only
    `length`, `substr` and `||`, which SQLite and PostgreSQL share.
    """
    text = sa.cast(seq, sa.Text)
    pad = sa.func.substr("0" * NUMBER_DIGITS, 1, NUMBER_DIGITS - sa.func.length(text))
    padded = sa.case((sa.func.length(text) < NUMBER_DIGITS, pad + text), else_=text)
    return sa.cast(prefix, sa.Text) + sa.cast(day, sa.Text) + sa.literal("-") + padded


def load_candidates(raw: Any) -> tuple[Candidate, ...]:
    """Candidates from their JSON column; a malformed value (hand-edited row) reads as none."""
    try:
        return tuple(Candidate(str(c["id"]), float(c["score"])) for c in raw or ())
    except (KeyError, TypeError, ValueError):
        return ()


def dump_candidates(cands: tuple[Candidate, ...]) -> list[dict[str, Any]]:
    return [{"id": c.id, "score": c.score} for c in cands]


def row_to_ticket(row: Any) -> Ticket:
    """A `tickets` row (any statement selecting its columns by name) as the model's Ticket."""
    return Ticket(
        id=row.id,
        number=row.number,
        created_at=row.created_at,
        channel=row.channel,
        user_id=row.user_id,
        chat_id=row.chat_id,
        question=row.question,
        status=TicketStatus(row.status),
        district=row.district,
        enterprise=row.enterprise,
        contact=row.contact,
        category=row.category,
        tier=row.tier,
        department=row.department,
        assignee=row.assignee,
        due_at=row.due_at,
        answer=row.answer,
        satisfaction=row.satisfaction,
        candidates=load_candidates(row.candidates),
        updated_at=row.updated_at,
        paused_at=row.paused_at,
        callback_needed=bool(row.callback_needed),
    )
