"""consult: the knowledge base's existing questions into the keyword index

The knowledge base and the similar-question suggestions read the shared keyword index
(portal/search.py, kind "consult"). Questions answered before that change are indexed here
with the same text as ``consult.services._kb_text`` (title, question, the staff's replies;
never internal notes) so an upgraded station keeps its knowledge base without running
``portal search-reindex consult``. Data only; the downgrade removes the kind's documents.

Revision ID: b8e2f4a6c013
Revises: 7d3f1a2b8c90
Create Date: 2026-11-29 02:00:00.000000
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b8e2f4a6c013"
down_revision = "7d3f1a2b8c90"
branch_labels = None
depends_on = None

KIND = "consult"


def upgrade() -> None:
    from portal.search import tokens  # a pure function of the text

    bind = op.get_bind()
    questions = sa.table(
        "consultations",
        sa.column("id"),
        sa.column("title"),
        sa.column("body"),
        sa.column("is_public"),
        sa.column("first_reply_at"),
    )
    messages = sa.table(
        "consult_messages",
        sa.column("id"),
        sa.column("consultation_id"),
        sa.column("kind"),
        sa.column("body"),
    )
    rows = bind.execute(
        sa.select(questions.c.id, questions.c.title, questions.c.body).where(
            questions.c.is_public.is_(True), questions.c.first_reply_at.is_not(None)
        )
    ).all()
    if not rows:
        return
    replies: dict[int, list[str]] = {}
    for cid, body in bind.execute(
        sa.select(messages.c.consultation_id, messages.c.body)
        .where(messages.c.kind == "reply")
        .order_by(messages.c.id)
    ):
        replies.setdefault(cid, []).append(body)
    docs = [(i, tokens("\n".join([t, b, *replies.get(i, [])]))) for i, t, b in rows]
    if bind.dialect.name == "postgresql":
        table = sa.table(
            "search_documents",
            sa.column("kind"),
            sa.column("ref_id"),
            sa.column("tokens", postgresql.ARRAY(sa.Text())),
        )
        values = [{"kind": KIND, "ref_id": i, "tokens": t} for i, t in docs]
    else:
        # As portal.search._kind_key; the insert trigger fills the FTS table.
        key = (zlib.crc32(KIND.encode()) & 0x7FFFFF) << 32
        table = sa.table(
            "search_documents",
            sa.column("id"),
            sa.column("kind"),
            sa.column("ref_id"),
            sa.column("tokens"),
        )
        values = [
            {"id": key + i, "kind": KIND, "ref_id": i, "tokens": " ".join(t)} for i, t in docs
        ]
    for k in range(0, len(values), 1000):
        bind.execute(sa.insert(table), values[k : k + 1000])


def downgrade() -> None:
    documents = sa.table("search_documents", sa.column("kind"))
    op.execute(sa.delete(documents).where(documents.c.kind == KIND))
