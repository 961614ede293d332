"""Registry API (tag ``registry``): residents' own registration and permit, officers' review.

Personal data leaves masked: names, ID numbers and phones of records are masked in every
answer (a resident's own address and dates are theirs to see)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import bp
from portal.api.common import error, validated
from portal.api.spec import operation
from portal.errors import DomainError
from portal.registry import permits
from portal.registry import services as svc
from portal.registry.forms import ApplyPermitForm, PermitStatusForm, RejectForm, ResidenceForm
from portal.registry.models import (
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
)
from portal.registry.routes import communities
from portal.security.access import login_required, staff_required
from portal.security.pii import mask_id, mask_name, mask_phone
from portal.templating import page_arg

S, INT, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NS = {"type": ["string", "null"]}

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "source", "community_id", "name", "id_number", "since"],
    "properties": {
        "id": INT,
        "status": {"type": "string", "enum": [s.value for s in RecordStatus]},
        "status_label": S,
        "source": S,
        "community_id": INT,
        "community": S,
        "name": {"type": "string", "description": "masked"},
        "id_number": {"type": "string", "description": "masked"},
        "phone": {"type": "string", "description": "masked"},
        "address": S,
        "workplace": S,
        "since": {"type": "string", "format": "date"},
        "created_at": S,
        "reject_reason": NS,
        "merged_into": {"type": ["integer", "null"]},
        "age_days": INT,
    },
}
PERMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "record_id"],
    "properties": {
        "id": INT,
        "record_id": INT,
        "status": {"type": "string", "enum": [s.value for s in PermitStatus]},
        "status_label": S,
        "refuse_reason": NS,
        "applied_at": S,
        "updated_at": S,
    },
}
MINE_SCHEMA = {
    "type": "object",
    "required": ["records", "permits", "permit_eligible", "eligible_from"],
    "properties": {
        "records": {"type": "array", "items": RECORD_SCHEMA},
        "permits": {"type": "array", "items": PERMIT_SCHEMA},
        "permit_eligible": B,
        "eligible_from": {"type": ["string", "null"], "format": "date"},
        "booking_service_id": {
            "type": ["integer", "null"],
            "description": "the 办理居住证 appointment service, when a permit is ready",
        },
    },
}
PENDING_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "page"],
    "properties": {
        "items": {"type": "array", "items": RECORD_SCHEMA},
        "total": INT,
        "page": INT,
    },
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def record_json(r: MigrantRecord) -> dict[str, Any]:
    """A record, with name, ID number and phone masked."""
    return {
        "id": r.id,
        "status": r.status.value,
        "status_label": r.status.label,
        "source": r.source.value,
        "community_id": r.community_id,
        "community": r.community.name,
        "name": mask_name(r.name),
        "id_number": mask_id(r.id_number),
        "phone": mask_phone(r.phone),
        "address": r.address,
        "workplace": r.workplace,
        "since": r.since.isoformat(),
        "created_at": _iso(r.created_at) or "",
        "reject_reason": r.reject_reason,
        "merged_into": r.merged_into_id,
        "age_days": svc.age_days(r),
    }


def permit_json(p: ResidencePermit) -> dict[str, Any]:
    return {
        "id": p.id,
        "record_id": p.migrant_id,
        "status": p.status.value,
        "status_label": p.status.label,
        "refuse_reason": p.refuse_reason,
        "applied_at": _iso(p.applied_at) or "",
        "updated_at": _iso(p.updated_at) or "",
    }


def _domain(err: DomainError) -> Any:
    status = 403 if err.code == "forbidden" else 409
    return error(status, err.code, err.message, {err.field: [err.message]} if err.field else None)


@bp.route("/registry/mine")
@operation(
    "registry",
    "My residence registrations and residence-permit status",
    response=MINE_SCHEMA,
    auth="any",
)
@login_required
def registry_mine() -> Any:
    info = permits.eligibility(current_user)
    mine = permits.permits_of(current_user)
    ready = any(p.status == PermitStatus.READY for p in mine)
    return jsonify(
        records=[record_json(r) for r in svc.records_of(current_user)],
        permits=[permit_json(p) for p in mine],
        permit_eligible=info["eligible"],
        eligible_from=_iso(info["eligible_from"]),
        booking_service_id=permits.booking_service_id() if ready else None,
    )


@bp.route("/registry/residence", methods=["POST"])
@operation(
    "registry",
    "Register my residence (暂住登记); pending until an officer confirms",
    form=ResidenceForm,
    response=RECORD_SCHEMA,
    auth="any",
    status=201,
)
@login_required
def registry_register() -> Any:
    houses = svc.houses_of_tenant(current_user)
    cs = communities()

    def prepare(form: Any) -> None:
        form.community_id.choices = [(c.id, c.name) for c in cs]
        form.house_id.choices = [(0, "—")] + [(h.id, h.address) for h in houses]
        if form.house_id.data is None:
            form.house_id.data = 0

    form, err = validated(ResidenceForm, prepare)
    if err is not None:
        return err
    assert form is not None
    house = svc.get(RentalHouse, form.house_id.data) if form.house_id.data else None
    try:
        record = svc.register_residence(
            current_user,
            community_id=form.community_id.data,
            address=form.address.data.strip(),
            since=form.since.data,
            workplace=(form.workplace.data or "").strip(),
            house=house,
        )
    except DomainError as e:
        return _domain(e)
    return jsonify(record_json(record)), 201


@bp.route("/registry/permits", methods=["POST"])
@operation(
    "registry",
    "Apply for a residence permit (six months of registered residence)",
    form=ApplyPermitForm,
    response=PERMIT_SCHEMA,
    auth="any",
    status=201,
)
@login_required
def registry_apply_permit() -> Any:
    try:
        permit = permits.apply(current_user)
    except DomainError as e:
        return _domain(e)
    return jsonify(permit_json(permit)), 201


@bp.route("/registry/pending")
@operation(
    "registry",
    "Pending records of my communities, oldest first (page)",
    response=PENDING_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_pending() -> Any:
    page = page_arg()
    rows, total = svc.pending_queue(current_user, page)
    return jsonify(items=[record_json(r) for r in rows], total=total, page=page)


def _handled_record(record_id: int) -> tuple[MigrantRecord | None, Any]:
    """The record an officer may act on, or the 404/403 answer."""
    record = svc.get(MigrantRecord, record_id)
    if record is None:
        return None, error(404, "not_found", _("记录不存在。"))
    if not svc.can_handle(current_user, record.community_id):
        return None, error(403, "forbidden", _("您不负责该社区。"))
    return record, None


@bp.route("/registry/records/<int:record_id>/confirm", methods=["POST"])
@operation(
    "registry",
    "Confirm a pending record (merged into the person's ledger record if there is one)",
    response=RECORD_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_confirm(record_id: int) -> Any:
    record, refused = _handled_record(record_id)
    if refused is not None:
        return refused
    assert record is not None
    try:
        target = svc.confirm(current_user, record)
    except DomainError as e:
        return _domain(e)
    return jsonify(record_json(target))


@bp.route("/registry/records/<int:record_id>/reject", methods=["POST"])
@operation(
    "registry",
    "Reject a pending record with a reason",
    form=RejectForm,
    response=RECORD_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_reject(record_id: int) -> Any:
    record, refused = _handled_record(record_id)
    if refused is not None:
        return refused
    assert record is not None
    form, err = validated(RejectForm)
    if err is not None:
        return err
    assert form is not None
    try:
        svc.reject(current_user, record, form.reason.data)
    except DomainError as e:
        return _domain(e)
    return jsonify(record_json(record))


@bp.route("/registry/permits/<int:permit_id>/status", methods=["POST"])
@operation(
    "registry",
    "Move a residence permit on (accepted, making, ready, collected) or refuse it",
    form=PermitStatusForm,
    response=PERMIT_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_permit_status(permit_id: int) -> Any:
    permit = svc.get(ResidencePermit, permit_id)
    if permit is None:
        return error(404, "not_found", _("申请不存在。"))
    if not permits.can_handle(current_user, permit):
        return error(403, "forbidden", _("您不负责该社区。"))
    form, err = validated(PermitStatusForm)
    if err is not None:
        return err
    assert form is not None
    try:
        permits.change_status(
            current_user, permit, PermitStatus(form.status.data), form.reason.data or ""
        )
    except DomainError as e:
        return _domain(e)
    return jsonify(permit_json(permit))
