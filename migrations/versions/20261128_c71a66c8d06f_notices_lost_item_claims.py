"""notices: claims on found items, each linked to the visit booked to collect it; the
public list's index (pinned, publish_at, id, state columns) replaces the publish_at index

Revision ID: c71a66c8d06f
Revises: 226ee398ea6d
Create Date: 2026-11-28 23:48:28.492730
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c71a66c8d06f"
down_revision = "226ee398ea6d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lost_item_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("claimant_id", sa.Integer(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "returned", "rejected", name="claimstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["appointment_bookings.id"],
            name=op.f("fk_lost_item_claims_booking_id_appointment_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimant_id"],
            ["users.id"],
            name=op.f("fk_lost_item_claims_claimant_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["lost_items.id"],
            name=op.f("fk_lost_item_claims_item_id_lost_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_item_claims")),
        # Also serves the look-up of an item's claims (item_id leads).
        sa.UniqueConstraint("item_id", "claimant_id", name=op.f("uq_lost_item_claims_item_id")),
    )
    op.create_index(
        op.f("ix_lost_item_claims_claimant_id"), "lost_item_claims", ["claimant_id"], unique=False
    )
    # Without statistics SQLite preferred the publish_at range and sorted every public
    # notice; this index serves the list's order and its count (see bench/README.md).
    op.drop_index("ix_notices_publish_at", table_name="notices")
    op.create_index(
        "ix_notices_listing",
        "notices",
        ["pinned", "publish_at", "id", "withdrawn_at", "expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notices_listing", table_name="notices")
    op.create_index("ix_notices_publish_at", "notices", ["publish_at"], unique=False)
    op.drop_index(op.f("ix_lost_item_claims_claimant_id"), table_name="lost_item_claims")
    op.drop_table("lost_item_claims")
