"""Booking rules: limits, slot taken with alternatives, overlaps of different lengths,
cutoffs, reschedule, no-show approval, exceptions, check-in, reminders, ICS and QR."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.appointments import services as svc
from portal.appointments.models import Booking, BookingStatus, ExceptionKind, SlotClaim
from portal.db import as_utc, db
from portal.errors import DomainError
from portal.notifications.models import Notification
from tests.appointments.helpers import NOW, local, setup_plan


def _u(uid: int) -> User:
    return db.session.get(User, uid)


@pytest.fixture
def setup(ctx, world):
    services = setup_plan(world["officer"], buffer=0)
    return services, _u(world["officer"]), _u(world["resident"])


def test_book_confirms_claims_units_and_notifies(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    db.session.commit()
    assert b.status == BookingStatus.CONFIRMED and len(b.code) == 8
    assert b.ends_at - b.starts_at == dt.timedelta(minutes=20)
    assert db.session.scalar(select(func.count()).select_from(SlotClaim)) == 4
    assert db.session.scalar(select(func.count()).where(Notification.user_id == resident.id)) == 1


def test_slot_taken_gives_alternatives(setup, make, world):
    services, officer, resident = setup
    other = _u(make.user("resident", world["community"]))
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    with pytest.raises(svc.SlotTaken) as err:
        svc.book(other, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    assert err.value.code == "slot_taken"
    assert err.value.alternatives and local(8, 9) not in err.value.alternatives
    assert all(a >= local(8, 9) for a in err.value.alternatives)


def test_database_refuses_overlapping_claims_of_different_lengths(setup, make, world):
    """The guard is the unique constraint, not the Python check: bypass the check."""
    services, officer, resident = setup
    svc.book(resident, services["纠纷调解"], officer, local(8, 9), now=NOW)  # 09:00-10:00
    db.session.commit()
    other = _u(make.user("resident", world["community"]))
    b = Booking(
        code="XXXXXXXX",
        resident_id=other.id,
        provider_id=officer.id,
        service_id=services["户籍业务咨询"].id,
        starts_at=local(8, 9, 30),
        ends_at=local(8, 9, 50),
    )
    db.session.add(b)
    db.session.flush()
    # The claim reports the overlap and leaves no unit of ``b`` claimed...
    assert svc._claim(b, 0) is False
    assert db.session.scalar(select(func.count()).where(SlotClaim.booking_id == b.id)) == 0
    # ...and a plain insert of an overlapping unit is refused by the database itself.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            SlotClaim(booking_id=b.id, provider_id=officer.id, unit_start=local(8, 9, 30))
        )
        db.session.flush()
    db.session.rollback()


def test_overlapping_different_length_refused_by_service(setup, make, world):
    services, officer, resident = setup
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9, 30), now=NOW)
    other = _u(make.user("resident", world["community"]))
    with pytest.raises(svc.SlotTaken):
        svc.book(other, services["纠纷调解"], officer, local(8, 9), now=NOW)


def test_open_booking_limit(setup):
    services, officer, resident = setup
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9, 30), now=NOW)
    with pytest.raises(DomainError) as err:
        svc.book(resident, services["户籍业务咨询"], officer, local(8, 11), now=NOW)
    assert err.value.code == "limit"


def test_limit_comes_from_app_config(setup, app):
    services, officer, resident = setup
    app.config["APPOINTMENT_MAX_OPEN"] = 1
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    with pytest.raises(DomainError) as err:
        svc.book(resident, services["户籍业务咨询"], officer, local(8, 9, 30), now=NOW)
    assert err.value.code == "limit" and "1" in err.value.message


def test_appointment_settings_read_from_environment(monkeypatch, tmp_path):
    from portal.config import load_config

    defaults = load_config(tmp_path)
    assert defaults["APPOINTMENT_MAX_OPEN"] == 2
    assert defaults["APPOINTMENT_CANCEL_CUTOFF_MINUTES"] == 120
    assert defaults["APPOINTMENT_NO_SHOW_LIMIT"] == 2
    monkeypatch.setenv("PORTAL_APPOINTMENT_MAX_OPEN", "5")
    monkeypatch.setenv("PORTAL_APPOINTMENT_CANCEL_CUTOFF_MINUTES", "30")
    monkeypatch.setenv("PORTAL_APPOINTMENT_NO_SHOW_LIMIT", "3")
    cfg = load_config(tmp_path)
    assert (
        cfg["APPOINTMENT_MAX_OPEN"],
        cfg["APPOINTMENT_CANCEL_CUTOFF_MINUTES"],
        cfg["APPOINTMENT_NO_SHOW_LIMIT"],
    ) == (5, 30, 3)


def test_slot_outside_plan_refused(setup):
    services, officer, resident = setup
    for at in (local(8, 10), local(8, 13), local(12, 9), local(7, 9)):  # break, lunch, Sat,
        with pytest.raises(svc.SlotTaken):  # and within the 2-hour notice
            svc.book(resident, services["户籍业务咨询"], officer, at, now=NOW)


def test_cancel_cutoff_and_reason(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    with pytest.raises(DomainError):
        svc.cancel(b, resident, "  ", now=NOW)
    with pytest.raises(DomainError) as err:
        svc.cancel(b, resident, "有事", now=local(8, 7, 30))
    assert err.value.code == "cutoff"
    svc.cancel(b, resident, "有事", now=local(8, 6, 59))
    assert b.status == BookingStatus.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(SlotClaim)) == 0
    # The officer may still cancel late; the slot is free again for others.
    assert local(8, 9) in svc.free_slots(
        services["户籍业务咨询"], officer.id, first_day=dt.date(2026, 12, 8), days=1, now=NOW
    )


def test_reschedule_moves_claims_and_respects_cutoff(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["纠纷调解"], officer, local(8, 10, 30), now=NOW)
    svc.reschedule(b, resident, local(8, 11), "换个时间", now=NOW)  # overlaps itself: ok
    assert b.starts_at == local(8, 11)
    units = db.session.scalars(select(SlotClaim.unit_start)).all()
    assert min(as_utc(u) for u in units) == local(8, 11) and len(units) == 12
    with pytest.raises(DomainError):
        svc.reschedule(b, resident, local(9, 9), "再换", now=local(8, 9, 30))


def test_no_show_rule_requires_approval(setup, app):
    services, officer, resident = setup
    s = services["户籍业务咨询"]
    for at in (local(8, 9), local(8, 9, 30)):
        b = svc.book(resident, s, officer, at, now=NOW)
        svc.finish(b, officer, "no_show", now=local(8, 11))
    b = svc.book(resident, s, officer, local(9, 9), now=NOW)
    assert b.status == BookingStatus.PENDING and b.needs_approval
    svc.decide(b, officer, True)
    assert b.status == BookingStatus.CONFIRMED
    svc.finish(b, officer, "done", "办好了")
    # Approval resets the count.
    b2 = svc.book(resident, s, officer, local(10, 9), now=NOW)
    assert b2.status == BookingStatus.CONFIRMED


def test_home_visit_needs_confirmation(setup):
    services, officer, resident = setup
    with pytest.raises(DomainError):
        svc.book(resident, services["上门服务"], officer, local(8, 9), now=NOW)
    b = svc.book(
        resident, services["上门服务"], officer, local(8, 9), address="天桥小区1栋", now=NOW
    )
    assert b.status == BookingStatus.PENDING
    assert b in svc.pending_requests(officer)
    svc.decide(b, officer, False, "当天不在")
    assert b.status == BookingStatus.DECLINED


def test_block_cancels_affected_and_notifies(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    affected = svc.add_exception(
        officer, officer, ExceptionKind.BLOCK, local(8, 8, 30), local(8, 10), "出警"
    )
    assert affected == [b] and b.status == BookingStatus.CANCELLED
    note = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == resident.id)
        .order_by(Notification.id.desc())
    ).first()
    assert "出警" in note.body
    assert not [
        s
        for s in svc.free_slots(
            services["户籍业务咨询"], officer.id, first_day=dt.date(2026, 12, 8), days=1, now=NOW
        )
        if s < local(8, 10)
    ]


def test_check_in_done_and_rate(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    with pytest.raises(DomainError):
        svc.rate(b, resident, 5)
    svc.check_in(svc.by_code(b.code.lower()), officer)
    with pytest.raises(DomainError):
        svc.check_in(b, officer)
    svc.finish(b, officer, "done", "已办")
    svc.rate(b, resident, 4, "很好")
    assert b.rating == 4
    with pytest.raises(DomainError):
        svc.rate(b, resident, 5)


def test_ics_parses_back(setup):
    services, officer, resident = setup
    b = svc.book(resident, services["办理居住证"], officer, local(8, 9), now=NOW)
    cal = Calendar.from_ical(svc.ics_bytes(b))
    ev = next(iter(cal.walk("VEVENT")))
    assert ev.decoded("dtstart") == local(8, 9)
    assert ev.decoded("dtend") == local(8, 9, 30)
    assert b.code in str(ev["summary"]) and "居住证明" in str(ev["description"])
    assert str(ev["uid"]).startswith(b.code)


def test_qr_is_svg(setup):
    svg = svc.qr_svg("ABCD2345")
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b"<script" not in svg


def test_reminders_once_even_when_two_runs_overlap(app, world, ctx):
    services = setup_plan(world["officer"])
    officer, resident = _u(world["officer"]), _u(world["resident"])
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    svc.book(resident, services["户籍业务咨询"], officer, local(8, 9, 30), now=NOW)
    db.session.commit()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with app.app_context():
            barrier.wait()
            results.append(svc.send_reminders(now=local(7, 10)))
            db.session.commit()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[-1] + sorted(results)[0] == 2
    with app.app_context():
        assert svc.send_reminders(now=local(7, 11)) == 0
        n = db.session.scalar(
            select(func.count()).where(
                Notification.user_id == resident.id,
                Notification.kind == "appointment",
                Notification.title.like("预约提醒%"),
            )
        )
    assert n == 2


def test_only_the_residents_own_officer_or_a_lawyer(setup, world):
    services, officer, resident = setup
    stranger = _u(world["other_officer"])
    setup_plan(stranger.id)
    with pytest.raises(DomainError):
        svc.book(resident, services["户籍业务咨询"], stranger, local(8, 9), now=NOW)
    with pytest.raises(DomainError):  # a lawyer service with an officer
        svc.book(resident, services["法律咨询"], officer, local(8, 9), now=NOW)


def test_any_officer_serves_a_community_without_one(setup, make, world):
    services, officer, resident = setup
    db.session.commit()  # SQLite: let the factory's own session write
    lonely = _u(make.user("resident", make.community("无警社区")))
    assert [p.id for p in svc.providers_for(services["户籍业务咨询"], lonely)] == [
        officer.id,
        world["other_officer"],
    ]
    b = svc.book(lonely, services["户籍业务咨询"], officer, local(8, 9), now=NOW)
    assert b.provider_id == officer.id
    # The resident's own community's officer only, where there is one.
    assert [p.id for p in svc.providers_for(services["户籍业务咨询"], resident)] == [officer.id]
    assert svc.may_provide(services["户籍业务咨询"], officer, resident)
    assert not svc.may_provide(services["户籍业务咨询"], _u(world["other_officer"]), resident)


def test_slot_taken_late_in_the_day_offers_the_next_day(setup, make, world):
    services, officer, resident = setup
    other = _u(make.user("resident", world["community"]))
    svc.book(resident, services["户籍业务咨询"], officer, local(7, 11, 30), now=NOW)
    with pytest.raises(svc.SlotTaken) as err:
        svc.book(other, services["户籍业务咨询"], officer, local(7, 11, 30), now=NOW)
    alts = err.value.alternatives
    assert alts[0] == local(8, 9) and len(alts) == 5
    assert all(local(8, 0) <= a < local(9, 0) for a in alts)
