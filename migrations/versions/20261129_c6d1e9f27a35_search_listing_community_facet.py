"""search: every listing's document carries its community and, while live, ``live·1``

A keyword search on the board now asks the keyword index for the documents holding the
keyword *and* the token ``live·1`` (and ``community·<id>`` within one community;
portal/search.py, facets), so that the index hands over the live listings' matches only
and counts them without reading the listings. Listings indexed before that change get
the tokens here (the same ones ``jobs_housing.services.search_document`` writes), so an
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

COMMUNITY = "'community\u00b7' || listings.community_id"
LIVE = "'live\u00b71'"
WHERE = "search_documents.kind = 'listing' AND listings.id = search_documents.ref_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for token, cond in ((COMMUNITY, "TRUE"), (LIVE, "listings.live")):
            op.execute(
                f"UPDATE search_documents SET tokens = array_append(tokens, {token})"
                f" FROM listings WHERE {WHERE} AND {cond}"
                f" AND NOT tokens @> ARRAY[{token}]"
            )
        return
    # SQLite: the tokens joined by spaces; the update trigger re-indexes each row in FTS5.
    for token, cond in ((COMMUNITY, "1"), (LIVE, "listings.live = 1")):
        op.execute(
            "UPDATE search_documents SET tokens = trim(coalesce(tokens, '') || ' ' ||"
            f" (SELECT {token} FROM listings WHERE listings.id = search_documents.ref_id))"
            " WHERE kind = 'listing' AND EXISTS (SELECT 1 FROM listings"
            f" WHERE {WHERE} AND {cond}"
            " AND ' ' || coalesce(search_documents.tokens, '') || ' '"
            f" NOT LIKE '% ' || {token} || ' %')"
        )


def downgrade() -> None:
    pass  # the facet tokens stay: harmless to the older code (see above)
