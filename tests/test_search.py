"""The shared keyword index (portal/search.py): tokens, and the same matches on SQLite
and PostgreSQL (the ``app`` fixture runs on both when the PostgreSQL URL is set)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import search
from portal.db import db


def ids(kind: str, q: str) -> set[int]:
    return set(db.session.scalars(search.match(kind, q)))


def test_tokens_are_cjk_unigrams_bigrams_and_ascii_words():
    assert search.tokens("天桥社区") == ["天", "天桥", "桥", "桥社", "社", "社区", "区"]
    assert search.tokens("WiFi 2室，ＡＢＣ１２") == ["wifi", "2", "室", "abc12"]
    assert search.query_tokens("天桥社区") == ["天桥", "桥社", "社区"]
    assert search.query_tokens("房") == ["房"]
    assert search.query_tokens("保洁 WiFi") == ["保洁", "wifi"]
    assert search.query_tokens(" ，。%_\\ ") == []
    assert len(search.query_tokens("很" * 200)) == 1
    assert len(search.query_tokens("".join(chr(0x4E00 + i) for i in range(100)))) == (
        search.MAX_QUERY_TOKENS
    )


def test_match_needs_every_token_and_keeps_kinds_apart(ctx):
    search.index("listing", 1, "天桥社区两室一厅 精装修 WiFi")
    search.index("listing", 2, "北环小区 一室 简装")
    search.index("listing", 3, "招聘保洁员 天桥社区物业")
    search.index("notice", 1, "北环小区停水通知")
    db.session.flush()
    assert ids("listing", "天桥") == {1, 3}
    assert ids("listing", "天桥 保洁") == {3}
    assert ids("listing", "两室") == {1}
    assert ids("listing", "室") == {1, 2}
    assert ids("listing", "wifi") == {1}
    assert ids("listing", "ＷＩＦＩ") == {1}
    assert ids("listing", "停水") == set()
    assert ids("notice", "北环") == {1}
    assert ids("listing", "上海") == set()
    assert ids("listing", "%%") == set()


def test_index_replaces_and_remove_forgets(ctx):
    search.index("listing", 7, "旧标题 厨师")
    db.session.flush()
    assert ids("listing", "厨师") == {7}
    search.index("listing", 7, "新标题 保安")
    db.session.flush()
    assert ids("listing", "厨师") == set() and ids("listing", "保安") == {7}
    search.remove("listing", 7)
    db.session.flush()
    assert ids("listing", "保安") == set()


def test_index_many_and_match_in_a_larger_query(ctx):
    search.index_many(
        "listing", [(i, f"文档{i} {'偶数' if i % 2 == 0 else '奇数'}") for i in range(1, 51)]
    )
    db.session.flush()
    sub = search.match("listing", "偶数")
    assert db.session.scalar(select(func.count()).select_from(sub.subquery())) == 25
    assert ids("listing", "偶数 文档") == set(range(2, 51, 2))


def test_matches_give_the_same_rows_in_every_shape(ctx):
    from portal.communities.models import Community

    search.index_many(
        "community", [(i, f"社区 {'天桥' if i % 3 else '北环'}") for i in range(1, 31)]
    )
    db.session.add_all([Community(id=i, name=f"c{i}", slug=f"c{i}") for i in range(1, 31)])
    db.session.flush()
    assert search.count("community", "天桥", 100) == 20
    assert search.count("community", "天桥", 5) == 5
    expected = {i for i in range(1, 31) if i % 3}
    assert search.matches("community", "天桥", few=1000).ids is not None  # few: bound ids
    assert search.matches("community", "天桥", few=1).ids is None  # many: a subquery
    for few in (1, 1000):
        found = search.matches("community", "天桥", few=few)
        for walk in (False, True):
            stmt = select(Community.id).where(found.where(Community.id, walk=walk))
            assert set(db.session.scalars(stmt.order_by(Community.id))) == expected
        stmt = select(Community.id).where(
            search.condition(Community.id, "community", "天桥", few=few)
        )
        assert set(db.session.scalars(stmt)) == expected
    assert search.matches("community", "上海").ids == []


def test_two_common_keywords_intersect(ctx):
    # Each keyword alone matches hundreds of documents; together, only those with both.
    docs = [
        (i, " ".join(w for w, step in (("天桥", 2), ("保洁", 3), ("厨师", 5)) if i % step == 0))
        for i in range(1, 601)
    ]
    search.index_many("listing", docs)
    search.index("notice", 6, "天桥 保洁")  # another kind: never in the listings' matches
    db.session.flush()
    assert len(ids("listing", "天桥")) == 300 and len(ids("listing", "保洁")) == 200
    assert ids("listing", "天桥 保洁") == set(range(6, 601, 6))
    assert ids("listing", "保洁 天桥 厨师") == set(range(30, 601, 30))
    assert search.count("listing", "天桥 保洁", 1000) == 100
    # Re-indexing one document moves it out of the intersection, and removal forgets it.
    search.index("listing", 6, "天桥")
    search.remove("listing", 12)
    db.session.flush()
    assert ids("listing", "天桥 保洁") == set(range(18, 601, 6))
    assert ids("notice", "天桥 保洁") == {6}


def test_facets_narrow_the_match_and_no_text_reaches_them(ctx):
    search.index_many(
        "listing",
        [(i, f"招聘保洁 {i}", {"community": 1 + i % 3}) for i in range(1, 31)]
        + [(31, "community·2 community 2 保洁")],  # text that looks like a facet
    )
    search.index("listing", 32, "保洁", {"community": 2, "kind": None})  # None: no facet
    db.session.flush()
    in_two = {i for i in range(1, 31) if 1 + i % 3 == 2} | {32}
    assert set(db.session.scalars(search.match("listing", "保洁", {"community": 2}))) == in_two
    assert ids("listing", "保洁") == set(range(1, 33))
    assert ids("listing", "community·2") == {31}  # the text's tokens, never the facet's
    assert search.count("listing", "保洁", 100, {"community": 2}) == len(in_two)
    assert search.matches("listing", "保洁", facets={"community": 9}).ids == []
    # A facet alone is no query: a query without tokens matches nothing.
    assert list(db.session.scalars(search.match("listing", "，", {"community": 2}))) == []
    # Re-indexing without the facet drops it.
    search.index("listing", 32, "保洁")
    db.session.flush()
    assert 32 not in set(db.session.scalars(search.match("listing", "保洁", {"community": 2})))
    for bad in ({"Community": 1}, {"community": "a b"}, {"c_id": 1}, {"community": "天桥"}):
        with pytest.raises(ValueError):
            search.facet_tokens(bad)


def test_restrict_counts_the_same_rows_in_every_shape(ctx):
    from portal.communities.models import Community

    docs = [(i, f"社区 {'天桥' if i % 3 else '北环'}", {"g": i % 2}) for i in range(1, 31)]
    search.index_many("community", docs)
    db.session.add_all([Community(id=i, name=f"c{i}", slug=f"c{i}") for i in range(1, 31)])
    db.session.flush()
    for facets, expected in (
        (None, {i for i in range(1, 31) if i % 3}),
        ({"g": 1}, {i for i in range(1, 31) if i % 3 and i % 2}),
    ):
        for few in (1, 1000):  # many (a join on PostgreSQL) and few (bound ids)
            found = search.matches("community", "天桥", few=few, facets=facets)
            assert (found.ids is None) == (few == 1)
            stmt = found.restrict(select(Community.id).where(Community.id > 3), Community.id)
            assert set(db.session.scalars(stmt)) == {i for i in expected if i > 3}
            limited = stmt.limit(5).subquery()
            assert db.session.scalar(select(func.count()).select_from(limited)) == 5
            page = select(Community.id).where(found.where(Community.id, walk=True))
            assert (
                list(db.session.scalars(page.order_by(Community.id.desc()).limit(3)))
                == (sorted(expected, reverse=True)[:3])
            )
