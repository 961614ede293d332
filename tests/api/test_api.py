"""JSON API v1: session login with CSRF header, errors, masking, the OpenAPI document."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, make_test_app, valid_id

ID1 = valid_id("11010519491231002")


@pytest.fixture
def csrf_app(database_url, tmp_path, app, world):
    """The same database, with CSRF checks on as in production."""
    return make_test_app(database_url, tmp_path / "csrf", WTF_CSRF_ENABLED=True)


def _token(client) -> str:
    resp = client.get("/api/v1/csrf")
    assert resp.status_code == 200
    return resp.get_json()["csrf_token"]


def test_login_needs_csrf_header_then_works(csrf_app):
    client = csrf_app.test_client()
    resp = client.post(
        "/api/v1/session", json={"login": "resident@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "csrf"
    token = _token(client)
    resp = client.post(
        "/api/v1/session",
        json={"login": "resident@example.com", "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 200
    me = client.get("/api/v1/me").get_json()
    assert me["display_name"] == "孙女士" and me["role"] == "resident" and me["verified"] is False
    # The session was renewed at login: the old token is tied to the old session.
    token = _token(client)
    assert client.delete("/api/v1/session", headers={"X-CSRFToken": token}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_is_json_401_and_throttled(client, world):
    for _ in range(5):
        resp = client.post(
            "/api/v1/session", json={"login": "resident@example.com", "password": "nope-nope"}
        )
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "bad_credentials"
    resp = client.post(
        "/api/v1/session", json={"login": "resident@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 429
    assert "尝试次数过多" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        "not json",
        [],
        {"login": ""},
        {"login": "x" * 500, "password": "y"},
        {"login": {"$ne": 1}, "password": "y"},
    ],
)
def test_bad_bodies_get_json_errors(client, world, body):
    if body is None or isinstance(body, str):
        resp = client.post("/api/v1/session", data=body or "", content_type="application/json")
    else:
        resp = client.post("/api/v1/session", json=body)
    assert resp.status_code in (400, 422)
    err = resp.get_json()["error"]
    assert err["code"] in ("bad_json", "invalid") and err["message"]


def test_register_and_submit_verification_masked(client, world):
    resp = client.post(
        "/api/v1/users",
        json={
            "login": "13912345670",
            "display_name": "接口用户",
            "community_id": world["community"],
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["phone"] == "139****5670"
    resp = client.post(
        "/api/v1/users",
        json={
            "login": "13912345670",
            "display_name": "重复",
            "community_id": world["community"],
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert resp.status_code in (409, 422)
    resp = client.post(
        "/api/v1/verification",
        json={
            "real_name": "张三",
            "id_number": ID1[:-1] + "0" if ID1[-1] != "0" else ID1[:-1] + "1",
            "phone": "13912345670",
            "consent": True,
        },
    )
    assert resp.status_code == 422
    assert "id_number" in resp.get_json()["error"]["fields"]
    resp = client.post(
        "/api/v1/verification",
        json={"real_name": "张三", "id_number": ID1, "phone": "13912345670", "consent": True},
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id_number"] == "110105********" + ID1[-4:] and body["status"] == "pending"
    status = client.get("/api/v1/verification").get_json()
    assert status["identity"]["id_number"] == body["id_number"] and ID1 not in str(status)
    assert (
        client.post(
            "/api/v1/verification",
            json={"real_name": "张三", "id_number": ID1, "phone": "13912345670", "consent": True},
        ).status_code
        == 409
    )


def test_communities_with_officers_and_status(client, world):
    data = client.get("/api/v1/communities").get_json()
    names = [c["name"] for c in data["items"]]
    assert "天桥社区" in names
    tq = next(c for c in data["items"] if c["name"] == "天桥社区")
    assert tq["officers"][0]["name"] == "王警官"
    assert tq["officers"][0]["status"] in ("in_office", "patrol", "visiting", "leave", "off_duty")
    one = client.get(f"/api/v1/communities/{tq['slug']}").get_json()
    assert one["id"] == tq["id"]
    resp = client.get("/api/v1/communities/nope")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_unknown_api_path_is_json_404(client):
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_openapi_document_generated_from_code(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    tags = {t["name"] for t in doc["tags"]}
    assert {"accounts", "communities"} <= tags
    # Every API route except the document itself is described, with its methods.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in doc["paths"], path
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"][path]
    login_op = doc["paths"]["/api/v1/session"]["post"]
    schema = login_op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["login"]["maxLength"] == 254
    assert set(schema["required"]) == {"login", "password"}
    verify = doc["paths"]["/api/v1/verification"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert verify["properties"]["id_number"]["minLength"] == 18
    assert "photo" not in verify["properties"]


def test_openapi_document_validates_as_openapi_31(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())


def test_notifications_api(client, app, world):
    from portal.accounts.models import User
    from portal.db import db
    from portal.notifications.services import notify

    with app.test_request_context():
        for i in range(3):
            notify(db.session.get(User, world["resident"]), f"通知{i}", "")
        db.session.commit()
    client.post("/login", data={"login": "resident@example.com", "password": PASSWORD})
    data = client.get("/api/v1/notifications").get_json()
    assert data["total"] == 3 and data["unread"] == 3 and data["items"][0]["title"] == "通知2"
    first = data["items"][0]["id"]
    assert client.post("/api/v1/notifications/read", json={"id": first}).get_json() == {
        "changed": 1
    }
    assert client.post("/api/v1/notifications/read", json={"id": "x"}).status_code == 422
    assert client.post("/api/v1/notifications/read", json={}).get_json() == {"changed": 2}
    assert client.get("/api/v1/notifications").get_json()["unread"] == 0


def test_notification_id_out_of_range_is_422(client, world):
    client.post("/login", data={"login": "resident@example.com", "password": PASSWORD})
    for bad in (2**31, -1, 0, 10**30):
        assert client.post("/api/v1/notifications/read", json={"id": bad}).status_code == 422
