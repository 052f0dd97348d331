"""WeChat push nonces in the database, so a replay is refused by every worker and after a restart.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_nonces",
        sa.Column("at", sa.BigInteger, primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wechat_nonces")
