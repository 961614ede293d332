"""Working-plan exceptions: which bookings a new, changed or deleted exception affects
(preview without saving), and that saving cancels exactly those and tells the residents."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.appointments import services as svc
from portal.appointments.models import (
    Booking,
    BookingStatus,
    ExceptionKind,
    PlanException,
    Service,
    SlotClaim,
)
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.notifications.models import Notification
from portal.station.calendar import STATION_TZ
from tests.appointments.helpers import NOW, local, setup_plan
from tests.conftest import login

SAT = 12  # Saturday 2026-12-12: no reception unless an extra period is opened


def _u(uid: int) -> User:
    return db.session.get(User, uid)


@pytest.fixture
def setup(ctx, world):
    services = setup_plan(world["officer"], buffer=0)
    return services["户籍业务咨询"], _u(world["officer"]), _u(world["resident"])


def _exc(officer: User) -> PlanException:
    return db.session.scalar(select(PlanException).where(PlanException.provider_id == officer.id))


def _notes(user: User, text: str) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Notification.user_id == user.id, Notification.title.contains(text)
        )
    )


def test_deleting_an_extra_period_cancels_the_bookings_made_in_it(setup):
    service, officer, resident = setup
    svc.add_exception(officer, officer, ExceptionKind.EXTRA, local(SAT, 9), local(SAT, 11))
    b = svc.book(resident, service, officer, local(SAT, 9), now=NOW)
    db.session.commit()
    extra = _exc(officer)
    # The preview changes nothing.
    assert [x.code for x in svc.exception_impact(officer.id, old=extra)] == [b.code]
    assert b.status == BookingStatus.CONFIRMED and _exc(officer) is not None
    affected = svc.delete_exception(extra, officer)
    db.session.commit()
    assert [x.code for x in affected] == [b.code]
    assert b.status == BookingStatus.CANCELLED and b.cancel_reason
    assert db.session.scalar(select(func.count()).select_from(SlotClaim)) == 0
    assert _exc(officer) is None
    assert _notes(resident, "接待时间调整") == 1


def test_shortening_an_extra_period_affects_only_bookings_outside_it(setup):
    service, officer, resident = setup
    svc.add_exception(officer, officer, ExceptionKind.EXTRA, local(SAT, 9), local(SAT, 11))
    early = svc.book(resident, service, officer, local(SAT, 9), now=NOW)
    late = svc.book(resident, service, officer, local(SAT, 10, 30), now=NOW)
    extra = _exc(officer)
    new = (ExceptionKind.EXTRA, local(SAT, 10), local(SAT, 11))
    assert [x.code for x in svc.exception_impact(officer.id, old=extra, new=new)] == [early.code]
    affected = svc.update_exception(extra, officer, *new, reason="上午有会")
    assert [x.code for x in affected] == [early.code]
    assert early.status == BookingStatus.CANCELLED and late.status == BookingStatus.CONFIRMED
    assert extra.starts_at == local(SAT, 10) and extra.reason == "上午有会"


def test_lengthening_a_block_affects_the_newly_covered_bookings(setup):
    service, officer, resident = setup
    b = svc.book(resident, service, officer, local(8, 9, 30), now=NOW)
    svc.add_exception(officer, officer, ExceptionKind.BLOCK, local(8, 9), local(8, 9, 30))
    assert b.status == BookingStatus.CONFIRMED  # just after the block
    block = _exc(officer)
    new = (ExceptionKind.BLOCK, local(8, 9), local(8, 10))
    assert [x.code for x in svc.exception_impact(officer.id, old=block, new=new)] == [b.code]
    svc.update_exception(block, officer, *new, reason="出警")
    assert b.status == BookingStatus.CANCELLED and b.cancel_reason == "出警"
    assert _notes(resident, "民警临时有事") == 1


def test_deleting_leave_cancels_nothing_and_frees_the_time(setup):
    service, officer, resident = setup
    b = svc.book(resident, service, officer, local(9, 11), now=NOW)
    svc.add_exception(officer, officer, ExceptionKind.LEAVE, local(8, 0), local(8, 23, 59))
    assert not svc.free_slots(service, officer.id, first_day=local(8, 9).date(), days=1, now=NOW)
    leave = _exc(officer)
    assert svc.exception_impact(officer.id, old=leave) == []
    assert svc.delete_exception(leave, officer) == []
    assert local(8, 9) in svc.free_slots(service, officer.id, days=2, now=NOW)
    assert b.status == BookingStatus.CONFIRMED


def test_turning_an_extra_period_into_leave_affects_its_bookings(setup):
    service, officer, resident = setup
    svc.add_exception(officer, officer, ExceptionKind.EXTRA, local(SAT, 9), local(SAT, 11))
    b = svc.book(resident, service, officer, local(SAT, 10), now=NOW)
    extra = _exc(officer)
    affected = svc.update_exception(
        extra, officer, ExceptionKind.LEAVE, local(SAT, 9), local(SAT, 11)
    )
    assert [x.code for x in affected] == [b.code] and extra.kind == ExceptionKind.LEAVE


def test_an_extra_period_never_blames_a_booking_already_outside_the_plan(setup, world):
    service, officer, resident = setup
    # A Sunday booking written directly (as if the weekly plan had changed since).
    odd = Booking(
        code="ODDAAAAA",
        resident_id=resident.id,
        provider_id=officer.id,
        service_id=service.id,
        starts_at=local(13, 9),
        ends_at=local(13, 9, 20),
    )
    db.session.add(odd)
    db.session.flush()
    assert (
        svc.exception_impact(officer.id, new=(ExceptionKind.EXTRA, local(13, 8), local(13, 10)))
        == []
    )
    # ...but leave over it does list it: the officer will not be there.
    leave = (ExceptionKind.LEAVE, local(13, 8), local(13, 10))
    assert [x.code for x in svc.exception_impact(officer.id, new=leave)] == ["ODDAAAAA"]


def test_a_change_with_its_end_before_its_start_is_refused(setup):
    service, officer, resident = setup
    svc.add_exception(officer, officer, ExceptionKind.BLOCK, local(8, 9), local(8, 10))
    block = _exc(officer)
    with pytest.raises(DomainError) as err:
        svc.update_exception(block, officer, ExceptionKind.BLOCK, local(8, 10), local(8, 9))
    assert err.value.field == "ends_at"
    with pytest.raises(DomainError):
        svc.exception_impact(officer.id, new=(ExceptionKind.BLOCK, local(8, 10), local(8, 10)))


# -- pages --------------------------------------------------------------------------------


def _form(start, end, kind="block", reason="出警", **extra):
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "kind": kind,
        "starts_at": start.astimezone(STATION_TZ).strftime(fmt),
        "ends_at": end.astimezone(STATION_TZ).strftime(fmt),
        "reason": reason,
        **extra,
    }


def _book_direct(app, world, start, end, code):
    with app.app_context():
        sid = db.session.scalar(select(Service.id).where(Service.name == "户籍业务咨询"))
        db.session.add(
            Booking(
                code=code,
                resident_id=world["resident"],
                provider_id=world["officer"],
                service_id=sid,
                starts_at=start,
                ends_at=end,
            )
        )
        db.session.commit()


def _ready(app, world):
    with app.test_request_context():
        setup_plan(world["officer"])


def test_block_preview_lists_bookings_before_saving(app, client, world):
    _ready(app, world)
    _book_direct(app, world, local(8, 9), local(8, 9, 20), "PREVAAAA")
    login(client, "officer@example.com")
    form = _form(local(8, 8, 30), local(8, 10), preview="1")
    resp = client.post("/backoffice/appointments/exceptions", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="affected"' in page and "PREVAAAA" in page
    assert 'value="出警"' in page  # the form comes back as typed
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlanException)) == 0
        assert svc.by_code("PREVAAAA").status == BookingStatus.CONFIRMED
    # A preview that touches nothing says so.
    quiet = client.post(
        "/backoffice/appointments/exceptions", data=_form(local(9, 15), local(9, 16), preview="1")
    )
    assert "没有受影响的预约" in quiet.get_data(as_text=True)
    # Saving cancels and notifies, as before.
    saved = client.post(
        "/backoffice/appointments/exceptions", data=_form(local(8, 8, 30), local(8, 10))
    )
    assert saved.status_code == 303
    assert "PREVAAAA" in client.get("/backoffice/appointments/plan").get_data(as_text=True)
    with app.app_context():
        assert svc.by_code("PREVAAAA").status == BookingStatus.CANCELLED


def test_bad_exception_input_rerenders_the_form_with_the_text(app, client, world):
    login(client, "officer@example.com")
    missing = client.post(
        "/backoffice/appointments/exceptions", data={"kind": "block", "reason": "出警了"}
    )
    assert missing.status_code == 422 and 'value="出警了"' in missing.get_data(as_text=True)
    backwards = client.post(
        "/backoffice/appointments/exceptions", data=_form(local(8, 10), local(8, 9), reason="倒了")
    )
    page = backwards.get_data(as_text=True)
    assert (
        backwards.status_code == 409 and "结束时间须晚于开始时间" in page and 'value="倒了"' in page
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlanException)) == 0


def test_edit_and_delete_pages(app, client, world):
    _ready(app, world)
    login(client, "officer@example.com")
    client.post(
        "/backoffice/appointments/exceptions",
        data=_form(local(SAT, 9), local(SAT, 11), kind="extra", reason="周六加开"),
    )
    with app.app_context():
        eid = db.session.scalar(select(PlanException.id))
    _book_direct(app, world, local(SAT, 9), local(SAT, 9, 20), "SATAAAAA")
    page = client.get(f"/backoffice/appointments/exceptions/{eid}").get_data(as_text=True)
    assert 'value="周六加开"' in page and "2026-12-12T09:00" in page
    shorter = _form(local(SAT, 10), local(SAT, 11), kind="extra", reason="周六加开")
    preview = client.post(
        f"/backoffice/appointments/exceptions/{eid}", data={**shorter, "preview": "1"}
    )
    assert preview.status_code == 200 and "SATAAAAA" in preview.get_data(as_text=True)
    with app.app_context():
        assert svc.by_code("SATAAAAA").status == BookingStatus.CONFIRMED
    bad = client.post(f"/backoffice/appointments/exceptions/{eid}", data={**shorter, "ends_at": ""})
    assert bad.status_code == 422
    # The delete page asks first and lists the booking the deletion would cancel.
    confirm = client.get(f"/backoffice/appointments/exceptions/{eid}/delete").get_data(as_text=True)
    assert "SATAAAAA" in confirm and "data-confirm" in confirm and "删除后" in confirm

    # Another officer can neither see nor change it; a resident is refused outright.
    client.post("/logout")
    login(client, "officer2@example.com")
    assert client.get(f"/backoffice/appointments/exceptions/{eid}").status_code == 404
    assert client.post(f"/backoffice/appointments/exceptions/{eid}/delete").status_code == 404
    client.post("/logout")
    login(client, "resident@example.com")
    assert client.post(f"/backoffice/appointments/exceptions/{eid}/delete").status_code == 403
    client.post("/logout")

    login(client, "officer@example.com")
    saved = client.post(f"/backoffice/appointments/exceptions/{eid}", data=shorter)
    assert saved.status_code == 303
    with app.app_context():
        assert svc.by_code("SATAAAAA").status == BookingStatus.CANCELLED
        assert as_utc(db.session.get(PlanException, eid).starts_at) == local(SAT, 10)
    gone = client.post(f"/backoffice/appointments/exceptions/{eid}/delete")
    assert gone.status_code == 303
    with app.app_context():
        assert db.session.get(PlanException, eid) is None
    assert client.get(f"/backoffice/appointments/exceptions/{eid}").status_code == 404
