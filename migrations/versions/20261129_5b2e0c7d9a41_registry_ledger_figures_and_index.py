"""registry ledger: stored figures, search indexes

Revision ID: 5b2e0c7d9a41
Revises: 117046f0b61c
Create Date: 2026-11-29 00:15:00

Reviewed by hand. ``registry_figures`` holds the snapshot of the ledger's figures (now and
per month, per community and for the station) that pages read instead of scanning the
ledger. ``ix_registry_migrants_status_since`` serves the station-wide ledger (admins):
``status = ? ORDER BY since DESC`` read from the index, whatever the number of communities.
The three ``*_prefix`` indexes serve the prefix searches on address and name: on
PostgreSQL with ``varchar_pattern_ops`` (``LIKE 'p%'`` cannot use a plain b-tree unless the
collation is "C"); on SQLite they are plain indexes (the search is a range there).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b2e0c7d9a41"
down_revision = "117046f0b61c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("known", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("permits", sa.Integer(), nullable=False),
        sa.Column("open_houses", sa.Integer(), nullable=False),
        sa.Column("pledged", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("moved_in", sa.Integer(), nullable=False),
        sa.Column("moved_out", sa.Integer(), nullable=False),
        sa.Column("oldest_pending_days", sa.Float(), nullable=True),
        sa.Column("median_pending_days", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_registry_figures_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_figures")),
    )
    with op.batch_alter_table("registry_figures", schema=None) as batch_op:
        batch_op.create_index("ix_registry_figures_computed_at", ["computed_at"], unique=False)
    with op.batch_alter_table("registry_migrants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_migrants_status_since", ["status", "since"], unique=False
        )
        batch_op.create_index(
            "ix_registry_migrants_address_prefix",
            ["community_id", "address_key"],
            unique=False,
            postgresql_ops={"address_key": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_registry_migrants_name_prefix",
            ["community_id", "name"],
            unique=False,
            postgresql_ops={"name": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("registry_houses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_houses_address_prefix",
            ["community_id", "address_key"],
            unique=False,
            postgresql_ops={"address_key": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_houses", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_houses_address_prefix")
    with op.batch_alter_table("registry_migrants", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_migrants_name_prefix")
        batch_op.drop_index("ix_registry_migrants_address_prefix")
        batch_op.drop_index("ix_registry_migrants_status_since")
    op.drop_table("registry_figures")
