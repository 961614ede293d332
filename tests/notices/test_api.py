"""The notices API: list, read, feeds, officer writes, lost and found, contact box."""

from __future__ import annotations

from portal.db import db
from portal.notices.models import ContactMessage, Notice
from tests.conftest import login
from tests.notices.helpers import write


def test_list_read_and_feeds(app, world, client):
    nid = write(app, world["officer"], title="接口可见", body_html="<p>正文</p>")
    write(app, world["officer"], title="草稿", publish_at=None)
    body = client.get("/api/v1/notices?q=接口").get_json()
    assert body["total"] == 1 and body["items"][0]["title"] == "接口可见"
    assert body["items"][0]["author"] is None and body["items"][0]["unit"] == "天桥社区警务室"
    one = client.get(f"/api/v1/notices/{nid}").get_json()
    assert one["body_html"] == "<p>正文</p>" and one["state"] == "published"
    assert client.get("/api/v1/notices/999").status_code == 404
    feeds = client.get("/api/v1/notices/feeds").get_json()["items"]
    assert any(f["community"] == "c1" and f["kind"] == "bulletin" for f in feeds)


def test_officer_creates_bulletin_and_publishes(app, world, client):
    login(client, "officer@example.com")
    resp = client.post(
        "/api/v1/notices",
        json={
            "kind": "bulletin",
            "title": "三月下半月警情",
            "body_html": "<p>x<script>1</script></p>",
            "station_wide": False,
            "community_ids": [world["community"]],
            "period_start": "2026-03-16",
            "figures": {"盗窃": 3, "诈骗": 1},
        },
    )
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["state"] == "draft" and data["body_html"] == "<p>x</p>"
    assert data["period_end"] == "2026-03-31" and data["communities"] == ["c1"]
    assert {f["offence"]: f["count"] for f in data["figures"]} == {"盗窃": 3, "诈骗": 1}
    assert client.post(f"/api/v1/notices/{data['id']}/publish").get_json()["state"] == "published"
    # Someone else's community is refused; bad figures are refused.
    bad = client.post(
        "/api/v1/notices",
        json={
            "kind": "tip",
            "title": "x",
            "station_wide": False,
            "community_ids": [world["other_community"]],
        },
    )
    assert bad.status_code == 422 and "community_ids" in bad.get_json()["error"]["fields"]
    assert (
        client.post(
            "/api/v1/notices",
            json={
                "kind": "bulletin",
                "title": "x",
                "station_wide": True,
                "period_start": "2026-03-01",
                "figures": {"盗窃": -1},
            },
        ).status_code
        == 422
    )
    upd = client.put(
        f"/api/v1/notices/{data['id']}",
        json={
            "kind": "bulletin",
            "title": "改名",
            "station_wide": True,
            "period_start": "2026-03-16",
        },
    )
    assert upd.status_code == 200 and upd.get_json()["title"] == "改名"


def test_residents_cannot_write(app, world, client):
    login(client, "resident@example.com")
    assert client.post("/api/v1/notices", json={"kind": "tip", "title": "x"}).status_code == 403
    nid = write(app, world["officer"])
    assert client.post(f"/api/v1/notices/{nid}/publish").status_code == 403


def test_contact_box_over_the_api(app, world, client):
    resp = client.post(
        "/api/v1/contact",
        json={"community_id": world["community"], "category": "tip", "body": "接口匿名线索"},
    )
    assert resp.status_code == 201
    code = resp.get_json()["tracking_code"]
    assert code and len(code) == 19
    read = client.post("/api/v1/contact/track", json={"code": code}).get_json()
    assert read["body"] == "接口匿名线索" and read["reply"] is None
    assert client.post("/api/v1/contact/track", json={"code": "nope"}).status_code == 404
    login(client, "resident@example.com")
    named = client.post(
        "/api/v1/contact",
        json={"community_id": world["community"], "category": "suggestion", "body": "接口署名建议"},
    )
    assert named.get_json()["tracking_code"] is None
    with app.app_context():
        assert db.session.query(ContactMessage).filter_by(sender_id=world["resident"]).count() == 1


def test_lost_found_list(app, world, client):
    login(client, "officer@example.com")
    client.post(
        "/backoffice/lost-found",
        data={"title": "钥匙", "collect_at": "警务室", "community_id": world["community"]},
    )
    items = client.get("/api/v1/lost-found").get_json()["items"]
    assert [i["title"] for i in items] == ["钥匙"] and items[0]["community"] == "c1"


def test_demo_data(app, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    app.test_cli_runner().invoke(args=["seed-demo"])
    with app.app_context():
        from portal.notices.models import NoticeKind

        kinds = {n.kind for n in db.session.query(Notice).all()}
        assert kinds == set(NoticeKind)
        assert db.session.query(Notice).count() == 9  # idempotent
        bulletin = (
            db.session.query(Notice)
            .filter_by(kind=NoticeKind.BULLETIN)
            .order_by(Notice.period_start.desc())
            .first()
        )
        bid = bulletin.id
    html = client.get(f"/notices/{bid}").get_data(as_text=True)
    assert "+40.0%" in html  # 诈骗 5 -> 7
    assert client.get("/notices").status_code == 200
