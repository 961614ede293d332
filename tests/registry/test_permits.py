"""Residence permits: six months of registered residence, the status flow with a
notification at each step, refusal with a reason, and the booking link when ready."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.errors import DomainError
from portal.notifications.models import Notification
from portal.registry import permits
from portal.registry import services as svc
from portal.registry.models import EventKind, LedgerEvent, PermitStatus, ResidencePermit
from tests.conftest import login
from tests.registry.conftest import MIGRANT_ID, confirmed_record, pending_record, u


def test_add_months_clamps_to_month_end():
    assert permits.add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert permits.add_months(dt.date(2026, 1, 15), 6) == dt.date(2026, 7, 15)
    assert permits.add_months(dt.date(2026, 7, 1), 6) == dt.date(2027, 1, 1)


def _resident_record(board, months_ago: int, **kw):
    since = permits.add_months(svc.local_today(), -months_ago)
    return confirmed_record(
        board["community"], board["officer"], user_id=board["seekers"][0], since=since, **kw
    )


def test_not_eligible_before_six_months_says_when(ctx, board):
    seeker = u(board["seekers"][0])
    with pytest.raises(DomainError) as err:
        permits.apply(seeker)  # no record at all
    assert err.value.code == "not_registered"
    pending_record(board["community"], user_id=board["seekers"][0])
    with pytest.raises(DomainError):
        permits.apply(seeker)  # pending is not enough
    record = _resident_record(board, 5)
    info = permits.eligibility(seeker)
    assert info["record"].id == record.id and not info["eligible"]
    assert info["eligible_from"] == permits.add_months(record.since, 6)
    with pytest.raises(DomainError) as err:
        permits.apply(seeker)
    assert err.value.code == "not_yet" and info["eligible_from"].isoformat() in err.value.message


def test_eligible_on_the_day_six_months_are_complete(ctx, board):
    record = _resident_record(board, 6)
    assert permits.eligible_from(record) == svc.local_today()
    assert permits.eligibility(u(board["seekers"][0]))["eligible"]


def test_status_flow_notifies_at_each_step(ctx, board):
    seeker = u(board["seekers"][0])
    officer = u(board["officer"])
    _resident_record(board, 7)
    permit = permits.apply(seeker)
    assert permit.status == PermitStatus.APPLIED
    with pytest.raises(DomainError):
        permits.apply(seeker)  # one open application at a time
    with pytest.raises(DomainError):
        permits.change_status(officer, permit, PermitStatus.READY)  # skips steps
    for step in (
        PermitStatus.ACCEPTED,
        PermitStatus.MAKING,
        PermitStatus.READY,
        PermitStatus.COLLECTED,
    ):
        permits.change_status(officer, permit, step)
        assert permit.status == step
    assert permit.collected_at is not None
    notes = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == seeker.id)
    )
    # confirm + applied + four steps
    assert notes >= 5
    statuses = [
        e.detail["status"]
        for e in db.session.scalars(
            select(LedgerEvent).where(LedgerEvent.kind == EventKind.PERMIT).order_by(LedgerEvent.id)
        )
    ]
    assert statuses == ["applied", "accepted", "making", "ready", "collected"]
    # After collecting, a new application (renewal) is possible.
    assert permits.eligibility(seeker)["eligible"]


def test_refusal_needs_a_reason_and_reaches_the_resident(ctx, board):
    _resident_record(board, 8)
    permit = permits.apply(u(board["seekers"][0]))
    with pytest.raises(DomainError):
        permits.change_status(u(board["officer"]), permit, PermitStatus.REFUSED, "")
    with pytest.raises(DomainError) as err:
        permits.change_status(u(board["other_officer"]), permit, PermitStatus.ACCEPTED)
    assert err.value.code == "forbidden"
    permits.change_status(u(board["officer"]), permit, PermitStatus.REFUSED, "材料不全")
    assert permit.status == PermitStatus.REFUSED and permit.refuse_reason == "材料不全"
    note = db.session.scalars(select(Notification).order_by(Notification.id.desc()).limit(1)).one()
    assert "材料不全" in note.body


def test_resident_pages_and_api_follow_the_permit(app, client, board):
    from portal.appointments.models import Service

    with app.test_request_context():
        _resident_record(board, 7)
        db.session.add(Service(name="办理居住证", duration_minutes=30))
        db.session.commit()
    login(client, "seeker0@example.com")
    page = client.get("/registry").get_data(as_text=True)
    assert "申请居住证" in page and MIGRANT_ID not in page
    assert client.post("/registry/permit").status_code == 302
    body = client.get("/api/v1/registry/mine").get_json()
    assert body["permits"][0]["status"] == "applied" and not body["permit_eligible"]
    assert body["records"][0]["id_number"].startswith("110105****")
    assert client.post("/api/v1/registry/permits", json={}).status_code == 409
    with app.app_context():
        pid = db.session.scalar(select(ResidencePermit.id))
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert "孙*" in officer.get("/backoffice/registry/permits").get_data(as_text=True)
    for step in ("accepted", "making"):
        resp = officer.post(f"/api/v1/registry/permits/{pid}/status", json={"status": step})
        assert resp.status_code == 200, resp.get_json()
    resp = officer.post(f"/backoffice/registry/permits/{pid}", data={"status": "ready"})
    assert resp.status_code == 302
    page = client.get("/registry").get_data(as_text=True)
    assert "待领取" in page and "预约领取居住证" in page and "/appointments/s/" in page
    resp = officer.post(f"/api/v1/registry/permits/{pid}/status", json={"status": "accepted"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "bad_step"
    other = app.test_client()
    login(other, "officer2@example.com")
    resp = other.post(f"/api/v1/registry/permits/{pid}/status", json={"status": "collected"})
    assert resp.status_code == 403
    resp = other.post(f"/backoffice/registry/permits/{pid}", data={"status": "collected"})
    assert resp.status_code == 403
