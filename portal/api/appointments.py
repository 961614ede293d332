"""Appointments over the API (tag ``appointments``): services, free slots, booking, my
bookings, cancel, reschedule, the calendar file; for officers (and lawyers) their bookings
of a day or week, check-in by code, confirm or decline a home visit, done and no-show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, true

from portal.accounts.models import User
from portal.api import bp
from portal.api.common import error, validated
from portal.api.spec import operation
from portal.appointments import services as svc
from portal.appointments.forms import (
    ApiBookForm,
    CheckInForm,
    FinishForm,
    ReasonForm,
    RescheduleForm,
)
from portal.appointments.models import Booking, Service
from portal.appointments.slots import local_day
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.security.access import login_required, roles_required
from portal.security.pii import mask_name

SERVICE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "duration_minutes": {"type": "integer"},
        "provider_role": {"type": "string", "enum": ["officer", "lawyer"]},
        "location": {"type": "string", "enum": ["station", "home"]},
        "needs_confirmation": {"type": "boolean"},
        "materials": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "name", "duration_minutes", "provider_role", "location", "materials"],
}
BOOKING = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "service": {"type": "string"},
        "service_id": {"type": "integer"},
        "provider": {"type": "string"},
        "resident": {"type": "string", "description": "masked"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "status": {"type": "string"},
        "materials": {"type": "array", "items": {"type": "string"}},
        "ics": {"type": "string"},
        "qr": {"type": "string"},
        "address": {"type": "string", "description": "home visits; officers only"},
        "officer_note": {"type": "string", "description": "officers only"},
    },
    "required": ["code", "service", "starts_at", "ends_at", "status"],
}
BOOKING_LIST = {"type": "object", "properties": {"items": {"type": "array", "items": BOOKING}}}
SLOTS = {
    "type": "object",
    "properties": {
        "provider_id": {"type": ["integer", "null"]},
        "providers": {"type": "array", "items": {"type": "object"}},
        "slots": {"type": "array", "items": {"type": "string", "format": "date-time"}},
    },
    "required": ["slots"],
}


def service_json(s: Service) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "duration_minutes": s.duration_minutes,
        "provider_role": s.provider_role.value,
        "location": s.location.value,
        "needs_confirmation": s.needs_confirmation,
        "materials": s.materials_list,
    }


def booking_json(b: Booking) -> dict[str, Any]:
    return {
        "code": b.code,
        "service": b.service.name,
        "service_id": b.service_id,
        "provider": b.provider.display_name,
        "resident": mask_name(b.resident.display_name),
        "starts_at": as_utc(b.starts_at).isoformat(),
        "ends_at": as_utc(b.ends_at).isoformat(),
        "status": b.status.value,
        "materials": b.service.materials_list,
        "ics": f"/api/v1/appointments/bookings/{b.code}/ics",
        "qr": f"/appointments/b/{b.code}/qr.svg",
    }


def officer_booking_json(b: Booking) -> dict[str, Any]:
    """What the officer handling a booking sees besides the resident's view."""
    return {**booking_json(b), "address": b.address, "officer_note": b.officer_note}


def _taken(exc: svc.SlotTaken) -> Any:
    resp = jsonify(
        error={
            "code": exc.code,
            "message": exc.message,
            "alternatives": [a.isoformat() for a in exc.alternatives],
        }
    )
    resp.status_code = 409
    return resp


def _mine(code: str) -> Booking | None:
    b = svc.by_code(code)
    if b is None or not (b.resident_id == current_user.id or b.can_be_handled_by(current_user)):
        return None
    return b


@bp.route("/appointments/services")
@operation(
    "appointments",
    "Bookable services with their materials",
    response={"type": "object", "properties": {"items": {"type": "array", "items": SERVICE}}},
)
def appointment_services() -> Any:
    return jsonify(items=[service_json(s) for s in svc.listed_services()])


