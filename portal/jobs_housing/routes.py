"""Board pages: public search, the poster's pages, applications and moderation."""

from __future__ import annotations

from typing import Any

import click
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.communities.models import Community
from portal.db import db
from portal.errors import DomainError
from portal.jobs_housing import agreements, bp
from portal.jobs_housing import services as svc
from portal.jobs_housing.forms import (
    AgreementTemplateForm,
    ApplyForm,
    ConfirmAgreementForm,
    JobForm,
    ModerationForm,
    PhotoForm,
    RentalForm,
    ReportForm,
    StartAgreementForm,
)
from portal.jobs_housing.models import (
    Agreement,
    Application,
    Kind,
    Listing,
    ListingPhoto,
    ReportReason,
)
from portal.security.access import admin_required, login_required, require, staff_required
from portal.security.uploads import UploadError, stored_path
from portal.templating import Page, page_arg


def communities() -> list[Community]:
    return list(db.session.scalars(select(Community).order_by(Community.id)))


def _int_arg(name: str, lo: int = 0, hi: int = 10_000_000) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return max(lo, min(value, hi))


def search_args() -> dict[str, Any]:
    sort = request.args.get("sort", "new")
    return {
        "kind": request.args.get("kind") or None,
        "community_id": _int_arg("community"),
        "price_min": _int_arg("min"),
        "price_max": _int_arg("max"),
        "rooms": _int_arg("rooms", 0, 20),
        "housing": request.args.get("housing") == "1",
        "q": (request.args.get("q") or "").replace("\x00", "").strip()[:40] or None,
        "sort": sort if sort in ("new", "price", "price_desc") else "new",
    }


def _listing(lid: int) -> Listing:
    listing = svc.get(Listing, lid)
    if listing is None:
        abort(404)
    return listing


def _own(lid: int) -> Listing:
    listing = _listing(lid)
    require(listing.can_edit(current_user))
    return listing


@bp.route("/board")
def index() -> Any:
    """The public board: no login needed."""
    args = search_args()
    page = page_arg()
    rows, total = svc.search(**args, page=page)
    return render_template(
        "jobs_housing/index.html",
        page=Page(rows, min(total, svc.MAX_RESULTS), page, 20),
        capped=total > svc.MAX_RESULTS,
        args=args,
        communities=communities(),
    )


@bp.route("/board/<int:lid>")
def show(lid: int) -> Any:
    listing = _listing(lid)
    if not listing.can_view(current_user):
        abort(404)
    mine = None
    if current_user.is_authenticated:
        mine = db.session.scalar(
            select(Application).where(
                Application.listing_id == lid, Application.seeker_id == current_user.id
            )
        )
    return render_template(
        "jobs_housing/show.html",
        listing=listing,
        apply_form=ApplyForm(),
        report_form=ReportForm(),
        my_application=mine,
        verified=accounts.is_verified(listing.poster),
    )


@bp.route("/board/photos/<int:photo_id>")
def photo(photo_id: int) -> Any:
    p = svc.get(ListingPhoto, photo_id) or abort(404)
    public = p.approved and p.listing.live
    if not public and not (
        current_user.is_authenticated
        and (p.listing.can_edit(current_user) or p.listing.can_moderate(current_user))
    ):
        abort(404)
    path = stored_path("listings", p.filename) or abort(404)
    return send_file(path, max_age=0 if not public else 3600)


@bp.route("/board/mine")
@login_required
def mine() -> Any:
    return render_template(
        "jobs_housing/mine.html",
        listings=svc.my_listings(current_user),
        may_rent=svc.may_post(current_user, Kind.RENTAL),
        may_job=svc.may_post(current_user, Kind.JOB),
    )


def _form_cls(kind: Kind) -> type[RentalForm] | type[JobForm]:
    return RentalForm if kind == Kind.RENTAL else JobForm


