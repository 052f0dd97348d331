"""The hot-path statements, built once per dialect and reused with parameters.

Building a statement with `.values(...)` on every call costs more than running it (SQLAlchemy coerces every
value and computes a new cache key); a statement object built once is compiled once and then only executed.
On PostgreSQL the multi-step writes are single statements with data-modifying CTEs: one round trip and one
commit each, and the per-day counter row stays locked only for the duration of that one statement.

Those CTEs are the only dialect-specific forms, kept because they measured worth it against the same
operations run as the portable statement sequence (December 2026, this 2-core box, medians of 3):
bench_tickets.py on PostgreSQL 589 vs 200 pairs/s with 4 workers, 801 vs 294 with one; record + arrival
0.66 vs 0.97 ms per message. Each form is written once, here; everything else is one portable statement.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.models import TicketStatus
from bot.store.dialect import insert
from bot.store.rows import ticket_number
from bot.store.schema import (
    messages,
    outbox,
    rate_limits,
    ticket_counters,
    ticket_events,
    tickets,
    users,
    wechat_nonces,
)

P = sa.bindparam
PRUNE_NONCES = 2  # expired nonces dropped per push at most: the table drains twice as fast as it fills

# Columns an exchange writes, in the order of the parameter dicts `SqlStore.record` builds.
IN_COLUMNS = (
    "at", "direction", "channel", "chat_id", "user_id", "channel_message_id", "kind", "text", "action",
    "district", "outcome", "faq_id", "score", "candidates", "ticket_id",
)  # fmt: skip
OUT_COLUMNS = ("at", "direction", "channel", "chat_id", "user_id", "in_reply_to", "kind", "text", "options",
               "district", "ticket_id")  # fmt: skip
USER_VALUES = ("name", "district", "enterprise", "contact", "state", "updated_at")
TICKET_COLUMNS = (
    "number", "created_at", "updated_at", "channel", "chat_id", "user_id", "source_message_id", "enterprise",
    "contact", "district", "question", "context", "candidates", "category", "tier", "department", "due_at",
    "status",
)  # fmt: skip


def _typed(table: sa.Table, name: str) -> sa.BindParameter[Any]:
    """A parameter with its column's type (PostgreSQL gets a cast where no column gives one).

    JSON parameters store None as SQL NULL, as `.values(x=None)` does, not as the JSON value null.
    """
    type_ = table.c[name].type
    return P(name, type_=sa.JSON(none_as_null=True) if isinstance(type_, sa.JSON) else type_)


def _user(name: str) -> sa.BindParameter[Any]:
    """A users column's parameter, prefixed so it never collides with the message's own `district`."""
    return P(f"u_{name}", type_=_typed(users, name).type)


class Statements:
    """Every statement the dialog's hot path runs, for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.pg = dialect == "postgresql"

        # ---- arrival: the user's state and whether the message was seen, in one query -----------------------
        seen = (
            sa.select(messages.c.id)
            .where(
                messages.c.channel == P("channel"),
                messages.c.chat_id == P("chat_id"),
                messages.c.channel_message_id == P("message_id"),
            )
            .scalar_subquery()
        )
        mail = sa.exists().where(  # a staff answer not yet delivered to this chat (fetched only then)
            outbox.c.channel == P("channel"), outbox.c.chat_id == P("chat_id"), outbox.c.delivered_at.is_(None)
        )
        one = sa.select(sa.literal(1).label("one")).subquery("one")
        self.arrival = sa.select(
            users.c.district,
            users.c.name,
            users.c.enterprise,
            users.c.contact,
            users.c.state,
            seen.label("seen"),
            mail.label("mail"),
        ).select_from(one.outerjoin(users, sa.and_(users.c.channel == P("channel"), users.c.user_id == P("user_id"))))
        self.replies = (
            sa.select(messages.c.channel, messages.c.chat_id, messages.c.text, messages.c.options, tickets.c.number)
            .select_from(messages.outerjoin(tickets, messages.c.ticket_id == tickets.c.id))
            .where(messages.c.in_reply_to == P("in_id"))
            .order_by(messages.c.id)
        )

        # ---- record: incoming message, replies, user state ---------------------------------------------------
        dedup = ["channel", "chat_id", "channel_message_id"]
        ins_in = insert(messages, dialect).values({c: _typed(messages, c) for c in IN_COLUMNS})
        self.insert_incoming = ins_in.on_conflict_do_nothing(index_elements=dedup).returning(messages.c.id)
        self.insert_reply = messages.insert().values({c: _typed(messages, c) for c in OUT_COLUMNS})
        ins_user = insert(users, dialect).values(
            channel=P("u_channel", type_=users.c.channel.type),
            user_id=P("u_user_id", type_=users.c.user_id.type),
            created_at=P("u_updated_at", type_=users.c.updated_at.type),
            **{c: _user(c) for c in USER_VALUES},
        )
        self.upsert_user = ins_user.on_conflict_do_update(
            index_elements=["channel", "user_id"], set_={c: ins_user.excluded[c] for c in USER_VALUES}
        )
        if self.pg:
            self.record = self._record_pg(ins_in, dedup)

        # ---- staff answers shown at the user's next contact (bot/dialog/core.py) ------------------------------------
        o = outbox.c
        self.waiting_answers = (
            sa.select(o.id, o.text, o.options, tickets.c.number)
            .select_from(outbox.outerjoin(tickets, o.ticket_id == tickets.c.id))
            .where(
                o.channel == P("channel", type_=o.channel.type),
                o.chat_id == P("chat_id", type_=o.chat_id.type),
                o.delivered_at.is_(None),
                # due, given up, or waiting to retry after a failed push: the user is here now
                sa.or_(
                    o.failed_at.is_not(None),
                    o.last_error.is_not(None),
                    o.next_attempt_at <= P("at", type_=o.next_attempt_at.type),
                ),
            )
            .order_by(o.id)
        )
        self.mark_delivered = (
            outbox.update()
            .where(o.id == P("o_id", type_=o.id.type), o.delivered_at.is_(None))
            .values(delivered_at=P("o_at", type_=o.delivered_at.type), last_error=None)
        )

        # ---- tickets -----------------------------------------------------------------------------------------
        by_source = sa.and_(
            tickets.c.channel == P("channel"),
            tickets.c.chat_id == P("chat_id"),
            tickets.c.source_message_id == P("source_message_id"),
        )
        self.ticket_by_source = sa.select(tickets).where(by_source)
        self.next_seq = (
            insert(ticket_counters, dialect)
            .values(day=P("day"), last_seq=1)
            .on_conflict_do_update(index_elements=["day"], set_={"last_seq": ticket_counters.c.last_seq + 1})
            .returning(ticket_counters.c.last_seq)
        )
        self.insert_ticket = (
            tickets.insert()
            .values(
                {
                    "number": ticket_number(
                        P("prefix", type_=sa.Text), P("day", type_=sa.Text), P("seq", type_=sa.Integer)
                    ),
                    **{c: _typed(tickets, c) for c in TICKET_COLUMNS[1:]},
                }
            )
            .returning(*tickets.c)  # the row as stored, no second round trip
        )
        self.insert_event = ticket_events.insert().values(
            ticket_id=P("ticket_id"),
            at=_typed(ticket_events, "at"),
            actor=_typed(ticket_events, "actor"),
            action=_typed(ticket_events, "action"),
            detail=_typed(ticket_events, "detail"),
        )
        self.recent_turns = (
            sa.select(messages.c.direction, messages.c.text)
            .where(messages.c.channel == P("channel"), messages.c.chat_id == P("chat_id"))
            .order_by(messages.c.id.desc())
            .limit(P("limit"))
        )
        if self.pg:
            self.open_ticket = self._open_ticket_pg(by_source)

        # ---- the flood limit: count one message in the user's current window, atomically -------------------
        fresh = rate_limits.c.window_start <= P("cutoff", type_=sa.Float)
        ins_hit = insert(rate_limits, dialect).values(
            channel=P("channel"), user_id=P("user_id"), window_start=P("now", type_=sa.Float), count=1
        )
        self.count_message = ins_hit.on_conflict_do_update(
            index_elements=["channel", "user_id"],
            set_={  # both right-hand sides read the row as it was, on either backend
                "count": sa.case((fresh, 1), else_=rate_limits.c.count + 1),
                "window_start": sa.case((fresh, ins_hit.excluded.window_start), else_=rate_limits.c.window_start),
            },
        ).returning(rate_limits.c.count)

        # ---- WeChat nonces: the first body of a (timestamp, nonce) wins, atomically -------------------------
        ins_nonce = insert(wechat_nonces, dialect).values(
            at=P("at", type_=sa.BigInteger), nonce=P("nonce"), body_sha256=P("body_sha256")
        )
        self.claim_nonce = ins_nonce.on_conflict_do_update(  # a no-op update, so RETURNING gives the first body
            index_elements=["at", "nonce"], set_={"body_sha256": wechat_nonces.c.body_sha256}
        ).returning(wechat_nonces.c.body_sha256)
        expired = (
            sa.select(wechat_nonces.c.at, wechat_nonces.c.nonce)
            .where(wechat_nonces.c.at < P("horizon", type_=sa.BigInteger))
            .limit(PRUNE_NONCES)
            .with_for_update(skip_locked=True)  # PostgreSQL: a worker pruning the same rows is never waited for
        )
        self.prune_nonces = wechat_nonces.delete().where(
            sa.tuple_(wechat_nonces.c.at, wechat_nonces.c.nonce).in_(expired)
        )
        self._changes: dict[tuple[Any, ...], sa.Executable] = {}

    def _record_pg(self, ins_in: Any, dedup: list[str]) -> sa.Select[Any]:
        """Incoming message, its replies (one JSON array parameter) and the user, as one statement.

        Nothing but the incoming row is attempted when the message id is already recorded: the other inserts
        select from the incoming insert's RETURNING, which is empty on conflict.
        """
        i = ins_in.on_conflict_do_nothing(index_elements=dedup).returning(messages.c.id).cte("i")
        r = (
            sa.func.json_to_recordset(P("replies", type_=sa.JSON))
            .table_valued(
                sa.column("channel", sa.Text),
                sa.column("chat_id", sa.Text),
                sa.column("text", sa.Text),
                sa.column("options", sa.JSON),
            )
            .render_derived(name="r", with_types=True)
        )
        out = sa.insert(messages).from_select(
            list(OUT_COLUMNS),
            sa.select(
                _typed(messages, "at"), sa.literal("out"), r.c.channel, r.c.chat_id, _typed(messages, "user_id"),
                i.c.id, sa.literal("text"), r.c.text, r.c.options, _typed(messages, "district"),
                _typed(messages, "ticket_id"),
            ).select_from(i).join(r, sa.true()),
        )  # fmt: skip
        values = {c: _user(c) for c in USER_VALUES}
        ins_user = insert(users, self.dialect).from_select(
            ["channel", "user_id", "created_at", *USER_VALUES],
            sa.select(
                P("u_channel", type_=users.c.channel.type),
                P("u_user_id", type_=users.c.user_id.type),
                values["updated_at"],
                *values.values(),
            ).select_from(i),
        )
        user = ins_user.on_conflict_do_update(
            index_elements=["channel", "user_id"], set_={c: ins_user.excluded[c] for c in USER_VALUES}
        )
        return sa.select(i.c.id).add_cte(out.cte("o")).add_cte(user.cte("u"))

    def _open_ticket_pg(self, by_source: Any) -> sa.Select[Any]:
        """Counter upsert → ticket insert → history event, as one statement.

        A re-delivered message whose ticket exists takes no number; if two deliveries race, the unique
        (channel, chat_id, source_message_id) makes the second insert nothing (its number is skipped, numbers
        stay unique and increasing) and the caller reads the first one's ticket.
        """
        fresh = ~sa.exists().where(by_source)
        n = (
            insert(ticket_counters, self.dialect)
            .from_select(["day", "last_seq"], sa.select(P("day", type_=sa.Text), sa.literal(1)).where(fresh))
            .on_conflict_do_update(index_elements=["day"], set_={"last_seq": ticket_counters.c.last_seq + 1})
            .returning(ticket_counters.c.last_seq)
            .cte("n")
        )
        number = ticket_number(P("prefix", type_=sa.Text), P("day", type_=sa.Text), n.c.last_seq)
        values = [_typed(tickets, c) for c in TICKET_COLUMNS[1:]]
        t = (
            insert(tickets, self.dialect)
            .from_select(
                [*TICKET_COLUMNS, "callback_needed"],
                sa.select(number, *values, sa.false()).select_from(n),
                include_defaults=False,
            )
            .on_conflict_do_nothing(index_elements=["channel", "chat_id", "source_message_id"])
            .returning(*tickets.c)
            .cte("t")
        )
        event = sa.insert(ticket_events).from_select(
            ["ticket_id", "at", "actor", "action"],
            sa.select(
                t.c.id, P("created_at", type_=ticket_events.c.at.type), P("actor", type_=sa.Text), sa.literal("创建")
            ),
            include_defaults=False,
        )
        return sa.select(t).add_cte(event.cte("e"))

    def change_if(self, action: str, keys: tuple[str, ...], sources: frozenset[TicketStatus]) -> sa.Executable:
        """UPDATE the ticket if its status is one of `sources`, RETURNING the row; with its event on PostgreSQL.

        Cached per (action, changed columns, sources): a handful of shapes in all.
        """
        key = (action, keys, sources)
        stmt = self._changes.get(key)
        if stmt is None:
            updated = P("v_updated_at", type_=tickets.c.updated_at.type)
            update = (
                tickets.update()
                .where(
                    tickets.c.number == P("t_number"),
                    sa.or_(*(tickets.c.status == s.value for s in sorted(sources))),  # IN would re-render per call
                )
                .values(
                    {
                        **{k: P(f"v_{k}", type_=tickets.c[k].type) for k in keys},
                        "updated_at": updated,
                    }
                )
                .returning(*tickets.c)
            )
            if self.pg:
                c = update.cte("c")
                event = sa.insert(ticket_events).from_select(
                    ["ticket_id", "at", "actor", "action", "detail"],
                    sa.select(
                        c.c.id,
                        updated,
                        P("actor", type_=sa.Text),
                        P("action", type_=sa.Text),
                        P("detail", type_=sa.Text),
                    ),
                )
                stmt = sa.select(c).add_cte(event.cte("e"))
            else:
                stmt = update
            self._changes[key] = stmt
        return stmt
