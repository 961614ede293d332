"""The ``portal`` commands: seed-demo once, create-user, worker, serve."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import func, select

from portal.accounts.models import IdentityVerification, User
from portal.communities.models import Community
from portal.db import db


def test_seed_demo_is_idempotent_and_prints_logins(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "officer@demo.local" in first.output and "demo-pass-2026" in first.output
    with app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
        verified = db.session.scalar(select(func.count(IdentityVerification.id)))
        assert db.session.scalar(select(Community).where(Community.name == "天桥社区")) is not None
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users
        assert db.session.scalar(select(func.count(IdentityVerification.id))) == verified == 2


def test_demo_logins_work(app):
    app.test_cli_runner().invoke(args=["seed-demo"])
    client = app.test_client()
    resp = client.post("/login", data={"login": "officer@demo.local", "password": "demo-pass-2026"})
    assert resp.status_code == 302 and resp.location == "/backoffice/"
    client.post("/logout")
    client.post("/login", data={"login": "landlord@demo.local", "password": "demo-pass-2026"})
    assert 'data-testid="verified-badge"' in client.get("/account").get_data(as_text=True)


def test_create_user_officer_with_community(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--role",
            "officer",
            "--login",
            "new.officer@example.com",
            "--name",
            "新警官",
            "--community",
            "天桥社区",
        ],
        input="pw-123456789\npw-123456789\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.officer@example.com"))
        assert user.role == "officer" and [c.name for c in user.served_communities] == ["天桥社区"]
        assert user.officer_profile is not None
    bad = runner.invoke(
        args=[
            "create-user",
            "--role",
            "officer",
            "--login",
            "x@example.com",
            "--name",
            "x",
            "--community",
            "没有这个社区",
        ],
        input="pw-123456789\npw-123456789\n",
    )
    assert bad.exit_code != 0 and "no community" in bad.output


def test_worker_once_runs_the_jobs(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "send-mail" in result.output and "expire-verifications" in result.output


@pytest.fixture
def collector():
    """Leaves the test process's garbage collector as it found it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_serve_settles_the_collector_then_runs_the_socketio_server(app, monkeypatch, collector):
    from portal.extensions import socketio

    app.config["GC_FULL_EVERY"] = 123
    before = gc.get_threshold()
    ran = []

    def run(app_obj, **kwargs):
        # The server starts with the start-up heap frozen and rare full collections.
        ran.append((app_obj, kwargs, gc.get_freeze_count(), gc.get_threshold()))

    monkeypatch.setattr(socketio, "run", run)
    result = app.test_cli_runner().invoke(
        args=["serve", "--no-worker", "--host", "127.0.0.1", "--port", "5099"]
    )
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:5099" in result.output
    [(app_obj, kwargs, frozen, threshold)] = ran
    assert app_obj is app
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 5099
    assert frozen > 10_000  # the app, its mappers and catalogues
    assert threshold == (*before[:2], 123)


def test_a_full_collection_every_zero_keeps_pythons_threshold(collector):
    from portal.realtime import settle_collector

    before = gc.get_threshold()
    settle_collector(0)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
