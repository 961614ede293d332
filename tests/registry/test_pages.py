"""Residents' 暂住登记 (page and API), the officers' queue, record, house and permit pages."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.db import db
from portal.registry import services as svc
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    RentalHouse,
    Source,
    Tenancy,
)
from tests.conftest import login
from tests.registry.conftest import MIGRANT_ID, pending_record, sign_rental


def _count(model=MigrantRecord) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_self_registration_page(app, client, people):
    login(client, "seeker2@example.com")  # a verified migrant
    assert "办理暂住登记" in client.get("/registry").get_data(as_text=True)
    form = {
        "community_id": str(people["community"]),
        "address": "天桥社区 9 号楼 303",
        "since": "2099-01-01",
        "workplace": "",
        "house_id": "0",
    }
    resp = client.post("/registry/register", data=form)
    assert resp.status_code == 422 and "天桥社区 9 号楼 303" in resp.get_data(as_text=True)
    form["since"] = "2026-02-01"
    resp = client.post("/registry/register", data=form)
    assert resp.status_code == 302
    with app.app_context():
        record = db.session.scalar(select(MigrantRecord))
        assert record.source == Source.SELF and record.status == RecordStatus.PENDING
        assert record.name == "周外地" and record.user_id == people["seekers"][2]
    page = client.get("/registry").get_data(as_text=True)
    assert "待审核" in page and "天桥社区 9 号楼 303" in page
    resp = client.post("/registry/register", data=form)
    assert resp.status_code == 409  # one pending self-registration at a time


def test_self_registration_refuses_locals_and_unverified(app, client, people):
    login(client, "seeker1@example.com")  # verified, local
    form = {
        "community_id": str(people["community"]),
        "address": "天桥社区 1 号",
        "since": "2026-02-01",
        "house_id": "0",
    }
    resp = client.post("/registry/register", data=form)
    assert resp.status_code == 409 and "无需办理暂住登记" in resp.get_data(as_text=True)
    client.post("/logout")
    login(client, "seeker3@example.com")  # not verified
    assert client.post("/registry/register", data=form).status_code == 422
    with app.app_context():
        assert _count() == 0


def test_self_registration_api(app, client, people):
    login(client, "seeker2@example.com")
    bad = client.post("/api/v1/registry/residence", json={"address": "x"})
    assert bad.status_code == 422 and "since" in bad.get_json()["error"]["fields"]
    resp = client.post(
        "/api/v1/registry/residence",
        json={
            "community_id": people["community"],
            "address": "天桥社区 9 号楼 303",
            "since": "2026-02-01",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "pending" and body["name"] == "周**"
    assert "*" in body["id_number"]
    mine = client.get("/api/v1/registry/mine").get_json()
    assert [r["id"] for r in mine["records"]] == [body["id"]]
    assert mine["eligible_from"] is None


def test_officer_api_queue_confirm_reject(app, client, world):
    with app.test_request_context():
        a = pending_record(world["community"]).id
        b = pending_record(world["community"], address="另一处").id
        db.session.commit()
    login(client, "resident@example.com")
    assert client.get("/api/v1/registry/pending").status_code == 403
    client.post("/logout")
    login(client, "officer@example.com")
    body = client.get("/api/v1/registry/pending").get_json()
    assert [r["id"] for r in body["items"]] == [a, b] and body["total"] == 2
    assert all(MIGRANT_ID not in str(r) for r in body["items"])
    resp = client.post(f"/api/v1/registry/records/{a}/confirm", json={})
    assert resp.status_code == 200 and resp.get_json()["status"] == "confirmed"
    resp = client.post(f"/api/v1/registry/records/{b}/reject", json={})
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/registry/records/{b}/reject", json={"reason": "重复"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    assert client.post(f"/api/v1/registry/records/{b}/confirm", json={}).status_code == 409
    assert client.post("/api/v1/registry/records/999/confirm", json={}).status_code == 404


def test_officer_pages_queue_record_correct_reject(app, client, world):
    with app.test_request_context():
        rid = pending_record(world["community"]).id
        other = pending_record(world["community"], address="x").id
        db.session.commit()
    login(client, "officer@example.com")
    page = client.get("/backoffice/registry/pending").get_data(as_text=True)
    assert "0 天" in page and f"/backoffice/registry/records/{rid}" in page
    page = client.get(f"/backoffice/registry/records/{rid}").get_data(as_text=True)
    assert "同一人还有 1 条待审核登记" in page
    resp = client.post(f"/backoffice/registry/records/{rid}/correct", data={"id_number": "123"})
    assert resp.status_code == 422
    resp = client.post(f"/backoffice/registry/records/{rid}/correct", data={"address": "更正 1 号"})
    assert resp.status_code == 302
    resp = client.post(f"/backoffice/registry/records/{other}/reject", data={"reason": ""})
    assert resp.status_code == 422
    resp = client.post(f"/backoffice/registry/records/{other}/reject", data={"reason": "重复"})
    assert resp.status_code == 302
    assert client.post(f"/backoffice/registry/records/{rid}/nonsense").status_code == 404
    with app.app_context():
        assert db.session.get(MigrantRecord, rid).address == "更正 1 号"
        assert db.session.get(MigrantRecord, other).status == RecordStatus.REJECTED


def test_house_page_move_out_and_paper_pledge(app, client, board):
    with app.test_request_context():
        sign_rental(board)
        record = db.session.scalar(select(MigrantRecord))
        svc.confirm(db.session.get(type(record.user), board["officer"]), record)
        house = RentalHouse(
            community_id=board["community"], address="无保证书 1 号", address_key="无保证书1号"
        )
        db.session.add(house)
        db.session.commit()
        hid, bare, tid = record.house_id, house.id, db.session.scalar(select(Tenancy.id))
    login(client, "officer2@example.com")
    assert client.get(f"/backoffice/registry/houses/{hid}/tenancies").status_code == 403
    assert client.post(f"/backoffice/registry/tenancies/{tid}/end").status_code == 403
    client.post("/logout")
    login(client, "officer@example.com")
    page = client.get(f"/backoffice/registry/houses/{hid}/tenancies").get_data(as_text=True)
    assert "已签订" in page and "在住" in page
    assert 'data-confirm="确定登记迁出？"' in page  # a move-out is asked again first
    resp = client.post(f"/backoffice/registry/tenancies/{tid}/end", data={"end_date": "2099-01-01"})
    assert resp.status_code == 303
    resp = client.post(f"/backoffice/registry/tenancies/{tid}/end", data={})
    assert resp.status_code == 302
    assert client.post(f"/backoffice/registry/houses/{bare}/pledge").status_code == 302
    assert client.post(f"/backoffice/registry/houses/{bare}/pledge").status_code == 303
    with app.app_context():
        record = db.session.scalar(select(MigrantRecord))
        assert record.status == RecordStatus.CLOSED
        kinds = {e.kind for e in db.session.scalars(select(LedgerEvent))}
        assert {EventKind.MOVED_OUT, EventKind.CLOSED, EventKind.PLEDGE_SIGNED} <= kinds
        assert db.session.get(RentalHouse, bare).pledge_signed_at is not None


def test_landlord_ends_a_tenancy_from_their_page(app, client, board):
    with app.test_request_context():
        sign_rental(board)
        db.session.commit()
        tid = db.session.scalar(select(Tenancy.id))
    login(client, "landlord@example.com")
    page = client.get("/registry").get_data(as_text=True)
    assert "我的出租房屋" in page and "已签订治安责任保证书" in page
    assert client.post(f"/registry/tenancies/{tid}/end", data={}).status_code == 302
    client.post("/logout")
    login(client, "seeker1@example.com")
    assert client.post(f"/registry/tenancies/{tid}/end", data={}).status_code == 403
    with app.app_context():
        assert db.session.get(Tenancy, tid).end_date is not None


def test_review_goes_on_to_the_next_pending_record(app, client, world):
    """An officer with a long queue: confirming or rejecting opens the next pending record
    of their communities (oldest first), then the queue once none is left."""
    from portal.security.idnumbers import resident_id_check_char

    def number(i: int) -> str:
        first17 = f"4101021990010{i}10{i}"
        return first17 + resident_id_check_char(first17)

    with app.test_request_context():
        a, b, c = (pending_record(world["community"], number(i)).id for i in range(1, 4))
        pending_record(world["other_community"], number(4))  # not this officer's
        db.session.commit()
    login(client, "officer@example.com")
    beyond = client.get("/backoffice/registry/pending?page=5").get_data(as_text=True)
    assert "这一页没有记录" in beyond and "没有待审核的登记" not in beyond
    resp = client.post(f"/backoffice/registry/records/{a}/confirm")
    assert resp.status_code == 302 and resp.location.endswith(f"/backoffice/registry/records/{b}")
    resp = client.post(f"/backoffice/registry/records/{b}/reject", data={"reason": "地址不符"})
    assert resp.status_code == 302 and resp.location.endswith(f"/backoffice/registry/records/{c}")
    page = client.get(resp.location).get_data(as_text=True)
    assert "已退回" in page and "确认登记" in page
    assert 'data-confirm="确定退回这条登记？"' in page
    resp = client.post(f"/backoffice/registry/records/{c}/confirm")
    assert resp.status_code == 302 and resp.location.endswith("/backoffice/registry/pending")
    page = client.get("/backoffice/registry/pending").get_data(as_text=True)
    assert "已确认登记" in page and "没有待审核的登记" in page
