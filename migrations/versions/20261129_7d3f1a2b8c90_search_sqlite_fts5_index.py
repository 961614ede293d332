"""search: on SQLite an FTS5 index over search_documents replaces the token table

SQLite now keeps one row per document in search_documents too (tokens joined by spaces;
id = a key of the kind + the document's id) and indexes it with the external-content
FTS5 table search_fts, kept in step by triggers; the token table search_tokens goes.
PostgreSQL only drops the (empty) search_tokens table.

Revision ID: 7d3f1a2b8c90
Revises: f1c3b5e8a2d7
Create Date: 2026-11-29 01:20:00.000000
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

revision = "7d3f1a2b8c90"
down_revision = "f1c3b5e8a2d7"
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(tokens,"
    " content='search_documents', content_rowid='id',"
    " tokenize='ascii', detail='none')",
    "CREATE TRIGGER IF NOT EXISTS search_fts_ai AFTER INSERT ON search_documents BEGIN"
    " INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens); END",
    "CREATE TRIGGER IF NOT EXISTS search_fts_ad AFTER DELETE ON search_documents BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, tokens)"
    " VALUES ('delete', old.id, old.tokens); END",
    "CREATE TRIGGER IF NOT EXISTS search_fts_au AFTER UPDATE ON search_documents BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, tokens)"
    " VALUES ('delete', old.id, old.tokens);"
    " INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens); END",
)


def _kind_key(kind: str) -> int:
    # As portal.search._kind_key: a document's id on SQLite is this plus its own id.
    return (zlib.crc32(kind.encode()) & 0x7FFFFF) << 32


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for ddl in FTS_DDL:
            op.execute(ddl)
        # The documents from the token table; the insert trigger indexes each.
        rows = bind.execute(
            sa.text(
                "SELECT kind, ref_id, group_concat(token, ' ') FROM search_tokens"
                " GROUP BY kind, ref_id"
            )
        ).all()
        docs = sa.table(
            "search_documents",
            sa.column("id"),
            sa.column("kind"),
            sa.column("ref_id"),
            sa.column("tokens"),
        )
        values = [{"id": _kind_key(k) + r, "kind": k, "ref_id": r, "tokens": t} for k, r, t in rows]
        for k in range(0, len(values), 1000):
            bind.execute(sa.insert(docs), values[k : k + 1000])
    with op.batch_alter_table("search_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_search_tokens_ref")
    op.drop_table("search_tokens")


def downgrade() -> None:
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
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    rows = bind.execute(sa.text("SELECT kind, ref_id, tokens FROM search_documents")).all()
    values = [
        {"kind": k, "ref_id": r, "token": t}
        for k, r, toks in rows
        for t in dict.fromkeys((toks or "").split())
    ]
    table = sa.table("search_tokens", sa.column("kind"), sa.column("token"), sa.column("ref_id"))
    for k in range(0, len(values), 5000):
        bind.execute(sa.insert(table), values[k : k + 5000])
    for name in ("search_fts_ai", "search_fts_ad", "search_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts")
    op.execute("DELETE FROM search_documents")
