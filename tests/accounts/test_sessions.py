"""Login, session renewal, logout on the server, idle expiry, safe redirects, throttling."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import select, update

from portal.accounts.models import UserSession
from portal.db import as_utc, db
from tests.conftest import PASSWORD, login, make_test_app


def _cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_login_with_email_and_phone(client, make, world):
    make.user("resident", world["community"], login="13800138001", name="手机用户")
    assert login(client, "13800138001").status_code == 302
    assert "手机用户" in client.get("/account").get_data(as_text=True)
    client.post("/logout")
    assert login(client, "RESIDENT@example.com").status_code == 302


def test_wrong_password_is_401_with_message_and_keeps_login(client, world):
    resp = login(client, "resident@example.com", "wrong password")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert "手机号/邮箱或密码不正确" in html
    assert 'value="resident@example.com"' in html


def test_session_id_changes_at_login_and_old_cookie_is_useless(client, app, world):
    client.get("/login")
    client.post("/lang/zh_CN")  # something in the anonymous session
    before = _cookie(client)
    login(client, "resident@example.com")
    after = _cookie(client)
    assert after and after != before
    with app.app_context():
        rows = db.session.scalars(select(UserSession)).all()
        assert len(rows) == 1 and rows[0].ended_at is None


def test_logout_ends_the_session_on_the_server(client, app, world):
    login(client, "resident@example.com")
    stolen = _cookie(client)
    assert client.get("/account").status_code == 200
    client.post("/logout")
    with app.app_context():
        assert db.session.scalars(select(UserSession)).one().ended_at is not None
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/account")
    assert resp.status_code == 302 and "/login" in resp.location


def test_idle_session_expires(client, app, world):
    login(client, "resident@example.com")
    assert client.get("/account").status_code == 200
    with app.app_context():
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(
            minutes=app.config["SESSION_IDLE_MINUTES"] + 1
        )
        db.session.execute(update(UserSession).values(last_seen_at=long_ago))
        db.session.commit()
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.location


def test_session_and_user_are_one_statement_and_activity_is_recorded(client, app, world):
    """Each request reads the session with its user in one statement; an expired session
    is ended on the server, an active one has its last activity moved on (once a minute)."""
    from sqlalchemy import event

    login(client, "resident@example.com")
    engine = app.extensions["portal.engine"]
    statements: list[str] = []

    def count(conn, cursor, stmt, *a):  # type: ignore[no-untyped-def]
        statements.append(" ".join(stmt.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/me").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    touching = [s for s in statements if "user_sessions" in s]
    assert len(touching) == 1 and "JOIN users" in touching[0]
    assert not any("FROM users WHERE users.id =" in s for s in statements)
    with app.app_context():
        a_while_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        db.session.execute(update(UserSession).values(last_seen_at=a_while_ago))
        db.session.commit()
    assert client.get("/api/v1/me").status_code == 200
    with app.app_context():
        row = db.session.scalars(select(UserSession)).one()
        assert row.ended_at is None
        assert dt.datetime.now(dt.UTC) - as_utc(row.last_seen_at) < dt.timedelta(minutes=1)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(
            minutes=app.config["SESSION_IDLE_MINUTES"] + 1
        )
        db.session.execute(update(UserSession).values(last_seen_at=long_ago))
        db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    with app.app_context():
        assert db.session.scalars(select(UserSession)).one().ended_at is not None


def test_session_cookie_flags(client, world):
    resp = login(client, "resident@example.com")
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_secure_cookie_behind_https(database_url, tmp_path, world):
    app = make_test_app(database_url, tmp_path / "i2", PREFERRED_URL_SCHEME="https")
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/account", "/account"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_redirect_is_validated(client, world, target, expected):
    resp = client.post(
        "/login", data={"login": "resident@example.com", "password": PASSWORD, "next": target}
    )
    assert resp.status_code == 302
    assert resp.location == expected


def test_login_throttled_per_account_with_clear_message(client, app, world):
    for _ in range(5):
        assert login(client, "resident@example.com", "wrong-password").status_code == 401
    resp = login(client, "resident@example.com", PASSWORD)  # even the right one waits
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "尝试次数过多" in html and "分钟后再试" in html
    # Another account from the same address is not locked by this one.
    assert login(client, "officer@example.com").status_code == 302


def test_successful_logins_do_not_use_up_the_limit(client, world):
    for _ in range(8):
        assert login(client, "resident@example.com").status_code == 302
        client.post("/logout")


def test_login_throttled_per_address(database_url, tmp_path, world):
    app = make_test_app(database_url, tmp_path / "i3", LOGIN_LIMIT_PER_ADDRESS="3 per 10 minutes")
    client = app.test_client()
    for i in range(3):
        assert login(client, f"nobody{i}@example.com", "wrong-password").status_code == 401
    resp = login(client, "someone-else@example.com", "wrong-password")
    assert resp.status_code == 429
    other = app.test_client()
    assert (
        other.post(
            "/login",
            data={"login": "x@example.com", "password": "wrong-pass"},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        ).status_code
        == 401
    )


def test_limiter_counters_shared_through_redis(database_url, tmp_path, world):
    redis_url = os.environ.get("PORTAL_TEST_REDIS_URL")
    if not redis_url and not os.environ.get("CI"):
        redis_url = "redis://127.0.0.1:6379/0"
    assert redis_url, "PORTAL_TEST_REDIS_URL must be set under CI"
    # Two apps stand for two server processes; they share only Redis. A fresh account
    # name and address keep this run's counters apart from earlier runs'.
    name = uuid.uuid4().hex + "@example.com"
    addr = {"REMOTE_ADDR": "127.0.0." + str(uuid.uuid4().int % 200 + 2)}
    one = make_test_app(database_url, tmp_path / "r1", RATELIMIT_STORAGE_URI=redis_url)
    two = make_test_app(database_url, tmp_path / "r2", RATELIMIT_STORAGE_URI=redis_url)

    def attempt(app):
        return (
            app.test_client()
            .post("/login", data={"login": name, "password": "wrong-pass"}, environ_base=addr)
            .status_code
        )

    assert [attempt(one) for _ in range(3)] == [401, 401, 401]
    assert [attempt(two) for _ in range(2)] == [401, 401]
    assert attempt(one) == 429
    import redis

    keys = redis.Redis.from_url(redis_url).keys("*" + name + "*")
    assert keys, "the counter lives in Redis"
