"""search: keyword index tables (portal/search.py), filled with the board's listings

PostgreSQL keeps one row per document with a GIN-indexed text[] of tokens
(search_documents); SQLite keeps one row per token in a WITHOUT ROWID table whose primary
key is the inverted index (search_tokens). Each database leaves the other's table empty.

Revision ID: 3a98902a4830
Revises: 4b1e0c7d9a21
Create Date: 2026-11-28 23:50:36.055467
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3a98902a4830"
down_revision = "4b1e0c7d9a21"
branch_labels = None
depends_on = None

LISTING_FIELDS = ("title", "org_name", "address", "description", "requirements", "hours")


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column(
            "tokens",
            sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_search_documents_kind")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_documents_tokens",
            ["tokens"],
            unique=False,
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        )

    op.create_table(
        "search_tokens",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "token", "ref_id", name=op.f("pk_search_tokens")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("search_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_search_tokens_ref", ["kind", "ref_id"], unique=False)

    _index_existing_listings()


def _index_existing_listings() -> None:
    # The tokenizer is a pure function; `portal search-reindex` rebuilds the same way.
    from portal.search import tokens

    bind = op.get_bind()
    listings = sa.table("listings", sa.column("id"), *(sa.column(k) for k in LISTING_FIELDS))
    rows = bind.execute(sa.select(listings)).mappings().all()
    docs = [(r["id"], tokens("\n".join(str(r[k] or "") for k in LISTING_FIELDS))) for r in rows]
    if not docs:
        return
    if bind.dialect.name == "postgresql":
        table = sa.table(
            "search_documents",
            sa.column("kind"),
            sa.column("ref_id"),
            sa.column("tokens", postgresql.ARRAY(sa.Text())),
        )
        values = [{"kind": "listing", "ref_id": i, "tokens": t} for i, t in docs]
    else:
        table = sa.table(
            "search_tokens", sa.column("kind"), sa.column("token"), sa.column("ref_id")
        )
        values = [{"kind": "listing", "ref_id": i, "token": x} for i, t in docs for x in t]
    for k in range(0, len(values), 5000):
        bind.execute(sa.insert(table), values[k : k + 5000])


def downgrade() -> None:
    with op.batch_alter_table("search_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_search_tokens_ref")

    op.drop_table("search_tokens")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_tokens", postgresql_using="gin")

    op.drop_table("search_documents")
