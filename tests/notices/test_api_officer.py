"""The officers' side of the notices API: withdraw, moderate lost-and-found, claims with a
booked visit, and answering the contact box; with the access rules for each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.appointments.models import Booking
from portal.db import db, utcnow
from portal.notices.models import ContactMessage, ItemStatus, LostItem
from tests.conftest import login
from tests.notices.helpers import write


def test_withdraw_notice(app, world, client):
    nid = write(app, world["officer"], title="要撤回的提示")
    login(client, "officer2@example.com")
    assert client.post(f"/api/v1/notices/{nid}/withdraw").status_code == 403
    client.post("/logout")
    login(client, "officer@example.com")
    resp = client.post(f"/api/v1/notices/{nid}/withdraw")
    assert resp.status_code == 200 and resp.get_json()["state"] == "withdrawn"
    assert client.post("/api/v1/notices/999/withdraw").status_code == 404
    anon = app.test_client()
    assert anon.get(f"/api/v1/notices/{nid}").status_code == 404
    assert "要撤回的提示" not in anon.get("/api/v1/notices").get_data(as_text=True)


def _report(client) -> int:
    login(client, "resident@example.com")
    resp = client.post("/lost-found/report", data={"title": "蓝色雨伞", "place": "菜市场"})
    assert resp.status_code == 302
    with client.application.app_context():
        return db.session.scalar(select(LostItem.id).order_by(LostItem.id.desc()))


def test_moderate_lost_report_with_reason(app, world, client):
    item_id = _report(client)
    officer = app.test_client()
    login(officer, "officer@example.com")
    queue = officer.get("/api/v1/lost-found/manage").get_json()
    assert queue["total"] == 1 and queue["items"][0]["status"] == "pending"
    # Rejecting needs a reason; nothing changes without one.
    resp = officer.post(f"/api/v1/lost-found/{item_id}/reject", json={})
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.get(LostItem, item_id).status == ItemStatus.PENDING
    # Another community's officer and the resident may not decide.
    other = app.test_client()
    login(other, "officer2@example.com")
    assert other.post(f"/api/v1/lost-found/{item_id}/approve", json={}).status_code == 403
    assert client.post(f"/api/v1/lost-found/{item_id}/approve", json={}).status_code == 403
    resp = officer.post(f"/api/v1/lost-found/{item_id}/reject", json={"reason": "信息不全"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    with app.app_context():
        assert db.session.get(LostItem, item_id).reason == "信息不全"
    # Decided once: a second decision is a conflict, in Chinese.
    again = officer.post(f"/api/v1/lost-found/{item_id}/approve", json={})
    assert again.status_code == 409 and "不能" in again.get_json()["error"]["message"]
    # A new report approved goes public.
    second = _report(client)
    assert officer.post(f"/api/v1/lost-found/{second}/approve", json={}).status_code == 200
    assert any(i["id"] == second for i in client.get("/api/v1/lost-found").get_json()["items"])


def test_found_item_claim_visit_and_return_over_api(app, world, client):
    from tests.notices.test_claims import _found_item

    item_id = _found_item(app, world)
    login(client, "resident@example.com")
    assert (
        client.post(f"/api/v1/lost-found/{item_id}/claims", json={"proof": "x"}).status_code == 422
    )
    resp = client.post(f"/api/v1/lost-found/{item_id}/claims", json={"proof": "钱包里有饭卡"})
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "open" and claim["booking"] is None and claim["claimant"] is None
    assert claim["provider_ids"] == [world["officer"]] and claim["service_id"]
    slots = client.get(
        f"/api/v1/appointments/services/{claim['service_id']}/slots?provider_id={world['officer']}"
    ).get_json()["slots"]
    resp = client.post(
        f"/api/v1/lost-found/claims/{claim['id']}/visit",
        json={"starts_at": slots[0], "provider_id": world["officer"]},
    )
    assert resp.status_code == 201, resp.get_json()
    booked = resp.get_json()["booking"]
    assert booked["status"] == "confirmed"
    again = client.post(
        f"/api/v1/lost-found/claims/{claim['id']}/visit",
        json={"starts_at": slots[1], "provider_id": world["officer"]},
    )
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Booking.resident_note)).startswith("失物认领：黑色钱包")
    officer = app.test_client()
    login(officer, "officer@example.com")
    seen = officer.get(f"/api/v1/lost-found/claims/{claim['id']}").get_json()
    assert seen["claimant"] == "孙女士" and seen["booking"]["code"] == booked["code"]
    queue = officer.get("/api/v1/lost-found/manage").get_json()["items"]
    assert queue[0]["claims"][0]["id"] == claim["id"]
    # Somebody else's claim is not readable.
    stranger = app.test_client()
    login(stranger, "officer2@example.com")
    assert stranger.get(f"/api/v1/lost-found/claims/{claim['id']}").status_code == 403
    resp = officer.post(f"/api/v1/lost-found/{item_id}/returned", json={"claim_id": claim["id"]})
    assert resp.status_code == 200 and resp.get_json()["status"] == "returned"
    with app.app_context():
        assert db.session.get(LostItem, item_id).claimant_id == world["resident"]
    mine = client.get(f"/api/v1/lost-found/claims/{claim['id']}").get_json()
    assert mine["status"] == "returned" and mine["provider_ids"] == []


def test_officer_marks_claimed_then_returned(app, world, client):
    from tests.notices.test_claims import _found_item

    item_id = _found_item(app, world)
    login(client, "officer@example.com")
    assert (
        client.post(f"/api/v1/lost-found/{item_id}/claimed", json={}).get_json()["status"]
        == "claimed"
    )
    assert client.post(f"/api/v1/lost-found/{item_id}/claimed", json={}).status_code == 409
    assert (
        client.post(f"/api/v1/lost-found/{item_id}/returned", json={}).get_json()["status"]
        == "returned"
    )


def test_reject_claim_over_api(app, world, client):
    from tests.notices.test_claims import _found_item

    item_id = _found_item(app, world)
    login(client, "resident@example.com")
    cid = client.post(
        f"/api/v1/lost-found/{item_id}/claims", json={"proof": "钱包里有饭卡"}
    ).get_json()["id"]
    assert (
        client.post(f"/api/v1/lost-found/claims/{cid}/reject", json={"reason": "x"}).status_code
        == 403
    )
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert officer.post(f"/api/v1/lost-found/claims/{cid}/reject", json={}).status_code == 422
    resp = officer.post(f"/api/v1/lost-found/claims/{cid}/reject", json={"reason": "特征不符"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    with app.app_context():
        assert db.session.get(LostItem, item_id).status == ItemStatus.OPEN


def test_contact_box_replies_over_api(app, world, client):
    with app.app_context():
        old = ContactMessage(
            community_id=world["community"],
            category="tip",
            body="楼道里堆放杂物，有火灾隐患",
            created_at=utcnow() - dt.timedelta(days=10),
        )
        elsewhere = ContactMessage(
            community_id=world["other_community"], category="tip", body="别的社区的留言"
        )
        db.session.add_all([old, elsewhere])
        db.session.commit()
        old_id, elsewhere_id = old.id, elsewhere.id
    login(client, "resident@example.com")
    assert client.get("/api/v1/contact/messages").status_code == 403
    client.post("/logout")
    login(client, "officer@example.com")
    data = client.get("/api/v1/contact/messages?waiting=1").get_json()
    assert [m["id"] for m in data["items"]] == [old_id] and data["overdue"] == 1
    assert data["items"][0]["anonymous"] is True and data["items"][0]["sender"] is None
    assert (
        client.post(
            f"/api/v1/contact/messages/{elsewhere_id}/reply", json={"reply": "收到"}
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/contact/messages/{old_id}/reply", json={}).status_code == 422
    resp = client.post(
        f"/api/v1/contact/messages/{old_id}/reply", json={"reply": "已联系物业清理。"}
    )
    assert resp.status_code == 200 and resp.get_json()["reply"] == "已联系物业清理。"
    assert resp.get_json()["overdue"] is False
    assert client.get("/api/v1/contact/messages?waiting=1").get_json()["items"] == []
    assert client.post("/api/v1/contact/messages/999/reply", json={"reply": "x"}).status_code == 404


def test_new_operations_in_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/notices/{notice_id}/withdraw", "post"),
        ("/api/v1/lost-found/manage", "get"),
        ("/api/v1/lost-found/{item_id}/{item_action}", "post"),
        ("/api/v1/lost-found/{item_id}/claims", "post"),
        ("/api/v1/lost-found/claims/{claim_id}/visit", "post"),
        ("/api/v1/lost-found/claims/{claim_id}/reject", "post"),
        ("/api/v1/contact/messages", "get"),
        ("/api/v1/contact/messages/{message_id}/reply", "post"),
    ]:
        op = paths[path][method]
        assert op["tags"] == ["notices"], path
    body = paths["/api/v1/lost-found/claims/{claim_id}/visit"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"starts_at", "provider_id"}
