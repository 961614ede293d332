"""Notifications: the bell, the list, and mail delivered by the worker, never in the request."""

from __future__ import annotations

import socket
import threading
import time

from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
from portal.jobs import run_due
from portal.notifications import services as svc
from portal.notifications.models import Notification, OutboxMessage
from tests.conftest import login, make_test_app


def _notify(app, user_id, title="测试通知", link="/account"):
    with app.test_request_context():
        svc.notify(db.session.get(User, user_id), title, "正文", link=link)
        db.session.commit()


def test_bell_count_list_and_mark_read(client, app, world):
    _notify(app, world["resident"], "第一条")
    _notify(app, world["resident"], "第二条")
    _notify(app, world["officer"], "别人的")
    login(client, "resident@example.com")
    html = client.get("/").get_data(as_text=True)
    assert 'data-unread="2"' in html
    page = client.get("/notifications").get_data(as_text=True)
    assert "第一条" in page and "第二条" in page and "别人的" not in page
    with app.app_context():
        first = db.session.scalars(select(Notification).where(Notification.title == "第一条")).one()
        theirs = db.session.scalars(
            select(Notification).where(Notification.title == "别人的")
        ).one()
    resp = client.post(f"/notifications/{first.id}/read")
    assert resp.status_code == 302 and resp.location == "/account"
    assert 'data-unread="1"' in client.get("/").get_data(as_text=True)
    client.post(f"/notifications/{theirs.id}/read")  # not mine: nothing happens
    with app.app_context():
        assert db.session.get(Notification, theirs.id).read_at is None
    client.post("/notifications/read")
    assert 'data-unread="0"' in client.get("/").get_data(as_text=True)


def test_empty_state(client, world):
    login(client, "resident@example.com")
    assert "暂无通知" in client.get("/notifications").get_data(as_text=True)


def test_mail_is_queued_and_the_worker_writes_the_dev_outbox(client, app, world, capsys):
    _notify(app, world["resident"], "认证结果")
    with app.app_context():
        msg = db.session.scalars(select(OutboxMessage)).one()
        assert msg.status == "queued" and msg.to_address == "resident@example.com"
    done = run_due(app, force=True)
    assert done["send-mail"] == 1
    assert "认证结果" in capsys.readouterr().out
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).one().status == "outbox"
    assert run_due(app, force=True)["send-mail"] == 0
    admin = app.test_client()
    login(admin, "admin@example.com")
    assert "认证结果" in admin.get("/backoffice/outbox").get_data(as_text=True)


def test_two_workers_at_once_send_each_message_once(database_url, tmp_path, app, world):
    for i in range(30):
        _notify(app, world["resident"], f"消息{i}")
    apps = [make_test_app(database_url, tmp_path / f"w{i}") for i in range(2)]
    results: list[int] = []

    def work(a):
        with a.app_context():
            results.append(svc.send_queued_mail())

    threads = [threading.Thread(target=work, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(results) == 30
    with app.app_context():
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert statuses.count("outbox") == 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_delivery_through_a_real_server(database_url, tmp_path, app, world):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp_app = make_test_app(
            database_url,
            tmp_path / "smtp",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_STARTTLS=False,
        )
        _notify(smtp_app, world["resident"], "预约提醒")
        with smtp_app.app_context():
            assert svc.send_queued_mail() == 1
            assert db.session.scalars(select(OutboxMessage)).one().status == "sent"
        deadline = time.time() + 5
        while not received and time.time() < deadline:
            time.sleep(0.05)
        assert received and received[0]["To"] == "resident@example.com"
        assert "预约提醒" in str(received[0]["Subject"]) or received[0]["Subject"]
    finally:
        controller.stop()


def test_broken_smtp_never_breaks_the_request_and_retries(database_url, tmp_path, world):
    port = _free_port()  # nothing listens here
    broken = make_test_app(
        database_url,
        tmp_path / "broken",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
    )
    client = broken.test_client()
    resp = client.post("/password/forgot", data={"login": "resident@example.com"})
    assert resp.status_code == 302  # queued, not sent in the request
    with broken.app_context():
        assert svc.send_queued_mail() == 0
        msg = db.session.scalars(select(OutboxMessage)).one()
        assert msg.status == "queued" and msg.attempts == 1 and msg.last_error
