"""Two officers confirming two pending records of one person at the same moment still
leave one ledger record (the second is merged into the first)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.db import db
from portal.errors import DomainError
from portal.registry import services as svc
from portal.registry.models import MigrantRecord, RecordStatus
from tests.registry.conftest import pending_record


def test_simultaneous_confirmations_make_one_ledger_record(app, world):
    with app.test_request_context():
        ids = [pending_record(world["community"], address=f"{i} 号").id for i in range(4)]
        db.session.commit()
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def decide(record_id: int, officer_id: int) -> None:
        with app.test_request_context():
            try:
                barrier.wait(timeout=10)
                svc.confirm(
                    db.session.get(User, officer_id), db.session.get(MigrantRecord, record_id)
                )
                db.session.commit()
            except DomainError as err:  # pragma: no cover - would be a failure below
                errors.append(err)
                db.session.rollback()
            except BaseException as err:  # noqa: BLE001 - reported by the assertion
                errors.append(err)
                db.session.rollback()

    officers = [world["officer"], world["admin"]]
    threads = [
        threading.Thread(target=decide, args=(rid, officers[i % 2])) for i, rid in enumerate(ids)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with app.app_context():
        statuses = db.session.scalars(select(MigrantRecord.status)).all()
        assert statuses.count(RecordStatus.CONFIRMED) == 1
        assert statuses.count(RecordStatus.MERGED) == 3
        merged_into = db.session.scalar(
            select(func.count(func.distinct(MigrantRecord.merged_into_id))).where(
                MigrantRecord.status == RecordStatus.MERGED
            )
        )
        assert merged_into == 1
