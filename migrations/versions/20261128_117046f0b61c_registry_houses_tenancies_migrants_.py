"""registry: houses, tenancies, migrants, permits, events

Revision ID: 117046f0b61c
Revises: 6c1d2a9e4b70
Create Date: 2026-11-28 23:48:28.303304

Reviewed by hand: the ledger keeps everything (no ON DELETE CASCADE); indexes serve the
officers' common searches (community + status/name/address key) and the monthly figures
(events by community, kind and time).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "117046f0b61c"
down_revision = "6c1d2a9e4b70"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_houses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("address_key", sa.String(length=200), nullable=False),
        sa.Column("landlord_id", sa.Integer(), nullable=True),
        sa.Column("rooms", sa.Integer(), nullable=True),
        sa.Column("pledge_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pledge_agreement_id", sa.Integer(), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_registry_houses_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["landlord_id"], ["users.id"], name=op.f("fk_registry_houses_landlord_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_houses")),
    )
    with op.batch_alter_table("registry_houses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_houses_community_address", ["community_id", "address_key"], unique=False
        )
        batch_op.create_index("ix_registry_houses_landlord", ["landlord_id"], unique=False)

    op.create_table(
        "registry_import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_registry_import_batches_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["users.id"], name=op.f("fk_registry_import_batches_employer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import_batches")),
    )
    with op.batch_alter_table("registry_import_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_import_batches_employer_id"), ["employer_id"], unique=False
        )

    op.create_table(
        "registry_migrants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "rejected",
                "merged",
                "closed",
                name="recordstatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "rental",
                "job",
                "import",
                "self",
                "officer",
                name="source",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("source_ref", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("id_number", sa.String(length=255), nullable=True),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("phone", sa.String(length=255), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("address_key", sa.String(length=200), nullable=False),
        sa.Column("house_id", sa.Integer(), nullable=True),
        sa.Column("workplace", sa.String(length=100), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_registry_migrants_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["users.id"], name=op.f("fk_registry_migrants_employer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["house_id"],
            ["registry_houses.id"],
            name=op.f("fk_registry_migrants_house_id_registry_houses"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["registry_migrants.id"],
            name=op.f("fk_registry_migrants_merged_into_id_registry_migrants"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_registry_migrants_reviewed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_registry_migrants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_migrants")),
    )
    with op.batch_alter_table("registry_migrants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_migrants_address", ["community_id", "address_key"], unique=False
        )
        batch_op.create_index(
            "ix_registry_migrants_community_status",
            ["community_id", "status", "since"],
            unique=False,
        )
        batch_op.create_index("ix_registry_migrants_id_hash", ["id_hash"], unique=False)
        batch_op.create_index("ix_registry_migrants_name", ["community_id", "name"], unique=False)
        batch_op.create_index(
            "ix_registry_migrants_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index("ix_registry_migrants_user", ["user_id"], unique=False)

    op.create_table(
        "registry_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("migrant_id", sa.Integer(), nullable=True),
        sa.Column("house_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "submitted",
                "confirmed",
                "corrected",
                "rejected",
                "merged",
                "moved_in",
                "address_changed",
                "job_changed",
                "moved_out",
                "closed",
                "pledge_signed",
                "permit",
                "anonymised",
                name="eventkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_registry_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_registry_events_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["house_id"],
            ["registry_houses.id"],
            name=op.f("fk_registry_events_house_id_registry_houses"),
        ),
        sa.ForeignKeyConstraint(
            ["migrant_id"],
            ["registry_migrants.id"],
            name=op.f("fk_registry_events_migrant_id_registry_migrants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_events")),
    )
    with op.batch_alter_table("registry_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_events_community_kind_at", ["community_id", "kind", "at"], unique=False
        )
        batch_op.create_index("ix_registry_events_house", ["house_id", "at"], unique=False)
        batch_op.create_index("ix_registry_events_migrant", ["migrant_id", "at"], unique=False)

    op.create_table(
        "registry_permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migrant_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "applied",
                "accepted",
                "making",
                "ready",
                "collected",
                "refused",
                name="permitstatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("refuse_reason", sa.Text(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_registry_permits_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["migrant_id"],
            ["registry_migrants.id"],
            name=op.f("fk_registry_permits_migrant_id_registry_migrants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_permits")),
    )
    with op.batch_alter_table("registry_permits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_permits_applicant_id"), ["applicant_id"], unique=False
        )
        batch_op.create_index("ix_registry_permits_migrant", ["migrant_id"], unique=False)
        batch_op.create_index("ix_registry_permits_status", ["status", "updated_at"], unique=False)

    op.create_table(
        "registry_tenancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("tenant_user_id", sa.Integer(), nullable=True),
        sa.Column("migrant_id", sa.Integer(), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["house_id"],
            ["registry_houses.id"],
            name=op.f("fk_registry_tenancies_house_id_registry_houses"),
        ),
        sa.ForeignKeyConstraint(
            ["migrant_id"],
            ["registry_migrants.id"],
            name=op.f("fk_registry_tenancies_migrant_id_registry_migrants"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_user_id"],
            ["users.id"],
            name=op.f("fk_registry_tenancies_tenant_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_tenancies")),
    )
    with op.batch_alter_table("registry_tenancies", schema=None) as batch_op:
        batch_op.create_index("ix_registry_tenancies_house", ["house_id", "end_date"], unique=False)
        batch_op.create_index("ix_registry_tenancies_migrant", ["migrant_id"], unique=False)


def downgrade() -> None:
    # Indexes go with their tables.
    for table in (
        "registry_tenancies",
        "registry_permits",
        "registry_events",
        "registry_migrants",
        "registry_import_batches",
        "registry_houses",
    ):
        op.drop_table(table)
