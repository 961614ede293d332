"""notices: keyword search over existing notices; the kind list index

Indexes the title and the body's plain text of every notice not withdrawn under the kind
"notice" of the shared keyword index (portal/search.py), as the board's migration did for
listings; `portal search-reindex notice` rebuilds the same way. Replaces the plain
`ix_notices_kind` with `ix_notices_kind_listing` (kind, pinned, publish_at, id,
withdrawn_at, expires_at, station_wide): a kind's page is read backwards from the index
and its count (with the community filter) never reads the table rows.

Revision ID: e4a7c2d91b53
Revises: 99f72fded9d9
Create Date: 2026-11-29 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "e4a7c2d91b53"
down_revision = "99f72fded9d9"
branch_labels = None
depends_on = None

KIND = "notice"
LISTING = ["kind", "pinned", "publish_at", "id", "withdrawn_at", "expires_at", "station_wide"]


def upgrade() -> None:
    op.drop_index("ix_notices_kind", table_name="notices")
    op.create_index("ix_notices_kind_listing", "notices", LISTING, unique=False)
    _index_existing_notices()


def _index_existing_notices() -> None:
    # The tokenizer is a pure function; `portal search-reindex notice` rebuilds the same way
    # (notices.services._all_notice_texts: title, then the body's plain text).
    from portal.search import tokens

    bind = op.get_bind()
    notices = sa.table(
        "notices",
        sa.column("id"),
        sa.column("title"),
        sa.column("body_text"),
        sa.column("withdrawn_at"),
    )
    rows = (
        bind.execute(
            sa.select(notices.c.id, notices.c.title, notices.c.body_text).where(
                notices.c.withdrawn_at.is_(None)
            )
        )
        .mappings()
        .all()
    )
    docs = [(r["id"], tokens(f"{r['title'] or ''}\n{r['body_text'] or ''}")) for r in rows]
    if not docs:
        return
    if bind.dialect.name == "postgresql":
        table = sa.table(
            "search_documents",
            sa.column("kind"),
            sa.column("ref_id"),
            sa.column("tokens", postgresql.ARRAY(sa.Text())),
        )
        values = [{"kind": KIND, "ref_id": i, "tokens": t} for i, t in docs]
    else:
        table = sa.table(
            "search_tokens", sa.column("kind"), sa.column("token"), sa.column("ref_id")
        )
        values = [{"kind": KIND, "ref_id": i, "token": x} for i, t in docs for x in t]
    for k in range(0, len(values), 5000):
        bind.execute(sa.insert(table), values[k : k + 5000])


def downgrade() -> None:
    search_documents = sa.table("search_documents", sa.column("kind"))
    search_tokens = sa.table("search_tokens", sa.column("kind"))
    op.execute(sa.delete(search_documents).where(search_documents.c.kind == KIND))
    op.execute(sa.delete(search_tokens).where(search_tokens.c.kind == KIND))
    op.drop_index("ix_notices_kind_listing", table_name="notices")
    op.create_index("ix_notices_kind", "notices", ["kind"], unique=False)
