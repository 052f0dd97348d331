"""SQLAlchemy implementation of the store, for SQLite (default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.config import TZ
from bot.models import Address, Option, Outgoing, Ticket, TicketStatus
from bot.store.base import Exchange, NewTicket, UserState, WaitingAnswer
from bot.store.changes import apply_change
from bot.store.engine import READS
from bot.store.prepared import Prepared, raw_cursor
from bot.store.rows import dump_candidates, row_to_ticket
from bot.store.schema import fit, messages, outbox, rate_limits, ticket_events, tickets, users, wechat_nonces
from bot.store.statements import Statements

if TYPE_CHECKING:
    from bot.desk.tickets import Change

logger = logging.getLogger(__name__)


def _lookup(address: Address, user_id: str, message_id: str | None) -> dict[str, Any]:
    """The keys a message is looked up by, cut to their columns' lengths as `record` stores them."""
    keys = fit(messages, {"channel": address.channel, "chat_id": address.chat_id, "user_id": user_id})
    keys["message_id"] = fit(messages, {"channel_message_id": message_id})["channel_message_id"]
    return keys


def _user_state(channel: str, user_id: str, row: Any) -> UserState:
    """The stored state, or a fresh default when the user has no row yet."""
    if row is None:
        return UserState(channel, user_id)
    return UserState(channel, user_id, row.district, row.name, row.enterprise, row.contact, dict(row.state))


