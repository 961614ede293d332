"""The bell over Socket.IO: anonymous connections refused, each user only hears their own."""

from __future__ import annotations

from portal.accounts.models import User
from portal.db import db
from portal.extensions import socketio
from portal.notifications import services as svc
from tests.conftest import login

NS = "/notifications"


def _unread_events(sio) -> list[int]:
    return [e["args"][0]["count"] for e in sio.get_received(NS) if e["name"] == "unread"]


def test_anonymous_connection_refused(app, client):
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not sio.is_connected(NS)


def test_user_hears_only_their_own_count(app, world):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    r = socketio.test_client(app, namespace=NS, flask_test_client=resident)
    o = socketio.test_client(app, namespace=NS, flask_test_client=officer)
    assert r.is_connected(NS) and o.is_connected(NS)
    assert _unread_events(r) == [0] and _unread_events(o) == [0]
    with app.test_request_context():
        svc.notify(db.session.get(User, world["resident"]), "新消息", "正文")
        db.session.commit()
    assert _unread_events(r) == [1]
    assert _unread_events(o) == []
    r.disconnect(NS)
    o.disconnect(NS)


def test_nothing_published_when_the_change_is_rolled_back(app, world):
    client = app.test_client()
    login(client, "resident@example.com")
    r = socketio.test_client(app, namespace=NS, flask_test_client=client)
    r.get_received(NS)
    with app.test_request_context():
        svc.notify(db.session.get(User, world["resident"]), "不会保存", "")
        db.session.rollback()
    assert _unread_events(r) == []
    r.disconnect(NS)


def test_logged_out_session_cannot_connect(app, world):
    client = app.test_client()
    login(client, "resident@example.com")
    client.post("/logout")
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not sio.is_connected(NS)


def test_rolled_back_notification_is_not_published_by_a_later_commit(app, world):
    client = app.test_client()
    login(client, "resident@example.com")
    r = socketio.test_client(app, namespace=NS, flask_test_client=client)
    r.get_received(NS)
    with app.test_request_context():
        svc.notify(db.session.get(User, world["resident"]), "不会保存", "")
        db.session.rollback()
        db.session.commit()
    assert _unread_events(r) == []
    r.disconnect(NS)


def test_foreign_origin_refused(app, world):
    client = app.test_client()
    login(client, "resident@example.com")
    # The Engine.IO handshake over plain HTTP, as a browser on another site would send it.
    resp = client.get(
        "/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"}
    )
    assert resp.status_code == 400
    ok = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"})
    assert ok.status_code == 200


def test_marking_read_updates_other_tabs(app, world):
    tab1, tab2 = app.test_client(), app.test_client()
    login(tab1, "resident@example.com")
    login(tab2, "resident@example.com")
    with app.test_request_context():
        svc.notify(db.session.get(User, world["resident"]), "一条", "")
        db.session.commit()
    listener = socketio.test_client(app, namespace=NS, flask_test_client=tab2)
    listener.get_received(NS)
    tab1.post("/notifications/read")
    assert _unread_events(listener) == [0]
    listener.disconnect(NS)
