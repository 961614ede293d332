"""Signed agreements feed the ledger: house, pledge, tenancy and a pending record for a
migrant tenant or employee, in the signing transaction; local people are not recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.db import db
from portal.registry import services as svc
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    RentalHouse,
    Source,
    Tenancy,
)
from portal.security.pii import id_index
from tests.registry.conftest import MIGRANT_ID, sign_job, sign_rental


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_rental_agreement_makes_house_tenancy_and_pending_migrant(ctx, board):
    ag = sign_rental(board)
    house = db.session.scalar(select(RentalHouse))
    assert house is not None
    assert house.address == "天桥社区 3 号楼 2 单元 101" and house.rooms == 2
    assert house.landlord_id == board["landlord"] and house.community_id == board["community"]
    assert house.pledge_signed_at is not None and house.pledge_agreement_id == ag.id
    tenancy = db.session.scalar(select(Tenancy))
    assert tenancy.house_id == house.id and tenancy.tenant_user_id == board["seekers"][0]
    assert tenancy.agreement_id == ag.id and tenancy.end_date is None
    assert tenancy.start_date == svc.local_date(ag.signed_at)
    record = db.session.scalar(select(MigrantRecord))
    assert record.status == RecordStatus.PENDING and record.source == Source.RENTAL_AGREEMENT
    assert record.source_ref == ag.id and tenancy.migrant_id == record.id
    assert record.name == "孙小明" and record.id_number == MIGRANT_ID
    assert record.id_hash == id_index(MIGRANT_ID) and record.region == "110105"
    assert record.house_id == house.id and record.address == house.address
    kinds = {e.kind for e in db.session.scalars(select(LedgerEvent))}
    assert kinds == {EventKind.PLEDGE_SIGNED, EventKind.SUBMITTED}
    assert all(
        e.community_id == board["community"] for e in db.session.scalars(select(LedgerEvent))
    )
    # Nothing of the plain ID number in any event.
    for e in db.session.scalars(select(LedgerEvent)):
        assert MIGRANT_ID not in str(e.detail)


def test_second_agreement_reuses_the_house_and_keeps_the_pledge(ctx, board):
    first = sign_rental(board)
    sign_rental(board, seeker_index=0, title="天桥社区两室一厅再次出租")
    assert _count(RentalHouse) == 1
    house = db.session.scalar(select(RentalHouse))
    assert house.pledge_agreement_id == first.id
    assert _count(Tenancy) == 2
    pledges = db.session.scalar(
        select(func.count())
        .select_from(LedgerEvent)
        .where(LedgerEvent.kind == EventKind.PLEDGE_SIGNED)
    )
    assert pledges == 1


def test_local_tenant_is_not_a_migrant(ctx, people):
    sign_rental(people, seeker_index=1)  # verified with a 220302 ID number
    assert _count(Tenancy) == 1 and _count(RentalHouse) == 1
    assert _count(MigrantRecord) == 0
    tenancy = db.session.scalar(select(Tenancy))
    assert tenancy.migrant_id is None


def test_job_agreement_gives_a_pending_record_with_the_workplace(ctx, board):
    ag = sign_job(board)
    record = db.session.scalar(select(MigrantRecord))
    assert record.source == Source.JOB_AGREEMENT and record.source_ref == ag.id
    assert record.workplace.startswith("测试公司") and "天桥社区物业办公室" in record.workplace
    assert record.employer_id == board["employer"]
    assert record.address == "天桥社区物业办公室"  # housing provided
    assert _count(RentalHouse) == 0


def test_a_failed_signing_leaves_no_ledger_rows(app, board):
    from portal.jobs_housing import agreements

    def boom(_agreement):
        raise RuntimeError("later hook fails")

    agreements.on_agreement_signed(boom)
    try:
        with app.test_request_context():
            try:
                sign_rental(board)
            except RuntimeError:
                db.session.rollback()
            assert _count(MigrantRecord) == 0 and _count(RentalHouse) == 0
    finally:
        agreements._hooks.remove(boom)


def test_the_officer_reaches_the_agreement_from_the_record(app, client, board):
    from tests.conftest import login

    with app.test_request_context():
        ag = sign_rental(board)
        db.session.commit()
        rid, agid = db.session.scalar(select(MigrantRecord.id)), ag.id
    login(client, "officer@example.com")
    page = client.get(f"/backoffice/registry/records/{rid}").get_data(as_text=True)
    assert f"/board/agreements/{agid}" in page
    assert "治安责任保证书" in client.get(f"/board/agreements/{agid}").get_data(as_text=True)


def test_a_verification_expiring_before_the_last_signature_still_names_the_tenant(ctx, board):
    from portal.accounts.models import IdentityVerification, VerificationStatus
    from portal.jobs_housing import agreements
    from portal.jobs_housing import services as board_svc
    from portal.jobs_housing.models import Kind
    from tests.conftest import PASSWORD
    from tests.jobs_housing.conftest import RENTAL
    from tests.registry.conftest import u

    landlord, seeker = u(board["landlord"]), u(board["seekers"][0])
    listing = board_svc.create_listing(
        landlord, Kind.RENTAL, RENTAL, community_id=board["community"], owner_declared=True
    )
    board_svc.submit(landlord, listing)
    board_svc.approve(u(board["officer"]), listing)
    application = board_svc.apply(seeker, listing, "您好")
    board_svc.decide_application(landlord, application, True)
    ag = agreements.start_agreement(landlord, application)
    agreements.confirm(landlord, ag, PASSWORD)
    v = db.session.scalar(
        select(IdentityVerification).where(IdentityVerification.user_id == seeker.id)
    )
    v.status = VerificationStatus.EXPIRED
    db.session.flush()
    agreements.confirm(seeker, ag, PASSWORD)
    record = db.session.scalar(select(MigrantRecord))
    assert record is not None and record.name == "孙小明"
