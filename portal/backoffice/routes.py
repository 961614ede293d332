"""Back-office pages for officers and admins."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import services as accounts
from portal.accounts.forms import DecisionForm
from portal.accounts.models import (
    IdentityVerification,
    OrganisationVerification,
    VerificationStatus,
)
from portal.backoffice import bp
from portal.backoffice import services as svc
from portal.backoffice.forms import AuditFilterForm, CalendarOverrideForm, StatusForm
from portal.backoffice.panels import panels_for
from portal.communities import services as communities
from portal.communities.models import OfficerStatus
from portal.db import db
from portal.notifications.services import outbox_page
from portal.security.access import admin_required, require, roles_required, staff_required
from portal.security.uploads import stored_path
from portal.templating import Page, page_arg


@bp.route("/")
@staff_required
def dashboard() -> Any:
    """Today's work at a glance: every feature's panel, and the whereabouts board."""
    return render_template(
        "backoffice/dashboard.html",
        panels=panels_for(current_user),
        statuses=list(OfficerStatus),
        profile=current_user.officer_profile,
    )


@bp.route("/status", methods=["POST"])
@roles_required("officer")
def set_status() -> Any:
    """Change the officer's whereabouts in one click."""
    form = StatusForm()
    if not form.validate_on_submit() or current_user.officer_profile is None:
        flash(_("无法更新去向。"), "error")
        return redirect(url_for("backoffice.dashboard")), 303
    communities.set_status(current_user.officer_profile, OfficerStatus(form.status.data))
    flash(_("去向已更新为：%(s)s", s=OfficerStatus(form.status.data).label), "success")
    return redirect(url_for("backoffice.dashboard"))


def _identity_or_404(vid: int) -> IdentityVerification:
    v = db.session.get(IdentityVerification, vid)
    if v is None:
        abort(404)
    require(current_user.can_review_verifications_of(v.user))
    return v


@bp.route("/verifications")
@staff_required
def verifications() -> Any:
    """The verification queue: pending first; other states by filter."""
    status = request.args.get("status", "pending")
    page = page_arg()
    if status == "pending":
        rows, total = accounts.pending_identity_queue(current_user, page)
    else:
        try:
            wanted = VerificationStatus(status)
        except ValueError:
            abort(404)
        rows, total = accounts.identity_list(current_user, wanted, page)
    return render_template(
        "backoffice/verifications.html",
        page=Page(rows, total, page, 20),
        organisations=accounts.pending_organisation_queue(current_user)
        if status == "pending"
        else [],
        status=status,
        statuses=list(VerificationStatus),
    )


@bp.route("/verifications/<int:vid>")
@staff_required
def verification(vid: int) -> Any:
    """One verification, masked; reveal and decide from here."""
    v = _identity_or_404(vid)
    return render_template("backoffice/verification.html", v=v, form=DecisionForm(), revealed={})


@bp.route("/verifications/<int:vid>/reveal/<field>", methods=["POST"])
@staff_required
def reveal(vid: int, field: str) -> Any:
    """Show one plain value on purpose; written to the audit log."""
    v = _identity_or_404(vid)
    try:
        value = accounts.reveal(current_user, v, field)
    except accounts.DomainError:
        abort(404)
    return render_template(
        "backoffice/verification.html", v=v, form=DecisionForm(), revealed={field: value}
    )


