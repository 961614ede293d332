"""``portal purge-registry``: dry run by default; --apply anonymises only records closed
longer ago than the retention, and the figures stay the same."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.db import db, utcnow
from portal.registry import figures
from portal.registry.models import EventKind, LedgerEvent, MigrantRecord, Tenancy
from tests.conftest import make_test_app
from tests.registry.conftest_ledger import lm  # noqa: F401

YEAR = dt.timedelta(days=365)


def _setup(world, lm):  # noqa: F811
    a = world["community"]
    now = utcnow()
    house = lm.house(a, "天桥路7号")
    old = lm.migrant(
        a,
        name="张老",
        status="closed",
        address="天桥路7号201室",
        house_id=house,
        created=now - 5 * YEAR,
        closed=now - 4 * YEAR,
    )
    recent = lm.migrant(a, name="李近", status="closed", created=now - 2 * YEAR, closed=now - YEAR)
    rejected_old = lm.migrant(
        a, name="王拒", status="rejected", created=now - 5 * YEAR, reviewed=now - 4 * YEAR
    )
    current = lm.migrant(a, name="赵在", created=now - 5 * YEAR)
    lm.tenancy(house, old, "2020-01-01", "2021-01-01")
    lm.event(
        a,
        "address_changed",
        now - 4 * YEAR,
        migrant_id=old,
        detail={"address": ["天桥路1号", "天桥路7号201室"], "status": "confirmed"},
    )
    return {"old": old, "recent": recent, "rejected_old": rejected_old, "current": current}


def _snapshot(app):
    with app.app_context():
        rows = db.session.execute(
            select(
                MigrantRecord.id,
                MigrantRecord.name,
                MigrantRecord.id_hash,
                MigrantRecord.phone_hash,
                MigrantRecord.address,
                MigrantRecord.status,
                MigrantRecord.anonymised_at,
            ).order_by(MigrantRecord.id)
        ).all()
        events = db.session.scalar(select(func.count(LedgerEvent.id)))
        now = figures.current()[figures.STATION]
        months = [
            (f.known, f.registered, f.moved_out) for f in figures.monthly()[figures.STATION].months
        ]
        return [tuple(r) for r in rows], events, now.as_dict(), months


def test_dry_run_changes_nothing(app, world, lm):  # noqa: F811
    _setup(world, lm)
    before = _snapshot(app)
    result = app.test_cli_runner().invoke(args=["purge-registry"])
    assert result.exit_code == 0, result.output
    assert "dry run: 2 records" in result.output and "--apply" in result.output
    assert _snapshot(app) == before


def test_apply_anonymises_only_old_closed_records(app, world, lm):  # noqa: F811
    ids = _setup(world, lm)
    before_rows, before_events, before_now, before_months = _snapshot(app)
    result = app.test_cli_runner().invoke(args=["purge-registry", "--apply"])
    assert result.exit_code == 0, result.output
    assert "anonymised 2 records" in result.output
    rows, events, now, months = _snapshot(app)
    assert now == before_now and months == before_months  # the figures stay right
    assert events == before_events + 2  # one ANONYMISED event each
    by_id = {r[0]: r for r in rows}
    before = {r[0]: r for r in before_rows}
    for key in ("old", "rejected_old"):
        _id, name, id_hash, phone_hash, address, status, anonymised_at = by_id[ids[key]]
        assert name == "已匿名" and id_hash is None and phone_hash is None
        assert address == "天桥社区" and anonymised_at is not None
        assert status == before[ids[key]][5]  # the status (and so the counts) are kept
    for key in ("recent", "current"):
        assert by_id[ids[key]] == before[ids[key]]
    with app.app_context():
        old = db.session.get(MigrantRecord, ids["old"])
        assert old.id_number is None and old.phone is None and old.workplace == ""
        details = {
            e.kind: e.detail
            for e in db.session.scalars(
                select(LedgerEvent).where(LedgerEvent.migrant_id == ids["old"])
            )
        }
        assert details[EventKind.ADDRESS_CHANGED] == {"status": "confirmed"}
        assert EventKind.ANONYMISED in details
        tenancy = db.session.scalar(select(Tenancy).where(Tenancy.migrant_id == ids["old"]))
        assert tenancy.end_date == dt.date(2021, 1, 1)  # the history stays
    # A second run finds nothing more.
    again = app.test_cli_runner().invoke(args=["purge-registry", "--apply"])
    assert "anonymised 0 records" in again.output


def test_retention_is_configurable(database_url, tmp_path, world, lm):  # noqa: F811
    ids = _setup(world, lm)
    short = make_test_app(database_url, tmp_path / "i2", REGISTRY_RETENTION_DAYS=200)
    result = short.test_cli_runner().invoke(args=["purge-registry", "--apply"])
    assert "anonymised 3 records" in result.output
    with short.app_context():
        assert db.session.get(MigrantRecord, ids["recent"]).name == "已匿名"
        assert db.session.get(MigrantRecord, ids["current"]).name == "赵在"
    short.extensions["portal.engine"].dispose()


def test_anonymised_record_in_ledger_and_export(app, client, world, lm):  # noqa: F811
    from tests.conftest import login

    ids = _setup(world, lm)
    app.test_cli_runner().invoke(args=["purge-registry", "--apply"])
    login(client, "officer@example.com")
    html = client.get("/backoffice/registry/ledger?status=closed").get_data(as_text=True)
    assert "已匿名" in html and "李*" in html  # still searchable, still counted
    page = client.get(f"/backoffice/registry/migrants/{ids['old']}").get_data(as_text=True)
    assert "已匿名" in page and "查看完整信息" not in page
    assert client.post(f"/backoffice/registry/migrants/{ids['old']}/reveal/name").status_code == 404
