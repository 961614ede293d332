"""Password reset by a one-time link through the outbox."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from portal.accounts.models import PasswordResetToken
from portal.db import db
from portal.notifications.models import OutboxMessage
from tests.conftest import login


def _reset_link(app) -> str:
    with app.app_context():
        msg = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert msg is not None, "no message queued"
        match = re.search(r"http://localhost(/password/reset/[\w-]+)", msg.body)
        assert match, msg.body
        return match.group(1)


def test_reset_flow_is_one_time_and_ends_sessions(client, app, world):
    other_device = app.test_client()
    login(other_device, "resident@example.com")
    assert other_device.get("/account").status_code == 200

    resp = client.post("/password/forgot", data={"login": "resident@example.com"})
    assert resp.status_code == 302
    link = _reset_link(app)
    with app.app_context():
        stored = db.session.scalars(select(PasswordResetToken)).one()
        assert link.rsplit("/", 1)[1] not in stored.token_hash  # only a hash is kept
    assert client.get(link).status_code == 200
    resp = client.post(
        link, data={"password": "brand-new-password", "confirm": "brand-new-password"}
    )
    assert resp.status_code == 302
    assert login(client, "resident@example.com", "brand-new-password").status_code == 302
    assert login(app.test_client(), "resident@example.com").status_code == 401  # old password
    # The other device was logged out, and the link cannot be used twice.
    assert other_device.get("/account").status_code == 302
    assert client.get(link).status_code == 410


def test_unknown_account_gets_the_same_answer_and_nothing_is_sent(client, app, world):
    resp = client.post(
        "/password/forgot", data={"login": "nobody@example.com"}, follow_redirects=True
    )
    assert "如果该账户存在" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).first() is None


def test_expired_link_refused(client, app, world):
    client.post("/password/forgot", data={"login": "resident@example.com"})
    link = _reset_link(app)
    with app.app_context():
        db.session.execute(
            update(PasswordResetToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            )
        )
        db.session.commit()
    resp = client.post(
        link, data={"password": "brand-new-password", "confirm": "brand-new-password"}
    )
    assert resp.status_code == 410
    assert "链接无效或已过期" in resp.get_data(as_text=True)


def test_phone_account_gets_link_by_sms_channel(client, app, make, world):
    make.user("resident", world["community"], login="13800138009")
    client.post("/password/forgot", data={"login": "138 0013 8009"})
    with app.app_context():
        msg = db.session.scalars(select(OutboxMessage)).one()
        assert msg.channel == "sms" and msg.to_address == "13800138009"


def test_weak_new_password_refused(client, app, world):
    client.post("/password/forgot", data={"login": "resident@example.com"})
    link = _reset_link(app)
    resp = client.post(link, data={"password": "short", "confirm": "short"})
    assert resp.status_code == 422
    assert "密码长度为 8 到 128 个字符" in resp.get_data(as_text=True)


def test_reset_link_ignores_forged_host_header(client, app, world):
    client.post(
        "/password/forgot", data={"login": "resident@example.com"}, headers={"Host": "evil.example"}
    )
    with app.app_context():
        msg = db.session.scalars(select(OutboxMessage)).one()
    assert "evil.example" not in msg.body and "http://localhost/password/reset/" in msg.body
