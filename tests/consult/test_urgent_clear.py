"""解除紧急: officers clear the urgent mark of a chat or a consultation (audited, confirmed on
the page); the resident's chat page shows the 110 banner on reload while the conversation is
urgent, and not after it was cleared."""

from __future__ import annotations

from sqlalchemy import select

from portal.consult.models import Consultation, Conversation
from portal.db import db
from portal.security.models import AuditEntry
from tests.conftest import login
from tests.consult.conftest import ask_as
from tests.consult.test_chat_socket import NS, _client, _conversation, _events, _on_duty, _send

BANNER = "您描述的可能是紧急情况：请立即拨打110！"


def _banner_shown(html: str) -> bool:
    """The banner is in every chat page; it is shown when not ``hidden``."""
    start = html.index("data-emergency-banner")
    tag = html[html.rindex("<div", 0, start) : html.index(">", start)]
    return "hidden" not in tag


def _urgent_chat(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    r, o = _client(app, "resident@example.com"), _client(app, "officer@example.com")
    for sio in (r, o):
        assert sio.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)["ok"]
    assert _send(r, conv_id, "u1", "救命！有人抢劫")["urgent"] is True
    r.get_received(NS)
    o.get_received(NS)
    return conv_id, r, o


def _audits(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_resident_sees_the_banner_on_reload_while_urgent(app, world):
    resident = app.test_client()
    login(resident, "resident@example.com")
    page = resident.get("/consult/chat").get_data(as_text=True)
    assert BANNER in page and not _banner_shown(page)
    conv_id, r, o = _urgent_chat(app, world)
    page = resident.get("/consult/chat").get_data(as_text=True)
    assert _banner_shown(page)
    # The officer's page shows the mark and the clear button (with a confirmation).
    officer = app.test_client()
    login(officer, "officer@example.com")
    staff_page = officer.get(f"/backoffice/chat/{conv_id}").get_data(as_text=True)
    assert "解除紧急" in staff_page and "data-confirm=" in staff_page
    assert not _banner_shown(staff_page)  # officers see the badge, not the resident's banner


def test_officer_clears_the_chat_mark(app, world):
    conv_id, r, o = _urgent_chat(app, world)
    officer = app.test_client()
    login(officer, "officer@example.com")
    resp = officer.post(f"/backoffice/chat/{conv_id}/clear-urgent")
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(Conversation, conv_id).is_urgent is False
    entries = _audits(app, "chat.urgent_cleared")
    assert [(e.actor_id, e.subject_user_id) for e in entries] == [
        (world["officer"], world["resident"])
    ]
    # Both pages hear it at once: the banner and the mark go away.
    assert _events(r, "urgent") == [{"conversation_id": conv_id, "urgent": False}]
    assert _events(o, "urgent") == [{"conversation_id": conv_id, "urgent": False}]
    resident = app.test_client()
    login(resident, "resident@example.com")
    assert not _banner_shown(resident.get("/consult/chat").get_data(as_text=True))
    rejoined = r.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)
    assert rejoined["urgent"] is False
    # Clearing again changes nothing and is not audited twice.
    officer.post(f"/backoffice/chat/{conv_id}/clear-urgent")
    assert len(_audits(app, "chat.urgent_cleared")) == 1
    # A new emergency word marks it urgent again.
    assert _send(r, conv_id, "u2", "着火了！")["urgent"] is True
    with app.app_context():
        assert db.session.get(Conversation, conv_id).is_urgent is True


def test_only_the_communitys_staff_clear_the_chat_mark(app, world):
    conv_id, r, o = _urgent_chat(app, world)
    for who, expected in (("resident@example.com", 403), ("officer2@example.com", 403)):
        c = app.test_client()
        login(c, who)
        assert c.post(f"/backoffice/chat/{conv_id}/clear-urgent").status_code == expected
    assert app.test_client().post(f"/backoffice/chat/{conv_id}/clear-urgent").status_code in (
        302,
        303,
        401,
    )
    with app.app_context():
        assert db.session.get(Conversation, conv_id).is_urgent is True
    assert _audits(app, "chat.urgent_cleared") == []


def test_officer_clears_a_consultations_mark(app, world):
    resident = app.test_client()
    login(resident, "resident@example.com")
    ask_as(resident, body="救命，有人打人了", title="楼下有人打架")
    with app.app_context():
        c = db.session.scalar(select(Consultation))
        assert c.is_urgent
        cid = c.id
    officer = app.test_client()
    login(officer, "officer@example.com")
    page = officer.get(f"/backoffice/consult/{cid}").get_data(as_text=True)
    assert "clear-urgent" in page
    assert officer.post(f"/backoffice/consult/{cid}/clear-urgent").status_code == 303
    with app.app_context():
        assert db.session.get(Consultation, cid).is_urgent is False
    assert len(_audits(app, "consult.urgent_cleared")) == 1
    assert "clear-urgent" not in officer.get(f"/backoffice/consult/{cid}").get_data(as_text=True)
    # The resident cannot clear it; the other community's officer cannot either.
    for c in (resident,):
        assert c.post(f"/backoffice/consult/{cid}/clear-urgent").status_code == 403
    other = app.test_client()
    login(other, "officer2@example.com")
    assert other.post(f"/backoffice/consult/{cid}/clear-urgent").status_code in (403, 404)
    assert len(_audits(app, "consult.urgent_cleared")) == 1
