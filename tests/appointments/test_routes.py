"""Pages and API: listing, booking through the form and the API, slot-taken answers,
confirmation page with QR and ICS, check-in, officer views, panel, CLI."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar
from sqlalchemy import select

from portal.appointments import services as svc
from portal.appointments.models import Booking, BookingStatus, Service
from portal.db import db
from tests.appointments.helpers import setup_plan
from tests.conftest import login


def _ready(app, world, notice=0):
    with app.test_request_context():
        services = setup_plan(world["officer"], notice=notice)
        return {n: s.id for n, s in services.items()}


def _first_slot(app, service_id, officer_id):
    with app.test_request_context():
        return svc.free_slots(db.session.get(Service, service_id), officer_id, days=14)[0]


def test_public_service_list_shows_materials(app, client, world):
    _ready(app, world)
    page = client.get("/appointments").get_data(as_text=True)
    assert "办理居住证" in page and "近期一寸白底照片两张" in page
    data = client.get("/api/v1/appointments/services").get_json()
    assert {s["name"] for s in data["items"]} >= {"法律咨询", "上门服务"}


def test_book_through_the_page_then_confirmation_qr_and_ics(app, client, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["办理居住证"], world["officer"])
    login(client, "resident@example.com")
    page = client.get(f"/appointments/s/{ids['办理居住证']}").get_data(as_text=True)
    assert start.isoformat() in page
    resp = client.post(
        f"/appointments/s/{ids['办理居住证']}/book",
        data={"provider_id": world["officer"], "starts_at": start.isoformat()},
    )
    assert resp.status_code == 303
    code = resp.location.rsplit("/", 1)[-1]
    page = client.get(f"/appointments/b/{code}").get_data(as_text=True)
    assert code in page and "居住证明" in page and f"/appointments/b/{code}/qr.svg" in page
    assert "<script>" not in page and "style=" not in page
    qr = client.get(f"/appointments/b/{code}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    ics = client.get(f"/appointments/b/{code}/booking.ics")
    assert ics.mimetype == "text/calendar"
    ev = next(iter(Calendar.from_ical(ics.data).walk("VEVENT")))
    assert ev.decoded("dtstart") == start
    # Another user cannot see it.
    client.post("/logout")
    login(client, "officer2@example.com")
    assert client.get(f"/appointments/b/{code}").status_code == 403


def test_api_book_slot_taken_and_check_in(app, client, make, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    login(client, "resident@example.com")
    slots = client.get(f"/api/v1/appointments/services/{ids['户籍业务咨询']}/slots").get_json()
    assert slots["provider_id"] == world["officer"] and start.isoformat() in slots["slots"]
    body = {
        "service_id": ids["户籍业务咨询"],
        "provider_id": world["officer"],
        "starts_at": start.isoformat(),
    }
    resp = client.post("/api/v1/appointments/bookings", json=body)
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    mine = client.get("/api/v1/appointments/bookings").get_json()["items"]
    assert [b["code"] for b in mine] == [code]
    assert client.get(f"/api/v1/appointments/bookings/{code}/ics").mimetype == "text/calendar"
    client.post("/logout")
    make.user("resident", world["community"], login="second@example.com")
    login(client, "second@example.com")
    taken = client.post("/api/v1/appointments/bookings", json=body)
    assert taken.status_code == 409
    err = taken.get_json()["error"]
    assert err["code"] == "slot_taken" and err["alternatives"]
    assert start.isoformat() not in err["alternatives"]
    bad = client.post("/api/v1/appointments/bookings", json={**body, "starts_at": "soon"})
    assert bad.status_code == 422 and "starts_at" in bad.get_json()["error"]["fields"]
    client.post("/logout")
    login(client, "officer@example.com")
    done = client.post("/api/v1/appointments/checkin", json={"code": code.lower()})
    assert done.status_code == 200 and done.get_json()["status"] == "checked_in"
    again = client.post("/api/v1/appointments/checkin", json={"code": code})
    assert again.status_code == 409


def test_page_slot_taken_shows_alternatives(app, client, make, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    data = {"provider_id": world["officer"], "starts_at": start.isoformat()}
    login(client, "resident@example.com")
    client.post(f"/appointments/s/{ids['户籍业务咨询']}/book", data=data)
    client.post("/logout")
    make.user("resident", world["community"], login="second@example.com")
    login(client, "second@example.com")
    resp = client.post(f"/appointments/s/{ids['户籍业务咨询']}/book", data=data)
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert 'id="alternatives"' in page and "刚刚被他人预约" in page


def test_api_cancel_and_reschedule(app, client, world):
    ids = _ready(app, world)
    with app.test_request_context():
        slots = svc.free_slots(
            db.session.get(Service, ids["户籍业务咨询"]), world["officer"], days=14
        )
    login(client, "resident@example.com")
    body = {
        "service_id": ids["户籍业务咨询"],
        "provider_id": world["officer"],
        "starts_at": slots[-1].isoformat(),
    }
    code = client.post("/api/v1/appointments/bookings", json=body).get_json()["code"]
    r = client.post(
        f"/api/v1/appointments/bookings/{code}/reschedule",
        json={"starts_at": slots[-2].isoformat(), "reason": "改时间"},
    )
    assert r.status_code == 200 and r.get_json()["starts_at"] == slots[-2].isoformat()
    assert client.post(f"/api/v1/appointments/bookings/{code}/cancel", json={}).status_code == 422
    r = client.post(f"/api/v1/appointments/bookings/{code}/cancel", json={"reason": "有事"})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


def test_officer_views_panel_and_actions(app, client, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    login(client, "resident@example.com")
    client.post(
        f"/appointments/s/{ids['户籍业务咨询']}/book",
        data={"provider_id": world["officer"], "starts_at": start.isoformat()},
    )
    client.post("/logout")
    login(client, "officer@example.com")
    day = start.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    page = client.get(f"/backoffice/appointments?day={day}").get_data(as_text=True)
    assert "户籍业务咨询" in page
    assert "户籍业务咨询" in client.get(f"/backoffice/appointments?day={day}&view=week").get_data(
        as_text=True
    )
    with app.app_context():
        b = db.session.scalar(select(Booking))
        code, bid = b.code, b.id
    assert client.post("/backoffice/appointments/checkin", data={"code": code}).status_code == 302
    assert (
        client.post(f"/backoffice/appointments/{bid}/done", data={"note": "办好"}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Booking, bid).status == BookingStatus.DONE
    dash = client.get("/backoffice/").get_data(as_text=True)
    assert "今日预约" in dash


def test_plan_page_saves_and_warns(app, client, world):
    login(client, "officer@example.com")
    resp = client.post(
        "/backoffice/appointments/plan",
        data={
            "periods": "1 09:00-10:00",
            "breaks": "",
            "slot_minutes": 30,
            "buffer_minutes": 0,
            "min_notice_minutes": 120,
            "horizon_days": 14,
            "follow_holidays": "y",
        },
        follow_redirects=True,
    )
    assert "不少于两个半天" in resp.get_data(as_text=True)
    bad = client.post(
        "/backoffice/appointments/plan",
        data={
            "periods": "Monday 9-12",
            "slot_minutes": 30,
            "buffer_minutes": 0,
            "min_notice_minutes": 120,
            "horizon_days": 14,
        },
    )
    assert bad.status_code == 422


def test_send_reminders_cli(app, world):
    _ready(app, world)
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "reminders sent" in result.output
    from portal.jobs import registered_jobs

    assert "send-reminders" in registered_jobs()


def test_staff_manage_services(app, client, world):
    ids = _ready(app, world)
    login(client, "admin@example.com")
    resp = client.post(
        "/backoffice/appointments/services",
        data={
            "name": "开具证明",
            "duration_minutes": 15,
            "provider_role": "officer",
            "location": "station",
            "materials": "身份证\n户口簿",
            "is_active": "y",
        },
    )
    assert resp.status_code == 303
    dup = client.post(
        "/backoffice/appointments/services",
        data={
            "name": "开具证明",
            "duration_minutes": 15,
            "provider_role": "officer",
            "location": "station",
            "is_active": "y",
        },
    )
    assert dup.status_code == 409
    odd = client.post(
        "/backoffice/appointments/services",
        data={
            "name": "奇数",
            "duration_minutes": 7,
            "provider_role": "officer",
            "location": "station",
        },
    )
    assert odd.status_code == 409
    sid = ids["纠纷调解"]
    page = client.get(f"/backoffice/appointments/services/{sid}").get_data(as_text=True)
    assert "纠纷调解" in page
    client.post(
        f"/backoffice/appointments/services/{sid}",
        data={
            "name": "纠纷调解",
            "duration_minutes": 60,
            "provider_role": "officer",
            "location": "station",
        },
    )  # is_active unticked: withdrawn
    assert "纠纷调解" not in client.get("/appointments").get_data(as_text=True)
    assert "开具证明" in client.get("/appointments").get_data(as_text=True)
    client.post("/logout")
    login(client, "resident@example.com")
    assert client.post("/backoffice/appointments/services", data={}).status_code == 403


def test_block_page_lists_affected_bookings(app, client, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    login(client, "resident@example.com")
    code = client.post(
        f"/appointments/s/{ids['户籍业务咨询']}/book",
        data={"provider_id": world["officer"], "starts_at": start.isoformat()},
    ).location.rsplit("/", 1)[-1]
    client.post("/logout")
    login(client, "officer@example.com")
    local_start = start.astimezone(dt.timezone(dt.timedelta(hours=8)))
    resp = client.post(
        "/backoffice/appointments/exceptions",
        data={
            "kind": "block",
            "starts_at": local_start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local_start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "出警",
        },
        follow_redirects=True,
    )
    assert code in resp.get_data(as_text=True)
    with app.app_context():
        assert svc.by_code(code).status == BookingStatus.CANCELLED


def test_huge_ids_are_not_found_not_errors(app, client, world):
    ids = _ready(app, world)
    login(client, "resident@example.com")
    huge = "9223372036854775808"
    assert client.get(f"/appointments/s/{huge}").status_code == 404
    assert client.get(f"/api/v1/appointments/services/{huge}/slots").status_code == 404
    r = client.post(
        f"/appointments/s/{ids['户籍业务咨询']}/book",
        data={"provider_id": huge, "starts_at": "2026-12-08T09:00"},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/appointments/bookings",
        json={"service_id": huge, "provider_id": huge, "starts_at": "2026-12-08T09:00"},
    )
    assert r.status_code == 422
    client.post("/logout")
    login(client, "officer@example.com")
    assert client.post(f"/backoffice/appointments/{huge}/done").status_code == 404
    assert client.get(f"/backoffice/appointments/services/{huge}").status_code == 404


def test_nul_characters_are_dropped(app, client, world):
    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    login(client, "resident@example.com")
    r = client.post(
        "/api/v1/appointments/bookings",
        json={
            "service_id": ids["户籍业务咨询"],
            "provider_id": world["officer"],
            "starts_at": start.isoformat(),
            "note": "a\x00b",
        },
    )
    assert r.status_code == 201
    code = r.get_json()["code"]
    r = client.post(f"/api/v1/appointments/bookings/{code}/cancel", json={"reason": "有\x00事"})
    assert r.status_code == 200
    with app.app_context():
        assert svc.by_code(code).cancel_reason == "有事"


def test_api_booking_statement_budget_and_what_it_writes(app, client, world):
    """A booking through the API: the session with its user, the service with the
    provider, the community's officers, the resident's lock, the limits, the plan, the busy
    times (and the station calendar, as this plan follows holidays), then five writes: the
    booking, its claims, the audit row, the notification with the bell count and the
    queued mail. A refusal only reads."""
    from sqlalchemy import event, func

    from portal.appointments.models import SlotClaim
    from portal.notifications.models import Notification, OutboxMessage
    from portal.security.models import AuditEntry

    ids = _ready(app, world)
    start = _first_slot(app, ids["户籍业务咨询"], world["officer"])
    login(client, "resident@example.com")
    body = {
        "service_id": ids["户籍业务咨询"],
        "provider_id": world["officer"],
        "starts_at": start.isoformat(),
    }
    engine = app.extensions["portal.engine"]
    statements: list[str] = []

    def count(conn, cursor, stmt, *a):  # type: ignore[no-untyped-def]
        if not stmt.startswith("BEGIN"):
            statements.append(" ".join(stmt.split())[:150])

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.post("/api/v1/appointments/bookings", json=body).status_code == 201
        booked = list(statements)
        statements.clear()
        assert client.post("/api/v1/appointments/bookings", json=body).status_code == 409
        refused = list(statements)
        statements.clear()
        missing = {**body, "provider_id": 999_999}
        assert client.post("/api/v1/appointments/bookings", json=missing).status_code == 404
    finally:
        event.remove(engine, "before_cursor_execute", count)
    inserts = [s for s in booked if s.startswith("INSERT")]
    assert len(booked) <= 14 and len(inserts) == 5, booked
    # (when the day has too few later free slots, the alternatives read two days more)
    assert all(s.startswith("SELECT") for s in refused) and len(refused) <= 11, refused
    with app.app_context():
        resident = world["resident"]
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
        assert db.session.scalar(select(func.count()).select_from(SlotClaim)) >= 1
        assert db.session.scalar(
            select(func.count()).where(AuditEntry.action == "appointments.book")
        )
        assert db.session.scalar(select(func.count()).where(Notification.user_id == resident)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