@bp.route("/appointments/services/<int:service_id>/slots")
@login_required
@operation(
    "appointments",
    "Free slots (UTC) of a provider for a service (?provider_id=&from=YYYY-MM-DD&days=)",
    response=SLOTS,
    auth="any",
)
def appointment_slots(service_id: int) -> Any:
    service = svc.get_by_id(Service, service_id)
    if service is None or not service.is_active:
        return error(404, "not_found", _("服务不存在。"))
    providers = svc.providers_for(service, current_user)
    try:
        pid = int(request.args.get("provider_id") or (providers[0].id if providers else 0))
        first = (
            dt.date.fromisoformat(request.args["from"][:10]) if request.args.get("from") else None
        )
        days = max(1, min(int(request.args.get("days", 14)), 31))
    except ValueError:
        return error(400, "bad_request", _("参数不正确。"))
    if pid not in {p.id for p in providers}:
        return jsonify(provider_id=None, providers=[], slots=[])
    slots = svc.free_slots(service, pid, first_day=first, days=days)
    return jsonify(
        provider_id=pid,
        providers=[{"id": p.id, "name": p.display_name} for p in providers],
        slots=[s.isoformat() for s in slots],
    )


@bp.route("/appointments/bookings", methods=["POST"])
@login_required
@operation(
    "appointments",
    "Book a slot (409 slot_taken with alternatives)",
    form=ApiBookForm,
    response=BOOKING,
    auth="any",
    status=201,
)
def appointment_book() -> Any:
    form, err = validated(ApiBookForm)
    if err:
        return err
    # The service and the provider in one query (no row when either is missing).
    found = db.session.execute(
        select(Service, User)
        .join(User, true())
        .where(Service.id == form.service_id.data, User.id == form.provider_id.data)
    ).first()
    # An unlisted service (the lost-and-found claim's visit) is booked through its feature.
    if found is None or not found[0].listed:
        return error(404, "not_found", _("服务或接待人不存在。"))
    service, provider = found
    try:
        b = svc.book(
            current_user,
            service,
            provider,
            form.starts_at_value,
            address=form.address.data or "",
            note=form.note.data or "",
        )
    except svc.SlotTaken as exc:
        return _taken(exc)
    except DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(booking_json(b)), 201


@bp.route("/appointments/bookings")
@login_required
@operation(
    "appointments",
    "My bookings, newest first",
    response={"type": "object", "properties": {"items": {"type": "array", "items": BOOKING}}},
    auth="any",
)
def appointment_bookings() -> Any:
    return jsonify(items=[booking_json(b) for b in svc.my_bookings(current_user)])


@bp.route("/appointments/bookings/<code>/cancel", methods=["POST"])
@login_required
@operation(
    "appointments",
    "Cancel a booking with a reason (until the cutoff)",
    form=ReasonForm,
    response=BOOKING,
    auth="any",
)
def appointment_cancel(code: str) -> Any:
    b = _mine(code)
    if b is None:
        return error(404, "not_found", _("预约不存在。"))
    form, err = validated(ReasonForm)
    if err:
        return err
    try:
        svc.cancel(b, current_user, form.reason.data)
    except DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(booking_json(b))


@bp.route("/appointments/bookings/<code>/reschedule", methods=["POST"])
@login_required
@operation(
    "appointments",
    "Move a booking to another free slot (until the cutoff)",
    form=RescheduleForm,
    response=BOOKING,
    auth="any",
)
def appointment_reschedule(code: str) -> Any:
    b = _mine(code)
    if b is None:
        return error(404, "not_found", _("预约不存在。"))
    form, err = validated(RescheduleForm)
    if err:
        return err
    try:
        svc.reschedule(b, current_user, form.starts_at_value, form.reason.data)
    except svc.SlotTaken as exc:
        return _taken(exc)
    except DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(booking_json(b))


@bp.route("/appointments/bookings/<code>/ics")
@login_required
@operation("appointments", "The booking as an iCalendar file (text/calendar)", auth="any")
def appointment_ics(code: str) -> Any:
    b = _mine(code)
    if b is None:
        return error(404, "not_found", _("预约不存在。"))
    return Response(
        svc.ics_bytes(b),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{b.code}.ics"'},
    )


