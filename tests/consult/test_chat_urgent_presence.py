"""Emergency words in chat (110 banner for the resident at once, the conversation marked
urgent for officers and sorted first) and the officers' live inbox (resident presence from
joining and leaving the conversation room, unread counts that follow messages and reads)."""

from __future__ import annotations

from sqlalchemy import select

from portal.consult import chat
from portal.consult.models import Consultation, Conversation
from portal.db import db
from tests.conftest import login
from tests.consult.test_chat_socket import NS, _client, _conversation, _events, _on_duty, _send


def _join(sio, conv_id):
    ack = sio.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
    assert ack["ok"], ack
    return ack


def _inbox(app, login_name):
    sio = _client(app, login_name)
    ack = sio.emit("watch_inbox", {}, namespace=NS, callback=True)
    assert ack["ok"], ack
    return sio, ack


def test_emergency_word_marks_the_conversation_urgent(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r, o = _client(app, "resident@example.com"), _client(app, "officer@example.com")
    _join(o, conv_id)
    _join(r, conv_id)
    o.get_received(NS)
    calm = _send(r, conv_id, "c1", "想问问居住证")
    assert calm["urgent"] is False
    with app.app_context():
        assert db.session.get(Conversation, conv_id).is_urgent is False
    ack = _send(r, conv_id, "c2", "救命！楼下有人打人")
    assert ack["ok"] and ack["urgent"] is True  # the resident's page shows the 110 banner
    assert _events(o, "urgent") == [{"conversation_id": conv_id, "urgent": True}]
    with app.app_context():
        assert db.session.get(Conversation, conv_id).is_urgent is True
    # A resend of the same message is still answered as urgent; no second "urgent" event.
    again = _send(r, conv_id, "c2", "救命！楼下有人打人")
    assert again["duplicate"] and again["urgent"] is True
    assert _events(o, "urgent") == []
    # The officer's own words never raise the flag (an officer may quote them).
    assert _send(o, conv_id, "o1", "请立即拨打110，不要喊救命以外的")["urgent"] is False
    # Rejoining (a reload) tells the officer's page the conversation is urgent.
    assert _join(o, conv_id)["urgent"] is True


def test_configured_words_are_used(app, world):
    app.config["CONSULT_EMERGENCY_WORDS"] = "燃气泄漏"
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    _join(r, conv_id)
    assert _send(r, conv_id, "a", "救命")["urgent"] is False  # not in the configured list
    assert _send(r, conv_id, "b", "闻到燃气泄漏的味道")["urgent"] is True


def test_urgent_conversations_come_first_in_the_inbox(app, world, make):
    _on_duty(app, world["officer"])
    calm_resident = make.user("resident", world["community"], login="calm@example.com")
    urgent_id = _conversation(app, world["resident"])
    calm_id = _conversation(app, calm_resident)
    r, calm = _client(app, "resident@example.com"), _client(app, "calm@example.com")
    _join(r, urgent_id)
    _join(calm, calm_id)
    _send(r, urgent_id, "u1", "家里着火了")
    _send(calm, calm_id, "c1", "问个户口的事")  # later, but not urgent
    officer = app.test_client()
    login(officer, "officer@example.com")
    page = officer.get("/backoffice/chat").get_data(as_text=True)
    assert page.index(f'data-conversation="{urgent_id}" data-urgent="1"') < page.index(
        f'data-conversation="{calm_id}" data-urgent="0"'
    )
    room = officer.get(f"/backoffice/chat/{urgent_id}").get_data(as_text=True)
    assert "data-urgent-badge>" in room  # the badge is shown, not hidden
    calm_room = officer.get(f"/backoffice/chat/{calm_id}").get_data(as_text=True)
    assert "data-urgent-badge hidden" in calm_room
    _, ack = _inbox(app, "officer@example.com")
    assert [row["conversation_id"] for row in ack["rows"]] == [urgent_id, calm_id]
    assert ack["rows"][0]["urgent"] is True and ack["rows"][1]["urgent"] is False
    # Converting an urgent chat makes an urgent consultation.
    assert officer.post(f"/backoffice/chat/{urgent_id}/convert").status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Consultation).order_by(Consultation.id.desc()))
        assert c.is_urgent is True


