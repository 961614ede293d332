"""jobs_housing: price-range indexes that also cover published_at; jobs with housing

The board's "community (or kind) + price range, newest first" search used an index on
(live, community_id, price) and then read the table row of every match to sort by
published_at: at 100k listings that was ~1,400 row reads per page. Indexes ending in
published_at let the search sort the matching (id, published_at) pairs from the index.
"Jobs with housing" read up to ~3,000 rows to count 1,000 matches; its own index counts
and orders from the index alone. "By price" over both kinds sorted every live listing;
(live, price) walks them in order.

Revision ID: 4b1e0c7d9a21
Revises: 5b2e0c7d9a41
Create Date: 2026-11-28 23:55:00
"""

from __future__ import annotations

from alembic import op

revision = "4b1e0c7d9a21"
down_revision = "5b2e0c7d9a41"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index("ix_listings_live_price")
        batch_op.drop_index("ix_listings_live_community_price")
        batch_op.create_index(
            "ix_listings_live_kind_price_new",
            ["live", "kind", "price", "published_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_listings_live_community_price_new",
            ["live", "community_id", "price", "published_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_listings_live_kind_housing_new",
            ["live", "kind", "housing_provided", "published_at"],
            unique=False,
        )
        batch_op.create_index("ix_listings_live_price_all", ["live", "price"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index("ix_listings_live_price_all")
        batch_op.drop_index("ix_listings_live_kind_housing_new")
        batch_op.drop_index("ix_listings_live_community_price_new")
        batch_op.drop_index("ix_listings_live_kind_price_new")
        batch_op.create_index(
            "ix_listings_live_community_price", ["live", "community_id", "price"], unique=False
        )
        batch_op.create_index("ix_listings_live_price", ["live", "kind", "price"], unique=False)