@bp.route("/board/new/<kind>", methods=["GET", "POST"])
@login_required
def create(kind: str) -> Any:
    try:
        k = Kind(kind)
    except ValueError:
        abort(404)
    if not svc.may_post(current_user, k):
        return render_template("jobs_housing/not_verified.html", kind=k), 200
    form = _form_cls(k)(communities=communities())
    if request.method == "GET" and current_user.community_id:
        form.community_id.data = current_user.community_id
    if form.validate_on_submit():
        try:
            listing = svc.create_listing(
                current_user,
                k,
                form.data_for_listing(),
                community_id=form.community_id.data,
                owner_declared=bool(
                    getattr(form, "owner_declared", None) and form.owner_declared.data
                ),
            )
        except DomainError as err:
            flash(err.message, "error")
            return render_template("jobs_housing/form.html", form=form, kind=k, listing=None), 409
        flash(_("草稿已保存，可以上传照片后提交审核。"), "success")
        return redirect(url_for("jobs_housing.edit", lid=listing.id))
    status = 422 if request.method == "POST" else 200
    return render_template("jobs_housing/form.html", form=form, kind=k, listing=None), status


@bp.route("/board/<int:lid>/edit", methods=["GET", "POST"])
@login_required
def edit(lid: int) -> Any:
    listing = _own(lid)
    cls = _form_cls(listing.kind)
    form = cls(communities=communities())
    if request.method == "GET":
        values = {k: getattr(listing, k) for k in listing.fields}
        if listing.pending_edit:
            values.update(svc._from_json(listing.pending_edit))
        for k, v in values.items():
            getattr(form, k).data = v
        form.community_id.data = listing.community_id
        if hasattr(form, "owner_declared"):
            form.owner_declared.data = listing.owner_declared
    elif form.validate_on_submit():
        try:
            svc.update_listing(
                current_user, listing, form.data_for_listing(), form.community_id.data
            )
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("jobs_housing.edit", lid=lid)), 303
        flash(
            _("已保存。") if not listing.live else _("修改已提交审核，审核通过前仍展示原内容。"),
            "success",
        )
        return redirect(url_for("jobs_housing.edit", lid=lid))
    return (
        render_template(
            "jobs_housing/form.html",
            form=form,
            kind=listing.kind,
            listing=listing,
            photo_form=PhotoForm(),
        ),
        422 if request.method == "POST" else 200,
    )


@bp.route("/board/<int:lid>/photos", methods=["POST"])
@login_required
def upload_photo(lid: int) -> Any:
    listing = _own(lid)
    form = PhotoForm()
    upload = form.photo.data if form.validate_on_submit() else None
    if not upload:
        flash(_("请选择照片。"), "error")
        return redirect(url_for("jobs_housing.edit", lid=lid)), 303
    try:
        svc.add_photo(current_user, listing, upload)
    except UploadError as err:
        flash(str(err), "error")
        return redirect(url_for("jobs_housing.edit", lid=lid)), 303
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.edit", lid=lid)), 303
    flash(_("照片已上传，审核通过后公开展示。"), "success")
    return redirect(url_for("jobs_housing.edit", lid=lid))


