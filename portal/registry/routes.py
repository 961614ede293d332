"""Residents' 暂住登记 and permits, employers' submissions, officers' review."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.communities.models import Community
from portal.db import db
from portal.errors import DomainError
from portal.registry import bp, feeds, imports, permits  # noqa: F401 - feeds registers its hook
from portal.registry import services as svc
from portal.registry.forms import (
    ROW_SLOTS,
    ActionForm,
    ApplyPermitForm,
    CorrectForm,
    EndTenancyForm,
    PermitStatusForm,
    RejectForm,
    ResidenceForm,
    UploadForm,
    WorkersForm,
)
from portal.registry.models import (
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
    Tenancy,
)
from portal.security.access import login_required, require, staff_required
from portal.templating import Page, page_arg


def communities() -> list[Community]:
    return list(db.session.scalars(select(Community).order_by(Community.id)))


def _record(record_id: int) -> MigrantRecord:
    record = svc.get(MigrantRecord, record_id)
    if record is None:
        abort(404)
    require(svc.can_handle(current_user, record.community_id))
    return record


# ---- residents ----------------------------------------------------------------------------


@bp.route("/registry")
@login_required
def mine() -> Any:
    """The resident's own registrations, tenancies, houses and residence permit."""
    return render_template(
        "registry/mine.html",
        records=svc.records_of(current_user),
        tenancies=svc.tenancies_of(current_user),
        houses=svc.houses_of_landlord(current_user),
        permit=permits.eligibility(current_user),
        permits=permits.permits_of(current_user),
        booking_service=permits.booking_service_id(),
        verified=accounts.is_verified(current_user),
        employer=imports.may_submit(current_user),
        apply_form=ApplyPermitForm(),
        end_form=EndTenancyForm(),
    )


@bp.route("/registry/register", methods=["GET", "POST"])
@login_required
def register() -> Any:
    """暂住登记 online: pending until an officer confirms it."""
    houses = svc.houses_of_tenant(current_user)
    form = ResidenceForm(communities=communities(), houses=houses)
    verified = accounts.is_verified(current_user)
    if request.method == "GET":
        if current_user.community_id:
            form.community_id.data = current_user.community_id
        if houses:
            form.house_id.data = houses[0].id
            form.address.data = houses[0].address
    status = 200
    if request.method == "POST":
        status = 422
        if verified and form.validate_on_submit():
            house = svc.get(RentalHouse, form.house_id.data) if form.house_id.data else None
            try:
                svc.register_residence(
                    current_user,
                    community_id=form.community_id.data,
                    address=form.address.data.strip(),
                    since=form.since.data,
                    workplace=(form.workplace.data or "").strip(),
                    house=house,
                )
            except DomainError as err:
                if err.field and err.field in form:
                    form[err.field].errors = [err.message]
                else:
                    flash(err.message, "error")
                status = 409
            else:
                flash(_("登记已提交，社区民警审核后生效。"), "success")
                return redirect(url_for("registry.mine"))
    return render_template("registry/register.html", form=form, verified=verified), status


@bp.route("/registry/permit", methods=["POST"])
@login_required
def apply_permit() -> Any:
    """Apply for a residence permit (six months of registered residence)."""
    form = ApplyPermitForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请重试。"), "error")
        return redirect(url_for("registry.mine")), 303
    try:
        permits.apply(current_user)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("registry.mine")), 303
    flash(_("居住证申请已提交。"), "success")
    return redirect(url_for("registry.mine"))


@bp.route("/registry/tenancies/<int:tenancy_id>/end", methods=["POST"])
@login_required
def end_my_tenancy(tenancy_id: int) -> Any:
    """The tenant or the landlord ends a tenancy (move-out)."""
    tenancy = svc.get(Tenancy, tenancy_id) or abort(404)
    require(svc.can_end_tenancy(current_user, tenancy))
    return _end(tenancy, url_for("registry.mine"))


def _end(tenancy: Tenancy, target: str) -> Any:
    form = EndTenancyForm()
    if not form.validate_on_submit():
        errors = [str(e) for errs in form.errors.values() for e in errs]
        flash(errors[0] if errors else _("请求无效，请重试。"), "error")
        return redirect(target), 303
    try:
        svc.end_tenancy(current_user, tenancy, form.end_date.data)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(target), 303
    flash(_("已登记迁出。"), "success")
    return redirect(target)


# ---- employers ----------------------------------------------------------------------------


