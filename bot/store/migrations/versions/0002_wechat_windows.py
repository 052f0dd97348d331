"""WeChat customer-service windows: when a follower last wrote and how many messages we sent since.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_windows",
        sa.Column("openid", sa.String(64), primary_key=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cs_sent", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wechat_windows")