class SqlStore:
    """The conversation record, flood counter and nonce ledger on one SQLAlchemy engine (see bot/store/interfaces.py).

    Safe to share between threads and processes.
    """

    def __init__(self, engine: Engine, ticket_prefix: str = "FG") -> None:
        self.engine = engine
        self.ticket_prefix = ticket_prefix
        self.sql = Statements(engine.dialect.name)
        # PostgreSQL runs one-statement work in autocommit (one round trip: no BEGIN, no COMMIT of its own).
        pg = self.sql.pg
        self.reader = engine.execution_options(**({"isolation_level": "AUTOCOMMIT"} if pg else {READS: True}))
        self.single = engine.execution_options(isolation_level="AUTOCOMMIT") if pg else engine
        if not pg:  # SQLite: the per-message statements on raw cursors (see bot/store/prepared.py)
            d = engine.dialect
            self._arrival = Prepared(self.sql.arrival, d)
            self._insert_incoming = Prepared(self.sql.insert_incoming, d)
            self._insert_reply = Prepared(self.sql.insert_reply, d)
            self._upsert_user = Prepared(self.sql.upsert_user, d)
            self._claim_nonce = Prepared(self.sql.claim_nonce, d)
            self._prune_nonces = Prepared(self.sql.prune_nonces, d)
            self._waiting_answers = Prepared(self.sql.waiting_answers, d)
            self._mark_delivered = Prepared(self.sql.mark_delivered, d)

    # ---- SQLite's write-ahead log -------------------------------------------------------------------------

    def take_over_checkpoints(self) -> bool:
        """SQLite: commits stop folding the write-ahead log back into the database themselves.

        By default the commit that takes the log past 1,000 pages does it, stalling that one message 3–35 ms
        (about one message in 140 here). A server calls this once and then `checkpoint()` every second or so off
        the message path; SQLite itself still checkpoints when the last connection closes. False on PostgreSQL.
        """
        if self.sql.pg:
            return False

        @sa.event.listens_for(self.engine, "connect")
        def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

        self.engine.dispose()  # connections opened before now would keep checkpointing on commit
        return True

    def checkpoint(self) -> None:
        """Fold what readers no longer need back into the database; never waits for or blocks a writer."""
        with raw_cursor(self.engine, transaction=False) as cur:
            cur.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # ---- users -------------------------------------------------------------------------------------------

    def arrival(
        self, address: Address, user_id: str, message_id: str | None
    ) -> tuple[list[Outgoing] | None, UserState]:
        if not self.sql.pg:
            return self._arrival_sqlite(address, user_id, message_id)
        with self.reader.connect() as conn:
            row = conn.execute(self.sql.arrival, _lookup(address, user_id, message_id)).one()
            previous = None if row.seen is None else self._replies(conn, row.seen)
        user = _user_state(address.channel, user_id, row if row.state is not None else None)
        user.answers_waiting = bool(row.mail)
        return previous, user

    def _arrival_sqlite(
        self, address: Address, user_id: str, message_id: str | None
    ) -> tuple[list[Outgoing] | None, UserState]:
        params = _lookup(address, user_id, message_id)
        with raw_cursor(self.engine, transaction=False) as cur:
            district, name, enterprise, contact, state, seen, mail = self._arrival.row(
                self._arrival.execute(cur, params).fetchone()
            )  # type: ignore[misc]
        previous = None
        if seen is not None:
            with self.reader.connect() as conn:
                previous = self._replies(conn, seen)
        if state is None:
            return previous, UserState(address.channel, user_id, answers_waiting=bool(mail))
        user = UserState(address.channel, user_id, district, name, enterprise, contact, dict(state), bool(mail))
        return previous, user

    @staticmethod
    def _user_params(u: UserState, at: Any) -> dict[str, Any]:
        return {
            "u_channel": u.channel,
            "u_user_id": u.user_id,
            "u_name": u.name,
            "u_district": u.district,
            "u_enterprise": u.enterprise,
            "u_contact": u.contact,
            "u_state": u.state,
            "u_updated_at": at,
        }

    # ---- conversation log --------------------------------------------------------------------------------

    def _replies(self, conn: Connection, incoming_id: int) -> list[Outgoing]:
        rows = conn.execute(self.sql.replies, {"in_id": incoming_id}).all()
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
        inc, at, u = exchange.incoming, exchange.at, exchange.user
        params = {
            "at": at,
            "direction": "in",
            "channel": inc.address.channel,
            "chat_id": inc.address.chat_id,
            "user_id": inc.user_id,
            "channel_message_id": inc.message_id,
            "kind": inc.kind,
            "text": inc.text,
            "action": inc.action,
            "district": u.district,
            "outcome": exchange.outcome,
            "faq_id": exchange.faq_id,
            "score": exchange.score,
            "candidates": dump_candidates(exchange.candidates) or None,
            "ticket_id": exchange.ticket_id,
            **self._user_params(u, at),
        }
        params = fit(users, fit(messages, params), prefix="u_")
        replies = [
            {
                "channel": out.address.channel,
                "chat_id": out.address.chat_id,
                "text": out.text,
                "options": [{"label": o.label, "action": o.action, "kind": o.kind} for o in out.options] or None,
            }
            for out in exchange.replies
        ]
        replies = [fit(messages, r) for r in replies]
        delivered = [{"o_id": i, "o_at": at} for i in exchange.delivered]
        if self.sql.pg and delivered:  # rare: a staff answer shown too, marked delivered in the same transaction
            with self.engine.begin() as conn:
                in_id = conn.execute(self.sql.record, {**params, "replies": replies}).scalar()
                if in_id is not None:
                    conn.execute(self.sql.mark_delivered, delivered)
        elif self.sql.pg:  # one statement: the inserts after the first select from its RETURNING
            with self.single.connect() as conn:
                in_id = conn.execute(self.sql.record, {**params, "replies": replies}).scalar()
        else:  # BEGIN IMMEDIATE … COMMIT on a raw cursor
            with raw_cursor(self.engine, transaction=True) as cur:
                row = self._insert_incoming.execute(cur, params).fetchone()
                in_id = None if row is None else row[0]
                if in_id is not None:
                    shared = {k: params[k] for k in ("at", "user_id", "district", "ticket_id")}
                    rows = [{**shared, **r, "direction": "out", "in_reply_to": in_id, "kind": "text"} for r in replies]
                    if rows:
                        self._insert_reply.execute_many(cur, rows)
                    self._upsert_user.execute(cur, params)
                    if delivered:
                        self._mark_delivered.execute_many(cur, delivered)
        if in_id is not None:
            return list(exchange.replies)
        previous = self.arrival(inc.address, "", inc.message_id or "")[0]
        if previous is None:
            raise RuntimeError(f"message {inc.message_id} neither recorded nor found")
        logger.info("duplicate delivery of %s message %s", inc.address.channel, inc.message_id)
        return previous

    def waiting_answers(self, address: Address, at: dt.datetime) -> list[WaitingAnswer]:
        params = fit(outbox, {"channel": address.channel, "chat_id": address.chat_id})
        params["at"] = at
        if self.sql.pg:
            with self.reader.connect() as conn:
                rows: list[Any] = list(conn.execute(self.sql.waiting_answers, params).all())
        else:
            with raw_cursor(self.engine, transaction=False) as cur:
                cur = self._waiting_answers.execute(cur, params)
                rows = [self._waiting_answers.row(r) for r in cur.fetchall()]
        return [
            WaitingAnswer(
                outbox_id,
                Outgoing(address, text, tuple(Option(**o) for o in options or ()), number),
            )
            for outbox_id, text, options, number in rows
        ]

    def answer_delivered(self, ticket_id: int) -> bool:
        latest = sa.select(outbox.c.delivered_at).where(outbox.c.ticket_id == ticket_id).order_by(outbox.c.id.desc())
        with self.reader.connect() as conn:
            row = conn.execute(latest.limit(1)).first()
        return row is not None and row.delivered_at is not None

    def recent_turns(self, address: Address, limit: int = 6) -> list[dict[str, str]]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                self.sql.recent_turns, {"channel": address.channel, "chat_id": address.chat_id, "limit": limit}
            ).all()
        return [{"direction": r.direction, "text": r.text} for r in reversed(rows)]

    # ---- tickets -----------------------------------------------------------------------------------------

    def open_ticket(self, new: NewTicket) -> Ticket:
        day = new.at.astimezone(TZ).strftime("%Y%m%d")
        params = {
            "day": day,
            "prefix": self.ticket_prefix,
            "created_at": new.at,
            "updated_at": new.at,
            "channel": new.channel_kind or new.address.channel,
            "chat_id": new.address.chat_id,
            "user_id": new.user_id,
            "source_message_id": new.source_message_id,
            "enterprise": new.enterprise,
            "contact": new.contact,
            "district": new.district,
            "question": new.question,
            "context": list(new.context) or None,
            "candidates": dump_candidates(new.candidates) or None,
            "category": new.category,
            "tier": new.tier,
            "department": new.department,
            "due_at": new.due_at,
            "status": TicketStatus.OPEN.value,
            "actor": f"{new.address.channel}:{new.user_id}",
        }
        params = fit(tickets, params)
        params["actor"] = fit(ticket_events, {"actor": params["actor"]})["actor"]
        if self.sql.pg:  # one statement; the counter row is locked only while it runs
            with self.single.connect() as conn:
                row = conn.execute(self.sql.open_ticket, params).first()
            if row is None:  # a concurrent delivery of the same message opened it
                with self.reader.connect() as conn:
                    return row_to_ticket(conn.execute(self.sql.ticket_by_source, params).one())
        else:  # BEGIN IMMEDIATE serializes writers: no race between the check and the insert
            with self.engine.begin() as conn:
                existing = conn.execute(self.sql.ticket_by_source, params).first()
                if existing is not None:
                    return row_to_ticket(existing)
                seq = conn.execute(self.sql.next_seq, params).scalar_one()
                row = conn.execute(self.sql.insert_ticket, {**params, "seq": seq}).one()
                conn.execute(
                    self.sql.insert_event,
                    {"ticket_id": row.id, "at": new.at, "actor": params["actor"], "action": "创建", "detail": None},
                )
        logger.info("ticket %s opened from %s", row.number, new.address.channel)
        return row_to_ticket(row)

    def change_ticket(self, number: str, actor: str, at: dt.datetime, decide: Callable[[Ticket], Change]) -> Ticket:
        return apply_change(self.engine, self.sql, number, actor, at, decide)

    # ---- the flood limit ---------------------------------------------------------------------------------

    def count_message(self, channel: str, user_id: str, now: float, window: float = 60.0) -> int:
        """Count one message of the user; how many, this one included, since their window of `window` s began.

        A window starts with the first message after the previous one ended. One atomic upsert, so every worker
        (and a restarted one) counts against the same number.
        """
        params = fit(rate_limits, {"channel": channel, "user_id": user_id})
        params.update(now=now, cutoff=now - window)
        with self.single.begin() as conn:
            return int(conn.execute(self.sql.count_message, params).scalar_one())

    # ---- WeChat replay defence ---------------------------------------------------------------------------

    def claim_nonce(self, at: int, nonce: str, body_sha256: str, expired_before: int) -> bool:
        """One upsert: the first writer's body hash stays; then a few pairs older than `expired_before` go.

        On PostgreSQL each statement commits on its own, so pruning (which skips rows others hold) never makes
        a push wait, and a concurrent first use of the same pair waits only for that one row.
        """
        params = fit(wechat_nonces, {"at": at, "nonce": nonce, "body_sha256": body_sha256})
        if self.sql.pg:
            with self.single.begin() as conn:
                first = conn.execute(self.sql.claim_nonce, params).scalar_one()
                conn.execute(self.sql.prune_nonces, {"horizon": expired_before})
        else:  # every push pays this: BEGIN IMMEDIATE … COMMIT on a raw cursor
            with raw_cursor(self.engine, transaction=True) as cur:
                first = self._claim_nonce.execute(cur, params).fetchone()[0]
                self._prune_nonces.execute(cur, {"horizon": expired_before})
        return bool(first == body_sha256)

    def tickets_of(self, channel: str, user_id: str, limit: int = 10) -> list[Ticket]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.channel == channel, tickets.c.user_id == user_id[:64])
                .order_by(tickets.c.id.desc())
                .limit(limit)
            ).all()
        return [row_to_ticket(r) for r in rows]
