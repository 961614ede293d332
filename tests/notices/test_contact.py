"""The contact box: anonymous messages store no identity; tracking codes; replies; the
dashboard panel of messages waiting longer than 3 working days."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, inspect, select

from portal.db import db, utcnow
from portal.notices.models import ContactMessage
from portal.notifications.models import Notification
from portal.security.models import AuditEntry
from tests.conftest import login


def _code(resp):
    m = re.search(r'data-testid="tracking-code">([A-Z0-9-]+)<', resp.get_data(as_text=True))
    assert m, resp.get_data(as_text=True)
    return m.group(1)


def _audit_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)))


def _assert_no_identity(app, marker_values):
    with app.app_context():
        msg = db.session.query(ContactMessage).one()
        columns = [c.key for c in inspect(ContactMessage).columns]
        assert not [c for c in columns if re.search(r"ip|addr|agent|session|phone|email", c)]
        assert msg.sender_id is None and msg.tracking_hash is not None
        values = [str(getattr(msg, c)) for c in columns]
        for marker in marker_values:
            assert not any(marker in v for v in values), marker


def test_anonymous_message_stores_no_identity(app, world, client):
    before = _audit_count(app)
    resp = client.post(
        "/contact",
        data={
            "community_id": world["community"],
            "category": "tip",
            "body": "小区门口有可疑人员徘徊",
        },
        environ_base={"REMOTE_ADDR": "203.0.113.77", "HTTP_USER_AGENT": "Tracer/1.0"},
    )
    assert resp.status_code == 200
    code = _code(resp)
    _assert_no_identity(app, ["203.0.113.77", "Tracer", code])
    assert _audit_count(app) == before  # nothing in the audit log either


def test_logged_in_sender_may_stay_anonymous(app, world, client):
    login(client, "resident@example.com")
    before = _audit_count(app)
    resp = client.post(
        "/contact",
        data={
            "community_id": world["community"],
            "category": "suggestion",
            "body": "建议晚上加强巡逻",
            "anonymous": "y",
        },
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    _code(resp)
    _assert_no_identity(app, ["198.51.100.9", "resident@example.com", "孙女士"])
    assert _audit_count(app) == before


def test_tracking_code_reads_the_reply(app, world, client):
    code = _code(
        client.post(
            "/contact",
            data={"community_id": world["community"], "category": "tip", "body": "楼道堆放杂物"},
        )
    )
    assert "尚未回复" in client.post("/contact/track", data={"code": code}).get_data(as_text=True)
    assert client.post("/contact/track", data={"code": "AAAA-BBBB-CCCC-DDDD"}).status_code == 303
    officer = client.application.test_client()
    login(officer, "officer@example.com")
    with app.app_context():
        mid = db.session.query(ContactMessage.id).scalar()
    assert (
        officer.post(f"/backoffice/contact/{mid}", data={"reply": "已安排清理"}).status_code == 302
    )
    page = client.post("/contact/track", data={"code": code.lower()}).get_data(as_text=True)
    assert "已安排清理" in page
    # The other community's officer may not answer it.
    other = client.application.test_client()
    login(other, "officer2@example.com")
    assert other.get(f"/backoffice/contact/{mid}").status_code == 403


def test_named_message_gets_a_notified_reply(app, world, client):
    login(client, "resident@example.com")
    resp = client.post(
        "/contact",
        data={"community_id": world["community"], "category": "suggestion", "body": "希望增加路灯"},
    )
    assert "tracking-code" not in resp.get_data(as_text=True)
    officer = client.application.test_client()
    login(officer, "officer@example.com")
    with app.app_context():
        msg = db.session.query(ContactMessage).one()
        assert msg.sender_id == world["resident"]
        mid = msg.id
    officer.post(f"/backoffice/contact/{mid}", data={"reply": "已反映给街道"})
    with app.app_context():
        assert (
            db.session.query(Notification)
            .filter_by(user_id=world["resident"], kind="contact")
            .count()
            == 1
        )
    assert "已反映给街道" in client.get("/contact/mine").get_data(as_text=True)


def test_invalid_message_refused(app, world, client):
    assert (
        client.post(
            "/contact", data={"community_id": world["community"], "category": "tip", "body": "短"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/contact", data={"community_id": 999, "category": "tip", "body": "社区不存在的留言"}
        ).status_code
        == 422
    )
    with app.app_context():
        assert db.session.query(ContactMessage).count() == 0


def test_dashboard_panel_shows_messages_waiting_over_three_working_days(app, world, client):
    with app.app_context():
        old = ContactMessage(
            community_id=world["community"],
            category="tip",
            body="二十天前的线索",
            created_at=utcnow() - dt.timedelta(days=20),
        )
        new = ContactMessage(community_id=world["community"], category="tip", body="刚刚的线索")
        elsewhere = ContactMessage(
            community_id=world["other_community"],
            category="tip",
            body="铁西的旧线索",
            created_at=utcnow() - dt.timedelta(days=20),
        )
        db.session.add_all([old, new, elsewhere])
        db.session.commit()
    login(client, "officer@example.com")
    html = client.get("/backoffice/").get_data(as_text=True)
    panel = html[html.index('data-panel="contact"') :]
    panel = panel[: panel.index("</section>")]
    assert "二十天前的线索" in panel and "刚刚的线索" not in panel and "铁西的旧线索" not in panel
    assert '<span class="count">1</span>' in panel
    assert "超过3个工作日" in client.get("/backoffice/contact").get_data(as_text=True)


def test_reply_due_after_three_working_days(app, world):
    from zoneinfo import ZoneInfo

    from portal.notices import services as svc

    bj = ZoneInfo("Asia/Shanghai")
    with app.test_request_context():
        # Monday 2 March 2026, 10:00 in Beijing: due at Thursday's closing time.
        msg = ContactMessage(
            community_id=world["community"],
            category="tip",
            body="x",
            created_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=bj),
        )
        due = svc.reply_due(msg)
        assert due.astimezone(bj) == dt.datetime(2026, 3, 5, 17, 30, tzinfo=bj)
        assert svc.overdue([msg], now=due - dt.timedelta(minutes=1)) == []
        assert svc.overdue([msg], now=due + dt.timedelta(minutes=1)) == [msg]
        msg.replied_at = due
        assert svc.overdue([msg], now=due + dt.timedelta(days=9)) == []


def test_anonymous_message_time_kept_to_the_hour(app, world, client):
    client.post(
        "/contact",
        data={"community_id": world["community"], "category": "tip", "body": "匿名时间只到小时"},
    )
    with app.app_context():
        created = db.session.query(ContactMessage).one().created_at
        assert (created.minute, created.second, created.microsecond) == (0, 0, 0)
