"""Pages and API: asking shows the target, internal notes never reach the resident (HTML
and API), the knowledge base hides the asker, lawyers' queue, the 110 banner."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.consult.models import Consultation
from portal.db import db
from tests.conftest import login
from tests.consult.conftest import ask_as


def _text(resp) -> str:
    """A response's text, JSON decoded so that Chinese is readable."""
    if resp.is_json:
        return json.dumps(resp.get_json(), ensure_ascii=False)
    return resp.get_data(as_text=True)


def _cid(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Consultation.id).order_by(Consultation.id.desc()))


def test_resident_asks_and_sees_the_reply_target(app, client, world, clock):
    login(client, "resident@example.com")
    resp = ask_as(client)
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "预计今天 17:30 前答复" in page
    assert "紧急情况请拨打110" in page


def test_ask_form_errors_are_422(app, client, world):
    login(client, "resident@example.com")
    assert ask_as(client, title="", category="nope").status_code == 422


def test_emergency_word_shows_the_banner(app, client, world, clock):
    login(client, "resident@example.com")
    resp = ask_as(client, body="救命，有人打人了", title="楼下有人打架")
    page = client.get(resp.location).get_data(as_text=True)
    assert "请立即拨打110" in page
    assert "data-emergency-banner hidden" not in page


def test_internal_notes_never_leave_the_back_office(app, world, clock):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    ask_as(resident)
    cid = _cid(app)
    officer.post(f"/backoffice/consult/{cid}/note", data={"body": "秘密备注XYZ"})
    officer.post(f"/backoffice/consult/{cid}/reply", data={"body": "公开答复ABC"})
    staff_page = officer.get(f"/backoffice/consult/{cid}").get_data(as_text=True)
    assert "秘密备注XYZ" in staff_page and "公开答复ABC" in staff_page
    page = resident.get(f"/consult/{cid}").get_data(as_text=True)
    assert "公开答复ABC" in page and "秘密备注XYZ" not in page
    api = _text(resident.get(f"/api/v1/consult/questions/{cid}"))
    assert "公开答复ABC" in api and "秘密备注XYZ" not in api
    # Public and answered: in the knowledge base, without notes or the asker's name.
    resident.post(f"/consult/{cid}/close")
    with app.app_context():
        db.session.get(Consultation, cid).is_public = True
        db.session.commit()
    for url in (f"/consult/kb/{cid}", "/api/v1/consult/kb?q=居住证", "/consult/kb?q=居住证"):
        text = _text(app.test_client().get(url))
        assert "秘密备注XYZ" not in text and "孙女士" not in text and "孙*" not in text, url
    assert "居住证怎么办理" in app.test_client().get("/consult/kb?q=居住证").get_data(as_text=True)


def test_resident_cannot_open_anothers_question_or_the_queue(app, world, make, clock):
    owner = app.test_client()
    login(owner, "resident@example.com")
    ask_as(owner)
    cid = _cid(app)
    make.user("resident", world["community"], login="nosy@example.com")
    nosy = app.test_client()
    login(nosy, "nosy@example.com")
    assert nosy.get(f"/consult/{cid}").status_code == 403
    assert nosy.get(f"/api/v1/consult/questions/{cid}").status_code == 403
    assert nosy.get("/backoffice/consult").status_code == 403
    assert nosy.get(f"/consult/kb/{cid}").status_code == 404  # private and unanswered


def test_lawyer_queue_shows_only_legal(app, world, clock):
    resident, lawyer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(lawyer, "lawyer@example.com")
    ask_as(resident, title="户口迁移的问题")
    household = _cid(app)
    ask_as(resident, category="legal", title="工资被拖欠怎么办")
    legal = _cid(app)
    page = lawyer.get("/backoffice/consult").get_data(as_text=True)
    assert "工资被拖欠怎么办" in page and "户口迁移的问题" not in page
    assert lawyer.get(f"/backoffice/consult/{household}").status_code == 403
    assert lawyer.get(f"/backoffice/consult/{legal}").status_code == 200


