"""The officer's JSON API: day list with pending requests, confirm/decline a home visit,
check-in, done with a note, no-show; who may do it; the OpenAPI document lists them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.appointments import services as svc
from portal.appointments.models import Booking, BookingStatus, Service
from portal.db import db, utcnow
from portal.notifications.models import Notification
from tests.appointments.helpers import setup_plan
from tests.conftest import login

OFFICER_PATHS = [
    ("get", "/api/v1/appointments/officer/bookings"),
    ("post", "/api/v1/appointments/bookings/{code}/confirm"),
    ("post", "/api/v1/appointments/bookings/{code}/decline"),
    ("post", "/api/v1/appointments/bookings/{code}/done"),
    ("post", "/api/v1/appointments/bookings/{code}/no-show"),
]


def _ready(app, world):
    with app.test_request_context():
        services = setup_plan(world["officer"], notice=0)
        return {n: s.id for n, s in services.items()}


def _slots(app, service_id, officer_id):
    with app.test_request_context():
        return svc.free_slots(db.session.get(Service, service_id), officer_id, days=14)


def _direct_booking(app, world, service_id, start, code, status=BookingStatus.CONFIRMED):
    """A booking row written straight to the table (e.g. one that began an hour ago)."""
    with app.app_context():
        db.session.add(
            Booking(
                code=code,
                resident_id=world["resident"],
                provider_id=world["officer"],
                service_id=service_id,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=20),
                status=status,
            )
        )
        db.session.commit()


def _notes(app, user_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Notification.user_id == user_id))


def test_home_visit_confirm_and_decline(app, client, world):
    ids = _ready(app, world)
    slots = _slots(app, ids["上门服务"], world["officer"])
    login(client, "resident@example.com")
    codes = []
    for start in (slots[0], slots[-1]):
        r = client.post(
            "/api/v1/appointments/bookings",
            json={
                "service_id": ids["上门服务"],
                "provider_id": world["officer"],
                "starts_at": start.isoformat(),
                "address": "天桥小区3栋",
            },
        )
        assert r.status_code == 201 and r.get_json()["status"] == "pending"
        codes.append(r.get_json()["code"])
    # A resident is not an officer: refused before anything is looked up.
    assert client.post(f"/api/v1/appointments/bookings/{codes[0]}/confirm").status_code == 403
    assert client.get("/api/v1/appointments/officer/bookings").status_code == 403
    client.post("/logout")

    # An officer of another community does not see it: 404, not a hint that it exists.
    login(client, "officer2@example.com")
    assert client.post(f"/api/v1/appointments/bookings/{codes[0]}/confirm").status_code == 404
    assert client.get("/api/v1/appointments/officer/bookings").get_json()["pending"] == []
    client.post("/logout")

    login(client, "officer@example.com")
    listing = client.get("/api/v1/appointments/officer/bookings").get_json()
    pending = {b["code"]: b for b in listing["pending"]}
    assert set(pending) == set(codes) and pending[codes[0]]["address"] == "天桥小区3栋"
    before = _notes(app, world["resident"])
    r = client.post(f"/api/v1/appointments/bookings/{codes[0]}/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"
    again = client.post(f"/api/v1/appointments/bookings/{codes[0]}/confirm")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "state"
    # Declining needs a reason; without one nothing changes.
    r = client.post(f"/api/v1/appointments/bookings/{codes[1]}/decline", json={})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(
        f"/api/v1/appointments/bookings/{codes[1]}/decline", json={"reason": "超出辖区"}
    )
    assert r.status_code == 200 and r.get_json()["status"] == "declined"
    assert _notes(app, world["resident"]) == before + 2
    with app.app_context():
        assert svc.by_code(codes[1]).cancel_reason == "超出辖区"
        # The declined visit's time is free again.
        assert slots[-1] in svc.free_slots(
            db.session.get(Service, ids["上门服务"]), world["officer"], days=14
        )
    day = slots[0].astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    items = client.get(f"/api/v1/appointments/officer/bookings?day={day}").get_json()["items"]
    assert codes[0] in {b["code"] for b in items}
    bad = client.get("/api/v1/appointments/officer/bookings?day=tomorrow")
    assert bad.status_code == 400


def test_check_in_done_with_note_and_no_show(app, client, world):
    ids = _ready(app, world)
    sid = ids["户籍业务咨询"]
    now = utcnow().replace(second=0, microsecond=0)
    _direct_booking(app, world, sid, now - dt.timedelta(hours=1), "PASTAAAA")
    _direct_booking(app, world, sid, now + dt.timedelta(days=1), "LATERAAA")
    login(client, "officer@example.com")

    r = client.post("/api/v1/appointments/bookings/LATERAAA/no-show")
    assert r.status_code == 409  # not before it has begun
    r = client.post("/api/v1/appointments/bookings/pastaaaa/no-show")
    assert r.status_code == 200 and r.get_json()["status"] == "no_show"
    assert client.post("/api/v1/appointments/bookings/PASTAAAA/no-show").status_code == 409

    assert client.post("/api/v1/appointments/checkin", json={"code": "LATERAAA"}).status_code == 200
    assert client.post("/api/v1/appointments/bookings/LATERAAA/done", data="x").status_code == 400
    too_long = {"note": "办" * 2001}
    r = client.post("/api/v1/appointments/bookings/LATERAAA/done", json=too_long)
    assert r.status_code == 422
    with app.app_context():
        assert svc.by_code("LATERAAA").status == BookingStatus.CHECKED_IN
    r = client.post("/api/v1/appointments/bookings/LATERAAA/done", json={"note": "已办理居住证"})
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "done"
    assert body["officer_note"] == "已办理居住证"
    assert client.post("/api/v1/appointments/bookings/NOSUCHXX/done", json={}).status_code == 404
    client.post("/logout")
    # The resident cannot mark their own booking done.
    login(client, "resident@example.com")
    assert client.post("/api/v1/appointments/bookings/PASTAAAA/done", json={}).status_code == 403


def test_admin_handles_any_booking_and_anonymous_is_refused(app, client, world):
    ids = _ready(app, world)
    start = utcnow().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    _direct_booking(app, world, ids["上门服务"], start, "HOMEAAAA", BookingStatus.PENDING)
    for method, path in OFFICER_PATHS:
        resp = getattr(client, method)(path.format(code="HOMEAAAA"), json={})
        assert resp.status_code == 401, path
    login(client, "admin@example.com")
    r = client.post("/api/v1/appointments/bookings/HOMEAAAA/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"


def test_officer_endpoints_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for method, path in OFFICER_PATHS:
        op = doc["paths"][path][method]
        assert op["tags"] == ["appointments"], path
    decline = doc["paths"]["/api/v1/appointments/bookings/{code}/decline"]["post"]
    schema = decline["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["reason"]
