"""search: every listing's document carries its community as a facet token

A keyword search in one community now asks the keyword index for the documents holding
the keyword *and* the token ``community·<id>`` (portal/search.py, facets), so that the
index hands over that community's matches only. Listings indexed before that change get
the token here (the same one ``jobs_housing.services.search_document`` writes), so an
upgraded station finds them without running ``portal search-reindex listing``. Data
only. The downgrade keeps the tokens: no query of the older code can ask for one (a
middle dot is never inside a text token).

Revision ID: c6d1e9f27a35
Revises: b8e2f4a6c013
Create Date: 2026-11-29 03:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "c6d1e9f27a35"
down_revision = "b8e2f4a6c013"
branch_labels = None
depends_on = None

TOKEN = "'community\u00b7' || listings.community_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"UPDATE search_documents SET tokens = array_append(tokens, {TOKEN})"
            " FROM listings WHERE search_documents.kind = 'listing'"
            " AND listings.id = search_documents.ref_id"
            f" AND NOT tokens @> ARRAY[{TOKEN}]"
        )
        return
    # SQLite: the tokens joined by spaces; the update trigger re-indexes each row in FTS5.
    op.execute(
        "UPDATE search_documents SET tokens = trim(coalesce(tokens, '') || ' ' ||"
        f" (SELECT {TOKEN} FROM listings WHERE listings.id = search_documents.ref_id))"
        " WHERE kind = 'listing' AND EXISTS"
        " (SELECT 1 FROM listings WHERE listings.id = search_documents.ref_id"
        f" AND ' ' || coalesce(search_documents.tokens, '') || ' '"
        f" NOT LIKE '% ' || {TOKEN} || ' %')"
    )


def downgrade() -> None:
    pass  # the facet tokens stay: harmless to the older code (see above)
