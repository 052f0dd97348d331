"""Telegram staff-group cards: the card message of each ticket, for reply-to answers and 督办 announcements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_cards",
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("overdue_due_at", TS),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_telegram_cards_message"),
    )


def downgrade() -> None:
    op.drop_table("telegram_cards")