def test_officer_works_the_queue(app, world, clock):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    ask_as(resident)
    cid = _cid(app)
    assert "居住证怎么办理" in officer.get("/backoffice/consult?tab=unassigned").get_data(
        as_text=True
    )
    assert officer.post(f"/backoffice/consult/{cid}/claim").status_code == 303
    assert "居住证怎么办理" in officer.get("/backoffice/consult?tab=mine").get_data(as_text=True)
    officer.post(f"/backoffice/consult/{cid}/waiting", data={"body": "请补充材料"})
    assert "居住证怎么办理" in officer.get("/backoffice/consult?tab=waiting").get_data(as_text=True)
    officer.post(f"/backoffice/consult/{cid}/close")
    assert "居住证怎么办理" in officer.get("/backoffice/consult?tab=closed").get_data(as_text=True)
    # A refused action changes nothing and says why.
    resp = officer.post(f"/backoffice/consult/{cid}/reply", data={"body": "晚了"})
    assert resp.status_code == 422
    assert "咨询已关闭" in resp.get_data(as_text=True)
    assert officer.post(f"/backoffice/consult/{cid}/bogus").status_code == 404
    dash = officer.get("/backoffice/").get_data(as_text=True)
    assert "待答复的咨询" in dash


def test_canned_replies(app, world):
    officer = app.test_client()
    login(officer, "officer@example.com")
    resp = officer.post(
        "/backoffice/consult/canned", data={"title": "居住证材料", "body": "身份证、合同"}
    )
    assert resp.status_code == 303
    assert (
        officer.post(
            "/backoffice/consult/canned", data={"title": "居住证材料", "body": "x"}
        ).status_code
        == 422
    )
    assert "身份证、合同" in officer.get("/backoffice/consult/canned").get_data(as_text=True)


def test_api_flow(app, world, clock):
    resident, officer = app.test_client(), app.test_client()
    login(resident, "resident@example.com")
    login(officer, "officer@example.com")
    resp = resident.post(
        "/api/v1/consult/questions",
        json={
            "category": "rental",
            "title": "出租屋登记",
            "body": "房东需要登记吗？",
            "is_public": True,
        },
    )
    assert resp.status_code == 201
    q = resp.get_json()
    assert q["reply_target"] == "预计今天 17:30 前答复" and q["status"] == "open"
    cid = q["id"]
    assert resident.post("/api/v1/consult/questions", json={"title": ""}).status_code == 422
    assert (
        resident.post(f"/api/v1/consult/questions/{cid}/rate", json={"score": 5}).status_code == 409
    )
    officer.post(f"/backoffice/consult/{cid}/reply", data={"body": "需要登记"})
    r = resident.post(f"/api/v1/consult/questions/{cid}/rate", json={"score": 5, "comment": "好"})
    assert r.status_code == 200 and r.get_json()["rating"] == 5
    r = resident.post(f"/api/v1/consult/questions/{cid}/follow-up", json={"body": "还要带什么？"})
    assert r.get_json()["status"] == "open"
    assert (
        resident.post(f"/api/v1/consult/questions/{cid}/reopen", json={"reason": "x1"}).status_code
        == 409
    )
    assert resident.post(f"/api/v1/consult/questions/{cid}/close").get_json()["status"] == "closed"
    r = resident.post(f"/api/v1/consult/questions/{cid}/reopen", json={"reason": "还没说清楚"})
    assert r.status_code == 200 and r.get_json()["status"] == "open"
    mine = resident.get("/api/v1/consult/questions").get_json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == cid
    kb = app.test_client().get("/api/v1/consult/kb?q=出租屋").get_json()
    assert [i["id"] for i in kb["items"]] == [cid] and kb["items"][0]["answers"] == ["需要登记"]
    similar = app.test_client().get("/api/v1/consult/similar?q=出租屋要登记吗").get_json()
    assert [i["id"] for i in similar["items"]] == [cid]
    assert resident.post("/api/v1/consult/questions/9999/close").status_code == 404
