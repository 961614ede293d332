"""The contact box is rate-limited per address without keeping the address: the limiter
counts under a keyed HMAC that lives only in its own storage and expires with the window."""

from __future__ import annotations

import logging
import os
import time
import uuid

from sqlalchemy import func, select, text

from portal.db import db
from portal.extensions import limiter
from portal.models import metadata
from portal.notices.limits import NAMESPACE, address_token
from portal.notices.models import ContactMessage
from tests.conftest import make_test_app

ADDR = "203.0.113.77"


def _send(client, body: str, addr: str = ADDR):
    return client.post(
        "/contact",
        data={"community_id": 1, "category": "tip", "body": body},
        environ_base={"REMOTE_ADDR": addr},
    )


def _everything_stored(app) -> str:
    """Every value of every row of every table, as one string."""
    with app.app_context():
        out = []
        for table in metadata.sorted_tables:
            for row in db.session.execute(select(table)).all():
                out.append(repr(tuple(row)))
        return "\n".join(out)


def test_limit_per_address_keeps_the_text_and_stores_no_address(app, world, client, caplog):
    app.config["CONTACT_LIMIT"] = "3 per 10 minutes"
    caplog.set_level(logging.DEBUG)
    for i in range(3):
        assert _send(client, f"第{i}条：夜里有人在车棚撬锁").status_code == 200
    resp = _send(client, "第四条：请加强巡逻，谢谢")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "留言过于频繁" in page and "分钟后再发送" in page
    assert "第四条：请加强巡逻，谢谢" in page  # the typed text is kept
    with app.app_context():
        assert db.session.scalar(select(func.count(ContactMessage.id))) == 3
    # The API shares the counter, and answers in the API's shape.
    api = client.post(
        "/api/v1/contact",
        json={"community_id": 1, "category": "tip", "body": "接口也受限制的留言"},
        environ_base={"REMOTE_ADDR": ADDR},
    )
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_messages"
    assert int(api.headers["Retry-After"]) <= 600
    # Another address is not affected.
    assert _send(client, "另一个地址发来的留言", addr="198.51.100.5").status_code == 200

    # Nothing identifying in the database: neither the address nor the limiter's token.
    with app.test_request_context(environ_base={"REMOTE_ADDR": ADDR}):
        token = address_token()
    stored = _everything_stored(app)
    assert ADDR not in stored and token not in stored and "198.51.100.5" not in stored
    # Nor in the logs.
    assert ADDR not in caplog.text and token not in caplog.text

    # The limiter's storage holds the token, not the address, and only for the window.
    storage = limiter.limiter.storage
    keys = repr(storage.storage) + repr(storage.events) + repr(storage.expirations)
    assert token in keys and ADDR not in keys
    with app.test_request_context():
        from limits import parse

        reset, remaining = limiter.limiter.get_window_stats(
            parse("3 per 10 minutes"), NAMESPACE, token
        )
    assert remaining == 0 and reset - time.time() <= 600


def test_token_is_keyed_and_not_the_address(app):
    with app.test_request_context():
        one = address_token(ADDR)
        assert one == address_token(ADDR) and one != address_token("203.0.113.78")
        assert ADDR not in one and len(one) == 32
        app.config["SECRET_KEY"] = "another-secret"
        assert address_token(ADDR) != one  # without the secret it cannot be recomputed


def test_invalid_messages_are_not_counted(app, world, client):
    app.config["CONTACT_LIMIT"] = "2 per 10 minutes"
    for _ in range(5):
        assert _send(client, "短").status_code == 422
    assert _send(client, "这一条是完整的留言").status_code == 200


def test_counters_live_in_redis_with_expiry(database_url, tmp_path, world):
    redis_url = os.environ.get("PORTAL_TEST_REDIS_URL")
    if not redis_url and not os.environ.get("CI"):
        redis_url = "redis://127.0.0.1:6379/0"
    assert redis_url, "PORTAL_TEST_REDIS_URL must be set under CI"
    import redis

    app = make_test_app(
        database_url,
        tmp_path / "redis",
        RATELIMIT_STORAGE_URI=redis_url,
        CONTACT_LIMIT="2 per 10 minutes",
        SECRET_KEY="redis-test-" + uuid.uuid4().hex,  # fresh counters for this run
    )
    client = app.test_client()
    addr = "192.0.2." + str(uuid.uuid4().int % 200 + 2)
    assert [_send(client, "楼下有人乱停车堵消防通道", addr).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    with app.test_request_context():
        token = address_token(addr)
    r = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in r.keys(f"*{NAMESPACE}*")]
    mine = [k for k in keys if token in k]
    assert mine and not any(addr in k for k in keys)
    assert all(0 < r.ttl(k) <= 600 for k in mine)
    with app.app_context():
        stored = " ".join(
            repr(tuple(row))
            for t in metadata.sorted_tables
            for row in db.session.execute(select(t)).all()
        )
        assert addr not in stored and token not in stored
        db.session.execute(text("SELECT 1"))
    app.extensions["portal.engine"].dispose()


def test_storage_failure_lets_the_message_through_without_logging_the_address(
    app, world, client, caplog, monkeypatch
):
    def broken(*_args, **_kwargs):
        raise ConnectionError("storage down")

    monkeypatch.setattr(limiter.limiter, "test", broken)
    caplog.set_level(logging.DEBUG)
    assert _send(client, "存储故障时也要收到的线索").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(ContactMessage.id))) == 1
    assert "rate limit storage unavailable" in caplog.text and ADDR not in caplog.text
