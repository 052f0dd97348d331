"""Indexes for the hot lookups: a re-delivered message's replies, and a user's own tickets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_in_reply_to", "messages", ["in_reply_to"])
    op.create_index("ix_tickets_channel_user", "tickets", ["channel", "user_id"])
