"""Read one week of the conversation log and tickets, as plain rows; the only module here that queries SQL.

The report is read-only: it never writes, so it can run against a live database at any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.models import Candidate
from bot.reports.week import IsoWeek
from bot.store.schema import UtcDateTime, messages, ticket_events, tickets, users
from bot.store.sql import load_candidates

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


def _turns(conn: Connection, week: IsoWeek) -> list[Turn]:
    m = messages.c
    rows = conn.execute(
        sa.select(
            m.id,
            m.at,
            m.channel,
            m.chat_id,
            m.user_id,
            m.text,
            m.action,
            m.district,
            m.outcome,
            m.faq_id,
            m.score,
            m.candidates,
            m.ticket_id,
        )
        .where(m.direction == "in", m.at >= week.start, m.at < week.end)
        .order_by(m.channel, m.chat_id, m.at, m.id)
    )
    return [
        Turn(
            r.id,
            r.at,
            r.channel,
            r.chat_id,
            r.user_id,
            r.text or "",
            r.action,
            r.district,
            r.outcome,
            r.faq_id,
            r.score,
            load_candidates(r.candidates),
            r.ticket_id,
        )
        for r in rows
    ]


def _tickets(conn: Connection, week: IsoWeek) -> dict[int, TicketRow]:
    t = tickets.c
    rows = conn.execute(
        sa.select(
            t.id,
            t.number,
            t.created_at,
            t.question,
            t.status,
            t.department,
            t.tier,
            t.due_at,
            t.answer,
            t.satisfaction,
            t.updated_at,
        )
        .where(t.created_at >= week.start, t.created_at < week.end)
        .order_by(t.id)
    )
    return {r.id: TicketRow(*r) for r in rows}


def _events(conn: Connection, week: IsoWeek) -> list[EventRow]:
    e, t = ticket_events.c, tickets.c
    cohort = sa.select(t.id).where(t.created_at >= week.start, t.created_at < week.end)
    rows = conn.execute(
        sa.select(e.ticket_id, e.at, e.action, e.detail).where(e.ticket_id.in_(cohort)).order_by(e.at, e.id)
    )
    return [EventRow(*r) for r in rows]


def _names(conn: Connection, keys: Iterable[tuple[str, str | None]]) -> dict[tuple[str, str], str]:
    wanted = {(c, u) for c, u in keys if u}
    if not wanted:
        return {}
    rows = conn.execute(sa.select(users.c.channel, users.c.user_id, users.c.name).where(users.c.name.is_not(None)))
    return {(r.channel, r.user_id): r.name for r in rows if (r.channel, r.user_id) in wanted}


def _outcomes(conn: Connection, week: IsoWeek) -> dict[str, int]:
    m = messages.c
    rows = conn.execute(
        sa.select(m.outcome, (m.score.is_not(None)).label("scored"), sa.func.count())
        .where(m.direction == "in", m.at >= week.start, m.at < week.end, m.outcome.in_(QUESTION_OUTCOMES))
        .group_by(m.outcome, m.score.is_not(None))
    )
    counts: dict[str, int] = {}
    for outcome, scored, n in rows:
        if outcome != "escalate" or scored:
            counts[outcome] = counts.get(outcome, 0) + int(n)
    return counts


def _matched_ever(conn: Connection, until: dt.datetime) -> set[str]:
    m = messages.c
    rows = conn.execute(
        sa.select(m.faq_id)
        .where(m.direction == "in", m.outcome.in_(ANSWERED_OUTCOMES), m.faq_id.is_not(None), m.at < until)
        .distinct()
    )
    return {r[0] for r in rows}


def _proposals(conn: Connection, week: IsoWeek) -> list[tuple[str, str, str, str | None]]:
    """Staff answers marked as FAQ candidates this week (table from the ticket workflow; absent = none)."""
    if not sa.inspect(conn).has_table("faq_candidates"):
        return []
    fc = sa.table(
        "faq_candidates",
        sa.column("ticket_id"),
        sa.column("at", UtcDateTime()),
        sa.column("question"),
        sa.column("answer"),
        sa.column("department"),
    )
    rows = conn.execute(
        sa.select(tickets.c.number, fc.c.question, fc.c.answer, fc.c.department)
        .select_from(fc.join(tickets, tickets.c.id == fc.c.ticket_id))
        .where(fc.c.at >= week.start, fc.c.at < week.end)
        .order_by(fc.c.at)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def load_week(engine: Engine, week: IsoWeek) -> WeekData:
    """One consistent read of the week (a single connection), previous week's totals included."""
    with engine.connect() as conn:
        turns = _turns(conn, week)
        return WeekData(
            week=week,
            turns=turns,
            tickets=_tickets(conn, week),
            events=_events(conn, week),
            names=_names(conn, ((t.channel, t.user_id) for t in turns)),
            previous_outcomes=_outcomes(conn, week.previous()),
            matched_ever=_matched_ever(conn, week.end),
            proposals=_proposals(conn, week),
        )
