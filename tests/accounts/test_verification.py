"""Identity verification: submit, approve, reject, conflict, revoke, expire, uploads."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image
from sqlalchemy import select, update

from portal.accounts import services as svc
from portal.accounts.models import (
    IdentityVerification,
    OrganisationVerification,
    User,
    VerificationStatus,
)
from portal.db import db
from portal.notifications.models import Notification
from portal.security.models import AuditEntry
from tests.conftest import login, valid_id

ID1 = valid_id("11010519491231002")
ID2 = valid_id("44052419800101001")


def _png(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _submit(client, id_number=ID1, photo=None, **extra):
    data = {"real_name": "张三", "id_number": id_number, "phone": "13800138000", "consent": "y"}
    data.update(extra)
    if photo is not None:
        data["photo"] = photo
    return client.post("/account/verify", data=data, content_type="multipart/form-data")


def _latest(app, user_id) -> IdentityVerification:
    with app.app_context():
        return db.session.scalars(
            select(IdentityVerification)
            .where(IdentityVerification.user_id == user_id)
            .order_by(IdentityVerification.id.desc())
        ).first()


def test_submit_then_officer_approves(client, app, world):
    login(client, "resident@example.com")
    resp = _submit(client, photo=(io.BytesIO(_png()), "id.png"))
    assert resp.status_code == 302
    v = _latest(app, world["resident"])
    assert v.status == VerificationStatus.PENDING and v.photo_filename
    assert "待审核" in client.get("/account").get_data(as_text=True)
    # The photo lives outside static/ under a server-made name.
    assert not v.photo_filename.startswith("id") and "static" not in app.config["UPLOAD_DIR"]

    officer = app.test_client()
    login(officer, "officer@example.com")
    queue = officer.get("/backoffice/verifications").get_data(as_text=True)
    assert "张*" in queue and "110105********" + ID1[-4:] in queue
    assert officer.get(f"/backoffice/verifications/{v.id}/photo").status_code == 200
    resp = officer.post(f"/backoffice/verifications/{v.id}/approve", data={"reason": ""})
    assert resp.status_code == 302
    v = _latest(app, world["resident"])
    assert v.status == VerificationStatus.APPROVED and v.expires_at is not None
    page = client.get("/account").get_data(as_text=True)
    assert 'data-testid="verified-badge"' in page
    with app.app_context():
        assert (
            db.session.scalars(
                select(Notification).where(Notification.user_id == world["resident"])
            )
            .first()
            .title
            == "实名认证已通过"
        )
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert "verification.approve" in actions and "pii.view_photo" in actions


def test_reject_needs_a_reason_and_resident_sees_it(client, app, world):
    login(client, "resident@example.com")
    _submit(client)
    v = _latest(app, world["resident"])
    officer = app.test_client()
    login(officer, "officer@example.com")
    resp = officer.post(f"/backoffice/verifications/{v.id}/reject", data={"reason": ""})
    assert resp.status_code == 422 and "请填写理由" in resp.get_data(as_text=True)
    assert _latest(app, world["resident"]).status == VerificationStatus.PENDING
    officer.post(f"/backoffice/verifications/{v.id}/reject", data={"reason": "照片模糊"})
    assert _latest(app, world["resident"]).status == VerificationStatus.REJECTED
    page = client.get("/account").get_data(as_text=True)
    assert "照片模糊" in page and "申请实名认证" in page  # may apply again
    assert _submit(client).status_code == 302


def test_second_account_with_same_id_goes_to_officer_as_conflict(client, app, make, world):
    holder = make.user("resident", world["community"], login="holder@example.com", name="原持有人")
    make.verification(holder, ID1, status="approved")
    login(client, "resident@example.com")
    assert _submit(client, id_number=ID1).status_code == 302  # not refused at the door
    v = _latest(app, world["resident"])
    assert v.conflict_user_id == holder
    officer = app.test_client()
    login(officer, "officer@example.com")
    assert "身份证号冲突" in officer.get("/backoffice/verifications").get_data(as_text=True)
    detail = officer.get(f"/backoffice/verifications/{v.id}").get_data(as_text=True)
    assert "原持有人" in detail
    resp = officer.post(f"/backoffice/verifications/{v.id}/approve", data={})
    assert resp.status_code == 409
    assert "该身份证号已属于另一个账户" in resp.get_data(as_text=True)
    assert _latest(app, world["resident"]).status == VerificationStatus.PENDING


def test_database_refuses_two_approvals_of_one_id(app, make, world):
    a = make.user("resident", world["community"])
    b = make.user("resident", world["community"])
    make.verification(a, ID2, status="approved")
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        make.verification(b, ID2, status="approved")


def test_revoke_and_expiry(client, app, make, world):
    vid = make.verification(world["resident"], ID1, status="approved")
    officer = app.test_client()
    login(officer, "officer@example.com")
    resp = officer.post(f"/backoffice/verifications/{vid}/revoke", data={"reason": "冒用他人身份"})
    assert resp.status_code == 302
    assert _latest(app, world["resident"]).status == VerificationStatus.REVOKED
    with app.test_request_context():
        assert not svc.is_verified(db.session.get(User, world["resident"]))

    vid2 = make.verification(world["resident"], ID1, status="approved")
    with app.test_request_context():
        db.session.execute(
            update(IdentityVerification)
            .where(IdentityVerification.id == vid2)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
        db.session.commit()
        assert not svc.is_verified(db.session.get(User, world["resident"]))
        assert svc.expire_verifications() == 1
        assert svc.expire_verifications() == 0  # a second run finds nothing to do
        assert db.session.get(IdentityVerification, vid2).status == VerificationStatus.EXPIRED


def test_officer_of_another_community_cannot_see_or_decide(client, app, world):
    login(client, "resident@example.com")
    _submit(client)
    v = _latest(app, world["resident"])
    other = app.test_client()
    login(other, "officer2@example.com")
    assert "张*" not in other.get("/backoffice/verifications").get_data(as_text=True)
    assert other.get(f"/backoffice/verifications/{v.id}").status_code == 403
    assert other.post(f"/backoffice/verifications/{v.id}/approve", data={}).status_code == 403
    assert _latest(app, world["resident"]).status == VerificationStatus.PENDING


def test_bad_id_numbers_refused_with_message_and_text_kept(client, app, world):
    login(client, "resident@example.com")
    bad = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    for number, message in [
        (bad, "校验"),
        ("11010519491231", "18 位"),
        ("99010519491231002X", ""),
        ("<script>alert(1)</script>", ""),
    ]:
        resp = _submit(client, id_number=number)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, number
        assert message in html
        assert "<script>alert(1)</script>" not in html
        assert 'value="张三"' in html
    assert _latest(app, world["resident"]) is None


def test_uploads_checked_by_content(client, app, world):
    login(client, "resident@example.com")
    cases = [
        (b"%PDF-1.4 not an image", "id.png", "只接受 JPEG 或 PNG 图片"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "id.png", "图片已损坏"),
        (b"GIF89a" + b"\x00" * 40, "id.jpg", "只接受 JPEG 或 PNG 图片"),
        (b"", "empty.png", ""),
    ]
    for data, name, message in cases:
        resp = _submit(client, photo=(io.BytesIO(data), name))
        if data:
            assert resp.status_code == 422, name
            assert message in resp.get_data(as_text=True)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024 + 10)
    resp = _submit(client, photo=(io.BytesIO(big), "big.png"))
    assert resp.status_code in (413, 422)
    assert "太大" in resp.get_data(as_text=True)
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (7 * 1024 * 1024)
    resp = _submit(client, photo=(io.BytesIO(huge), "huge.png"))
    assert resp.status_code == 413 and "上传的文件太大" in resp.get_data(as_text=True)
    # Only the empty-photo case (photo is optional) may have created a verification.
    with app.app_context():
        assert db.session.scalars(select(IdentityVerification)).all().__len__() <= 1


def test_jpeg_accepted_and_photo_only_for_officers(client, app, world):
    login(client, "resident@example.com")
    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, "JPEG")
    assert _submit(client, photo=(io.BytesIO(buf.getvalue()), "x.jpeg")).status_code == 302
    v = _latest(app, world["resident"])
    assert client.get(f"/backoffice/verifications/{v.id}/photo").status_code == 403
    assert app.test_client().get(f"/backoffice/verifications/{v.id}/photo").status_code == 302


def test_organisation_verification(client, app, make, world):
    from portal.security.idnumbers import credit_code_check_char

    login(client, "resident@example.com")
    resp = client.post(
        "/account/organisation", data={"org_name": "天桥物业", "credit_code": "91350100M000100Y43"}
    )
    assert resp.status_code == 409 and "请先完成个人实名认证" in resp.get_data(as_text=True)
    make.verification(world["resident"], ID1, status="approved")
    resp = client.post(
        "/account/organisation", data={"org_name": "天桥物业", "credit_code": "91350100M000100Y44"}
    )
    assert resp.status_code == 422
    first17 = "9A220302MA0Y12340"  # a letter in the second place is allowed
    code = first17 + credit_code_check_char(first17)
    resp = client.post(
        "/account/organisation", data={"org_name": "天桥物业", "credit_code": code.lower()}
    )
    assert resp.status_code == 302
    officer = app.test_client()
    login(officer, "officer@example.com")
    with app.app_context():
        org = db.session.scalars(select(OrganisationVerification)).one()
        assert org.credit_code == code
    assert officer.post(f"/backoffice/organisations/{org.id}/approve", data={}).status_code == 302
    with app.test_request_context():
        assert svc.has_verified_organisation(db.session.get(User, world["resident"]))