@bp.route("/verifications/<int:vid>/photo")
@staff_required
def verification_photo(vid: int) -> Any:
    """The ID photo, for officers who may review this person only."""
    v = _identity_or_404(vid)
    path = stored_path("id_photos", v.photo_filename or "")
    if path is None:
        abort(404)
    from portal.security import audit

    audit.record(current_user, "pii.view_photo", subject=v.user, obj=v)
    db.session.commit()
    response = send_file(path, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verifications/<int:vid>/<action>", methods=["POST"])
@staff_required
def decide(vid: int, action: str) -> Any:
    """Approve, reject (reason required) or revoke (reason required)."""
    v = _identity_or_404(vid)
    form = DecisionForm()
    if action not in ("approve", "reject", "revoke"):
        abort(404)
    reason = (form.reason.data or "").strip() if form.validate_on_submit() else None
    if reason is None:
        flash(_("请求无效，请重试。"), "error")
        return render_template("backoffice/verification.html", v=v, form=form, revealed={}), 422
    if action != "approve" and not reason:
        form.reason.errors = [_("请填写理由。")]
        return render_template("backoffice/verification.html", v=v, form=form, revealed={}), 422
    try:
        if action == "approve":
            accounts.approve_identity(current_user, v)
        elif action == "reject":
            accounts.reject_identity(current_user, v, reason)
        else:
            accounts.revoke_identity(current_user, v, reason)
    except accounts.DomainError as err:
        flash(err.message, "error")
        return render_template("backoffice/verification.html", v=v, form=form, revealed={}), 409
    flash(
        {"approve": _("已通过认证。"), "reject": _("已驳回。"), "revoke": _("已撤销认证。")}[
            action
        ],
        "success",
    )
    return redirect(url_for("backoffice.verifications"))


@bp.route("/organisations/<int:oid>/<action>", methods=["POST"])
@staff_required
def decide_organisation(oid: int, action: str) -> Any:
    """Approve, reject or revoke an organisation check."""
    v = db.session.get(OrganisationVerification, oid)
    if v is None or action not in ("approve", "reject", "revoke"):
        abort(404)
    require(current_user.can_review_verifications_of(v.user))
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请重试。"), "error")
        return redirect(url_for("backoffice.verifications")), 303
    reason = (form.reason.data or "").strip()
    if action != "approve" and not reason:
        flash(_("请填写理由。"), "error")
        return redirect(url_for("backoffice.verifications")), 303
    try:
        if action == "revoke":
            accounts.revoke_organisation(current_user, v, reason)
        else:
            accounts.decide_organisation(current_user, v, action == "approve", reason)
    except accounts.DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("backoffice.verifications")), 303
    flash(_("已处理。"), "success")
    return redirect(url_for("backoffice.verifications"))


@bp.route("/audit")
@staff_required
def audit_log() -> Any:
    """The audit log, newest first, with filters. Read-only: there is no edit or delete."""
    form = AuditFilterForm(request.args)
    form.validate()
    raw_subject = (form.subject.data or "").strip()
    subject_id = (
        int(raw_subject)
        if raw_subject.isascii() and raw_subject.isdigit() and len(raw_subject) <= 9
        else None
    )
    page = page_arg()
    rows, total = svc.audit_page(
        page=page,
        action=(form.action.data or "").strip() or None,
        actor=(form.actor.data or "").strip() or None,
        subject_id=subject_id,
        since=form.since.data if not form.since.errors else None,
        until=form.until.data if not form.until.errors else None,
    )
    return render_template(
        "backoffice/audit.html",
        form=form,
        page=Page(rows, total, page, 50),
        actions=svc.audit_actions(),
    )


@bp.route("/outbox")
@admin_required
def outbox() -> Any:
    """The dev outbox: mail and SMS the portal would have sent."""
    page = page_arg()
    rows, total = outbox_page(page)
    return render_template("backoffice/outbox.html", page=Page(rows, total, page, 30))


@bp.route("/calendar", methods=["GET", "POST"])
@admin_required
def calendar() -> Any:
    """Office hours and the admin's corrections of the holiday calendar."""
    from portal.station import services as station

    form = CalendarOverrideForm()
    status = 200
    if form.validate_on_submit():
        station.set_override(
            current_user, form.day.data, form.is_workday.data, form.note.data or ""
        )
        flash(_("已保存。"), "success")
        return redirect(url_for("backoffice.calendar"))
    if request.method == "POST":
        status = 422
    return render_template(
        "backoffice/calendar.html",
        form=form,
        overrides=station.overrides(),
        hours=station.office_hours_table(),
    ), status


@bp.route("/calendar/<int:override_id>/delete", methods=["POST"])
@admin_required
def delete_override(override_id: int) -> Any:
    """Drop a correction; the holiday package decides that day again."""
    from portal.station import services as station

    form = DecisionForm()
    if form.validate_on_submit():
        station.delete_override(current_user, override_id)
        flash(_("已删除。"), "success")
    return redirect(url_for("backoffice.calendar"))


