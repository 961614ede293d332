"""Claiming a found item by booking a visit through the appointments feature; the officer
sees the claims on the item and hands it to one claimant."""

from __future__ import annotations

from sqlalchemy import select

from portal.appointments import services as appt
from portal.appointments.models import Booking, BookingStatus
from portal.db import db
from portal.notices import services as svc
from portal.notices.models import ClaimStatus, ItemClaim, ItemStatus, LostItem
from portal.notices.seed import seed_claim_service
from tests.appointments.helpers import setup_plan
from tests.conftest import login


def _found_item(app, world) -> int:
    from portal.accounts.models import User

    with app.test_request_context():
        setup_plan(world["officer"], notice=0)
        seed_claim_service()
        officer = db.session.get(User, world["officer"])
        item = svc.register_found(
            officer,
            title="黑色钱包",
            description="在公园长椅上拾获",
            place="天桥公园",
            happened_on=None,
            collect_at="天桥社区警务室",
            community_id=world["community"],
        )
        db.session.commit()
        return item.id


def _claim_and_book(client, item_id: int, proof: str, officer_id: int) -> tuple[int, str]:
    page = client.get(f"/lost-found/{item_id}").get_data(as_text=True)
    assert f"/lost-found/{item_id}/claim" in page and "认领" in page
    assert client.get(f"/lost-found/{item_id}/claim").status_code == 200
    resp = client.post(f"/lost-found/{item_id}/claim", data={"proof": proof})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    claim_url = resp.location
    claim_id = int(claim_url.rsplit("/", 1)[-1])
    page = client.get(claim_url).get_data(as_text=True)
    assert "预约领取时间" in page and 'name="starts_at"' in page
    start = page.split('name="starts_at" value="', 1)[1].split('"', 1)[0]
    resp = client.post(claim_url, data={"starts_at": start, "provider_id": officer_id})
    assert resp.status_code == 303 and "/appointments/b/" in resp.location
    return claim_id, resp.location.rsplit("/", 1)[-1]


def test_claim_books_a_visit_and_officer_returns_item(app, world, make, client):
    item_id = _found_item(app, world)
    login(client, "resident@example.com")
    claim_id, code = _claim_and_book(
        client, item_id, "钱包里有一张天桥小学的饭卡", world["officer"]
    )
    with app.app_context():
        claim = db.session.get(ItemClaim, claim_id)
        booking = db.session.scalar(select(Booking).where(Booking.code == code))
        assert claim.booking_id == booking.id and booking.provider_id == world["officer"]
        assert booking.service.name == "失物认领" and booking.status == BookingStatus.CONFIRMED
        assert (
            "黑色钱包" in booking.resident_note and f"招领编号 {item_id}" in booking.resident_note
        )
        assert db.session.get(LostItem, item_id).status == ItemStatus.CLAIMED
    # A second visit while one is open is refused; the page no longer offers slots.
    page = client.get(f"/lost-found/claims/{claim_id}").get_data(as_text=True)
    assert code in page and 'name="starts_at"' not in page
    again = client.post(f"/lost-found/{item_id}/claim", data={"proof": "再认领一次"})
    assert again.status_code == 303 and again.location.endswith(f"/lost-found/claims/{claim_id}")

    # A second resident claims it too.
    rival = make.user("resident", world["community"], login="rival@example.com")
    other = app.test_client()
    login(other, "rival@example.com")
    rival_claim, rival_code = _claim_and_book(other, item_id, "黑色的，有划痕", world["officer"])
    # Neither may see the other's claim; another community's officer may not decide.
    assert other.get(f"/lost-found/claims/{claim_id}").status_code == 403
    officer2 = app.test_client()
    login(officer2, "officer2@example.com")
    assert officer2.post(f"/backoffice/lost-found/claims/{claim_id}/returned").status_code == 403

    officer = app.test_client()
    login(officer, "officer@example.com")
    page = officer.get(f"/lost-found/{item_id}").get_data(as_text=True)
    assert "天桥小学的饭卡" in page and "有划痕" in page and code in page
    listing = officer.get("/backoffice/lost-found").get_data(as_text=True)
    assert "2 人认领" in listing
    resp = officer.post(f"/backoffice/lost-found/claims/{claim_id}/returned")
    assert resp.status_code == 302
    with app.app_context():
        item = db.session.get(LostItem, item_id)
        assert item.status == ItemStatus.RETURNED and item.claimant_id == world["resident"]
        assert db.session.get(ItemClaim, claim_id).status == ClaimStatus.RETURNED
        lost = db.session.get(ItemClaim, rival_claim)
        assert lost.status == ClaimStatus.REJECTED and lost.reason
        # The rival's visit is cancelled, freeing the officer's slot.
        rb = db.session.scalar(select(Booking).where(Booking.code == rival_code))
        assert rb.status == BookingStatus.CANCELLED
        assert rival is not None
    # Returned items leave the public list; the item page stays for the people involved.
    assert "黑色钱包" not in client.get("/lost-found").get_data(as_text=True)
    assert client.get(f"/lost-found/{item_id}").status_code == 404