@bp.route("/appointments/checkin", methods=["POST"])
@roles_required("officer", "admin", "lawyer")  # the same rule as the officer endpoints below
@operation(
    "appointments",
    "Check a resident in by booking code",
    form=CheckInForm,
    response=BOOKING,
    auth="officer",
)
def appointment_check_in() -> Any:
    form, err = validated(CheckInForm)
    if err:
        return err
    b = svc.by_code(form.code.data)
    if b is None or not b.can_be_handled_by(current_user):
        return error(404, "not_found", _("没有找到该预约号。"))
    try:
        svc.check_in(b, current_user)
    except DomainError as exc:
        return error(409, exc.code, exc.message)
    return jsonify(booking_json(b))


# -- officers (and lawyers) ---------------------------------------------------------------

provider_required = roles_required("officer", "admin", "lawyer")


def _handled(code: str) -> Booking | None:
    """A booking the current officer may handle; None (a 404) for any other."""
    b = svc.by_code(code)
    return b if b is not None and b.can_be_handled_by(current_user) else None


@bp.route("/appointments/officer/bookings")
@provider_required
@operation(
    "appointments",
    "Officer: my bookings of a day or week (?day=YYYY-MM-DD&days=1..7) and pending requests",
    response={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": BOOKING},
            "pending": {"type": "array", "items": BOOKING},
        },
    },
    auth="officer",
)
def appointment_officer_bookings() -> Any:
    try:
        day = (
            dt.date.fromisoformat(request.args["day"][:10])
            if request.args.get("day")
            else local_day(utcnow())
        )
        days = max(1, min(int(request.args.get("days", 1)), 7))
    except ValueError:
        return error(400, "bad_request", _("参数不正确。"))
    return jsonify(
        items=[officer_booking_json(b) for b in svc.provider_bookings(current_user, day, days)],
        pending=[officer_booking_json(b) for b in svc.pending_requests(current_user)],
    )


def _act(code: str, action: Any) -> Any:
    b = _handled(code)
    if b is None:
        return error(404, "not_found", _("没有找到该预约号。"))
    try:
        result = action(b)
    except DomainError as exc:
        return error(409, exc.code, exc.message)
    return result if result is not None else jsonify(officer_booking_json(b))


@bp.route("/appointments/bookings/<code>/confirm", methods=["POST"])
@provider_required
@operation(
    "appointments",
    "Officer: confirm a pending request (a home visit, or after repeated no-shows)",
    response=BOOKING,
    auth="officer",
)
def appointment_confirm(code: str) -> Any:
    return _act(code, lambda b: svc.decide(b, current_user, True))


@bp.route("/appointments/bookings/<code>/decline", methods=["POST"])
@provider_required
@operation(
    "appointments",
    "Officer: decline a pending request, with a reason the resident is told",
    form=ReasonForm,
    response=BOOKING,
    auth="officer",
)
def appointment_decline(code: str) -> Any:
    def decline(b: Booking) -> Any:
        form, err = validated(ReasonForm)
        if err:
            return err
        svc.decide(b, current_user, False, form.reason.data)
        return None

    return _act(code, decline)


@bp.route("/appointments/bookings/<code>/done", methods=["POST"])
@provider_required
@operation(
    "appointments",
    "Officer: mark a booking done, with a note of what was handled",
    form=FinishForm,
    response=BOOKING,
    auth="officer",
)
def appointment_done(code: str) -> Any:
    def done(b: Booking) -> Any:
        form, err = validated(FinishForm)
        if err:
            return err
        svc.finish(b, current_user, "done", form.note.data or "")
        return None

    return _act(code, done)


@bp.route("/appointments/bookings/<code>/no-show", methods=["POST"])
@provider_required
@operation(
    "appointments",
    "Officer: mark a booking as a no-show (after its start)",
    response=BOOKING,
    auth="officer",
)
def appointment_no_show(code: str) -> Any:
    return _act(code, lambda b: svc.finish(b, current_user, "no_show"))
