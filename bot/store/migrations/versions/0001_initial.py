"""Initial schema: users, conversation log, tickets, ticket events, ticket counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128)),
        sa.Column("district", sa.String(16)),
        sa.Column("enterprise", sa.String(128)),
        sa.Column("contact", sa.String(64)),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False, index=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("source_message_id", sa.String(128)),
        sa.Column("enterprise", sa.String(128)),
        sa.Column("contact", sa.String(64)),
        sa.Column("district", sa.String(16)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("context", sa.JSON),
        sa.Column("candidates", sa.JSON),
        sa.Column("category", sa.String(32)),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("department", sa.String(64)),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("assignee", sa.String(64)),
        sa.Column("due_at", TS),
        sa.Column("answer", sa.Text),
        sa.Column("satisfaction", sa.String(8)),
        sa.UniqueConstraint("channel", "chat_id", "source_message_id", name="uq_tickets_source_message"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("channel_message_id", sa.String(128)),
        sa.Column("in_reply_to", sa.Integer, sa.ForeignKey("messages.id")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("action", sa.String(128)),
        sa.Column("options", sa.JSON),
        sa.Column("district", sa.String(16)),
        sa.Column("outcome", sa.String(24)),
        sa.Column("faq_id", sa.String(64)),
        sa.Column("score", sa.Float),
        sa.Column("candidates", sa.JSON),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.UniqueConstraint("channel", "chat_id", "channel_message_id", name="uq_messages_channel_message"),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
    )
