"""Fixtures: an app on a clean database (SQLite always, PostgreSQL when configured),
a client, factories for users and communities, and a login helper.

When ``PORTAL_TEST_DATABASE_URL`` is set every database test runs on PostgreSQL too.
Under CI (``CI`` set) that variable is required: a missing service fails the run.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal import create_app
from portal.db import db
from portal.models import metadata

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_PII_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError(
            "CI requires PORTAL_TEST_DATABASE_URL (PostgreSQL) so the database tests run on it"
        )


def _reset_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            metadata.drop_all(conn)
        metadata.create_all(conn)
    engine.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the current schema, once per test session and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        assert PG_URL is not None
        url = PG_URL
    _reset_schema(url)
    return url


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        if url.startswith("postgresql"):
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


def make_test_app(database_url: str, instance: Path, **overrides: Any) -> Flask:
    """An app configured for tests; overrides win."""
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "PII_KEY": TEST_PII_KEY,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a clean database."""
    application = make_test_app(database_url, tmp_path / "instance")
    yield application
    with application.app_context():
        db.session.remove()
    application.extensions["portal.engine"].dispose()
    _truncate(database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for calling services directly."""
    with app.test_request_context():
        yield app


class Factory:
    """Small builders for users, communities and verifications."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def community(self, name: str | None = None) -> Any:
        from portal.communities.models import Community

        with self.app.app_context():
            n = self._next()
            c = Community(name=name or f"测试社区{n}", slug=f"c{n}", district="测试区")
            db.session.add(c)
            db.session.commit()
            return c.id

    def user(
        self,
        role: str = "resident",
        community_id: int | None = None,
        login: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
    ) -> int:
        from portal.accounts.models import Role
        from portal.accounts.services import register_user
        from portal.communities.models import Community

        with self.app.test_request_context():
            n = self._next()
            community = db.session.get(Community, community_id) if community_id else None
            user = register_user(
                login=login or f"user{n}@example.com",
                password=password,
                display_name=name or f"用户{n}",
                community=community,
                role=Role(role),
            )
            db.session.commit()
            return user.id

    def verification(
        self,
        user_id: int,
        id_number: str,
        status: str = "pending",
        real_name: str = "张三",
        phone: str = "13800138000",
    ) -> int:
        from portal.accounts.models import IdentityVerification, VerificationStatus
        from portal.db import utcnow
        from portal.security.pii import id_index, phone_index

        with self.app.app_context():
            v = IdentityVerification(
                user_id=user_id,
                real_name=real_name,
                id_number=id_number,
                id_number_hash=id_index(id_number),
                phone=phone,
                phone_hash=phone_index(phone),
                status=VerificationStatus(status),
            )
            if status == "approved":
                import datetime as dt

                v.decided_at = utcnow()
                v.expires_at = utcnow() + dt.timedelta(days=365)
            db.session.add(v)
            db.session.commit()
            return v.id


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


def login(client: FlaskClient, login_name: str, password: str = PASSWORD) -> Any:
    """Log in through the real form."""
    return client.post("/login", data={"login": login_name, "password": password})


def valid_id(first17: str = "11010519491231002") -> str:
    """A valid resident ID number from 17 digits."""
    from portal.security.idnumbers import resident_id_check_char

    return first17 + resident_id_check_char(first17)


@pytest.fixture
def world(app: Flask, make: Factory, client: FlaskClient) -> dict[str, Any]:
    """A community with an officer, an admin, a resident, and a resident elsewhere."""
    c1 = make.community("天桥社区")
    c2 = make.community("铁西社区")
    return {
        "community": c1,
        "other_community": c2,
        "officer": make.user("officer", c1, login="officer@example.com", name="王警官"),
        "other_officer": make.user("officer", c2, login="officer2@example.com", name="刘警官"),
        "admin": make.user("admin", None, login="admin@example.com", name="管理员"),
        "resident": make.user("resident", c1, login="resident@example.com", name="孙女士"),
        "lawyer": make.user("lawyer", c1, login="lawyer@example.com", name="李律师"),
    }
