"""Notices: states computed on read, targeting, the public list, search, pages, writing."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.db import db, utcnow
from portal.errors import DomainError
from portal.notices import services as svc
from portal.notices.models import Notice, NoticeKind, NoticeState
from tests.conftest import login
from tests.notices.helpers import write

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)


def test_state_follows_the_clock():
    n = Notice(kind=NoticeKind.TIP, title="t")
    assert n.state(NOW) == NoticeState.DRAFT
    n.publish_at = NOW + dt.timedelta(hours=1)
    assert n.state(NOW) == NoticeState.SCHEDULED
    assert n.state(NOW + dt.timedelta(hours=1)) == NoticeState.PUBLISHED
    n.expires_at = NOW + dt.timedelta(days=2)
    assert n.state(NOW + dt.timedelta(days=1)) == NoticeState.PUBLISHED
    assert n.state(NOW + dt.timedelta(days=2)) == NoticeState.EXPIRED
    n.withdrawn_at = NOW
    assert n.state(NOW + dt.timedelta(days=1)) == NoticeState.WITHDRAWN
    # SQLite returns naive datetimes: they are UTC.
    n2 = Notice(
        kind=NoticeKind.TIP,
        title="t",
        publish_at=(NOW - dt.timedelta(hours=1)).replace(tzinfo=None),
    )
    assert n2.state(NOW) == NoticeState.PUBLISHED


def test_public_list_shows_only_live_notices(app, world, client):
    now = utcnow()
    live = write(app, world["officer"], title="现在可见")
    write(app, world["officer"], title="草稿不可见", publish_at=None)
    write(app, world["officer"], title="定时不可见", publish_at=now + dt.timedelta(hours=2))
    write(
        app,
        world["officer"],
        title="过期不可见",
        publish_at=now - dt.timedelta(days=2),
        expires_at=now - dt.timedelta(days=1),
    )
    gone = write(app, world["officer"], title="撤回不可见")
    with app.test_request_context():
        from portal.accounts.models import User

        svc.withdraw(db.session.get(User, world["officer"]), db.session.get(Notice, gone))
        db.session.commit()
    html = client.get("/notices").get_data(as_text=True)
    assert "现在可见" in html
    for hidden in ("草稿不可见", "定时不可见", "过期不可见", "撤回不可见"):
        assert hidden not in html
    assert client.get(f"/notices/{live}").status_code == 200
    assert client.get(f"/notices/{gone}").status_code == 404


def test_scheduled_notice_appears_when_its_time_comes(app, world, client, monkeypatch):
    later = utcnow() + dt.timedelta(hours=3)
    nid = write(app, world["officer"], title="三小时后", publish_at=later)
    assert client.get(f"/notices/{nid}").status_code == 404
    import portal.notices.models as models
    import portal.notices.services as services

    future = later + dt.timedelta(minutes=1)
    monkeypatch.setattr(models, "utcnow", lambda: future)
    monkeypatch.setattr(services, "utcnow", lambda: future)
    assert client.get(f"/notices/{nid}").status_code == 200
    assert "三小时后" in client.get("/notices").get_data(as_text=True)


def test_pinned_first_then_newest(app, world):
    now = utcnow()
    write(app, world["officer"], title="旧", publish_at=now - dt.timedelta(days=3))
    write(app, world["officer"], title="新", publish_at=now - dt.timedelta(days=1))
    write(app, world["officer"], title="置顶旧", pinned=True, publish_at=now - dt.timedelta(days=5))
    with app.test_request_context():
        rows, total = svc.public_notices()
        assert [n.title for n in rows] == ["置顶旧", "新", "旧"] and total == 3


def test_targeting_and_filters(app, world, client):
    write(app, world["officer"], title="全站提示")
    write(
        app,
        world["officer"],
        title="天桥专属",
        station_wide=False,
        community_ids=[world["community"]],
    )
    write(
        app,
        world["other_officer"],
        title="铁西专属",
        station_wide=False,
        community_ids=[world["other_community"]],
        kind=NoticeKind.LEGAL,
    )
    tianqiao = client.get("/notices?community=c1").get_data(as_text=True)
    assert "全站提示" in tianqiao and "天桥专属" in tianqiao and "铁西专属" not in tianqiao
    legal = client.get("/notices?kind=legal").get_data(as_text=True)
    assert "铁西专属" in legal and "全站提示" not in legal
    found = client.get("/notices?q=专属").get_data(as_text=True)
    assert "天桥专属" in found and "铁西专属" in found and "全站提示" not in found
    assert "全站提示" not in client.get("/notices?q=%25").get_data(as_text=True)


def test_officer_may_target_only_served_communities(app, world):
    with pytest.raises(DomainError):
        write(app, world["officer"], station_wide=False, community_ids=[world["other_community"]])
    with pytest.raises(DomainError):
        write(app, world["officer"], station_wide=False, community_ids=[])


def test_pagination(app, world, client):
    for i in range(12):
        write(
            app,
            world["officer"],
            title=f"第{i:02d}条",
            publish_at=utcnow() - dt.timedelta(minutes=i + 1),
        )
    first = client.get("/notices").get_data(as_text=True)
    second = client.get("/notices?page=2").get_data(as_text=True)
    assert "第00条" in first and "第09条" in first and "第10条" not in first
    assert "第10条" in second and "第11条" in second


def test_notice_page_shows_unit_not_name_unless_chosen_and_related(app, world, client):
    a = write(app, world["officer"], title="甲")
    write(app, world["officer"], title="乙")
    page = client.get(f"/notices/{a}").get_data(as_text=True)
    assert "天桥社区警务室" in page and "王警官" not in page
    assert "乙" in page  # related, same kind
    b = write(app, world["officer"], title="丙", show_author=True)
    assert "王警官" in client.get(f"/notices/{b}").get_data(as_text=True)


def test_officer_writes_through_the_form_and_html_is_sanitised_on_save(app, world, client):
    login(client, "officer@example.com")
    assert client.get("/backoffice/notices/new").status_code == 200
    resp = client.post(
        "/backoffice/notices/new",
        data={
            "kind": "announcement",
            "title": "停水通知",
            "body_html": '<p onclick="x()">明天停水<script>alert(1)</script></p>',
            "station_wide": "y",
            "publish_at": "",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        n = db.session.query(Notice).one()
        assert n.body_html == "<p>明天停水</p>" and n.state() == NoticeState.DRAFT
        nid = n.id
    assert client.post(f"/backoffice/notices/{nid}/publish").status_code == 302
    with app.app_context():
        assert db.session.get(Notice, nid).state() == NoticeState.PUBLISHED
    page = client.get(f"/notices/{nid}")
    assert "<script" not in page.get_data(as_text=True).split("<main", 1)[1]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # Another community's officer may not edit it unless it targets their community.
    client.post("/logout")
    login(client, "officer2@example.com")
    assert client.get(f"/backoffice/notices/{nid}/edit").status_code == 403


def test_edit_keeps_schedule_in_station_time(app, world, client):
    login(client, "officer@example.com")
    client.post(
        "/backoffice/notices/new",
        data={
            "kind": "tip",
            "title": "定时",
            "body_html": "<p>x</p>",
            "station_wide": "y",
            "publish_at": "2099-01-02T08:30",
        },
    )
    with app.app_context():
        n = db.session.query(Notice).one()
        assert n.state() == NoticeState.SCHEDULED
        assert n.publish_at.replace(tzinfo=dt.UTC) == dt.datetime(2099, 1, 2, 0, 30, tzinfo=dt.UTC)
        nid = n.id
    form = client.get(f"/backoffice/notices/{nid}/edit").get_data(as_text=True)
    assert 'value="2099-01-02T08:30"' in form


def test_image_upload_is_checked_and_reencoded(app, world, client, tmp_path):
    import io

    from PIL import Image

    login(client, "officer@example.com")
    bad = client.post(
        "/backoffice/notices/images",
        data={"image": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")},
    )
    assert bad.status_code == 422
    img = Image.new("RGB", (3000, 1000), "red")
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=Image.Exif())
    buf.write(b"<script>hidden</script>")
    resp = client.post(
        "/backoffice/notices/images", data={"image": (io.BytesIO(buf.getvalue()), "x.jpg")}
    )
    assert resp.status_code == 201
    url = resp.get_json()["url"]
    served = client.get(url)
    assert served.status_code == 200 and b"<script>" not in served.data
    assert max(Image.open(io.BytesIO(served.data)).size) == 1600
    # The uploaded image's address passes the sanitiser's image rule.
    from portal.notices.sanitize import clean_html

    assert url in clean_html(f'<img src="{url}">')