@bp.route("/board/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete_photo(photo_id: int) -> Any:
    p = svc.get(ListingPhoto, photo_id) or abort(404)
    require(p.listing.can_edit(current_user))
    lid = p.listing_id
    svc.delete_photo(current_user, p)
    flash(_("照片已删除。"), "success")
    return redirect(url_for("jobs_housing.edit", lid=lid))


POSTER_ACTIONS = {
    "submit": svc.submit,
    "withdraw": svc.withdraw,
    "renew": svc.renew,
    "filled": svc.mark_filled,
}


@bp.route("/board/<int:lid>/do/<action>", methods=["POST"])
@login_required
def poster_action(lid: int, action: str) -> Any:
    fn = POSTER_ACTIONS.get(action) or abort(404)
    listing = _own(lid)
    try:
        fn(current_user, listing)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.mine")), 303
    flash(_("操作成功。"), "success")
    return redirect(url_for("jobs_housing.mine"))


@bp.route("/board/<int:lid>/report", methods=["POST"])
@login_required
def report(lid: int) -> Any:
    listing = _listing(lid)
    if not listing.live:
        abort(404)
    form = ReportForm()
    if not form.validate_on_submit():
        flash(_("请选择举报原因。"), "error")
        return redirect(url_for("jobs_housing.show", lid=lid)), 303
    try:
        svc.report(current_user, listing, ReportReason(form.reason.data), form.note.data or "")
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.show", lid=lid)), 303
    flash(_("感谢举报，社区民警会核查。"), "success")
    return redirect(url_for("jobs_housing.show", lid=lid))


@bp.route("/board/<int:lid>/apply", methods=["POST"])
@login_required
def apply(lid: int) -> Any:
    listing = _listing(lid)
    form = ApplyForm()
    if not form.validate_on_submit():
        flash(_("请写一句留言。"), "error")
        return redirect(url_for("jobs_housing.show", lid=lid)), 303
    try:
        svc.apply(current_user, listing, form.message.data.strip())
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.show", lid=lid)), 303
    flash(_("申请已发送。"), "success")
    return redirect(url_for("jobs_housing.my_applications"))


@bp.route("/board/<int:lid>/applications")
@login_required
def applications(lid: int) -> Any:
    listing = _own(lid)
    rows = svc.applications_for(listing)
    return render_template(
        "jobs_housing/applications.html",
        listing=listing,
        rows=[
            (
                a,
                accounts.is_verified(a.seeker),
                svc.shared_phones(current_user, a),
                agreements.agreement_for(a),
            )
            for a in rows
        ],
    )


@bp.route("/board/applications")
@login_required
def my_applications() -> Any:
    rows = svc.my_applications(current_user)
    return render_template(
        "jobs_housing/my_applications.html",
        rows=[(a, svc.shared_phones(current_user, a), agreements.agreement_for(a)) for a in rows],
    )


@bp.route("/board/applications/<int:aid>/<action>", methods=["POST"])
@login_required
def application_action(aid: int, action: str) -> Any:
    a = svc.get(Application, aid) or abort(404)
    if action not in ("accept", "decline", "consent", "withdraw"):
        abort(404)
    try:
        if action in ("consent", "withdraw"):
            require(a.seeker_id == current_user.id)
            if action == "consent":
                svc.consent_to_share(current_user, a)
            else:
                svc.withdraw_application(current_user, a)
            target = url_for("jobs_housing.my_applications")
        else:
            require(a.listing.poster_id == current_user.id)
            svc.decide_application(current_user, a, action == "accept")
            target = url_for("jobs_housing.applications", lid=a.listing_id)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(request.referrer or url_for("jobs_housing.mine")), 303
    flash(_("操作成功。"), "success")
    return redirect(target)


# ---- back office -------------------------------------------------------------------------


@bp.route("/backoffice/listings")
@staff_required
def moderation() -> Any:
    return render_template(
        "jobs_housing/moderation.html", listings=svc.moderation_queue(current_user)
    )


@bp.route("/backoffice/listings/reported")
@staff_required
def reported() -> Any:
    """Live listings with open reports, most recently reported first."""
    page = page_arg()
    rows, total = svc.reported_listings(current_user, page=page, per_page=REPORTED_PER_PAGE)
    return render_template(
        "jobs_housing/reported.html",
        page=Page(rows, total, page, REPORTED_PER_PAGE),
        form=ModerationForm(),
    )


REPORTED_PER_PAGE = 20
REPORT_ACTIONS = {"dismiss": svc.dismiss_reports, "suspend": svc.suspend_for_review}


@bp.route("/backoffice/listings/<int:lid>/reports/<action>", methods=["POST"])
@staff_required
def report_action(lid: int, action: str) -> Any:
    """Dismiss a listing's open reports, or take it off the board for review."""
    fn = REPORT_ACTIONS.get(action) or abort(404)
    listing = _listing(lid)
    require(listing.can_moderate(current_user))
    form = ModerationForm()
    if not form.validate_on_submit():
        flash(_("提交的内容有误。"), "error")
        return redirect(url_for("jobs_housing.reported")), 303
    try:
        fn(current_user, listing, (form.note.data or "").strip())
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.reported")), 303
    if action == "suspend":
        flash(_("已下架，请在审核页面作出决定。"), "success")
        return redirect(url_for("jobs_housing.review", lid=lid))
    flash(_("举报已驳回，信息继续展示。"), "success")
    return redirect(url_for("jobs_housing.reported"))


@bp.route("/backoffice/listings/<int:lid>", methods=["GET", "POST"])
@staff_required
def review(lid: int) -> Any:
    listing = _listing(lid)
    require(listing.can_moderate(current_user))
    form = ModerationForm()
    if request.method == "POST":
        action = request.form.get("action")
        if not form.validate_on_submit() or action not in ("approve", "reject", "changes"):
            flash(_("提交的内容有误。"), "error")
            return redirect(url_for("jobs_housing.review", lid=lid)), 303
        note = (form.note.data or "").strip()
        try:
            if action == "approve":
                svc.approve(current_user, listing, note)
            elif action == "reject":
                svc.reject(current_user, listing, note)
            else:
                svc.request_changes(current_user, listing, note)
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("jobs_housing.review", lid=lid)), 303
        flash(_("已处理。"), "success")
        return redirect(url_for("jobs_housing.moderation"))
    return render_template(
        "jobs_housing/review.html",
        listing=listing,
        form=form,
        hints=svc.hints(listing),
        reports=svc.reports_for(listing),
        pending=svc._from_json(listing.pending_edit) if listing.pending_edit else None,
    )