def test_rejected_claim_reopens_the_item(app, world, client):
    item_id = _found_item(app, world)
    login(client, "resident@example.com")
    claim_id, code = _claim_and_book(client, item_id, "里面有我的照片", world["officer"])
    officer = app.test_client()
    login(officer, "officer@example.com")
    # A reason is required.
    assert officer.post(f"/backoffice/lost-found/claims/{claim_id}/reject").status_code == 303
    with app.app_context():
        assert db.session.get(ItemClaim, claim_id).status == ClaimStatus.OPEN
    resp = officer.post(
        f"/backoffice/lost-found/claims/{claim_id}/reject", data={"reason": "特征不符"}
    )
    assert resp.status_code == 302
    with app.app_context():
        claim = db.session.get(ItemClaim, claim_id)
        assert claim.status == ClaimStatus.REJECTED and claim.reason == "特征不符"
        assert claim.booking.status == BookingStatus.CANCELLED
        assert db.session.get(LostItem, item_id).status == ItemStatus.OPEN
    page = client.get(f"/lost-found/claims/{claim_id}").get_data(as_text=True)
    assert "特征不符" in page and 'name="starts_at"' not in page


def test_claim_form_errors_and_refusals(app, world, client):
    item_id = _found_item(app, world)
    # Anonymous visitors are sent to log in.
    assert "/login" in client.get(f"/lost-found/{item_id}/claim").location
    login(client, "resident@example.com")
    resp = client.post(f"/lost-found/{item_id}/claim", data={"proof": "短"})
    assert resp.status_code == 422 and "短" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ItemClaim.id)) is None
    # A bad slot changes nothing and says so in Chinese.
    resp = client.post(f"/lost-found/{item_id}/claim", data={"proof": "钱包是黑色的"})
    claim_url = resp.location
    resp = client.post(claim_url, data={"starts_at": "not-a-time", "provider_id": "1"})
    assert resp.status_code == 422 and "请选择一个时段" in resp.get_data(as_text=True)
    resp = client.post(
        claim_url,
        data={"starts_at": "2030-01-01T03:00:00+00:00", "provider_id": world["officer"]},
    )
    assert resp.status_code == 409 and "该时段刚刚被他人预约" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None
    # Officers do not claim.
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert (
        officer.post(f"/lost-found/{item_id}/claim", data={"proof": "钱包是黑色的"}).status_code
        == 303
    )


def test_without_claim_service_the_claim_still_stands(app, world, client):
    from portal.accounts.models import User

    with app.test_request_context():
        officer = db.session.get(User, world["officer"])
        item_id = svc.register_found(
            officer,
            title="钥匙",
            description="",
            place="",
            happened_on=None,
            collect_at="天桥社区警务室",
            community_id=world["community"],
        ).id
        db.session.commit()
    login(client, "resident@example.com")
    resp = client.post(f"/lost-found/{item_id}/claim", data={"proof": "三把钥匙一个红色扣"})
    page = client.get(resp.location).get_data(as_text=True)
    assert "暂未开通认领预约" in page and "天桥社区警务室" in page
    with app.app_context():
        assert appt.active_services() == []


def test_claim_service_is_not_in_the_general_service_list(app, world, client):
    """失物认领 is booked from a claim only: not listed on /appointments or in the API, and
    neither the general booking page nor the booking API takes it; the claim still books."""
    from portal.appointments.models import Service

    item_id = _found_item(app, world)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "失物认领"))
        assert service is not None and service.listed is False
        sid = service.id
        listed = [s.name for s in appt.listed_services()]
        assert "失物认领" not in listed and "办理居住证" in listed
        slot = appt.free_slots(service, world["officer"], days=14)[0]
    login(client, "resident@example.com")
    assert "失物认领" not in client.get("/appointments").get_data(as_text=True)
    names = [s["name"] for s in client.get("/api/v1/appointments/services").get_json()["items"]]
    assert "失物认领" not in names and "办理居住证" in names
    assert client.get(f"/appointments/s/{sid}").status_code == 404
    starts = slot.isoformat()
    page_book = client.post(
        f"/appointments/s/{sid}/book",
        data={"provider_id": world["officer"], "starts_at": starts},
    )
    api_book = client.post(
        "/api/v1/appointments/bookings",
        json={"service_id": sid, "provider_id": world["officer"], "starts_at": starts},
    )
    assert page_book.status_code == 404 and api_book.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None
    # Through a claim it books as before.
    _claim_and_book(client, item_id, "钱包里有饭卡", world["officer"])
