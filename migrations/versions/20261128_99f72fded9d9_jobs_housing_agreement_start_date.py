"""jobs_housing: agreement start date (move-in / work start), chosen when drafted

Nullable: agreements drafted before this revision have their date only in the text.

Revision ID: 99f72fded9d9
Revises: 3a98902a4830
Create Date: 2026-11-28 23:59:33.362325
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "99f72fded9d9"
down_revision = "3a98902a4830"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listing_agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listing_agreements", schema=None) as batch_op:
        batch_op.drop_column("start_date")
