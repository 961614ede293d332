"""Registry API (tag ``registry``): the officers' ledger search, exports and figures.

Personal data is masked in every answer; the full export (POST with ``full``) is audited.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import bp
from portal.api.common import error
from portal.api.spec import operation
from portal.errors import DomainError
from portal.registry import exports, figures, ledger
from portal.registry.models import MigrantRecord, RentalHouse
from portal.security.access import staff_required
from portal.security.pii import mask_id, mask_name, mask_phone
from portal.templating import page_arg

MIGRANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "community_id", "status", "name", "since"],
    "properties": {
        "id": {"type": "integer"},
        "community_id": {"type": "integer"},
        "community": {"type": "string"},
        "status": {"type": "string"},
        "name": {"type": "string", "description": "masked"},
        "id_number": {"type": "string", "description": "masked"},
        "phone": {"type": "string", "description": "masked"},
        "region": {"type": "string"},
        "address": {"type": "string"},
        "house_id": {"type": ["integer", "null"]},
        "workplace": {"type": "string"},
        "since": {"type": "string", "format": "date"},
        "source": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "anonymised": {"type": "boolean"},
    },
}
LEDGER_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "page"],
    "properties": {
        "items": {"type": "array", "items": MIGRANT_SCHEMA},
        "total": {"type": "integer"},
        "total_capped": {
            "type": "boolean",
            "description": f"more than {ledger.MAX_COUNT} matches; narrow the filters",
        },
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}
HOUSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "community_id", "address", "pledge_signed"],
    "properties": {
        "id": {"type": "integer"},
        "community_id": {"type": "integer"},
        "address": {"type": "string"},
        "landlord": {"type": ["string", "null"], "description": "masked name"},
        "rooms": {"type": ["integer", "null"]},
        "pledge_signed": {"type": "boolean"},
        "pledge_signed_at": {"type": ["string", "null"], "format": "date-time"},
        "open_tenancies": {"type": "integer"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
HOUSES_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "page"],
    "properties": {
        "items": {"type": "array", "items": HOUSE_SCHEMA},
        "total": {"type": "integer"},
        "total_capped": {"type": "boolean"},
        "page": {"type": "integer"},
    },
}
_RATE = {"type": ["number", "null"], "description": "0..1; null when nothing to divide"}
FIGURES_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "month": {"type": ["string", "null"], "description": "YYYY-MM (monthly rows)"},
        "known": {"type": "integer"},
        "registered": {"type": "integer"},
        "registration_rate": _RATE,
        "permits": {"type": "integer"},
        "permit_rate": _RATE,
        "open_houses": {"type": "integer"},
        "pledged": {"type": "integer"},
        "pledge_rate": _RATE,
        "pending": {"type": "integer"},
        "oldest_pending_days": {"type": ["number", "null"]},
        "median_pending_days": {"type": ["number", "null"]},
        "moved_in": {"type": "integer"},
        "moved_out": {"type": "integer"},
    },
}
SCOPE_SCHEMA = {
    "type": "object",
    "required": ["now", "months"],
    "properties": {
        "community_id": {"type": ["integer", "null"], "description": "null: the station"},
        "community": {"type": "string"},
        "now": FIGURES_ITEM,
        "months": {"type": "array", "items": FIGURES_ITEM},
    },
}
FIGURES_SCHEMA = {
    "type": "object",
    "required": ["targets", "station", "communities"],
    "properties": {
        "computed_at": {
            "type": "string",
            "format": "date-time",
            "description": "when the stored figures were computed (at most 20 minutes ago)",
        },
        "targets": {
            "type": "object",
            "properties": {k: {"type": "number"} for k in figures.TARGETS},
        },
        "station": SCOPE_SCHEMA,
        "communities": {"type": "array", "items": SCOPE_SCHEMA},
    },
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def migrant_json(m: MigrantRecord) -> dict[str, Any]:
    """One ledger row, masked."""
    anonymised = m.anonymised_at is not None
    return {
        "id": m.id,
        "community_id": m.community_id,
        "community": m.community.name,
        "status": m.status.value,
        "name": m.name if anonymised else mask_name(m.name),
        "id_number": mask_id(m.id_number),
        "phone": mask_phone(m.phone),
        "region": m.region,
        "address": m.address,
        "house_id": m.house_id,
        "workplace": m.workplace,
        "since": m.since.isoformat(),
        "source": m.source.value,
        "created_at": _iso(m.created_at),
        "closed_at": _iso(m.closed_at),
        "anonymised": anonymised,
    }


def house_json(h: RentalHouse, open_tenancies: int) -> dict[str, Any]:
    """One house row, the landlord's name masked."""
    return {
        "id": h.id,
        "community_id": h.community_id,
        "address": h.address,
        "landlord": mask_name(h.landlord.display_name) if h.landlord else None,
        "rooms": h.rooms,
        "pledge_signed": h.pledge_signed_at is not None,
        "pledge_signed_at": _iso(h.pledge_signed_at),
        "open_tenancies": open_tenancies,
        "closed_at": _iso(h.closed_at),
    }


