"""Officer tools: the public profile with photo, walk-in registration, community admin."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from portal.accounts.models import IdentityVerification, User, VerificationStatus
from portal.communities.models import Community, OfficerProfile
from portal.db import db
from portal.security.models import AuditEntry
from tests.conftest import login, make_test_app, valid_id


def _jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (1200, 900), (10, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_officer_profile_photo_is_reencoded_and_public(client, app, world):
    login(client, "officer@example.com")
    data = _jpeg_with_exif()
    assert b"SecretCameraMaker" in data
    resp = client.post(
        "/backoffice/profile",
        data={
            "title": "社区民警",
            "office_hours": "周一至周五 9:00–17:00",
            "contact": "0434-3200110",
            "bio": "",
            "photo": (io.BytesIO(data), "me.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    page = app.test_client().get("/c/c1").get_data(as_text=True)
    assert "周一至周五 9:00–17:00" in page and f"/officers/{world['officer']}/photo" in page
    photo = app.test_client().get(f"/officers/{world['officer']}/photo")
    assert photo.status_code == 200 and b"SecretCameraMaker" not in photo.data
    assert max(Image.open(io.BytesIO(photo.data)).size) <= 512


def test_profile_bad_input_keeps_text(client, world):
    login(client, "officer@example.com")
    resp = client.post(
        "/backoffice/profile",
        data={
            "title": "",
            "office_hours": "保留我",
            "contact": "",
            "bio": "",
            "photo": (io.BytesIO(b"not an image"), "x.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请输入职务" in html and "保留我" in html


def test_walk_in_registration_is_verified_and_audited(client, app, world):
    login(client, "officer@example.com")
    number = valid_id("22030219500101001")
    resp = client.post(
        "/backoffice/walk-in",
        data={
            "display_name": "张大爷",
            "real_name": "张德明",
            "id_number": number,
            "community_id": world["community"],
            "checked": "y",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.display_name == "张大爷"))
        assert user.email is None and user.phone is None and user.password_hash is None
        v = db.session.scalar(
            select(IdentityVerification).where(IdentityVerification.user_id == user.id)
        )
        assert v.status == VerificationStatus.APPROVED and v.decided_by_id == world["officer"]
        assert "verification.walk_in" in db.session.scalars(select(AuditEntry.action)).all()
    # The same ID number again is a conflict for the officer, not a second account.
    resp = client.post(
        "/backoffice/walk-in",
        data={
            "display_name": "重复",
            "real_name": "张德明",
            "id_number": number,
            "community_id": world["community"],
            "checked": "y",
        },
    )
    assert resp.status_code == 409 and "张大爷" in resp.get_data(as_text=True)
    # An officer cannot register into a community they do not serve.
    resp = client.post(
        "/backoffice/walk-in",
        data={
            "display_name": "别处",
            "real_name": "王五",
            "id_number": valid_id("22030219600101001"),
            "community_id": world["other_community"],
            "checked": "y",
        },
    )
    assert resp.status_code == 422


def test_admin_adds_community_and_assigns_officers(client, app, world):
    login(client, "admin@example.com")
    resp = client.post("/backoffice/communities", data={"name": "新华社区", "slug": "xinhua"})
    assert resp.status_code == 302
    resp = client.post("/backoffice/communities", data={"name": "新华社区", "slug": "xinhua2"})
    assert resp.status_code == 409 and "已有同名社区" in resp.get_data(as_text=True)
    resp = client.post("/backoffice/communities", data={"name": "坏网址", "slug": "有 空格"})
    assert resp.status_code == 422
    with app.app_context():
        cid = db.session.scalar(select(Community.id).where(Community.slug == "xinhua"))
    client.post(
        f"/backoffice/communities/{cid}/officers",
        data={"officer_ids": [str(world["officer"]), str(world["other_officer"]), "abc"]},
    )
    page = app.test_client().get("/c/xinhua").get_data(as_text=True)
    assert "王警官" in page and "刘警官" in page


def test_proxy_fix_gives_client_address_to_audit(database_url, tmp_path, world):
    app = make_test_app(database_url, tmp_path / "proxy", PROXY_COUNT=1)
    client = app.test_client()
    client.post(
        "/login",
        data={"login": "officer@example.com", "password": "correct horse battery"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    client.post("/backoffice/status", data={"status": "patrol"})
    with app.app_context():
        from portal.accounts.models import UserSession

        assert db.session.scalars(select(UserSession.ip_address)).all() == ["203.0.113.7"]
        assert db.session.get(OfficerProfile, world["officer"]).status.value == "patrol"
