"""Notices search through the shared keyword index (portal/search.py), on SQLite and
PostgreSQL: title and the body's plain text (not its HTML), withdrawal, edits, reindex."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text

from portal import search
from portal.accounts.models import User
from portal.db import db, utcnow
from portal.notices import services as svc
from portal.notices.models import Notice, NoticeKind
from tests.conftest import login
from tests.notices.helpers import write


def _titles(client, q: str, **args: str) -> list[str]:
    extra = "".join(f"&{k}={v}" for k, v in args.items())
    body = client.get(f"/api/v1/notices?q={q}{extra}").get_json()
    return [item["title"] for item in body["items"]]


def test_two_character_word_finds_title_and_body_text(app, world, client):
    write(app, world["officer"], title="夜间巡逻通知", body_html="<p>今晚加强巡逻。</p>")
    write(app, world["officer"], title="春季提示", body_html="<p>谨防<strong>电诈</strong>。</p>")
    write(app, world["officer"], title="草稿电诈", publish_at=None)
    assert _titles(client, "巡逻") == ["夜间巡逻通知"]
    # The body is indexed as plain text: a word split by a tag is still one word, and
    # the tag's name is not a word of the notice.
    assert _titles(client, "电诈") == ["春季提示"]
    assert _titles(client, "strong") == []
    page = client.get("/notices?q=巡逻").get_data(as_text=True)
    assert "夜间巡逻通知" in page and "春季提示" not in page
    # Filters still apply beside the keyword.
    assert _titles(client, "巡逻", kind="legal") == []
    assert _titles(client, "巡逻", kind="tip", community="c1") == ["夜间巡逻通知"]


def test_withdrawn_notice_is_not_found_and_republished_is(app, world, client):
    nid = write(app, world["officer"], title="停水通知", body_html="<p>周三停水。</p>")
    assert _titles(client, "停水") == ["停水通知"]
    login(client, "officer@example.com")
    with app.test_request_context():
        officer = db.session.get(User, world["officer"])
        svc.withdraw(officer, db.session.get(Notice, nid))
        db.session.commit()
        # Out of the index, not only out of the public filter.
        assert nid not in set(db.session.scalars(search.match(svc.SEARCH_KIND, "停水")))
    assert _titles(client, "停水") == []
    with app.test_request_context():
        svc.publish_now(db.session.get(User, world["officer"]), db.session.get(Notice, nid))
        db.session.commit()
    assert _titles(client, "停水") == ["停水通知"]


def test_edit_reindexes(app, world, client):
    nid = write(app, world["officer"], title="旧标题", body_html="<p>原来的内容</p>")
    with app.test_request_context():
        officer = db.session.get(User, world["officer"])
        svc.save_notice(
            officer,
            db.session.get(Notice, nid),
            kind=NoticeKind.TIP,
            title="新标题",
            body_html="<p>改过的正文</p>",
            station_wide=True,
            community_ids=[],
            publish_at=utcnow() - dt.timedelta(minutes=1),
        )
        db.session.commit()
    assert _titles(client, "旧标") == [] and _titles(client, "原来") == []
    assert _titles(client, "新标") == ["新标题"] and _titles(client, "正文") == ["新标题"]


def test_scheduled_notice_is_found_once_live(app, world, client):
    nid = write(
        app, world["officer"], title="定时防火", publish_at=utcnow() + dt.timedelta(hours=1)
    )
    assert _titles(client, "防火") == []
    with app.test_request_context():
        notice = db.session.get(Notice, nid)
        notice.publish_at = utcnow() - dt.timedelta(seconds=1)  # its time has come
        db.session.commit()
    assert _titles(client, "防火") == ["定时防火"]


def test_query_without_words_finds_nothing(app, world, client):
    write(app, world["officer"], title="全站提示")
    assert client.get("/api/v1/notices?q=%25%25").get_json()["total"] == 0
    assert client.get("/api/v1/notices?q=").get_json()["total"] == 1


def test_reindex_rebuilds_from_the_notices(app, world, client):
    nid = write(app, world["officer"], title="反诈宣传")
    withdrawn = write(app, world["officer"], title="反诈旧闻")
    with app.test_request_context():
        db.session.get(Notice, withdrawn).withdrawn_at = utcnow()
        search.remove(svc.SEARCH_KIND, nid)  # an index out of step
        db.session.commit()
        assert svc.SEARCH_KIND in search.kinds()
        assert search.reindex(svc.SEARCH_KIND) == 1
        db.session.commit()
        assert list(db.session.scalars(search.match(svc.SEARCH_KIND, "反诈"))) == [nid]


def test_migration_indexes_existing_notices(tmp_path):
    """The data migration indexes the notices already stored (SQLite file)."""
    from alembic import command

    from portal.cli import _alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = _alembic_config(url)
    command.upgrade(cfg, "99f72fded9d9")
    engine = create_engine(url)
    with engine.begin() as conn:
        now = utcnow().isoformat(sep=" ")
        for nid, withdrawn in ((1, None), (2, now)):
            conn.execute(
                text(
                    "INSERT INTO notices (id, kind, title, body_html, body_text, advice, unit,"
                    " show_author, station_wide, pinned, withdrawn_at, created_at, updated_at)"
                    " VALUES (:id, 'tip', '社区通知', '<p>防盗提醒</p>', '防盗提醒', '', '',"
                    " 0, 1, 0, :w, :now, :now)"
                ),
                {"id": nid, "w": withdrawn, "now": now},
            )
    command.upgrade(cfg, "e4a7c2d91b53")
    with engine.connect() as conn:
        ids = conn.execute(
            text("SELECT ref_id FROM search_tokens WHERE kind = 'notice' AND token = '防盗'")
        ).scalars()
        assert list(ids) == [1]
    command.downgrade(cfg, "99f72fded9d9")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM search_tokens WHERE kind = 'notice'"))
        assert left.scalar() == 0
    engine.dispose()


def test_many_matches_take_the_subquery_shape(app, world, client, monkeypatch):
    """Past FEW_MATCHES the matches are a subquery, not bound ids: same answers."""
    write(app, world["officer"], title="巡逻一", body_html="<p>夜间巡逻</p>")
    write(
        app,
        world["other_officer"],
        title="巡逻二",
        station_wide=False,
        community_ids=[world["other_community"]],
    )
    write(app, world["officer"], title="巡逻三", publish_at=None)  # a draft
    monkeypatch.setattr(svc, "FEW_MATCHES", 0)
    body = client.get("/api/v1/notices?q=巡逻").get_json()
    assert body["total"] == 2 and {i["title"] for i in body["items"]} == {"巡逻一", "巡逻二"}
    assert _titles(client, "巡逻", community="c1") == ["巡逻一"]
    assert _titles(client, "巡逻", kind="tip", community="c1") == ["巡逻一"]
    assert _titles(client, "巡逻", page="2") == []


def test_count_stops_past_max_results(app, world, client, monkeypatch):
    write(app, world["officer"], title="防汛一")
    write(app, world["officer"], title="防汛二")
    monkeypatch.setattr(svc, "MAX_RESULTS", 1)
    body = client.get("/api/v1/notices?q=防汛").get_json()
    assert body["total"] == 1 and body["total_capped"] is True and len(body["items"]) == 2
    assert "结果超过 1 条" in client.get("/notices?q=防汛").get_data(as_text=True)
    monkeypatch.setattr(svc, "MAX_RESULTS", 2)
    assert client.get("/api/v1/notices?q=防汛").get_json()["total_capped"] is False
    assert "结果超过" not in client.get("/notices?q=防汛").get_data(as_text=True)
