"""appointments: services left out of the residents' list (the lost-and-found claim's visit)

`appointment_services.listed` (default true). The 失物认领 service that the notices seed
creates is booked only from a claim on a found item, so it is set unlisted here; a
deployment that named its claim service otherwise (LOST_FOUND_CLAIM_SERVICE) unticks
"在服务列表中显示" on that service in the back office.

Revision ID: f1c3b5e8a2d7
Revises: e4a7c2d91b53
Create Date: 2026-11-29 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f1c3b5e8a2d7"
down_revision = "e4a7c2d91b53"
branch_labels = None
depends_on = None

CLAIM_SERVICE = "失物认领"  # notices.services.DEFAULT_CLAIM_SERVICE


def upgrade() -> None:
    with op.batch_alter_table("appointment_services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("listed", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    services = sa.table("appointment_services", sa.column("name"), sa.column("listed"))
    op.execute(
        sa.update(services).where(services.c.name == CLAIM_SERVICE).values(listed=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("appointment_services", schema=None) as batch_op:
        batch_op.drop_column("listed")