@bp.cli.command("search-reindex")
@click.argument("kinds", nargs=-1)
def search_reindex_command(kinds: tuple[str, ...]) -> None:
    """Rebuild the keyword index (all kinds, or those named), e.g. after an upgrade."""
    from portal import search

    for kind in kinds or search.kinds():
        if kind not in search.kinds():
            raise click.BadParameter(f"unknown kind {kind!r}; known: {search.kinds()}")
        n = search.reindex(kind)
        db.session.commit()
        click.echo(f"{kind}: {n} documents indexed")


@bp.cli.command("expire-listings")
def expire_listings_command() -> None:
    """Remind and expire board listings (safe to run from cron, and twice)."""
    n = svc.expire_listings()
    db.session.commit()
    click.echo(f"{n} listings reminded or expired")


# ---- agreements --------------------------------------------------------------------------


@bp.route("/board/applications/<int:aid>/agreement", methods=["GET", "POST"])
@login_required
def start_agreement(aid: int) -> Any:
    """The poster picks the start date, then the agreement text is generated."""
    a = svc.get(Application, aid) or abort(404)
    require(a.listing.poster_id == current_user.id)
    existing = agreements.agreement_for(a)
    if existing is not None:
        return redirect(url_for("jobs_housing.agreement", agid=existing.id))
    form = StartAgreementForm()
    status = 200
    if request.method == "GET":
        form.start_date.data = agreements.suggested_start(a.listing)
    elif form.validate_on_submit():
        try:
            agreement = agreements.start_agreement(current_user, a, form.start_date.data)
        except DomainError as err:
            if err.field == "start_date":
                form.start_date.errors = [err.message]
            else:
                flash(err.message, "error")
            status = 409
        else:
            return redirect(url_for("jobs_housing.agreement", agid=agreement.id))
    else:
        status = 422
    return (
        render_template(
            "jobs_housing/start_agreement.html",
            application=a,
            form=form,
            max_days=agreements.MAX_START_DAYS,
        ),
        status,
    )


@bp.route("/board/agreements/<int:agid>")
@login_required
def agreement(agid: int) -> Any:
    ag = svc.get(Agreement, agid) or abort(404)
    require(ag.can_be_seen_by(current_user))
    return render_template(
        "jobs_housing/agreement.html",
        agreement=ag,
        party=ag.party(current_user),
        form=ConfirmAgreementForm(sha256=ag.text_sha256),
    )


@bp.route("/board/agreements/<int:agid>/confirm", methods=["POST"])
@login_required
def confirm_agreement(agid: int) -> Any:
    ag = svc.get(Agreement, agid) or abort(404)
    require(ag.party(current_user) is not None)
    form = ConfirmAgreementForm()
    if not form.validate_on_submit():
        flash(_("请输入密码。"), "error")
        return redirect(url_for("jobs_housing.agreement", agid=agid)), 303
    try:
        agreements.confirm(current_user, ag, form.password.data, form.sha256.data or None)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("jobs_housing.agreement", agid=agid)), 303
    flash(_("已确认。"), "success")
    return redirect(url_for("jobs_housing.agreement", agid=agid))


@bp.route("/backoffice/agreement-templates", methods=["GET", "POST"])
@admin_required
def agreement_templates() -> Any:
    """Admins edit the wording of future agreements."""
    form = AgreementTemplateForm()
    status = 200
    if form.validate_on_submit():
        try:
            agreements.save_template(current_user, Kind(form.kind.data), form.body.data)
        except DomainError as err:
            form.body.errors = [err.message]
            status = 409
        else:
            flash(_("模板已保存，之后生成的协议使用新模板。"), "success")
            return redirect(url_for("jobs_housing.agreement_templates"))
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "jobs_housing/agreement_templates.html",
            form=form,
            current=agreements.templates(),
        ),
        status,
    )
