"""Officers' ledger (台帐): search, history, exports and figures."""

from __future__ import annotations

from typing import Any

import click
from flask import abort, render_template, request
from flask_login import current_user

from portal.db import db
from portal.errors import DomainError
from portal.registry import bp, exports, figures, ledger
from portal.registry import panels as _panels  # noqa: F401  (registers the dashboard panel)
from portal.registry import purge as purging
from portal.registry.models import MigrantRecord, RentalHouse
from portal.security.access import require, staff_required
from portal.templating import Page, page_arg


def ledger_filter() -> ledger.LedgerFilter:
    """The filter from the query string (or the export form); 403 for a community the
    officer does not serve."""
    try:
        return ledger.LedgerFilter.from_args(request.values, current_user)
    except DomainError:
        abort(403)


@bp.route("/backoffice/registry/ledger", endpoint="ledger")
@staff_required
def ledger_index() -> Any:
    """The migrant ledger: confirmed records of my communities, newest first, filterable."""
    f = ledger_filter()
    page = page_arg()
    rows, total = ledger.search(f, page)
    return render_template(
        "registry/ledger_index.html",
        f=f,
        page=Page(rows, min(total, ledger.MAX_COUNT), page, ledger.PER_PAGE),
        capped=total > ledger.MAX_COUNT,
        communities=ledger.visible_communities(current_user),
        statuses=ledger.LEDGER_STATUSES,
    )


@bp.route("/backoffice/registry/ledger/export.<any(csv, xlsx):fmt>", methods=["GET", "POST"])
@staff_required
def ledger_export(fmt: str) -> Any:
    """The filtered ledger as a file. GET gives masked personal data; the full export is a
    POST (CSRF) with ``full`` ticked, audited with the filter and the row count."""
    f = ledger_filter()
    full = request.method == "POST" and request.form.get("full") in ("1", "y", "on", "true")
    return exports.export_response(current_user, f, fmt, full)


def _migrant(migrant_id: int) -> MigrantRecord:
    record = db.session.get(MigrantRecord, migrant_id)
    if record is None:
        abort(404)
    require(ledger.can_view_migrant(current_user, record))
    return record


def _render_migrant(record: MigrantRecord, revealed: dict[str, str]) -> Any:
    return render_template(
        "registry/ledger_migrant.html",
        m=record,
        revealed=revealed,
        can_reveal=ledger.can_reveal(current_user, record),
        **ledger.migrant_history(record),
    )


@bp.route("/backoffice/registry/migrants/<int:migrant_id>")
@staff_required
def ledger_migrant(migrant_id: int) -> Any:
    """One migrant record with its whole history (events, tenancies, permits), masked."""
    return _render_migrant(_migrant(migrant_id), {})


@bp.route("/backoffice/registry/migrants/<int:migrant_id>/reveal/<field>", methods=["POST"])
@staff_required
def ledger_reveal(migrant_id: int, field: str) -> Any:
    """Show one plain value (name, ID number, phone) on purpose; written to the audit log."""
    record = _migrant(migrant_id)
    try:
        value = ledger.reveal(current_user, record, field)
    except DomainError:
        abort(404)
    return _render_migrant(record, {field: value})


@bp.route("/backoffice/registry/houses")
@staff_required
def ledger_houses() -> Any:
    """Rental houses of my communities: address, landlord (masked), pledge, tenancies."""
    try:
        f = ledger.HouseFilter.from_args(request.args, current_user)
    except DomainError:
        abort(403)
    page = page_arg()
    rows, total = ledger.search_houses(f, page)
    return render_template(
        "registry/ledger_houses.html",
        f=f,
        page=Page(rows, min(total, ledger.MAX_COUNT), page, ledger.PER_PAGE),
        capped=total > ledger.MAX_COUNT,
        communities=ledger.visible_communities(current_user),
    )


@bp.route("/backoffice/registry/houses/<int:house_id>")
@staff_required
def ledger_house(house_id: int) -> Any:
    """One house: current and past tenancies and its events."""
    house = db.session.get(RentalHouse, house_id)
    if house is None:
        abort(404)
    require(ledger.can_view_house(current_user, house))
    return render_template("registry/ledger_house.html", h=house, **ledger.house_history(house))


@bp.route("/backoffice/registry/figures")
@staff_required
def ledger_figures() -> Any:
    """Rates, backlog and flows per community and for the station, with monthly charts."""
    communities = ledger.visible_communities(current_user)
    ids = {c.id for c in communities}
    scope: int | None = None
    raw = request.args.get("community", "")
    if raw:
        try:
            scope = int(raw)
        except ValueError:
            scope = None
        if scope is not None and scope not in ids:
            abort(403)
    snap = figures.stored()
    now, by_month = snap.now, snap.months
    series = by_month.get(scope) or figures.Series(
        [figures.Figures(month=f.month) for f in by_month[figures.STATION].months]
    )
    return render_template(
        "registry/ledger_figures.html",
        communities=communities,
        now=now,
        empty=figures.Figures(),
        station=now[figures.STATION],
        computed_at=snap.computed_at,
        scope=scope,
        series=series,
        rates=figures.rate_chart(series),
        flows=figures.flow_chart(series),
        targets=figures.TARGETS,
        pct=figures.pct,
    )


@bp.cli.command("purge-registry")
@click.option("--apply", is_flag=True, help="Anonymise for real (default: dry run).")
def purge_registry_command(apply: bool) -> None:
    """Anonymise ledger records closed longer ago than REGISTRY_RETENTION_DAYS."""
    result = purging.purge(apply=apply)
    if apply:
        db.session.commit()
        click.echo(
            f"anonymised {result.records} records closed before "
            f"{result.cutoff:%Y-%m-%d} ({result.events} event details cut)"
        )
    else:
        db.session.rollback()
        click.echo(
            f"dry run: {result.records} records closed before {result.cutoff:%Y-%m-%d} "
            "would be anonymised; run with --apply to do it"
        )
