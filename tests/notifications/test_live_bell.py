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


def test_published_count_is_exact_without_a_count_query(app, world):
    """The count comes back with the INSERT (no separate COUNT): with read and unread
    notifications already there, another user's, and two notifications in one transaction."""
    from sqlalchemy import event

    client = app.test_client()
    login(client, "resident@example.com")
    r = socketio.test_client(app, namespace=NS, flask_test_client=client)
    r.get_received(NS)
    with app.test_request_context():
        resident = db.session.get(User, world["resident"])
        officer = db.session.get(User, world["officer"])
        for title in ("一", "二", "三"):
            svc.notify(resident, title, "")
        svc.notify(officer, "别人的", "")
        db.session.commit()
        assert svc.mark_read(resident, _first_id(resident.id)) == 1
        db.session.commit()
    assert _unread_events(r) == [1, 2, 3, 2]
    statements: list[str] = []
    engine = app.extensions["portal.engine"]

    def count(conn, cursor, stmt, *a):  # type: ignore[no-untyped-def]
        statements.append(stmt)

    with app.test_request_context():
        resident = db.session.get(User, world["resident"])
        event.listen(engine, "before_cursor_execute", count)
        svc.notify(resident, "四", "", email=False)
        svc.notify(resident, "五", "", email=False)
        event.remove(engine, "before_cursor_execute", count)
        db.session.commit()
        assert svc.unread_count(resident) == 4
    assert _unread_events(r) == [3, 4]
    assert [s.split()[0] for s in statements if not s.startswith("BEGIN")] == ["INSERT"] * 2
    r.disconnect(NS)


def _first_id(user_id: int) -> int:
    from sqlalchemy import func, select

    from portal.notifications.models import Notification

    return db.session.scalar(
        select(func.min(Notification.id)).where(Notification.user_id == user_id)
    )
