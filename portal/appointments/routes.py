"""Appointment pages: services, free slots, booking, confirmation; the officer's views."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role, User
from portal.appointments import bp
from portal.appointments import panels as _panels  # noqa: F401  (registers the panel)
from portal.appointments import services as svc
from portal.appointments.forms import (
    BookForm,
    CheckInForm,
    ExceptionForm,
    FinishForm,
    PlanForm,
    RateForm,
    ReasonForm,
    RescheduleForm,
    ServiceForm,
    parse_periods,
)
from portal.appointments.models import Booking, ExceptionKind, Location, PlanException, Service
from portal.appointments.slots import local_day
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.security.access import login_required, require, roles_required, staff_required
from portal.station.calendar import STATION_TZ

provider_required = roles_required("officer", "admin", "lawyer")
plan_owner_required = roles_required("officer", "lawyer")


def _service_or_404(service_id: int) -> Service:
    service = svc.get_by_id(Service, service_id)
    if service is None or not service.is_active or not service.listed:
        abort(404)  # an unlisted service is booked through its own feature only
    return service


def _booking_or_404(code: str) -> Booking:
    booking = svc.by_code(code)
    if booking is None:
        abort(404)
    require(booking.can_be_seen_by(current_user))
    return booking


def _by_day(slots: list[dt.datetime]) -> list[tuple[dt.date, list[dt.datetime]]]:
    return [(day, list(group)) for day, group in groupby(slots, key=local_day)]


@bp.route("/appointments")
def index() -> Any:
    """The services with the materials to bring (public)."""
    return render_template("appointments/index.html", services=svc.listed_services())


def _render_service(
    service: Service,
    form: BookForm,
    status: int = 200,
    alternatives: list[dt.datetime] | None = None,
) -> Any:
    providers = svc.providers_for(service, current_user)
    try:
        chosen = int(request.values.get("provider_id") or (providers[0].id if providers else 0))
    except ValueError:
        chosen = 0
    provider = next((p for p in providers if p.id == chosen), None)
    slots = svc.free_slots(service, provider.id, days=31) if provider else []
    return render_template(
        "appointments/service.html",
        service=service,
        providers=providers,
        provider=provider,
        days=_by_day(slots),
        form=form,
        alternatives=alternatives or [],
        alt_days=_by_day(alternatives or []),
    ), status


@bp.route("/appointments/s/<int:service_id>")
@login_required
def service(service_id: int) -> Any:
    """Free slots of the resident's officer (or the lawyers) for one service."""
    return _render_service(_service_or_404(service_id), BookForm())


@bp.route("/appointments/s/<int:service_id>/book", methods=["POST"])
@login_required
def book(service_id: int) -> Any:
    service = _service_or_404(service_id)
    form = BookForm()
    if not form.validate_on_submit():
        return _render_service(service, form, 422)
    provider = db.session.get(User, form.provider_id.data)
    if provider is None:
        abort(404)
    try:
        booking = svc.book(
            current_user,
            service,
            provider,
            form.starts_at_value,
            address=form.address.data or "",
            note=form.note.data or "",
        )
    except svc.SlotTaken as exc:
        flash(exc.message, "error")
        return _render_service(service, form, 409, exc.alternatives)
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_service(service, form, 409)
    return redirect(url_for("appointments.show", code=booking.code), 303)


@bp.route("/appointments/mine")
@login_required
def mine() -> Any:
    return render_template("appointments/mine.html", bookings=svc.my_bookings(current_user))


@bp.route("/appointments/b/<code>")
@login_required
def show(code: str) -> Any:
    """The confirmation page: code, QR, calendar file, materials, cancel/reschedule."""
    booking = _booking_or_404(code)
    return render_template(
        "appointments/show.html",
        b=booking,
        reason_form=ReasonForm(),
        rate_form=RateForm(),
        is_resident=booking.resident_id == current_user.id,
    )


