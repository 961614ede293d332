"""Live chat over Socket.IO with the Flask-SocketIO test client: refused anonymous connect,
refused foreign room, ordering, acknowledgement with the stored id, dedupe of a resent client
id, resync after a reconnect, offline officer → consultation with a "back at" time, typing
and read receipts, size and rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.communities.models import OfficerProfile, OfficerStatus
from portal.consult import chat
from portal.consult.models import ChatMessage, Consultation, Conversation
from portal.db import db
from portal.extensions import socketio
from tests.conftest import login

NS = "/chat"


def _client(app, login_name):
    http = app.test_client()
    login(http, login_name)
    return socketio.test_client(app, namespace=NS, flask_test_client=http)


def _on_duty(app, officer_id, status=OfficerStatus.IN_OFFICE):
    with app.app_context():
        profile = db.session.get(OfficerProfile, officer_id)
        if profile is None:
            profile = OfficerProfile(user_id=officer_id)
            db.session.add(profile)
        profile.status = status
        db.session.commit()


def _conversation(app, resident_id):
    with app.test_request_context():
        conv = chat.conversation_for(db.session.get(User, resident_id))
        db.session.commit()
        return conv.id


def _events(sio, name):
    got = [e["args"] for e in sio.get_received(NS) if e["name"] == name]
    return [a[0] if isinstance(a, list) else a for a in got]


@pytest.fixture
def pair(app, world):
    """A resident and the on-duty officer, both joined to their conversation."""
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    o = _client(app, "officer@example.com")
    assert r.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)["ok"]
    assert o.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)["ok"]
    r.get_received(NS)
    o.get_received(NS)
    yield r, o, conv_id
    for sio in (r, o):
        if sio.is_connected(NS):
            sio.disconnect(NS)


def _send(sio, conv_id, client_id, body):
    return sio.emit(
        "send",
        {"conversation_id": conv_id, "client_id": client_id, "body": body},
        namespace=NS,
        callback=True,
    )


def test_anonymous_connect_refused(app, client):
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not sio.is_connected(NS)


def test_foreign_room_refused(app, world, make):
    conv_id = _conversation(app, world["resident"])
    make.user("resident", world["community"], login="nosy@example.com")
    nosy = _client(app, "nosy@example.com")
    other_officer = _client(app, "officer2@example.com")
    for sio in (nosy, other_officer):
        assert sio.is_connected(NS)
        ack = sio.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        ack = _send(sio, conv_id, "x1", "偷偷发一条")
        assert ack["ok"] is False
        assert (
            sio.emit("join", {"conversation_id": "abc"}, namespace=NS, callback=True)["ok"] is False
        )
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 0
    # Nor do they hear the room.
    r = _client(app, "resident@example.com")
    r.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
    _send(r, conv_id, "c1", "只给民警看")
    assert _events(nosy, "message") == [] and _events(other_officer, "message") == []


def test_message_is_stored_acknowledged_and_delivered_in_order(app, pair):
    r, o, conv_id = pair
    acks = [_send(r, conv_id, f"c{i}", f"第{i}条") for i in range(5)]
    assert all(a["ok"] and not a["duplicate"] for a in acks)
    ids = [a["message"]["id"] for a in acks]
    assert ids == sorted(ids)
    heard = _events(o, "message")
    assert [m["id"] for m in heard] == ids
    assert [m["body"] for m in heard] == [f"第{i}条" for i in range(5)]
    with app.app_context():
        stored = db.session.scalars(select(ChatMessage.id).order_by(ChatMessage.id)).all()
    assert stored == ids  # written before it was broadcast
    reply = _send(o, conv_id, "o1", "收到")
    assert [m["id"] for m in _events(r, "message")][-1] == reply["message"]["id"]


def test_resent_client_id_is_not_stored_twice(app, pair):
    r, o, conv_id = pair
    first = _send(r, conv_id, "same-id", "你好")
    again = _send(r, conv_id, "same-id", "你好")
    assert again["ok"] and again["duplicate"]
    assert again["message"]["id"] == first["message"]["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 1
    assert len(_events(o, "message")) == 1


def test_reconnect_resyncs_after_the_last_id(app, pair):
    r, o, conv_id = pair
    a = _send(r, conv_id, "a", "一")
    o.disconnect(NS)
    b = _send(r, conv_id, "b", "二")
    c = _send(r, conv_id, "c", "三")
    o2 = _client(app, "officer@example.com")
    ack = o2.emit(
        "join",
        {"conversation_id": conv_id, "after_id": a["message"]["id"]},
        namespace=NS,
        callback=True,
    )
    assert [m["id"] for m in ack["messages"]] == [b["message"]["id"], c["message"]["id"]]
    full = o2.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
    assert [m["body"] for m in full["messages"]] == ["一", "二", "三"]
    o2.disconnect(NS)


def test_history_survives_a_server_restart(app, pair, database_url, tmp_path):
    """A new app (as after a restart) on the same database resyncs the whole conversation,
    and a resend of a message acknowledged before the restart is not doubled."""
    from tests.conftest import make_test_app

    r, o, conv_id = pair
    first = _send(r, conv_id, "before-restart", "重启前")
    r.disconnect(NS)
    o.disconnect(NS)
    app2 = make_test_app(database_url, tmp_path / "instance2")
    try:
        r2 = _client(app2, "resident@example.com")
        ack = r2.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
        assert [m["id"] for m in ack["messages"]] == [first["message"]["id"]]
        again = _send(r2, conv_id, "before-restart", "重启前")
        assert again["duplicate"] and again["message"]["id"] == first["message"]["id"]
        after = _send(r2, conv_id, "after-restart", "重启后")
        assert after["message"]["id"] > first["message"]["id"]
        r2.disconnect(NS)
    finally:
        with app2.app_context():
            db.session.remove()
        app2.extensions["portal.engine"].dispose()


def test_typing_and_read_receipts(app, pair):
    r, o, conv_id = pair
    r.emit("typing", {"conversation_id": conv_id}, namespace=NS)
    assert _events(o, "typing") == [
        {"conversation_id": conv_id, "user_id": _uid(app, "resident@example.com")}
    ]
    assert _events(r, "typing") == []  # not echoed to the typist
    sent = _send(r, conv_id, "m1", "在吗")
    o.get_received(NS)
    ack = o.emit(
        "read",
        {"conversation_id": conv_id, "last_id": sent["message"]["id"]},
        namespace=NS,
        callback=True,
    )
    assert ack == {"ok": True, "last_id": sent["message"]["id"]}
    reads = _events(r, "read")
    assert reads == [
        {"conversation_id": conv_id, "side": "staff", "last_id": sent["message"]["id"]}
    ]
    # A read mark beyond the last message is clamped.
    ack = o.emit(
        "read", {"conversation_id": conv_id, "last_id": 10**6}, namespace=NS, callback=True
    )
    assert ack["last_id"] == sent["message"]["id"]


def _uid(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_size_and_rate_limits(app, pair):
    r, o, conv_id = pair
    app.config["CHAT_RATE_LIMIT"] = (5, 60.0)  # every attempt counts, refused ones too
    too_long = _send(r, conv_id, "big", "字" * (chat.MAX_MESSAGE_CHARS + 1))
    assert too_long["ok"] is False and too_long["error"]["code"] == "too_long"
    assert _send(r, conv_id, "", "无编号")["ok"] is False
    results = [_send(r, conv_id, f"r{i}", "刷屏") for i in range(5)]
    assert [x["ok"] for x in results] == [True, True, True, False, False]
    assert results[-1]["error"]["code"] == "rate_limited"
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 3


def test_offline_officer_turns_the_message_into_a_consultation(app, world):
    _on_duty(app, world["officer"], OfficerStatus.OFF_DUTY)
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    r.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
    ack = _send(r, conv_id, "late-1", "晚上想问个事")
    assert ack["ok"] and ack["offline"]["consultation_id"]
    # The back-at time, when given, is the station's next opening.
    with app.test_request_context():
        from portal.db import utcnow
        from portal.station.calendar import get_calendar

        cal = get_calendar()
        now = utcnow()
        expected = None if cal.is_open(now) else cal.next_opening(now).isoformat()
    assert ack["offline"]["back_at"] == expected
    second = _send(r, conv_id, "late-2", "补充一句")
    assert second["offline"]["consultation_id"] == ack["offline"]["consultation_id"]
    with app.app_context():
        c = db.session.get(Consultation, ack["offline"]["consultation_id"])
        assert c.source == "chat" and c.asker_id == world["resident"]
        assert [m.body for m in c.messages] == ["晚上想问个事", "补充一句"]
        assert db.session.get(Conversation, conv_id).consultation_id == c.id
    r.disconnect(NS)


def test_officer_converts_a_conversation(app, pair, world):
    r, o, conv_id = pair
    _send(r, conv_id, "q1", "想问户口迁移")
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert "1 条未读" in officer.get("/backoffice/chat").get_data(as_text=True)
    resp = officer.post(f"/backoffice/chat/{conv_id}/convert")
    assert resp.status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Consultation))
        assert c.body == "想问户口迁移" and c.assignee_id == world["officer"]


def test_chat_pages_show_history_and_presence(app, pair, world):
    r, o, conv_id = pair
    _send(r, conv_id, "h1", "<b>看 https://example.com</b>")
    resident = app.test_client()
    login(resident, "resident@example.com")
    page = resident.get("/consult/chat").get_data(as_text=True)
    assert "&lt;b&gt;看 https://example.com&lt;/b&gt;" in page  # escaped, never markup
    assert "在警务室" in page
    api = resident.get("/api/v1/consult/chat/messages").get_json()
    assert [m["body"] for m in api["items"]] == ["<b>看 https://example.com</b>"]
    nosy_officer = app.test_client()
    login(nosy_officer, "officer2@example.com")
    assert nosy_officer.get(f"/backoffice/chat/{conv_id}").status_code == 403
    assert nosy_officer.get(f"/api/v1/consult/chat/{conv_id}/messages").status_code == 403
