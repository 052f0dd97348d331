"""SQLAlchemy implementation of the store, for SQLite (default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.config import TZ
from bot.models import Address, Candidate, Option, Outgoing, Ticket, TicketStatus
from bot.store.base import Exchange, NewTicket, UserState
from bot.store.schema import messages, ticket_counters, ticket_events, tickets, users

logger = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for `url`; plain postgresql:// URLs use psycopg 3, SQLite gets WAL and a busy timeout."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes, fsync only at checkpoints
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _immediate(conn: Connection) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing on lock upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        engine.dialect._on_connect_isolation_level = None  # type: ignore[attr-defined]
        return _sqlite_manual_begin(engine)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_manual_begin(engine: Engine) -> Engine:
    """Let our BEGIN IMMEDIATE above replace pysqlite's implicit transactions."""

    @sa.event.listens_for(engine, "connect")
    def _autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    return engine


def _candidates(raw: Any) -> tuple[Candidate, ...]:
    return tuple(Candidate(c["id"], float(c["score"])) for c in raw or ())


def _dump_candidates(cands: tuple[Candidate, ...]) -> list[dict[str, Any]]:
    return [{"id": c.id, "score": c.score} for c in cands]


def row_to_ticket(row: Any) -> Ticket:
    m = row._mapping
    return Ticket(
        id=m["id"],
        number=m["number"],
        created_at=m["created_at"],
        channel=m["channel"],
        user_id=m["user_id"],
        chat_id=m["chat_id"],
        question=m["question"],
        status=TicketStatus(m["status"]),
        district=m["district"],
        enterprise=m["enterprise"],
        contact=m["contact"],
        category=m["category"],
        tier=m["tier"],
        department=m["department"],
        assignee=m["assignee"],
        due_at=m["due_at"],
        answer=m["answer"],
        satisfaction=m["satisfaction"],
        candidates=_candidates(m["candidates"]),
        updated_at=m["updated_at"],
        paused_at=m["paused_at"],
        callback_needed=bool(m["callback_needed"]),
    )