def _forbidden() -> Any:
    return error(403, "forbidden", _("您不负责该社区。"))


@bp.route("/registry/ledger")
@operation(
    "registry",
    "Search the migrant ledger (community, address, name, status, date_field, date_from, "
    "date_to, page); masked. Default: confirmed records of my communities, newest first; "
    "a search by name lists by name",
    response=LEDGER_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_ledger() -> Any:
    try:
        f = ledger.LedgerFilter.from_args(request.args, current_user)
    except DomainError:
        return _forbidden()
    page = page_arg()
    rows, total = ledger.search(f, page)
    return jsonify(
        items=[migrant_json(m) for m in rows],
        total=min(total, ledger.MAX_COUNT),
        total_capped=total > ledger.MAX_COUNT,
        page=page,
        per_page=ledger.PER_PAGE,
        errors=f.errors,
    )


@bp.route("/registry/ledger/houses")
@operation(
    "registry",
    "Search rental houses (community, address, pledge=yes|no, state=open|closed|all, page)",
    response=HOUSES_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_ledger_houses() -> Any:
    try:
        f = ledger.HouseFilter.from_args(request.args, current_user)
    except DomainError:
        return _forbidden()
    page = page_arg()
    rows, total = ledger.search_houses(f, page)
    return jsonify(
        items=[house_json(h, n) for h, n in rows],
        total=min(total, ledger.MAX_COUNT),
        total_capped=total > ledger.MAX_COUNT,
        page=page,
    )


@bp.route("/registry/ledger/export.<any(csv, xlsx):fmt>", methods=["GET", "POST"])
@operation(
    "registry",
    "Download the filtered ledger as CSV or XLSX (the ledger's query arguments). GET: "
    'names, ID numbers and phones masked. POST with {"full": true}: in full, audited',
    response={"type": "string", "format": "binary"},
    auth="officer, admin",
)
@staff_required
def registry_ledger_export(fmt: str) -> Any:
    try:
        f = ledger.LedgerFilter.from_args(request.args, current_user)
    except DomainError:
        return _forbidden()
    body = request.get_json(silent=True) if request.method == "POST" else None
    full = isinstance(body, dict) and body.get("full") is True
    return exports.export_response(current_user, f, fmt, full)


@bp.route("/registry/figures")
@operation(
    "registry",
    "Figures now and for each of the last 12 months: the station and my communities",
    response=FIGURES_SCHEMA,
    auth="officer, admin",
)
@staff_required
def registry_figures() -> Any:
    snap = figures.stored()
    now, by_month = snap.now, snap.months
    station_months = by_month[figures.STATION].months

    def scope(cid: int | None, name: str) -> dict[str, Any]:
        series = by_month.get(cid)
        months = (
            series.months if series else [figures.Figures(month=f.month) for f in station_months]
        )
        return {
            "community_id": cid,
            "community": name,
            "now": now.get(cid, figures.Figures()).as_dict(),
            "months": [f.as_dict() for f in months],
        }

    return jsonify(
        computed_at=snap.computed_at.isoformat(),
        targets=figures.TARGETS,
        station=scope(figures.STATION, _("全所")),
        communities=[scope(c.id, c.name) for c in ledger.visible_communities(current_user)],
    )
