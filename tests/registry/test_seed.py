"""The demo ledger: seeded once with the rest of the demo data, and idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.db import db
from portal.registry.models import (
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
    Tenancy,
)


def test_demo_ledger(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        statuses = [r.status for r in db.session.scalars(select(MigrantRecord))]
        assert statuses.count(RecordStatus.CONFIRMED) == 3
        assert statuses.count(RecordStatus.PENDING) == 2
        house = db.session.scalar(select(RentalHouse))
        assert house.pledge_signed_at is not None
        assert db.session.scalar(select(func.count()).select_from(Tenancy)) == 1
        permit = db.session.scalar(select(ResidencePermit))
        assert permit.status == PermitStatus.ACCEPTED
    client = app.test_client()
    client.post("/login", data={"login": "resident@demo.local", "password": "demo-pass-2026"})
    assert "已受理" in client.get("/registry").get_data(as_text=True)
