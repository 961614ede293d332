"""The board through its pages, the API and the CLI."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from portal.db import db
from portal.jobs_housing.models import Application, Listing, ListingPhoto, ListingStatus
from portal.security.models import AuditEntry
from tests.conftest import login


def _form(**extra):
    data = {
        "community_id": "1",
        "title": "天桥社区两室一厅出租",
        "description": "南北通透。",
        "address": "天桥社区 3 号楼 101",
        "rooms": "2",
        "area": "68",
        "rent": "1200",
        "deposit_months": "1",
        "contact_pref": "平台留言",
        "owner_declared": "y",
    }
    data.update(extra)
    return data


def _jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (2000, 1500), (10, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def _post_rental(client) -> int:
    login(client, "landlord@example.com")
    resp = client.post("/board/new/rental", data=_form())
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.location.rstrip("/").split("/")[-2])


def test_full_flow_through_pages(app, client, board):
    lid = _post_rental(client)
    resp = client.post(
        f"/board/{lid}/photos",
        data={"photo": (io.BytesIO(_jpeg_with_exif()), "room.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert client.post(f"/board/{lid}/do/submit").status_code == 302
    anon = app.test_client()
    assert anon.get(f"/board/{lid}").status_code == 404  # not public before review
    with app.app_context():
        pid = db.session.scalar(select(ListingPhoto.id))
    assert anon.get(f"/board/photos/{pid}").status_code == 404

    officer = app.test_client()
    login(officer, "officer@example.com")
    assert "天桥社区两室一厅出租" in officer.get("/backoffice/listings").get_data(as_text=True)
    assert "待审核的租房招工信息" in officer.get("/backoffice/").get_data(as_text=True)
    assert (
        officer.post(f"/backoffice/listings/{lid}", data={"action": "approve"}).status_code == 302
    )

    page = anon.get("/board?kind=rental&min=1000&max=1500&rooms=2").get_data(as_text=True)
    assert "本平台免费，不收取任何中介费用" in page and "天桥社区两室一厅出租" in page
    assert "天桥社区两室一厅出租" not in anon.get("/board?max=1000").get_data(as_text=True)
    photo = anon.get(f"/board/photos/{pid}")
    assert photo.status_code == 200 and b"SecretCameraMaker" not in photo.data
    assert max(Image.open(io.BytesIO(photo.data)).size) <= 1280

    seeker = app.test_client()
    login(seeker, "seeker0@example.com")
    assert seeker.post(f"/board/{lid}/apply", data={"message": "想看房"}).status_code == 302
    with app.app_context():
        aid = db.session.scalar(select(Application.id))
    apps_page = client.get(f"/board/{lid}/applications").get_data(as_text=True)
    assert "求**" in apps_page and "已实名认证" in apps_page and "13800000001" not in apps_page
    assert client.post(f"/board/applications/{aid}/accept").status_code == 302
    assert seeker.post(f"/board/applications/{aid}/accept").status_code == 403
    assert "13904340001" not in seeker.get("/board/applications").get_data(as_text=True)
    assert seeker.post(f"/board/applications/{aid}/consent").status_code == 302
    assert "13904340001" in seeker.get("/board/applications").get_data(as_text=True)
    assert "13800000001" in client.get(f"/board/{lid}/applications").get_data(as_text=True)


def test_unverified_user_sees_why_and_cannot_post(client, board):
    login(client, "seeker1@example.com")
    resp = client.get("/board/new/rental")
    assert resp.status_code == 200 and "需要先完成实名认证" in resp.get_data(as_text=True)
    assert client.post("/board/new/rental", data=_form()).status_code == 200


def test_landlord_without_organisation_cannot_post_jobs(client, board):
    login(client, "landlord@example.com")
    assert "单位认证" in client.get("/board/new/job").get_data(as_text=True)


def test_bad_input_is_refused(client, board):
    login(client, "landlord@example.com")
    for bad in (
        {"rent": "-5"},
        {"rent": "99999999"},
        {"area": "1"},
        {"available_from": "2000-01-01"},
        {"title": ""},
        {"description": "x" * 3000},
    ):
        resp = client.post("/board/new/rental", data=_form(**bad))
        assert resp.status_code == 422, bad
    lid = _post_rental(client)
    resp = client.post(
        f"/board/{lid}/photos",
        data={"photo": (io.BytesIO(b"GIF89a not an image"), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303


def test_other_officer_cannot_moderate(app, client, board):
    lid = _post_rental(client)
    client.post(f"/board/{lid}/do/submit")
    other = app.test_client()
    login(other, "officer2@example.com")
    assert other.get(f"/backoffice/listings/{lid}").status_code == 403
    assert other.post(f"/backoffice/listings/{lid}", data={"action": "approve"}).status_code == 403
    assert "天桥社区两室一厅出租" not in other.get("/backoffice/listings").get_data(as_text=True)


def test_review_page_shows_hints_and_reject_is_audited(app, client, board):
    login(client, "landlord@example.com")
    resp = client.post(
        "/board/new/rental", data=_form(description="押金另收保证金，加微信 wxid_abcdef")
    )
    lid = int(resp.location.rstrip("/").split("/")[-2])
    client.post(f"/board/{lid}/do/submit")
    officer = app.test_client()
    login(officer, "officer@example.com")
    page = officer.get(f"/backoffice/listings/{lid}").get_data(as_text=True)
    assert "保证金" in page and "微信号" in page
    assert (
        officer.post(
            f"/backoffice/listings/{lid}", data={"action": "reject", "note": ""}
        ).status_code
        == 303
    )
    assert (
        officer.post(
            f"/backoffice/listings/{lid}", data={"action": "reject", "note": "收取押金违规"}
        ).status_code
        == 302
    )
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "listing.reject"))
        assert (
            entry.detail["reason"] == "收取押金违规" and entry.subject_user_id == board["landlord"]
        )
        assert db.session.get(Listing, lid).status == ListingStatus.REJECTED


def test_api_search_create_and_apply(app, client, board):
    anon = app.test_client()
    body = anon.get("/api/v1/listings").get_json()
    assert body["total"] == 0 and body["notice"] == "本平台免费，不收取任何中介费用"
    unverified = app.test_client()
    login(unverified, "seeker1@example.com")
    resp = unverified.post("/api/v1/listings/rental", json={**_form(), "owner_declared": True})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_verified"
    login(client, "landlord@example.com")
    resp = client.post("/api/v1/listings/rental", json={**_form(rent="10"), "owner_declared": True})
    assert resp.status_code == 422 and "rent" in resp.get_json()["error"]["fields"]
    resp = client.post("/api/v1/listings/rental", json={**_form(), "owner_declared": True})
    assert resp.status_code == 201
    lid = resp.get_json()["id"]
    assert client.post(f"/api/v1/listings/{lid}/submit", json={}).get_json()["status"] == "pending"
    officer = app.test_client()
    login(officer, "officer@example.com")
    officer.post(f"/backoffice/listings/{lid}", data={"action": "approve"})
    items = anon.get("/api/v1/listings?kind=rental&sort=price").get_json()["items"]
    assert [i["id"] for i in items] == [lid] and items[0]["poster"] == "赵**"
    assert anon.get(f"/api/v1/listings/{lid}").status_code == 200
    mine = client.get("/api/v1/listings/mine").get_json()
    assert mine["items"][0]["status"] == "published"
    seeker = app.test_client()
    login(seeker, "seeker2@example.com")
    resp = seeker.post(f"/api/v1/listings/{lid}/apply", json={"message": "你好"})
    assert resp.status_code == 201 and resp.get_json()["phone"] is None
    apps = client.get(f"/api/v1/applications?listing={lid}").get_json()["items"]
    assert apps[0]["seeker_verified"] is False
    assert (
        seeker.post(f"/api/v1/listings/{lid}/report", json={"reason": "fraud"}).status_code == 201
    )
    assert (
        seeker.post(f"/api/v1/listings/{lid}/report", json={"reason": "fraud"}).status_code == 409
    )
    spec = anon.get("/api/v1/openapi.json").get_json()
    tags = {op.get("tags", [None])[0] for path in spec["paths"].values() for op in path.values()}
    assert "jobs_housing" in tags
    body = spec["paths"]["/api/v1/applications/{aid}/agreement"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["properties"]["start_date"]["format"] == "date"
    assert "start_date" not in schema.get("required", [])  # optional in the API


def test_expire_listings_cli(app, board):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["expire-listings"])
    assert result.exit_code == 0 and "0 listings" in result.output


def test_demo_seed_has_published_pending_and_an_application(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        statuses = sorted(s.value for s in db.session.scalars(select(Listing.status)))
        assert statuses == ["pending", "published", "published"]
        assert db.session.scalar(select(Application.id)) is not None
    page = app.test_client().get("/board").get_data(as_text=True)
    assert "天桥社区两室一厅整租" in page and "物业保洁员" in page


def test_nul_characters_and_odd_query_args_never_500(app, client, board):
    anon = app.test_client()
    for qs in (
        "q=%00x",
        "min=abc&max=-5",
        "rooms=999999",
        "page=-3",
        "sort=drop",
        "kind=x&community=zz",
    ):
        assert anon.get("/board?" + qs).status_code == 200, qs
        assert anon.get("/api/v1/listings?" + qs).status_code == 200, qs
    login(client, "landlord@example.com")
    resp = client.post(
        "/board/new/rental", data=_form(title="标题\x00带空字符", description="a\x00b")
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Listing.title)) == "标题带空字符"


def test_poster_deletes_a_photo_others_cannot(app, client, board):
    lid = _post_rental(client)
    client.post(
        f"/board/{lid}/photos",
        data={"photo": (io.BytesIO(_jpeg_with_exif()), "room.jpg")},
        content_type="multipart/form-data",
    )
    with app.app_context():
        pid = db.session.scalar(select(ListingPhoto.id))
    other = app.test_client()
    login(other, "seeker0@example.com")
    assert other.post(f"/board/photos/{pid}/delete").status_code == 403
    assert client.get(f"/board/photos/{pid}").status_code == 200
    assert client.post(f"/board/photos/{pid}/delete").status_code == 302
    assert client.get(f"/board/photos/{pid}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ListingPhoto.id)) is None


def _published_rental(app, client) -> int:
    lid = _post_rental(client)
    client.post(f"/board/{lid}/do/submit")
    officer = app.test_client()
    login(officer, "officer@example.com")
    officer.post(f"/backoffice/listings/{lid}", data={"action": "approve"})
    return lid


def test_officer_reported_listings_page_and_actions(app, client, board):
    lid = _published_rental(app, client)
    seeker = app.test_client()
    login(seeker, "seeker0@example.com")
    assert seeker.post(f"/board/{lid}/report", data={"reason": "fraud"}).status_code == 302
    assert seeker.get("/backoffice/listings/reported").status_code == 403

    officer = app.test_client()
    login(officer, "officer@example.com")
    page = officer.get("/backoffice/listings/reported").get_data(as_text=True)
    assert "天桥社区两室一厅出租" in page and "疑似诈骗 × 1" in page
    assert 'data-confirm="' in page
    other = app.test_client()
    login(other, "officer2@example.com")
    assert "天桥社区两室一厅出租" not in other.get("/backoffice/listings/reported").get_data(
        as_text=True
    )
    assert (
        other.post(f"/backoffice/listings/{lid}/reports/dismiss", data={"note": "x"}).status_code
        == 403
    )
    assert officer.post(f"/backoffice/listings/{lid}/reports/nonsense").status_code == 404

    # A reason is required; without one nothing changes.
    resp = officer.post(f"/backoffice/listings/{lid}/reports/dismiss", data={"note": " "})
    assert resp.status_code == 303
    assert "天桥社区两室一厅出租" in officer.get("/backoffice/listings/reported").get_data(
        as_text=True
    )
    resp = officer.post(f"/backoffice/listings/{lid}/reports/dismiss", data={"note": "已核实"})
    assert resp.status_code == 302
    assert "天桥社区两室一厅出租" not in officer.get("/backoffice/listings/reported").get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Listing, lid).live

    second = app.test_client()
    login(second, "seeker1@example.com")
    second.post(f"/board/{lid}/report", data={"reason": "fee", "note": "要收中介费"})
    resp = officer.post(f"/backoffice/listings/{lid}/reports/suspend", data={"note": "核查收费"})
    assert resp.status_code == 302 and resp.location.endswith(f"/backoffice/listings/{lid}")
    with app.app_context():
        listing = db.session.get(Listing, lid)
        assert not listing.live and listing.status == ListingStatus.PENDING
        assert (
            db.session.scalar(
                select(AuditEntry).where(AuditEntry.action == "listing.suspend")
            ).detail["note"]
            == "核查收费"
        )
    review = officer.get(f"/backoffice/listings/{lid}").get_data(as_text=True)
    assert "要收中介费" in review and 'value="reject"' in review


def test_webp_photo_is_accepted_reencoded_and_served(app, client, board):
    img = Image.new("RGB", (1800, 900), (20, 160, 60))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    buf = io.BytesIO()
    img.save(buf, "WEBP", exif=exif.tobytes())
    lid = _post_rental(client)
    form_page = client.get(f"/board/{lid}/edit").get_data(as_text=True)
    assert "image/webp" in form_page  # the file picker offers WebP
    resp = client.post(
        f"/board/{lid}/photos",
        data={"photo": (io.BytesIO(buf.getvalue()), "room.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    with app.app_context():
        photo = db.session.scalar(select(ListingPhoto))
        assert photo.filename.endswith(".webp")
        pid = photo.id
    served = client.get(f"/board/photos/{pid}")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert b"SecretCameraMaker" not in served.data
    assert Image.open(io.BytesIO(served.data)).size == (1280, 640)
