"""Agreements: generated with verified names and masked IDs, confirmed by both sides with
their password, hashed, immutable, and handed to the registry through a hook."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from portal.db import db
from portal.errors import DomainError
from portal.jobs_housing import agreements
from portal.jobs_housing import services as svc
from portal.jobs_housing.models import Agreement, AgreementIsImmutable, AgreementStatus, Kind
from portal.security.models import AuditEntry
from portal.security.pii import mask_id
from tests.conftest import PASSWORD, login, valid_id
from tests.jobs_housing.conftest import JOB
from tests.jobs_housing.test_services import published, u


def _accepted(board, seeker_index=0):
    listing = published(board)
    a = svc.apply(u(board["seekers"][seeker_index]), listing, "想租")
    svc.decide_application(u(board["landlord"]), a, True)
    return listing, a


def test_agreement_text_hash_and_signing(ctx, board):
    listing, a = _accepted(board)
    seen = []
    hook = agreements.on_agreement_signed(lambda ag: seen.append(ag.id))
    try:
        ag = agreements.start_agreement(u(board["landlord"]), a)
        assert "赵建国" in ag.text and "孙小明" in ag.text and "治安责任保证书" in ag.text
        number = valid_id("22030219650312003")
        assert number not in ag.text and mask_id(number) in ag.text
        assert ag.text_sha256 == hashlib.sha256(ag.text.encode()).hexdigest()
        with pytest.raises(DomainError):
            agreements.confirm(u(board["landlord"]), ag, "wrong password")
        with pytest.raises(DomainError):
            agreements.confirm(u(board["seekers"][1]), ag, PASSWORD)  # not a party
        with pytest.raises(DomainError):
            agreements.confirm(u(board["landlord"]), ag, PASSWORD, sha="0" * 64)
        agreements.confirm(u(board["landlord"]), ag, PASSWORD)
        assert ag.status == AgreementStatus.AWAITING and seen == []
        with pytest.raises(DomainError):
            agreements.confirm(u(board["landlord"]), ag, PASSWORD)
        agreements.confirm(u(board["seekers"][0]), ag, PASSWORD, sha=ag.text_sha256)
        assert ag.status == AgreementStatus.SIGNED and ag.signed_at is not None
        assert seen == [ag.id]
    finally:
        agreements._hooks.remove(hook)
    signed = agreements.signed_agreements()
    assert [s.id for s in signed] == [ag.id] and signed[0].text_sha256 == ag.text_sha256
    assert signed[0].seeker_user_id == board["seekers"][0]
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"agreement.create", "agreement.confirm", "agreement.signed"} <= actions
    svc.mark_filled(u(board["landlord"]), listing)


def test_agreement_text_cannot_change(ctx, board):
    _listing, a = _accepted(board)
    ag = agreements.start_agreement(u(board["landlord"]), a)
    db.session.commit()
    ag.text = ag.text + "补充条款"
    with pytest.raises(AgreementIsImmutable):
        db.session.flush()
    db.session.rollback()
    ag = db.session.get(Agreement, ag.id)
    agreements.confirm(u(board["landlord"]), ag, PASSWORD)
    agreements.confirm(u(board["seekers"][0]), ag, PASSWORD)
    db.session.commit()
    ag.poster_confirmed_at = None
    with pytest.raises(AgreementIsImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Agreement, ag.id))
    with pytest.raises(AgreementIsImmutable):
        db.session.flush()
    db.session.rollback()


def test_agreement_needs_acceptance_and_verified_seeker(ctx, board):
    listing = published(board)
    a = svc.apply(u(board["seekers"][1]), listing, "hi")  # seeker 1 is not verified
    with pytest.raises(DomainError):
        agreements.start_agreement(u(board["landlord"]), a)  # not accepted yet
    svc.decide_application(u(board["landlord"]), a, True)
    with pytest.raises(DomainError) as err:
        agreements.start_agreement(u(board["landlord"]), a)
    assert err.value.code == "not_verified"
    with pytest.raises(DomainError):
        agreements.start_agreement(u(board["seekers"][1]), a)


def test_employment_agreement(ctx, board):
    job = svc.create_listing(
        u(board["employer"]), Kind.JOB, JOB, community_id=board["community"], owner_declared=False
    )
    svc.submit(u(board["employer"]), job)
    svc.approve(u(board["officer"]), job)
    a = svc.apply(u(board["seekers"][0]), job, "应聘")
    svc.decide_application(u(board["employer"]), a, True)
    ag = agreements.start_agreement(u(board["employer"]), a)
    assert "用工协议" in ag.text and "测试公司" in ag.text and "不得向乙方收取押金" in ag.text


def test_agreement_pages_and_api(app, client, board):
    with app.test_request_context():
        _listing, a = _accepted(board)
        aid = a.id
        db.session.commit()
    login(client, "landlord@example.com")
    start = agreements.local_today() + dt.timedelta(days=10)
    resp = client.post(f"/board/applications/{aid}/agreement", data={"start_date": str(start)})
    assert resp.status_code == 302
    agid = int(resp.location.rstrip("/").split("/")[-1])
    page = client.get(f"/board/agreements/{agid}").get_data(as_text=True)
    assert "治安责任保证书" in page and "jobs_housing.css" in page
    outsider = app.test_client()
    login(outsider, "seeker1@example.com")
    assert outsider.get(f"/board/agreements/{agid}").status_code == 403
    assert outsider.get(f"/api/v1/agreements/{agid}").status_code == 404
    assert (
        client.post(f"/board/agreements/{agid}/confirm", data={"password": "nope"}).status_code
        == 303
    )
    assert (
        client.post(f"/board/agreements/{agid}/confirm", data={"password": PASSWORD}).status_code
        == 302
    )
    seeker = app.test_client()
    login(seeker, "seeker0@example.com")
    body = seeker.get(f"/api/v1/agreements/{agid}").get_json()
    assert body["status"] == "awaiting"
    resp = seeker.post(
        f"/api/v1/agreements/{agid}/confirm", json={"password": PASSWORD, "sha256": body["sha256"]}
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "signed"
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert officer.get(f"/board/agreements/{agid}").status_code == 200


def test_admin_edits_the_template_for_future_agreements(app, client, board):
    login(client, "admin@example.com")
    page = client.get("/backoffice/agreement-templates")
    assert page.status_code == 200 and "治安责任保证书" in page.get_data(as_text=True)
    bad = client.post(
        "/backoffice/agreement-templates", data={"kind": "rental", "body": "无占位符"}
    )
    assert bad.status_code == 409
    body = "新版租赁协议 $poster_name $poster_id $seeker_name $seeker_id 治安责任保证书 $rent"
    ok = client.post("/backoffice/agreement-templates", data={"kind": "rental", "body": body})
    assert ok.status_code == 302
    with app.test_request_context():
        _listing, a = _accepted(board)
        ag = agreements.start_agreement(u(board["landlord"]), a)
        assert ag.text.startswith("新版租赁协议 赵建国") and "1200" in ag.text
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "agreement.template"))
            is not None
        )
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert officer.get("/backoffice/agreement-templates").status_code == 403


def test_seeker_withdraws_before_signing_and_poster_is_told(ctx, board):
    from portal.jobs_housing.models import ApplicationStatus
    from portal.notifications.models import Notification

    listing = published(board)
    seeker = u(board["seekers"][1])
    pending = svc.apply(seeker, listing, "想租")
    with pytest.raises(DomainError):
        svc.withdraw_application(u(board["seekers"][2]), pending)  # not theirs
    svc.withdraw_application(seeker, pending)
    assert pending.status == ApplicationStatus.WITHDRAWN
    with pytest.raises(DomainError):
        svc.withdraw_application(seeker, pending)  # already over
    with pytest.raises(DomainError):
        svc.decide_application(u(board["landlord"]), pending, True)
    told = db.session.scalars(
        select(Notification.title).where(Notification.user_id == board["landlord"])
    ).all()
    assert "申请人撤回了申请" in told
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "listing.application.withdraw")
    )
    assert entry.detail["was"] == "pending"

    # Accepted, agreement drafted but unsigned: withdrawing voids the draft.
    verified = u(board["seekers"][0])
    other = svc.apply(verified, listing, "也想租")
    svc.decide_application(u(board["landlord"]), other, True)
    svc.consent_to_share(verified, other)
    ag = agreements.start_agreement(u(board["landlord"]), other)
    svc.withdraw_application(verified, other)
    assert not other.phones_shared
    with pytest.raises(DomainError):
        agreements.confirm(u(board["landlord"]), ag, PASSWORD)
    assert ag.status == AgreementStatus.AWAITING


def test_withdrawal_refused_once_signed(ctx, board):
    listing, a = _accepted(board)
    ag = agreements.start_agreement(u(board["landlord"]), a)
    agreements.confirm(u(board["landlord"]), ag, PASSWORD)
    agreements.confirm(u(board["seekers"][0]), ag, PASSWORD)
    with pytest.raises(DomainError) as err:
        svc.withdraw_application(u(board["seekers"][0]), a)
    assert "已签署" in err.value.message
    assert a.status.value == "accepted"


def test_withdraw_through_page_and_api(app, client, board):
    from portal.jobs_housing.models import Application

    with app.app_context():
        listing = published(board)
        a = svc.apply(u(board["seekers"][0]), listing, "想租")
        b = svc.apply(u(board["seekers"][1]), listing, "想租")
        db.session.commit()
        aid, bid = a.id, b.id
    login(client, "seeker0@example.com")
    page = client.get("/board/applications").get_data(as_text=True)
    assert "撤回申请" in page and "确定撤回这条申请" in page
    landlord = app.test_client()
    login(landlord, "landlord@example.com")
    assert landlord.post(f"/board/applications/{aid}/withdraw").status_code == 403
    assert client.post(f"/board/applications/{aid}/withdraw").status_code == 302
    assert client.post(f"/board/applications/{aid}/withdraw").status_code == 303  # over
    assert "撤回申请" not in client.get("/board/applications").get_data(as_text=True)
    other = app.test_client()
    login(other, "seeker1@example.com")
    resp = other.post(f"/api/v1/applications/{bid}/withdraw")
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"
    with app.app_context():
        assert db.session.get(Application, aid).status.value == "withdrawn"


def test_start_date_is_checked_stored_and_printed(ctx, board):
    today = agreements.local_today()
    for bad in (None, today - dt.timedelta(days=1), today + dt.timedelta(days=181)):
        with pytest.raises(DomainError) as err:
            agreements.check_start_date(bad)
        assert err.value.field == "start_date"
    assert agreements.check_start_date(today) == today
    assert agreements.check_start_date(today + dt.timedelta(days=180))

    listing, a = _accepted(board)
    with pytest.raises(DomainError):
        agreements.start_agreement(u(board["landlord"]), a, today - dt.timedelta(days=3))
    assert agreements.agreement_for(a) is None  # nothing drafted
    start = today + dt.timedelta(days=14)
    ag = agreements.start_agreement(u(board["landlord"]), a, start)
    assert ag.start_date == start and f"起租日期：{start.isoformat()}" in ag.text
    ag.start_date = today
    with pytest.raises(AgreementIsImmutable):
        db.session.flush()
    db.session.rollback()


def test_signed_agreements_carry_the_start_date(ctx, board):
    listing, a = _accepted(board)
    start = agreements.local_today() + dt.timedelta(days=3)
    ag = agreements.start_agreement(u(board["landlord"]), a, start)
    agreements.confirm(u(board["landlord"]), ag, PASSWORD)
    agreements.confirm(u(board["seekers"][0]), ag, PASSWORD)
    (signed,) = agreements.signed_agreements()
    assert signed.start_date == start and signed.id == ag.id
    # The dataclass still builds without the new field (it is optional, last).
    legacy = agreements.SignedAgreement(
        id=1,
        kind="rental",
        listing_id=1,
        community_id=1,
        poster_user_id=1,
        seeker_user_id=2,
        text_sha256="0" * 64,
        signed_at=ag.signed_at,
    )
    assert legacy.start_date is None


def test_start_date_form_and_api(app, client, board):
    with app.app_context():
        _listing, a = _accepted(board)
        db.session.commit()
        aid = a.id
    today = agreements.local_today()
    login(client, "landlord@example.com")
    page = client.get(f"/board/applications/{aid}/agreement")
    assert page.status_code == 200 and 'type="date"' in page.get_data(as_text=True)
    assert f'value="{today.isoformat()}"' in page.get_data(as_text=True)
    past = str(today - dt.timedelta(days=1))
    resp = client.post(f"/board/applications/{aid}/agreement", data={"start_date": past})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "起始日期不能早于今天" in body and past in body
    resp = client.post(f"/board/applications/{aid}/agreement", data={"start_date": "明天"})
    assert resp.status_code == 422 and "明天" in resp.get_data(as_text=True)
    far = str(today + dt.timedelta(days=200))
    resp = client.post(f"/board/applications/{aid}/agreement", data={"start_date": far})
    assert resp.status_code == 409 and "180" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Agreement.id)) is None
    outsider = app.test_client()
    login(outsider, "seeker1@example.com")
    assert outsider.get(f"/board/applications/{aid}/agreement").status_code == 403

    resp = client.post(f"/api/v1/applications/{aid}/agreement", json={"start_date": past})
    assert resp.status_code == 409 and "start_date" in resp.get_json()["error"]["fields"]
    good = str(today + dt.timedelta(days=7))
    resp = client.post(f"/api/v1/applications/{aid}/agreement", json={"start_date": good})
    assert resp.status_code == 201 and resp.get_json()["start_date"] == good
    assert good in resp.get_json()["text"]
    # Asking again leads to the existing agreement.
    again = client.get(f"/board/applications/{aid}/agreement")
    assert again.status_code == 302 and "/board/agreements/" in again.location


def test_openapi_agreement_body_is_optional(app, client, board):
    """The body of "generate the agreement" may be left out (the listing's suggested
    start date is used), and the OpenAPI document says so; other bodies stay required."""
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1/applications/{aid}/agreement"]["post"]["requestBody"]
    assert body["required"] is False
    schema = body["content"]["application/json"]["schema"]
    assert "start_date" in schema["properties"] and "required" not in schema
    assert doc["paths"]["/api/v1/session"]["post"]["requestBody"]["required"] is True
    with app.app_context():
        listing, a = _accepted(board)
        db.session.commit()
        aid, expected = a.id, str(agreements.suggested_start(listing))
    login(client, "landlord@example.com")
    resp = client.post(f"/api/v1/applications/{aid}/agreement")  # no body at all
    assert resp.status_code == 201 and resp.get_json()["start_date"] == expected
