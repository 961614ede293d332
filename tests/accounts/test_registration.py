"""Registration by phone or e-mail, password hashing strength, bad input."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import func, select, text

from portal.accounts.models import User
from portal.db import db


def _count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_with_email_logs_in(client, app, world):
    resp = client.post(
        "/register",
        data={
            "login": "New@Example.com",
            "display_name": "新居民",
            "community_id": world["community"],
            "password": "a-long-password",
            "confirm": "a-long-password",
        },
    )
    assert resp.status_code == 302 and resp.location.endswith("/account")
    page = client.get("/account").get_data(as_text=True)
    assert "新居民" in page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert user is not None and user.community_id == world["community"]


def test_register_with_phone_stores_it_encrypted_and_masked(client, app, world):
    resp = client.post(
        "/register",
        data={
            "login": "+86 139-0434-0099",
            "display_name": "老周",
            "community_id": world["community"],
            "password": "a-long-password",
            "confirm": "a-long-password",
        },
    )
    assert resp.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "139****0099" in page and "13904340099" not in page
    with app.app_context():
        raw = db.session.execute(
            text("SELECT phone FROM users WHERE display_name = '老周'")
        ).scalar()
        user = db.session.scalar(select(User).where(User.display_name == "老周"))
        assert user.phone == "13904340099"
        assert raw.startswith("v1:") and "13904340099" not in raw


def test_password_hash_meets_asvs(app, world):
    with app.app_context():
        user = db.session.get(User, world["resident"])
        params = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$")
    # OWASP ASVS 5.0 / cheat sheet minimum for argon2id: m >= 19 MiB, t >= 2, p >= 1.
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism >= 1
    assert PasswordHasher().verify(user.password_hash, "correct horse battery")


def test_duplicate_login_refused_and_nothing_added(client, app, world):
    before = _count_users(app)
    resp = client.post(
        "/register",
        data={
            "login": "resident@example.com",
            "display_name": "冒名",
            "community_id": world["community"],
            "password": "a-long-password",
            "confirm": "a-long-password",
        },
    )
    assert resp.status_code == 422
    assert "该手机号或邮箱已注册" in resp.get_data(as_text=True)
    assert _count_users(app) == before


def test_bad_input_keeps_text_and_changes_nothing(client, app, world):
    before = _count_users(app)
    cases = [
        ({"login": "12345"}, "请输入 11 位手机号或邮箱地址"),
        ({"login": "not-an-email@"}, "请输入有效的邮箱地址"),
        ({"password": "short", "confirm": "short"}, "密码长度为 8 到 128 个字符"),
        ({"confirm": "different-password"}, "两次输入的密码不一致"),
        ({"community_id": "0"}, "请选择社区"),
        ({"community_id": "99999"}, "不是有效的选择"),
        ({"display_name": "名" * 41}, "称呼最多 40 个字"),
        ({"login": "x" * 300 + "@example.com"}, ""),
    ]
    for override, message in cases:
        data = {
            "login": "keep.me@example.com",
            "display_name": "保留的名字",
            "community_id": str(world["community"]),
            "password": "a-long-password",
            "confirm": "a-long-password",
        }
        data.update(override)
        resp = client.post("/register", data=data)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, override
        assert message in html, (override, message)
        if "display_name" not in override:
            assert "保留的名字" in html  # the user's text stays in the form
    assert _count_users(app) == before


def test_register_page_has_labels_tied_to_fields(client, world):
    html = client.get("/register").get_data(as_text=True)
    for field in ("login", "display_name", "community_id", "password", "confirm"):
        assert f'for="{field}"' in html and f'id="{field}"' in html
    resp = client.post("/register", data={"login": "bad"})
    html = resp.get_data(as_text=True)
    assert 'aria-describedby="login-err"' in html and 'id="login-err"' in html
