"""The data migration that gives the listings' keyword documents their community facet,
and the live ones their live facet."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, insert, text

from portal.accounts.models import User
from portal.communities.models import Community
from portal.jobs_housing.models import Listing
from portal.search import FTS_TABLE, _kind_key
from tests.test_migrations import BACKENDS, _fresh_database

BEFORE, FACET = "b8e2f4a6c013", "c6d1e9f27a35"


def _listing(lid: int, community_id: int, live: bool) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {
        "id": lid,
        "kind": "rental",
        "poster_id": 1,
        "community_id": community_id,
        "status": "published" if live else "withdrawn",
        "live": live,
        "title": "天桥两室",
        "description": "",
        "address": "1 号",
        "price": 1000,
        "furnished": False,
        "contact_pref": "",
        "owner_declared": True,
        "org_name": "",
        "hours": "",
        "requirements": "",
        "created_at": now,
        "updated_at": now,
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_adds_the_community_and_live_facets_once(backend, tmp_path):
    from alembic import command

    from portal.cli import _alembic_config

    url, cleanup = _fresh_database(backend, tmp_path)
    engine = create_engine(url)
    try:
        cfg = _alembic_config(url)
        command.upgrade(cfg, BEFORE)
        pg = engine.dialect.name == "postgresql"
        with engine.begin() as conn:
            conn.execute(
                insert(Community), [{"id": i, "name": f"c{i}", "slug": f"c{i}"} for i in (1, 2)]
            )
            conn.execute(insert(User), [{"id": 1, "display_name": "房东", "role": "resident"}])
            conn.execute(insert(Listing), [_listing(1, 1, True), _listing(2, 2, False)])
            for lid in (1, 2, 3):  # 3: a document whose listing is gone
                toks = ["天桥", "两室"]
                conn.execute(
                    text(
                        "INSERT INTO search_documents (id, kind, ref_id, tokens)"
                        " VALUES (:id, 'listing', :ref, :tokens)"
                    ),
                    {
                        "id": lid if pg else _kind_key("listing") + lid,
                        "ref": lid,
                        "tokens": toks if pg else " ".join(toks),
                    },
                )
        command.upgrade(cfg, FACET)
        command.downgrade(cfg, BEFORE)  # keeps the tokens: upgrading again adds none
        command.upgrade(cfg, FACET)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT ref_id, tokens FROM search_documents ORDER BY ref_id")
            ).all()
            stored = {r: list(t) if pg else t.split() for r, t in rows}
            assert stored == {
                1: ["天桥", "两室", "community·1", "live·1"],
                2: ["天桥", "两室", "community·2"],
                3: ["天桥", "两室"],
            }
            if not pg:  # the FTS5 index follows the documents
                hits = conn.execute(
                    text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q"),
                    {"q": '"天桥" "community·2"'},
                ).scalars()
                assert list(hits) == [_kind_key("listing") + 2]
    finally:
        engine.dispose()
        if cleanup:
            cleanup()
