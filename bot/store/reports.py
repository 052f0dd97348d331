"""The weekly report's reader: one consistent read of a week of messages, tickets and events (read-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.reports.data import ANSWERED_OUTCOMES, QUESTION_OUTCOMES, EventRow, TicketRow, Turn, WeekData
from bot.reports.week import IsoWeek
from bot.store.rows import load_candidates
from bot.store.schema import UtcDateTime, messages, ticket_events, tickets, users


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


class ReportStore:
    """`ReportReader` on the shared database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read_week(self, week: IsoWeek) -> WeekData:
        """One consistent read of the week (a single connection), previous week's totals included."""
        with self.engine.connect() as conn:
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