@bp.route("/profile", methods=["GET", "POST"])
@roles_required("officer")
def profile() -> Any:
    """The officer's public profile: title, office hours, contact, photo."""
    from portal.backoffice.forms import ProfileForm
    from portal.security.uploads import UploadError, store_image

    prof = current_user.officer_profile
    if prof is None:
        abort(404)
    form = ProfileForm(obj=prof)
    status = 200
    if form.validate_on_submit():
        try:
            upload = form.photo.data
            photo = (
                store_image(upload, "officer_photos", max_side=512)
                if upload and getattr(upload, "filename", "")
                else None
            )
        except UploadError as err:
            form.photo.errors = [*form.photo.errors, str(err)]
            status = 422
        else:
            communities.update_profile(
                prof,
                title=form.title.data,
                office_hours=form.office_hours.data or "",
                contact=form.contact.data or "",
                bio=form.bio.data or "",
                photo_filename=photo,
            )
            flash(_("资料已保存。"), "success")
            return redirect(url_for("backoffice.profile"))
    elif request.method == "POST":
        status = 422
    return render_template("backoffice/profile.html", form=form, profile=prof), status


@bp.route("/walk-in", methods=["GET", "POST"])
@roles_required("officer")
def walk_in() -> Any:
    """Register a resident met at the office who has no phone or e-mail."""
    from portal.accounts.routes import community_choices
    from portal.backoffice.forms import WalkInForm
    from portal.communities.models import Community

    form = WalkInForm()
    form.community_id.choices = [
        c for c in community_choices() if c[0] == 0 or current_user.serves(c[0])
    ]
    status = 200
    if form.validate_on_submit():
        community = db.session.get(Community, form.community_id.data)
        try:
            require(community is not None and current_user.serves(community.id))
            user = accounts.register_walk_in(
                current_user,
                display_name=form.display_name.data,
                community=community,
                real_name=form.real_name.data,
                id_number=form.id_number.data,
            )
        except accounts.DomainError as err:
            form.id_number.errors = [*form.id_number.errors, err.message]
            status = 409
        else:
            flash(
                _(
                    "已为 %(name)s 登记并完成实名认证（账户编号 %(id)s）。",
                    name=user.display_name,
                    id=user.id,
                ),
                "success",
            )
            return redirect(url_for("backoffice.dashboard"))
    elif request.method == "POST":
        status = 422
    return render_template("backoffice/walk_in.html", form=form), status


@bp.route("/communities", methods=["GET", "POST"])
@admin_required
def community_admin() -> Any:
    """Admins add communities and choose the officers who serve each."""
    from portal.backoffice.forms import CommunityForm

    form = CommunityForm()
    status = 200
    if form.validate_on_submit():
        try:
            communities.create_community(
                current_user,
                name=form.name.data,
                slug=form.slug.data,
                district=form.district.data or "",
                office_address=form.office_address.data or "",
                office_phone=form.office_phone.data or "",
                description=form.description.data or "",
            )
        except accounts.DomainError as err:
            getattr(form, err.field or "name").errors = [err.message]
            status = 409
        else:
            flash(_("社区已添加。"), "success")
            return redirect(url_for("backoffice.community_admin"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "backoffice/communities.html",
        form=form,
        communities=communities.all_communities(),
        officers=communities.all_officers(),
    ), status


@bp.route("/communities/<int:community_id>/officers", methods=["POST"])
@admin_required
def community_officers(community_id: int) -> Any:
    """Set the officers of one community."""
    from portal.communities.models import Community

    community = db.session.get(Community, community_id)
    if community is None:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        ids = [
            int(x)
            for x in request.form.getlist("officer_ids")
            if x.isascii() and x.isdigit() and len(x) <= 9
        ][:50]
        communities.set_officers(current_user, community, ids)
        flash(_("已保存。"), "success")
    return redirect(url_for("backoffice.community_admin"))