class SqlStore:
    """The `Store` contract on one SQLAlchemy engine; safe to share between threads and processes."""

    def __init__(self, engine: Engine, ticket_prefix: str = "FG") -> None:
        self.engine = engine
        self.ticket_prefix = ticket_prefix

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ---- users -------------------------------------------------------------------------------------------

    def user(self, channel: str, user_id: str) -> UserState:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(users).where(users.c.channel == channel, users.c.user_id == user_id)
            ).first()
        if row is None:
            return UserState(channel, user_id)
        m = row._mapping
        return UserState(channel, user_id, m["district"], m["name"], m["enterprise"], m["contact"], dict(m["state"]))

    def _save_user(self, conn: Connection, u: UserState, at: Any) -> None:
        values = {
            "name": u.name,
            "district": u.district,
            "enterprise": u.enterprise,
            "contact": u.contact,
            "state": u.state,
            "updated_at": at,
        }
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(users).values(channel=u.channel, user_id=u.user_id, created_at=at, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "user_id"], set_=values))

    # ---- conversation log --------------------------------------------------------------------------------

    def replies_to(self, address: Address, message_id: str) -> list[Outgoing] | None:
        with self.engine.connect() as conn:
            return self._replies_to(conn, address, message_id)

    def _replies_to(self, conn: Connection, address: Address, message_id: str) -> list[Outgoing] | None:
        incoming_id = conn.execute(
            sa.select(messages.c.id).where(
                messages.c.channel == address.channel,
                messages.c.chat_id == address.chat_id,
                messages.c.channel_message_id == message_id,
            )
        ).scalar()
        if incoming_id is None:
            return None
        rows = conn.execute(
            sa.select(messages, tickets.c.number)
            .select_from(messages.outerjoin(tickets, messages.c.ticket_id == tickets.c.id))
            .where(messages.c.in_reply_to == incoming_id)
            .order_by(messages.c.id)
        ).all()
        return [
            Outgoing(
                Address(r.channel, r.chat_id),
                r.text,
                tuple(Option(**o) for o in r.options or ()),
                r.number,
            )
            for r in rows
        ]

    def record(self, exchange: Exchange) -> list[Outgoing]:
        inc = exchange.incoming
        try:
            with self.tx() as conn:
                in_id = conn.execute(
                    messages.insert().values(
                        at=exchange.at,
                        direction="in",
                        channel=inc.address.channel,
                        chat_id=inc.address.chat_id,
                        user_id=inc.user_id,
                        channel_message_id=inc.message_id,
                        kind=inc.kind,
                        text=inc.text,
                        action=inc.action,
                        district=exchange.user.district,
                        outcome=exchange.outcome,
                        faq_id=exchange.faq_id,
                        score=exchange.score,
                        candidates=_dump_candidates(exchange.candidates) or None,
                        ticket_id=exchange.ticket_id,
                    )
                ).inserted_primary_key[0]
                for out in exchange.replies:
                    conn.execute(
                        messages.insert().values(
                            at=exchange.at,
                            direction="out",
                            channel=out.address.channel,
                            chat_id=out.address.chat_id,
                            user_id=inc.user_id,
                            in_reply_to=in_id,
                            kind="text",
                            text=out.text,
                            options=[{"label": o.label, "action": o.action, "kind": o.kind} for o in out.options]
                            or None,
                            district=exchange.user.district,
                            ticket_id=exchange.ticket_id,
                        )
                    )
                self._save_user(conn, exchange.user, exchange.at)
        except IntegrityError:
            if inc.message_id is None:
                raise
            previous = self.replies_to(inc.address, inc.message_id)
            if previous is None:
                raise
            logger.info("duplicate delivery of %s message %s", inc.address.channel, inc.message_id)
            return previous
        return list(exchange.replies)

    def recent_turns(self, address: Address, limit: int = 6) -> list[dict[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(messages.c.direction, messages.c.text)
                .where(messages.c.channel == address.channel, messages.c.chat_id == address.chat_id)
                .order_by(messages.c.id.desc())
                .limit(limit)
            ).all()
        return [{"direction": r.direction, "text": r.text} for r in reversed(rows)]

    # ---- tickets -----------------------------------------------------------------------------------------

    def _next_number(self, conn: Connection, at: Any) -> str:
        day = at.astimezone(TZ).strftime("%Y%m%d")
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(ticket_counters).values(day=day, last_seq=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day"], set_={"last_seq": ticket_counters.c.last_seq + 1}
        ).returning(ticket_counters.c.last_seq)
        seq = conn.execute(stmt).scalar_one()
        return f"{self.ticket_prefix}{day}-{seq:04d}"

    def _ticket_by_source(self, conn: Connection, new: NewTicket) -> Ticket | None:
        if new.source_message_id is None:
            return None
        row = conn.execute(
            sa.select(tickets).where(
                tickets.c.channel == (new.channel_kind or new.address.channel),
                tickets.c.chat_id == new.address.chat_id,
                tickets.c.source_message_id == new.source_message_id,
            )
        ).first()
        return row_to_ticket(row) if row else None

    def open_ticket(self, new: NewTicket) -> Ticket:
        with self.engine.connect() as conn:
            existing = self._ticket_by_source(conn, new)
        if existing:
            return existing
        try:
            with self.tx() as conn:
                number = self._next_number(conn, new.at)
                row = conn.execute(
                    tickets.insert().values(
                        number=number,
                        created_at=new.at,
                        updated_at=new.at,
                        channel=new.channel_kind or new.address.channel,
                        chat_id=new.address.chat_id,
                        user_id=new.user_id,
                        source_message_id=new.source_message_id,
                        enterprise=new.enterprise,
                        contact=new.contact,
                        district=new.district,
                        question=new.question,
                        context=list(new.context) or None,
                        candidates=_dump_candidates(new.candidates) or None,
                        category=new.category,
                        tier=new.tier,
                        department=new.department,
                        due_at=new.due_at,
                        status=TicketStatus.OPEN.value,
                    ).returning(*tickets.c)  # the row as stored, without a second round trip
                ).one()
                conn.execute(
                    ticket_events.insert().values(
                        ticket_id=row.id, at=new.at, actor=f"{new.address.channel}:{new.user_id}", action="创建"
                    )
                )
            logger.info("ticket %s opened from %s", number, new.address.channel)
            return row_to_ticket(row)
        except IntegrityError:
            with self.engine.connect() as conn:
                existing = self._ticket_by_source(conn, new)
            if existing is None:
                raise
            return existing

    def change_ticket(self, number: str, actor: str, at: Any, decide: Any) -> Ticket:
        from bot.store.queue import TicketQueue  # the staff-side queue module builds on this one

        return TicketQueue(self).apply(number, actor, at, decide)

    def tickets_of(self, channel: str, user_id: str, limit: int = 10) -> list[Ticket]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.channel == channel, tickets.c.user_id == user_id)
                .order_by(tickets.c.id.desc())
                .limit(limit)
            ).all()
        return [row_to_ticket(r) for r in rows]