@bp.route("/registry/employer", methods=["GET", "POST"])
@login_required
def employer() -> Any:
    """帮民警填张表: an employer enters workers in the form or uploads a CSV/XLSX file."""
    allowed = imports.may_submit(current_user)
    cs = communities()
    form = WorkersForm(communities=cs, prefix="w")
    upload = UploadForm(communities=cs, prefix="u")
    if request.method == "GET" and current_user.community_id:
        form.community_id.data = upload.community_id.data = current_user.community_id
    report = None
    status = 200
    if request.method == "POST" and allowed:
        which = request.form.get("which")
        try:
            if which == "upload" and upload.validate_on_submit():
                data = upload.file.data.read() if upload.file.data else b""
                name = getattr(upload.file.data, "filename", "") or ""
                report = imports.submit_file(current_user, upload.community_id.data, data, name)
            elif which == "form" and form.validate_on_submit():
                report = imports.submit(
                    current_user,
                    form.community_id.data,
                    imports.rows_from_form(form.entries(request.form)),
                )
            else:
                status = 422
        except DomainError as err:
            flash(err.message, "error")
            status = 409
        if report is not None:
            if report.ok:
                flash(_("已报送 %(n)s 人，等待社区民警审核。", n=report.created), "success")
                status = 200
            else:
                status = 422  # nothing was imported
    elif request.method == "POST":
        status = 409  # not a verified employer: the page says what is missing
    return (
        render_template(
            "registry/employer.html",
            form=form,
            upload=upload,
            report=report,
            allowed=allowed,
            batches=imports.batches_of(current_user) if allowed else [],
            slots=range(ROW_SLOTS),
            columns=imports.COLUMNS,
            headers=imports.HEADER_LABELS,
            typed=request.form if report is not None and not report.ok else {},
            max_rows=current_app.config.get("REGISTRY_IMPORT_MAX_ROWS") or imports.DEFAULT_MAX_ROWS,
            max_kb=(
                current_app.config.get("REGISTRY_IMPORT_MAX_BYTES") or imports.DEFAULT_MAX_BYTES
            )
            // 1024,
        ),
        status,
    )


@bp.route("/registry/employer/template.<fmt>")
@login_required
def employer_template(fmt: str) -> Any:
    """The empty template to fill in (CSV or XLSX)."""
    if fmt == "csv":
        body, mime = imports.template_csv(), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = imports.template_xlsx()
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    resp = Response(body, mimetype=mime)
    resp.headers["Content-Disposition"] = f"attachment; filename=registry-workers.{fmt}"
    return resp


# ---- officers: review ---------------------------------------------------------------------


@bp.route("/backoffice/registry/pending")
@staff_required
def review_queue() -> Any:
    """Pending records of the officer's communities, oldest first, with their age."""
    page = page_arg()
    rows, total = svc.pending_queue(current_user, page)
    return render_template(
        "registry/queue.html",
        page=Page(rows, total, page, 20),
        age=svc.age_days,
    )


def _record_page(record: MigrantRecord, status: int = 200, **extra: Any) -> Any:
    context: dict[str, Any] = {
        "record": record,
        "revealed": {},
        "reject_form": RejectForm(),
        "correct_form": CorrectForm(),
        "end_form": EndTenancyForm(),
        "action_form": ActionForm(),
        "existing": svc.ledger_record_of(record) if record.status == RecordStatus.PENDING else None,
        "other_pending": svc.duplicates_pending(record),
        "tenancies": list(
            db.session.scalars(select(Tenancy).where(Tenancy.migrant_id == record.id))
        ),
        "age": svc.age_days(record),
    }
    context.update(extra)
    return render_template("registry/record.html", **context), status


@bp.route("/backoffice/registry/records/<int:record_id>")
@staff_required
def record(record_id: int) -> Any:
    """One record, masked; reveal, confirm, correct or reject from here."""
    return _record_page(_record(record_id))


@bp.route("/backoffice/registry/records/<int:record_id>/reveal/<field>", methods=["POST"])
@staff_required
def reveal(record_id: int, field: str) -> Any:
    """Show the full ID number or phone on purpose; written to the audit log."""
    rec = _record(record_id)
    try:
        value = svc.reveal(current_user, rec, field)
    except DomainError:
        abort(404)
    return _record_page(rec, revealed={field: value})


def _next_in_review(done: MigrantRecord) -> Any:
    """After a confirm or a reject: the next pending record (oldest first), so an officer
    with a long queue goes through it without going back to the list; the list when none
    is left."""
    following = svc.next_pending(current_user, done)
    if following is None:
        return redirect(url_for("registry.review_queue"))
    return redirect(url_for("registry.record", record_id=following.id))


