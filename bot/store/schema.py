"""The tables, as SQLAlchemy Core metadata; migrations in `migrations/versions` create exactly these.

Designed for the later work too: the conversation log feeds the weekly gap report, tickets and their
append-only events feed the staff queue and the daily digest.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Stored as UTC, always read back timezone-aware (SQLite would otherwise return naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = sa.MetaData()

# One row per (channel, user): what the dialog remembers between messages.
users = sa.Table(
    "users",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128)),
    sa.Column("district", sa.String(16)),
    sa.Column("enterprise", sa.String(128)),
    sa.Column("contact", sa.String(64)),
    sa.Column("state", sa.JSON, nullable=False, default=dict),  # pending options, unanswered streak, last entry
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# The conversation log: every incoming message and every reply.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False, index=True),
    sa.Column("direction", sa.String(3), nullable=False),  # "in" | "out"
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64)),
    sa.Column("channel_message_id", sa.String(128)),  # the channel's id of an incoming message (dedup)
    sa.Column("in_reply_to", sa.Integer, sa.ForeignKey("messages.id"), index=True),
    sa.Column("kind", sa.String(16), nullable=False, default="text"),
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("action", sa.String(128)),
    sa.Column("options", sa.JSON),
    sa.Column("district", sa.String(16)),
    sa.Column("outcome", sa.String(24)),  # dialog outcome of an incoming message: answer, suggest, escalate, …
    sa.Column("faq_id", sa.String(64)),
    sa.Column("score", sa.Float),
    sa.Column("candidates", sa.JSON),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.UniqueConstraint("channel", "chat_id", "channel_message_id", name="uq_messages_channel_message"),
)

# Hotline-style tickets.
tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("source_message_id", sa.String(128)),  # the channel message that opened it (dedup)
    sa.Column("enterprise", sa.String(128)),
    sa.Column("contact", sa.String(64)),
    sa.Column("district", sa.String(16)),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("context", sa.JSON),  # the conversation around the question
    sa.Column("candidates", sa.JSON),
    sa.Column("category", sa.String(32)),
    sa.Column("tier", sa.String(8), nullable=False, default="常规"),
    sa.Column("department", sa.String(64)),
    sa.Column("status", sa.String(8), nullable=False, index=True),
    sa.Column("assignee", sa.String(64)),
    sa.Column("due_at", UtcDateTime(), index=True),
    sa.Column("answer", sa.Text),
    sa.Column("satisfaction", sa.String(8)),
    sa.Column("paused_at", UtcDateTime()),  # since when the clock waits for the enterprise (0003)
    sa.Column("callback_needed", sa.Boolean, nullable=False, default=False),  # an answer could not be delivered
    sa.UniqueConstraint("channel", "chat_id", "source_message_id", name="uq_tickets_source_message"),
    sa.Index("ix_tickets_channel_user", "channel", "user_id"),  # 0005: an enterprise's own tickets
)

# Append-only history of every action on a ticket.
ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("at", UtcDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("detail", sa.Text),
)

# Per-day ticket sequence, so numbering comes from the database, not from one process's memory.
ticket_counters = sa.Table(
    "ticket_counters",
    metadata,
    sa.Column("day", sa.String(8), primary_key=True),  # YYYYMMDD in Asia/Shanghai
    sa.Column("last_seq", sa.Integer, nullable=False),
)

# WeChat's customer-service window per follower: a user's message opens 48 hours and 5 messages we may send.
wechat_windows = sa.Table(
    "wechat_windows",
    metadata,
    sa.Column("openid", sa.String(64), primary_key=True),
    sa.Column("opened_at", UtcDateTime(), nullable=False),  # the user's message (users.updated_at) counted against
    sa.Column("cs_sent", sa.Integer, nullable=False, default=0),  # customer-service messages sent since
)

# Messages to enterprises produced outside their own exchange (staff answers), delivered by the running channel.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("options", sa.JSON),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),  # also the lease while a sender holds it
    sa.Column("delivered_at", UtcDateTime()),
    sa.Column("failed_at", UtcDateTime()),  # given up: the ticket is flagged for a phone call-back
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_pending", "channel", "delivered_at", "failed_at", "next_attempt_at"),
)

# Staff answers proposed as new FAQ entries, for the weekly report.
faq_candidates = sa.Table(
    "faq_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False, index=True),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("category", sa.String(32)),
    sa.Column("department", sa.String(64)),
)

# Messages per user in the current minute, shared by every worker: the flood limit of all channels (0006).
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.Float, nullable=False),  # Unix seconds of the window's first message
    sa.Column("count", sa.Integer, nullable=False),
)

# Each signed WeChat push's (timestamp, nonce) with a hash of its body, while the timestamp is fresh (0007):
# the first body wins across every worker; the same pair with another body is a replay.
wechat_nonces = sa.Table(
    "wechat_nonces",
    metadata,
    sa.Column("at", sa.BigInteger, primary_key=True),  # the push's timestamp, Unix seconds, as WeChat signed it
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("body_sha256", sa.String(64), nullable=False),  # hex
)

# Telegram staff-group cards: which message shows which ticket, so a reply to a card answers that ticket (0004).
telegram_cards = sa.Table(
    "telegram_cards",
    metadata,
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.BigInteger),  # None while a worker is posting it (claimed_at is the lease)
    sa.Column("claimed_at", UtcDateTime(), nullable=False),
    sa.Column("overdue_due_at", UtcDateTime()),  # the due time last announced as overdue (督办), once per due time
    sa.UniqueConstraint("chat_id", "message_id", name="uq_telegram_cards_message"),
)

# Telegram updates fetched by the polling worker, kept until a worker has processed them (0008): with several
# workers, the one that polls confirms a batch to Telegram once it is here, and each worker takes its chats' share.
telegram_updates = sa.Table(
    "telegram_updates",
    metadata,
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),  # 0 for updates without a chat
    sa.Column("body", sa.JSON, nullable=False),  # the update as the Bot API sent it
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),  # failed processing attempts so far
)

# Scheduled jobs that must run once per period however many workers and machines schedule them (0009): the
# first to insert its (job, period) row runs it, e.g. the Monday report to the staff group.
scheduled_runs = sa.Table(
    "scheduled_runs",
    metadata,
    sa.Column("job", sa.String(32), primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),  # e.g. the ISO week 2020-W13
    sa.Column("claimed_at", UtcDateTime(), nullable=False),
)


def fit(table: sa.Table, row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`row` with each text value cut to its column's length (keys are column names after `prefix`).

    One set of lengths for both backends: PostgreSQL refuses a longer value and SQLite would store it whole,
    so the store cuts it first and both keep the same text.
    """
    out = dict(row)
    for key, value in row.items():
        if not isinstance(value, str) or not key.startswith(prefix):
            continue
        column = table.c.get(key[len(prefix) :])
        length = getattr(column.type, "length", None) if column is not None else None
        if length is not None and len(value) > length:
            out[key] = value[:length]
    return out
