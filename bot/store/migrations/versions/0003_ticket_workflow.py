"""Ticket workflow: paused clock and call-back flag on tickets, the outbox, FAQ candidates, queue indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("paused_at", TS))
        batch.add_column(sa.Column("callback_needed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_tickets_due_at", "tickets", ["due_at"])
    op.create_index("ix_ticket_events_at", "ticket_events", ["at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("options", sa.JSON),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("failed_at", TS),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_pending", "outbox", ["channel", "delivered_at", "failed_at", "next_attempt_at"])
    op.create_table(
        "faq_candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("department", sa.String(64)),
    )
    op.create_index("ix_faq_candidates_at", "faq_candidates", ["at"])


def downgrade() -> None:
    op.drop_table("faq_candidates")
    op.drop_table("outbox")
    op.drop_index("ix_ticket_events_at", "ticket_events")
    op.drop_index("ix_tickets_due_at", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("callback_needed")
        batch.drop_column("paused_at")