@bp.route("/backoffice/registry/records/<int:record_id>/<action>", methods=["POST"])
@staff_required
def record_action(record_id: int, action: str) -> Any:
    """Confirm (merging a duplicate), reject with a reason, or correct fields."""
    rec = _record(record_id)
    if action not in ("confirm", "reject", "correct"):
        abort(404)
    try:
        if action == "confirm":
            if not ActionForm().validate_on_submit():  # CSRF only
                flash(_("请求无效，请重试。"), "error")
                return redirect(url_for("registry.record", record_id=rec.id)), 303
            target = svc.confirm(current_user, rec)
            flash(
                _("已确认登记。")
                if target.id == rec.id
                else _("此人已在台帐中，已合并到记录 #%(n)s。", n=target.id),
                "success",
            )
            return _next_in_review(rec)
        if action == "reject":
            form = RejectForm()
            if not form.validate_on_submit():
                return _record_page(rec, 422, reject_form=form)
            svc.reject(current_user, rec, form.reason.data)
            flash(_("已退回。"), "success")
            return _next_in_review(rec)
        form = CorrectForm()
        if not form.validate_on_submit():
            return _record_page(rec, 422, correct_form=form)
        try:
            changed = svc.correct(current_user, rec, form.changes())
        except DomainError as err:
            if err.field and err.field in form:
                form[err.field].errors = [err.message]
                return _record_page(rec, 409, correct_form=form)
            raise
        flash(_("已更正。") if changed else _("没有改动。"), "success")
        return redirect(url_for("registry.record", record_id=rec.id))
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("registry.record", record_id=rec.id)), 303


@bp.route("/backoffice/registry/tenancies/<int:tenancy_id>/end", methods=["POST"])
@staff_required
def end_tenancy(tenancy_id: int) -> Any:
    """An officer records a move-out."""
    tenancy = svc.get(Tenancy, tenancy_id) or abort(404)
    require(svc.can_handle(current_user, tenancy.house.community_id))
    return _end(tenancy, url_for("registry.house_tenancies", house_id=tenancy.house_id))


@bp.route("/backoffice/registry/houses/<int:house_id>/tenancies")
@staff_required
def house_tenancies(house_id: int) -> Any:
    """A rental house with its tenancies (move-out) and its pledge."""
    house = svc.get(RentalHouse, house_id) or abort(404)
    require(svc.can_handle(current_user, house.community_id))
    return render_template(
        "registry/house.html",
        house=house,
        tenancies=svc.house_tenancies(house),
        end_form=EndTenancyForm(),
        form=ActionForm(),
    )


@bp.route("/backoffice/registry/houses/<int:house_id>/pledge", methods=["POST"])
@staff_required
def paper_pledge(house_id: int) -> Any:
    """Record a 治安责任保证书 the landlord signed on paper."""
    house = svc.get(RentalHouse, house_id) or abort(404)
    require(svc.can_handle(current_user, house.community_id))
    target = url_for("registry.house_tenancies", house_id=house.id)
    if not ActionForm().validate_on_submit():
        flash(_("请求无效，请重试。"), "error")
        return redirect(target), 303
    try:
        svc.record_paper_pledge(current_user, house)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(target), 303
    flash(_("已登记治安责任保证书。"), "success")
    return redirect(target)


# ---- officers: permits --------------------------------------------------------------------


@bp.route("/backoffice/registry/permits")
@staff_required
def permit_queue() -> Any:
    """Open residence-permit applications of the officer's communities."""
    page = page_arg()
    rows, total = permits.queue(current_user, page)
    return render_template(
        "registry/permits.html",
        page=Page(rows, total, page, 20),
        next_steps=permits.NEXT,
        form=PermitStatusForm(),
    )


@bp.route("/backoffice/registry/permits/<int:permit_id>", methods=["POST"])
@staff_required
def permit_status(permit_id: int) -> Any:
    """Move an application one step on, or refuse it with a reason."""
    permit = svc.get(ResidencePermit, permit_id) or abort(404)
    require(permits.can_handle(current_user, permit))
    form = PermitStatusForm()
    target = url_for("registry.permit_queue")
    if not form.validate_on_submit():
        errors = [str(e) for errs in form.errors.values() for e in errs]
        flash(errors[0] if errors else _("请求无效，请重试。"), "error")
        return redirect(target), 303
    try:
        permits.change_status(
            current_user, permit, PermitStatus(form.status.data), form.reason.data or ""
        )
    except DomainError as err:
        flash(err.message, "error")
        return redirect(target), 303
    flash(_("已更新为：%(s)s", s=PermitStatus(form.status.data).label), "success")
    return redirect(target)
