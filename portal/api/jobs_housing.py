"""The rental and job board (tag ``jobs_housing``): search, my listings, posting, reports
and applications. Personal data is masked; phones appear only under the disclosure rule."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import services as accounts
from portal.api import bp
from portal.api.common import error, validated
from portal.api.spec import operation
from portal.errors import DomainError
from portal.jobs_housing import agreements
from portal.jobs_housing import services as svc
from portal.jobs_housing.forms import (
    ApplyForm,
    ConfirmAgreementForm,
    JobForm,
    RentalForm,
    ReportForm,
    StartAgreementApiForm,
    StartAgreementForm,
)
from portal.jobs_housing.models import Agreement, Application, Kind, Listing, ReportReason
from portal.jobs_housing.routes import communities, search_args
from portal.security.access import login_required
from portal.security.pii import mask_name
from portal.templating import page_arg

LISTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "title", "community", "price", "status"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in Kind]},
        "status": {"type": "string"},
        "live": {"type": "boolean"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "address": {"type": "string"},
        "community": {"type": "string"},
        "price": {"type": "integer"},
        "rooms": {"type": ["integer", "null"]},
        "area": {"type": ["integer", "null"]},
        "rent": {"type": ["integer", "null"]},
        "pay_min": {"type": ["integer", "null"]},
        "pay_max": {"type": ["integer", "null"]},
        "pay_period": {"type": ["string", "null"]},
        "housing_provided": {"type": "boolean"},
        "poster": {"type": "string", "description": "masked name"},
        "published_at": {"type": ["string", "null"], "format": "date-time"},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
LIST_SCHEMA = {
    "type": "object",
    "required": ["items", "total"],
    "properties": {
        "items": {"type": "array", "items": LISTING_SCHEMA},
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "total_capped": {
            "type": "boolean",
            "description": "more than 1000 matches; narrow the filters",
        },
        "notice": {"type": "string"},
    },
}
APPLICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "listing_id", "status", "seeker"],
    "properties": {
        "id": {"type": "integer"},
        "listing_id": {"type": "integer"},
        "status": {"type": "string"},
        "seeker": {"type": "string", "description": "masked name"},
        "seeker_verified": {"type": "boolean"},
        "message": {"type": "string"},
        "seeker_consents": {"type": "boolean"},
        "phone": {"type": ["string", "null"], "description": "the other side's phone, once shared"},
    },
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def listing_json(item: Listing) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "status": item.status.value,
        "live": item.live,
        "title": item.title,
        "description": item.description,
        "address": item.address,
        "community": item.community.name,
        "price": item.price,
        "rooms": item.rooms,
        "area": item.area,
        "rent": item.rent,
        "pay_min": item.pay_min,
        "pay_max": item.pay_max,
        "pay_period": item.pay_period,
        "housing_provided": item.housing_provided,
        "poster": mask_name(item.poster.display_name),
        "published_at": _iso(item.published_at),
        "expires_at": _iso(item.expires_at),
    }


def application_json(a: Application) -> dict[str, Any]:
    return {
        "id": a.id,
        "listing_id": a.listing_id,
        "status": a.status.value,
        "seeker": mask_name(a.seeker.display_name),
        "seeker_verified": accounts.is_verified(a.seeker),
        "message": a.message,
        "seeker_consents": a.seeker_consents,
        "phone": svc.shared_phones(current_user, a),
    }


def _domain(err: DomainError) -> Any:
    return error(409, err.code, err.message, {err.field: [err.message]} if err.field else None)


@bp.route("/listings")
@operation(
    "jobs_housing",
    "Search live listings (kind, community, min, max, rooms, housing, q, sort, page)",
    response=LIST_SCHEMA,
)
def listings() -> Any:
    page = page_arg()
    rows, total = svc.search(**search_args(), page=page)
    return jsonify(
        items=[listing_json(item) for item in rows],
        total=min(total, svc.MAX_RESULTS),
        total_capped=total > svc.MAX_RESULTS,
        page=page,
        notice=_("本平台免费，不收取任何中介费用"),
    )


def _visible(lid: int) -> Listing | None:
    item = svc.get(Listing, lid)
    return item if item is not None and item.can_view(current_user) else None


@bp.route("/listings/<int:lid>")
@operation("jobs_housing", "One listing", response=LISTING_SCHEMA)
def listing(lid: int) -> Any:
    item = _visible(lid)
    if item is None:
        return error(404, "not_found", _("信息不存在。"))
    return jsonify(listing_json(item))


@bp.route("/listings/mine")
@operation("jobs_housing", "My listings with their status", response=LIST_SCHEMA, auth="any")
@login_required
def my_listings() -> Any:
    rows = svc.my_listings(current_user)
    return jsonify(items=[listing_json(item) for item in rows], total=len(rows))


def _listing_form(kind: Kind) -> Any:
    cls = RentalForm if kind == Kind.RENTAL else JobForm
    cs = communities()
    return validated(
        cls, prepare=lambda f: setattr(f.community_id, "choices", [(c.id, c.name) for c in cs])
    )


@bp.route("/listings/rental", methods=["POST"])
@operation(
    "jobs_housing",
    "Create a rental draft (verified residents)",
    form=RentalForm,
    response=LISTING_SCHEMA,
    auth="any",
    status=201,
)
@login_required
def create_rental() -> Any:
    return _create(Kind.RENTAL)


@bp.route("/listings/job", methods=["POST"])
@operation(
    "jobs_housing",
    "Create a job draft (verified organisations)",
    form=JobForm,
    response=LISTING_SCHEMA,
    auth="any",
    status=201,
)
@login_required
def create_job() -> Any:
    return _create(Kind.JOB)


def _create(kind: Kind) -> Any:
    try:
        svc.check_poster(current_user, kind)
    except DomainError as e:
        return _domain(e)
    form, err = _listing_form(kind)
    if err is not None:
        return err
    try:
        item = svc.create_listing(
            current_user,
            kind,
            form.data_for_listing(),
            community_id=form.community_id.data,
            owner_declared=bool(kind == Kind.JOB or form.owner_declared.data),
        )
    except DomainError as e:
        return _domain(e)
    return jsonify(listing_json(item)), 201


@bp.route("/listings/<int:lid>", methods=["PUT"])
@operation(
    "jobs_housing",
    "Edit my listing (a live one goes to review, the old version stays visible)",
    form=RentalForm,
    response=LISTING_SCHEMA,
    auth="any",
)
@login_required
def edit_listing(lid: int) -> Any:
    item = svc.get(Listing, lid)
    if item is None or not item.can_edit(current_user):
        return error(404, "not_found", _("信息不存在。"))
    form, err = _listing_form(item.kind)
    if err is not None:
        return err
    try:
        svc.update_listing(current_user, item, form.data_for_listing(), form.community_id.data)
    except DomainError as e:
        return _domain(e)
    return jsonify(listing_json(item))


@bp.route("/listings/<int:lid>/<action>", methods=["POST"])
@operation("jobs_housing", "submit, withdraw, renew or filled", response=LISTING_SCHEMA, auth="any")
@login_required
def listing_action(lid: int, action: str) -> Any:
    from portal.jobs_housing.routes import POSTER_ACTIONS

    fn = POSTER_ACTIONS.get(action)
    item = svc.get(Listing, lid)
    if fn is None or item is None or not item.can_edit(current_user):
        return error(404, "not_found", _("信息不存在。"))
    try:
        fn(current_user, item)
    except DomainError as e:
        return _domain(e)
    return jsonify(listing_json(item))


@bp.route("/listings/<int:lid>/report", methods=["POST"])
@operation("jobs_housing", "Report a listing", form=ReportForm, auth="any", status=201)
@login_required
def report_listing(lid: int) -> Any:
    item = svc.get(Listing, lid)
    if item is None or not item.live:
        return error(404, "not_found", _("信息不存在。"))
    form, err = validated(ReportForm)
    if err is not None:
        return err
    try:
        svc.report(current_user, item, ReportReason(form.reason.data), form.note.data or "")
    except DomainError as e:
        return _domain(e)
    return jsonify(ok=True), 201


@bp.route("/listings/<int:lid>/apply", methods=["POST"])
@operation(
    "jobs_housing",
    "Apply to a listing",
    form=ApplyForm,
    response=APPLICATION_SCHEMA,
    auth="any",
    status=201,
)
@login_required
def apply_listing(lid: int) -> Any:
    item = _visible(lid)
    if item is None:
        return error(404, "not_found", _("信息不存在。"))
    form, err = validated(ApplyForm)
    if err is not None:
        return err
    try:
        a = svc.apply(current_user, item, form.message.data.strip())
    except DomainError as e:
        return _domain(e)
    return jsonify(application_json(a)), 201


@bp.route("/applications")
@operation(
    "jobs_housing",
    "My applications, and the applications to a listing of mine (?listing=)",
    auth="any",
    response={
        "type": "object",
        "properties": {"items": {"type": "array", "items": APPLICATION_SCHEMA}},
    },
)
@login_required
def applications() -> Any:
    lid = request.args.get("listing", type=int)
    if lid:
        item = svc.get(Listing, lid)
        if item is None or not item.can_edit(current_user):
            return error(404, "not_found", _("信息不存在。"))
        rows = svc.applications_for(item)
    else:
        rows = svc.my_applications(current_user)
    return jsonify(items=[application_json(a) for a in rows])


@bp.route("/applications/<int:aid>/<action>", methods=["POST"])
@operation(
    "jobs_housing",
    "accept or decline (poster); consent to share phones, or withdraw (seeker)",
    response=APPLICATION_SCHEMA,
    auth="any",
)
@login_required
def application_action(aid: int, action: str) -> Any:
    a = svc.get(Application, aid)
    if (
        a is None
        or not a.can_be_seen_by(current_user)
        or action not in ("accept", "decline", "consent", "withdraw")
    ):
        return error(404, "not_found", _("申请不存在。"))
    try:
        if action in ("consent", "withdraw"):
            if a.seeker_id != current_user.id:
                return error(403, "forbidden", _("无权操作。"))
            if action == "consent":
                svc.consent_to_share(current_user, a)
            else:
                svc.withdraw_application(current_user, a)
        else:
            if a.listing.poster_id != current_user.id:
                return error(403, "forbidden", _("无权操作。"))
            svc.decide_application(current_user, a, action == "accept")
    except DomainError as e:
        return _domain(e)
    return jsonify(application_json(a))


AGREEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "status", "text", "sha256"],
    "properties": {
        "id": {"type": "integer"},
        "application_id": {"type": "integer"},
        "listing_id": {"type": "integer"},
        "kind": {"type": "string"},
        "status": {"type": "string", "enum": ["awaiting", "signed"]},
        "text": {"type": "string", "description": "names and masked ID numbers only"},
        "sha256": {"type": "string"},
        "start_date": {"type": ["string", "null"], "format": "date"},
        "poster_confirmed_at": {"type": ["string", "null"], "format": "date-time"},
        "seeker_confirmed_at": {"type": ["string", "null"], "format": "date-time"},
        "signed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def agreement_json(ag: Agreement) -> dict[str, Any]:
    return {
        "id": ag.id,
        "application_id": ag.application_id,
        "listing_id": ag.listing_id,
        "kind": ag.kind.value,
        "status": ag.status.value,
        "text": ag.text,
        "sha256": ag.text_sha256,
        "start_date": ag.start_date.isoformat() if ag.start_date else None,
        "poster_confirmed_at": _iso(ag.poster_confirmed_at),
        "seeker_confirmed_at": _iso(ag.seeker_confirmed_at),
        "signed_at": _iso(ag.signed_at),
    }


@bp.route("/applications/<int:aid>/agreement", methods=["POST"])
@operation(
    "jobs_housing",
    "Generate the agreement of an accepted application (poster); start_date optional",
    form=StartAgreementApiForm,
    response=AGREEMENT_SCHEMA,
    auth="any",
    status=201,
    body_required=False,
)
@login_required
def start_agreement(aid: int) -> Any:
    a = svc.get(Application, aid)
    if a is None or a.listing.poster_id != current_user.id:
        return error(404, "not_found", _("申请不存在。"))
    start = None
    if (request.get_json(silent=True) or {}).get("start_date") is not None:
        form, err = validated(StartAgreementForm)
        if err is not None:
            return err
        start = form.start_date.data
    try:
        ag = agreements.start_agreement(current_user, a, start)
    except DomainError as e:
        return _domain(e)
    return jsonify(agreement_json(ag)), 201


@bp.route("/agreements/<int:agid>")
@operation(
    "jobs_housing",
    "One agreement (its parties and the community's officers)",
    response=AGREEMENT_SCHEMA,
    auth="any",
)
@login_required
def agreement(agid: int) -> Any:
    ag = svc.get(Agreement, agid)
    if ag is None or not ag.can_be_seen_by(current_user):
        return error(404, "not_found", _("协议不存在。"))
    return jsonify(agreement_json(ag))


@bp.route("/agreements/<int:agid>/confirm", methods=["POST"])
@operation(
    "jobs_housing",
    "Confirm an agreement with one's password",
    form=ConfirmAgreementForm,
    response=AGREEMENT_SCHEMA,
    auth="any",
)
@login_required
def confirm_agreement(agid: int) -> Any:
    ag = svc.get(Agreement, agid)
    if ag is None or ag.party(current_user) is None:
        return error(404, "not_found", _("协议不存在。"))
    form, err = validated(ConfirmAgreementForm)
    if err is not None:
        return err
    try:
        agreements.confirm(current_user, ag, form.password.data, form.sha256.data or None)
    except DomainError as e:
        return _domain(e)
    return jsonify(agreement_json(ag))