@bp.route("/appointments/b/<code>/qr.svg")
@login_required
def qr(code: str) -> Any:
    booking = _booking_or_404(code)
    return Response(
        svc.qr_svg(booking.code),
        mimetype="image/svg+xml",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@bp.route("/appointments/b/<code>/booking.ics")
@login_required
def ics(code: str) -> Any:
    booking = _booking_or_404(code)
    return Response(
        svc.ics_bytes(booking),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{booking.code}.ics"'},
    )


@bp.route("/appointments/b/<code>/cancel", methods=["POST"])
@login_required
def cancel(code: str) -> Any:
    booking = _booking_or_404(code)
    require(booking.resident_id == current_user.id or booking.can_be_handled_by(current_user))
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("请填写原因。"), "error")
        return redirect(url_for("appointments.show", code=booking.code), 303)
    try:
        svc.cancel(booking, current_user, form.reason.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("appointments.show", code=booking.code), 303)
    flash(_("预约已取消。"), "success")
    return redirect(url_for("appointments.show", code=booking.code))


@bp.route("/appointments/b/<code>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(code: str) -> Any:
    booking = _booking_or_404(code)
    require(booking.resident_id == current_user.id or booking.can_be_handled_by(current_user))
    form = RescheduleForm()
    status, alternatives = 200, []
    if form.validate_on_submit():
        try:
            svc.reschedule(booking, current_user, form.starts_at_value, form.reason.data)
            flash(_("预约已改期。"), "success")
            return redirect(url_for("appointments.show", code=booking.code), 303)
        except svc.SlotTaken as exc:
            flash(exc.message, "error")
            status, alternatives = 409, exc.alternatives
        except DomainError as exc:
            flash(exc.message, "error")
            status = 409
    elif request.method == "POST":
        status = 422
    slots = (
        svc.free_slots(booking.service, booking.provider_id, days=31, exclude_booking_id=booking.id)
        if booking.is_open
        else []
    )
    return render_template(
        "appointments/reschedule.html", b=booking, form=form, days=_by_day(alternatives or slots)
    ), status


@bp.route("/appointments/b/<code>/rate", methods=["POST"])
@login_required
def rate(code: str) -> Any:
    booking = _booking_or_404(code)
    form = RateForm()
    if not form.validate_on_submit():
        flash(_("请选择 1 到 5 星。"), "error")
        return redirect(url_for("appointments.show", code=booking.code), 303)
    try:
        svc.rate(booking, current_user, form.stars.data, form.comment.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("appointments.show", code=booking.code), 303)
    flash(_("感谢您的评价。"), "success")
    return redirect(url_for("appointments.show", code=booking.code))


# -- back office --------------------------------------------------------------------------


def _day_arg() -> dt.date:
    try:
        return dt.date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        return local_day(utcnow())


@bp.route("/backoffice/appointments")
@provider_required
def officer_day() -> Any:
    """Day (or week) view of the provider's bookings, check-in and pending requests."""
    day = _day_arg()
    week = request.args.get("view") == "week"
    first = day - dt.timedelta(days=day.weekday()) if week else day
    bookings = svc.provider_bookings(current_user, first, 7 if week else 1)
    grouped = [(d, list(g)) for d, g in groupby(bookings, key=lambda b: local_day(b.starts_at))]
    return render_template(
        "appointments/officer_day.html",
        day=day,
        week=week,
        first=first,
        grouped=grouped,
        pending=svc.pending_requests(current_user),
        checkin_form=CheckInForm(),
        finish_form=FinishForm(),
        tz=STATION_TZ,
        timedelta=dt.timedelta,
    )


@bp.route("/backoffice/appointments/checkin", methods=["POST"])
@provider_required
def check_in() -> Any:
    form = CheckInForm()
    booking = svc.by_code(form.code.data or "") if form.validate_on_submit() else None
    if booking is None or not booking.can_be_handled_by(current_user):
        flash(_("没有找到该预约号。"), "error")
        return redirect(url_for("appointments.officer_day"), 303)
    try:
        svc.check_in(booking, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("appointments.officer_day"), 303)
    flash(_("已签到：%(code)s %(s)s", code=booking.code, s=booking.service.name), "success")
    return redirect(url_for("appointments.officer_day"))


@bp.route("/backoffice/appointments/<int:booking_id>/<action>", methods=["POST"])
@provider_required
def handle(booking_id: int, action: str) -> Any:
    """Done, no-show, confirm or decline."""
    booking = svc.get_by_id(Booking, booking_id)
    if booking is None or action not in ("done", "no_show", "confirm", "decline"):
        abort(404)
    require(booking.can_be_handled_by(current_user))
    form = FinishForm()
    form.validate_on_submit()
    try:
        if action in ("confirm", "decline"):
            svc.decide(booking, current_user, action == "confirm", form.reason.data or "")
        else:
            svc.finish(booking, current_user, action, form.note.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("appointments.officer_day"), 303)
    flash(_("已更新：%(s)s", s=booking.status.label), "success")
    return redirect(url_for("appointments.officer_day", day=local_day(booking.starts_at)))


def _fmt(rows: list[tuple[int, dt.time, dt.time]]) -> str:
    return "\n".join(f"{wd + 1} {a:%H:%M}-{b:%H:%M}" for wd, a, b in rows)


def _fill_plan_form(form: PlanForm) -> None:
    current = svc.plan_of(current_user.id)
    if current is None:
        return
    data = svc.plan_data(current_user.id)
    form.periods.data = _fmt(sorted((wd, a, b) for wd, ps in data.periods.items() for a, b in ps))
    form.breaks.data = _fmt(sorted((wd, a, b) for wd, ps in data.breaks.items() for a, b in ps))
    form.slot_minutes.data = current.slot_minutes
    form.buffer_minutes.data = current.buffer_minutes
    form.min_notice_minutes.data = current.min_notice_minutes
    form.horizon_days.data = current.horizon_days
    form.follow_holidays.data = current.follow_holidays


def _render_plan(
    form: PlanForm | None = None,
    exc_form: ExceptionForm | None = None,
    status: int = 200,
    preview: list[Booking] | None = None,
) -> Any:
    """The plan page; either form may come back from a failed save or a preview."""
    if form is None:
        form = PlanForm(formdata=None)
        _fill_plan_form(form)
    return render_template(
        "appointments/plan.html",
        form=form,
        exc_form=exc_form or ExceptionForm(formdata=None),
        exceptions=svc.provider_exceptions(current_user),
        warnings=svc.plan_warnings(current_user.id),
        preview=preview,
    ), status


@bp.route("/backoffice/appointments/plan", methods=["GET", "POST"])
@plan_owner_required
def plan() -> Any:
    """The provider's weekly plan, rules and exceptions."""
    if request.method == "GET":
        return _render_plan()
    form = PlanForm()
    if not form.validate_on_submit():
        return _render_plan(form, status=422)
    try:
        warnings = svc.save_plan(
            current_user,
            current_user,
            periods=parse_periods(form.periods.data) or [],
            breaks=parse_periods(form.breaks.data) or [],
            slot_minutes=form.slot_minutes.data,
            buffer_minutes=form.buffer_minutes.data,
            min_notice_minutes=form.min_notice_minutes.data,
            horizon_days=form.horizon_days.data,
            follow_holidays=bool(form.follow_holidays.data),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_plan(form, status=409)
    flash(_("接待计划已保存。"), "success")
    for w in warnings:
        flash(w, "warning")
    return redirect(url_for("appointments.plan"), 303)


def _exception_change(form: ExceptionForm) -> svc.ExceptionChange:
    """The form's exception: kind and a UTC interval (the inputs are Shanghai wall-clock)."""
    return (
        ExceptionKind(form.kind.data),
        form.starts_at.data.replace(tzinfo=STATION_TZ),
        form.ends_at.data.replace(tzinfo=STATION_TZ),
    )


def _own_exception_or_404(exception_id: int) -> PlanException:
    exc = svc.get_by_id(PlanException, exception_id)
    if exc is None or exc.provider_id != current_user.id:
        abort(404)
    return exc


def _saved_flash(affected: list[Booking]) -> None:
    flash(
        _("已保存。受影响的预约 %(n)s 个，已通知居民。", n=len(affected))
        + "".join(f" {b.code} {svc._when(b)}" for b in affected),
        "success",
    )


@bp.route("/backoffice/appointments/exceptions", methods=["POST"])
@plan_owner_required
def add_exception() -> Any:
    """Add leave, an extra period or an ad-hoc block. The "preview" button shows the
    bookings it would cancel without saving; "save" cancels them and tells the residents."""
    form = ExceptionForm()
    if not form.validate_on_submit():
        return _render_plan(exc_form=form, status=422)
    kind, start, end = _exception_change(form)
    try:
        if request.form.get("preview"):
            affected = svc.exception_impact(current_user.id, new=(kind, start, end))
            return _render_plan(exc_form=form, preview=affected)
        affected = svc.add_exception(
            current_user, current_user, kind, start, end, form.reason.data or ""
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_plan(exc_form=form, status=409)
    _saved_flash(affected)
    return redirect(url_for("appointments.plan"), 303)


@bp.route("/backoffice/appointments/exceptions/<int:exception_id>", methods=["GET", "POST"])
@plan_owner_required
def edit_exception(exception_id: int) -> Any:
    """Change an exception; preview first which bookings the change would cancel."""
    exc = _own_exception_or_404(exception_id)
    form = ExceptionForm()
    status, preview = 200, None
    if request.method == "GET":
        form.kind.data = exc.kind.value
        form.starts_at.data = as_utc(exc.starts_at).astimezone(STATION_TZ).replace(tzinfo=None)
        form.ends_at.data = as_utc(exc.ends_at).astimezone(STATION_TZ).replace(tzinfo=None)
        form.reason.data = exc.reason
    elif not form.validate_on_submit():
        status = 422
    else:
        kind, start, end = _exception_change(form)
        try:
            if request.form.get("preview"):
                preview = svc.exception_impact(current_user.id, old=exc, new=(kind, start, end))
            else:
                affected = svc.update_exception(
                    exc, current_user, kind, start, end, form.reason.data or ""
                )
                _saved_flash(affected)
                return redirect(url_for("appointments.plan"), 303)
        except DomainError as err:
            flash(err.message, "error")
            status = 409
    return render_template(
        "appointments/exception_edit.html", exc=exc, form=form, preview=preview
    ), status


@bp.route("/backoffice/appointments/exceptions/<int:exception_id>/delete", methods=["GET", "POST"])
@plan_owner_required
def delete_exception(exception_id: int) -> Any:
    """Ask first, listing the bookings the deletion would cancel; then delete."""
    exc = _own_exception_or_404(exception_id)
    if request.method == "POST":  # CSRFProtect has checked the token
        affected = svc.delete_exception(exc, current_user)
        flash(
            _("已删除。受影响的预约 %(n)s 个，已通知居民。", n=len(affected))
            + "".join(f" {b.code} {svc._when(b)}" for b in affected),
            "success",
        )
        return redirect(url_for("appointments.plan"), 303)
    return render_template(
        "appointments/exception_delete.html",
        exc=exc,
        preview=svc.exception_impact(current_user.id, old=exc),
        deleting=True,
    )


def _service_fields(form: ServiceForm) -> dict[str, Any]:
    return {
        "name": form.name.data.strip(),
        "description": form.description.data or "",
        "duration_minutes": form.duration_minutes.data,
        "provider_role": Role(form.provider_role.data),
        "location": Location(form.location.data),
        "needs_confirmation": bool(form.needs_confirmation.data),
        "materials": form.materials.data or "",
        "is_active": bool(form.is_active.data),
        "listed": not form.unlisted.data,
    }


@bp.route("/backoffice/appointments/services", methods=["GET", "POST"])
@staff_required
def services() -> Any:
    """Admins and officers manage the services and their materials."""
    return _service_page(None)


@bp.route("/backoffice/appointments/services/<int:service_id>", methods=["GET", "POST"])
@staff_required
def edit_service(service_id: int) -> Any:
    service = svc.get_by_id(Service, service_id)
    if service is None:
        abort(404)
    return _service_page(service)


def _service_page(service: Service | None) -> Any:
    form = ServiceForm(obj=service) if service and request.method == "GET" else ServiceForm()
    if service and request.method == "GET":
        form.provider_role.data = service.provider_role.value
        form.location.data = service.location.value
        form.unlisted.data = not service.listed
    status = 200
    if form.validate_on_submit():
        try:
            svc.save_service(service, current_user, **_service_fields(form))
            flash(_("服务已保存。"), "success")
            return redirect(url_for("appointments.services"), 303)
        except DomainError as exc:
            flash(exc.message, "error")
            status = 409
    elif request.method == "POST":
        status = 422
    from sqlalchemy import select

    all_services = db.session.scalars(select(Service).order_by(Service.id)).all()
    return render_template(
        "appointments/services.html", form=form, service=service, services=all_services
    ), status


@bp.cli.command("send-reminders")
def send_reminders_command() -> None:
    """Send the day-before reminders (safe to run from cron while another run is going)."""
    import click

    n = svc.send_reminders()
    db.session.commit()
    click.echo(f"{n} reminders sent")
