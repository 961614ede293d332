"""consult: conversations marked urgent by an emergency word

Revision ID: 6c1d2a9e4b70
Revises: c71a66c8d06f
Create Date: 2026-11-28 23:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6c1d2a9e4b70"
down_revision = "c71a66c8d06f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_column("is_urgent")
