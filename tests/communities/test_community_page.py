"""The public community page and the whereabouts board."""

from __future__ import annotations

from tests.conftest import login


def test_community_page_shows_officer_status_hours_and_contact(client, app, world):
    from portal.communities.models import OfficerProfile
    from portal.db import db

    with app.app_context():
        profile = db.session.get(OfficerProfile, world["officer"])
        profile.office_hours = "周一至周五 8:30–17:30"
        profile.contact = "警务室电话 0434-3200110"
        db.session.commit()
    html = client.get("/c/c1").get_data(as_text=True)
    assert "王警官" in html and "下班" in html
    assert "周一至周五 8:30–17:30" in html and "0434-3200110" in html
    assert "紧急情况请拨打110" in html
    assert "刘警官" not in html  # the other community's officer


def test_officer_changes_status_in_one_click(client, world):
    login(client, "officer@example.com")
    resp = client.post("/backoffice/status", data={"status": "patrol"})
    assert resp.status_code == 302
    assert "巡逻" in client.get("/c/c1").get_data(as_text=True)
    api = client.get("/api/v1/communities/c1").get_json()
    assert api["officers"][0]["status"] == "patrol" and api["officers"][0]["on_duty"] is True
    resp = client.post("/backoffice/status", data={"status": "flying"})
    assert resp.status_code == 303
    assert client.get("/api/v1/communities/c1").get_json()["officers"][0]["status"] == "patrol"


def test_residents_cannot_change_status(client, world):
    login(client, "resident@example.com")
    assert client.post("/backoffice/status", data={"status": "leave"}).status_code == 403


def test_dashboard_panel_counts_pending_verifications(client, make, world):
    from tests.conftest import valid_id

    make.verification(world["resident"], valid_id())
    login(client, "officer@example.com")
    html = client.get("/backoffice/").get_data(as_text=True)
    assert 'data-panel="verifications"' in html
    assert '<span class="count">1</span>' in html
    other = client.application.test_client()
    login(other, "officer2@example.com")
    assert '<span class="count">0</span>' in other.get("/backoffice/").get_data(as_text=True)


def test_empty_states(client, app):
    html = client.get("/").get_data(as_text=True)
    assert "还没有社区" in html


def test_community_page_lists_latest_notices(client, app, world):
    from portal.accounts.models import User
    from portal.db import db
    from portal.notices import services as notices
    from portal.notices.models import NoticeKind

    html = client.get("/c/c1").get_data(as_text=True)
    assert "最新警务公开" in html and "暂无公开信息" in html
    with app.test_request_context():
        for officer_id, community_id, title in (
            (world["officer"], world["community"], "防范电信诈骗"),
            (world["other_officer"], world["other_community"], "别的社区的通知"),
        ):
            officer = db.session.get(User, officer_id)
            notice = notices.save_notice(
                officer,
                None,
                kind=NoticeKind.TIP,
                title=title,
                body_html="<p>正文</p>",
                station_wide=False,
                community_ids=[community_id],
            )
            notices.publish_now(officer, notice)
        db.session.commit()
    html = client.get("/c/c1").get_data(as_text=True)
    assert "防范电信诈骗" in html and "别的社区的通知" not in html
