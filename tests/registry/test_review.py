"""The officers' review: confirm (with its ledger events), merge duplicates instead of
doubling them, correct, reject with a reason, audited reveal, move-out, and the reach of
officers of another community."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.errors import DomainError
from portal.notifications.models import Notification
from portal.registry import services as svc
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    Tenancy,
)
from portal.security.models import AuditEntry
from tests.conftest import login
from tests.registry.conftest import (
    MIGRANT_ID,
    confirmed_record,
    pending_record,
    sign_job,
    sign_rental,
    u,
)


def _events(record_id: int) -> list[LedgerEvent]:
    return list(
        db.session.scalars(
            select(LedgerEvent).where(LedgerEvent.migrant_id == record_id).order_by(LedgerEvent.id)
        )
    )


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action)))


def test_confirm_writes_confirmed_and_moved_in(ctx, world):
    record = pending_record(world["community"], since=dt.date(2026, 3, 1))
    svc.confirm(u(world["officer"]), record)
    assert record.status == RecordStatus.CONFIRMED and record.reviewed_by_id == world["officer"]
    kinds = [e.kind for e in _events(record.id)]
    assert kinds == [EventKind.SUBMITTED, EventKind.CONFIRMED, EventKind.MOVED_IN]
    moved_in = _events(record.id)[-1]
    # 2026-03-01 00:00 in Shanghai is 2026-02-28 16:00 UTC.
    assert moved_in.at.replace(tzinfo=None) == dt.datetime(2026, 2, 28, 16, 0)
    assert moved_in.actor_id == world["officer"]
    assert "registry.confirm" in _actions()
    with pytest.raises(DomainError):
        svc.confirm(u(world["officer"]), record)  # not pending any more


def test_duplicate_is_merged_not_doubled(ctx, world):
    survivor = confirmed_record(world["community"], world["officer"], address="旧地址 1 号")
    again = pending_record(
        world["other_community"],
        address="新地址 9 号",
        workplace="新单位",
        since=dt.date(2026, 6, 1),
    )
    result = svc.confirm(u(world["other_officer"]), again)
    assert result.id == survivor.id
    assert again.status == RecordStatus.MERGED and again.merged_into_id == survivor.id
    assert survivor.status == RecordStatus.CONFIRMED
    assert survivor.address == "新地址 9 号" and survivor.workplace == "新单位"
    assert survivor.community_id == world["other_community"]
    assert survivor.since == dt.date(2026, 1, 5)  # residence goes on
    in_ledger = db.session.scalar(
        select(func.count())
        .select_from(MigrantRecord)
        .where(MigrantRecord.status.in_([RecordStatus.CONFIRMED, RecordStatus.CLOSED]))
    )
    assert in_ledger == 1
    kinds = [e.kind for e in _events(survivor.id)]
    assert EventKind.MERGED in kinds and EventKind.ADDRESS_CHANGED in kinds
    assert EventKind.JOB_CHANGED in kinds
    changed = next(e for e in _events(survivor.id) if e.kind == EventKind.ADDRESS_CHANGED)
    assert changed.detail["address"] == ["旧地址 1 号", "新地址 9 号"]
    assert [e.kind for e in _events(again.id)][-1] == EventKind.MERGED
    assert "registry.merge" in _actions()


def test_merge_reopens_a_closed_record(ctx, board):
    sign_rental(board)
    record = db.session.scalar(select(MigrantRecord))
    svc.confirm(u(board["officer"]), record)
    tenancy = db.session.scalar(select(Tenancy))
    svc.end_tenancy(u(board["officer"]), tenancy, svc.local_today())
    assert record.status == RecordStatus.CLOSED and record.closed_at is not None
    assert record.address  # the closed record keeps its last address
    again = pending_record(board["community"], address="另一处 7 号", since=svc.local_today())
    svc.confirm(u(board["officer"]), again)
    assert record.status == RecordStatus.CONFIRMED and record.closed_at is None
    assert record.since == svc.local_today() and record.address == "另一处 7 号"
    kinds = [e.kind for e in _events(record.id)]
    assert kinds.count(EventKind.MOVED_IN) == 2 and EventKind.CLOSED in kinds


def test_move_out_keeps_a_record_held_by_a_workplace(ctx, board):
    sign_rental(board)
    record = db.session.scalar(select(MigrantRecord))
    svc.confirm(u(board["officer"]), record)
    svc.correct(u(board["officer"]), record, {"workplace": "天桥物业"})
    tenancy = db.session.scalar(select(Tenancy))
    svc.end_tenancy(u(board["seekers"][0]), tenancy)  # the tenant ends it
    assert record.status == RecordStatus.CONFIRMED
    assert record.address == "" and record.house_id is None
    moved = [e for e in _events(record.id) if e.kind == EventKind.MOVED_OUT]
    assert len(moved) == 1 and moved[0].house_id == tenancy.house_id
    assert EventKind.CLOSED not in [e.kind for e in _events(record.id)]
    with pytest.raises(DomainError):
        svc.end_tenancy(u(board["landlord"]), tenancy)  # already ended


def test_only_parties_and_officers_end_a_tenancy(ctx, board):
    sign_rental(board)
    tenancy = db.session.scalar(select(Tenancy))
    for outsider in (board["seekers"][1], board["other_officer"], board["employer"]):
        assert not svc.can_end_tenancy(u(outsider), tenancy)
        with pytest.raises(DomainError):
            svc.end_tenancy(u(outsider), tenancy)
    for allowed in (board["landlord"], board["seekers"][0], board["officer"], board["admin"]):
        assert svc.can_end_tenancy(u(allowed), tenancy)


def test_correct_records_old_and_new_without_full_id(ctx, world):
    from tests.conftest import valid_id

    record = pending_record(world["community"])
    new_id = valid_id("43010219920202003")
    detail = svc.correct(
        u(world["officer"]),
        record,
        {"id_number": new_id, "address": "更正后 3 号", "name": "孙小明"},
    )
    assert set(detail) == {"id_number", "address"}  # the name did not change
    assert record.id_number == new_id and record.region == "430102"
    event = _events(record.id)[-1]
    assert event.kind == EventKind.CORRECTED
    assert new_id not in str(event.detail) and MIGRANT_ID not in str(event.detail)
    assert event.detail["address"][1] == "更正后 3 号"
    with pytest.raises(DomainError) as err:
        svc.correct(u(world["officer"]), record, {"id_number": valid_id("22030219800101002")})
    assert err.value.code == "local"


def test_reject_tells_the_resident(ctx, world):
    record = pending_record(world["community"], user_id=world["resident"])
    with pytest.raises(DomainError):
        svc.reject(u(world["officer"]), record, "  ")
    svc.reject(u(world["officer"]), record, "地址不在本社区")
    assert record.status == RecordStatus.REJECTED and record.reject_reason == "地址不在本社区"
    note = db.session.scalar(select(Notification).where(Notification.user_id == world["resident"]))
    assert note is not None and "地址不在本社区" in note.body
    assert _events(record.id)[-1].detail == {"reason": "地址不在本社区"}


def test_officer_of_another_community_is_refused(ctx, world):
    record = pending_record(world["community"])
    other = u(world["other_officer"])
    for act in (
        lambda: svc.confirm(other, record),
        lambda: svc.reject(other, record, "x"),
        lambda: svc.correct(other, record, {"address": "x"}),
        lambda: svc.reveal(other, record, "id_number"),
    ):
        with pytest.raises(DomainError) as err:
            act()
        assert err.value.code == "forbidden"
    assert record.status == RecordStatus.PENDING
    assert svc.pending_queue(other, 1) == ([], 0)
    assert svc.pending_queue(u(world["admin"]), 1)[1] == 1


def test_pages_refuse_another_community_and_reveal_is_audited(app, client, world):
    with app.test_request_context():
        rid = pending_record(world["community"]).id
        db.session.commit()
    login(client, "officer2@example.com")
    assert client.get(f"/backoffice/registry/records/{rid}").status_code == 403
    assert client.post(f"/backoffice/registry/records/{rid}/confirm").status_code == 403
    assert client.post(f"/api/v1/registry/records/{rid}/confirm", json={}).status_code == 403
    assert "孙" not in client.get("/backoffice/registry/pending").get_data(as_text=True)
    client.post("/logout")
    login(client, "officer@example.com")
    page = client.get(f"/backoffice/registry/records/{rid}").get_data(as_text=True)
    assert MIGRANT_ID not in page and "110105********" in page
    page = client.get("/backoffice/registry/pending").get_data(as_text=True)
    assert "孙*" in page
    resp = client.post(f"/backoffice/registry/records/{rid}/reveal/id_number")
    assert MIGRANT_ID in resp.get_data(as_text=True)
    with app.app_context():
        assert "pii.reveal.id_number" in _actions()
    resp = client.post(f"/backoffice/registry/records/{rid}/confirm")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(MigrantRecord, rid).status == RecordStatus.CONFIRMED


def test_job_then_rental_of_one_person_merge(ctx, board):
    sign_job(board)
    sign_rental(board)
    first, second = db.session.scalars(select(MigrantRecord).order_by(MigrantRecord.id))
    svc.confirm(u(board["officer"]), first)
    svc.confirm(u(board["officer"]), second)
    assert second.status == RecordStatus.MERGED
    assert first.workplace.startswith("测试公司") and first.house_id is not None
    tenancy = db.session.scalar(select(Tenancy))
    assert tenancy.migrant_id == first.id  # the tenancy follows the surviving record


def test_a_workplace_elsewhere_does_not_move_the_record(ctx, world):
    survivor = confirmed_record(world["community"], world["officer"], address="旧地址 1 号")
    job = pending_record(world["other_community"], address="", workplace="铁西工厂")
    svc.confirm(u(world["other_officer"]), job)
    assert survivor.community_id == world["community"] and survivor.address == "旧地址 1 号"
    assert survivor.workplace == "铁西工厂"
    kinds = [e.kind for e in _events(survivor.id)]
    assert EventKind.JOB_CHANGED in kinds and EventKind.ADDRESS_CHANGED not in kinds
    merged = [e for e in _events(survivor.id) if e.kind == EventKind.MERGED]
    assert merged[0].community_id == world["community"]