def test_offline_urgent_message_makes_an_urgent_consultation(app, world):
    from portal.communities.models import OfficerStatus

    _on_duty(app, world["officer"], OfficerStatus.OFF_DUTY)
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    _join(r, conv_id)
    ack = _send(r, conv_id, "x", "有人持刀抢劫")
    assert ack["urgent"] and ack["offline"]["consultation_id"]
    with app.app_context():
        assert db.session.get(Consultation, ack["offline"]["consultation_id"]).is_urgent


def test_inbox_hears_presence_and_unread_counts_live(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    inbox, ack = _inbox(app, "officer@example.com")
    assert ack["rows"] == []  # no message yet: not in the inbox
    admin_inbox, _ = _inbox(app, "admin@example.com")
    other_inbox, other_ack = _inbox(app, "officer2@example.com")  # another community
    residents_try = _client(app, "resident@example.com")
    refused = residents_try.emit("watch_inbox", {}, namespace=NS, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"

    r = _client(app, "resident@example.com")
    _join(r, conv_id)
    online = {"conversation_id": conv_id, "user_id": world["resident"], "online": True}
    assert _events(inbox, "presence") == [online]
    assert _events(admin_inbox, "presence") == [online]
    # A second tab of the same resident is no news.
    r2 = _client(app, "resident@example.com")
    _join(r2, conv_id)
    assert _events(inbox, "presence") == []

    first = _send(r, conv_id, "m1", "在吗")
    _send(r, conv_id, "m2", "想问个事")
    rows = _events(inbox, "inbox")
    assert [row["unread"] for row in rows] == [1, 2]
    assert rows[-1]["conversation_id"] == conv_id and rows[-1]["online"] is True
    assert rows[-1]["resident"] != "孙女士"  # masked
    assert [row["unread"] for row in _events(admin_inbox, "inbox")] == [1, 2]
    assert _events(other_inbox, "inbox") == [] and _events(other_inbox, "presence") == []

    # The officer opens the conversation and reads the first message: the count drops.
    o = _client(app, "officer@example.com")
    _join(o, conv_id)
    o.emit("read", {"conversation_id": conv_id, "last_id": first["message"]["id"]}, namespace=NS)
    assert [row["unread"] for row in _events(inbox, "inbox")] == [1]
    # The officer answers: everything before the answer counts as read.
    _send(o, conv_id, "o1", "您好")
    assert [row["unread"] for row in _events(inbox, "inbox")] == [0]
    # The officer joining is not the resident's presence.
    assert _events(inbox, "presence") == []

    # One tab closes: still online; the last one closes: offline, heard by inbox and room.
    r2.disconnect(NS)
    assert _events(inbox, "presence") == []
    o.get_received(NS)
    r.disconnect(NS)
    offline = {**online, "online": False}
    assert _events(inbox, "presence") == [offline]
    assert _events(o, "presence") == [offline]
    with app.app_context():
        assert chat.resident_online(conv_id) is False


def test_pages_show_presence(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    _join(r, conv_id)
    _send(r, conv_id, "p1", "你好")
    officer = app.test_client()
    login(officer, "officer@example.com")
    inbox = officer.get("/backoffice/chat").get_data(as_text=True)
    assert "data-online>在线<" in inbox and "1 条未读" in inbox
    room = officer.get(f"/backoffice/chat/{conv_id}").get_data(as_text=True)
    assert ">居民在线<" in room
    # Leaving the room (not only disconnecting) takes the resident offline.
    assert r.emit("leave", {"conversation_id": conv_id}, namespace=NS, callback=True)["ok"]
    room = officer.get(f"/backoffice/chat/{conv_id}").get_data(as_text=True)
    assert ">居民离线<" in room
    r.disconnect(NS)


def test_control_characters_in_chat(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r = _client(app, "resident@example.com")
    _join(r, conv_id)
    assert _send(r, conv_id, "n1", "\x00\x01")["ok"] is False  # nothing left: empty
    ack = _send(r, conv_id, "n2", "你\x00好")
    assert ack["ok"] and ack["message"]["body"] == "你好"
    assert _send(r, conv_id, "bad\x00id", "你好")["ok"] is False
