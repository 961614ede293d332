"""The PostgreSQL pool pings a connection before use only when it sat idle in the pool
(``portal/db.py``): a connection whose server process died while idle is replaced without
the request noticing, and one in steady use costs no extra round trip."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from portal.db import DriverStatement, db, make_engine
from tests.conftest import PG_URL, make_test_app

pytestmark = pytest.mark.parametrize(
    "database_url",
    [pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="PostgreSQL only"))],
    indirect=True,
)


def _backend_pid(app) -> int:  # type: ignore[no-untyped-def]
    """The server process of the pooled connection (returned to the pool afterwards)."""
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.commit()
        db.session.remove()
    return int(pid)


def _terminate(pid: int) -> None:
    """Kill a backend from a second connection, as a restart or an idle timeout would."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    try:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(50):  # wait until the backend is gone
                if not conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ):
                    break
                time.sleep(0.05)
    finally:
        admin.dispose()


def _one_connection_app(database_url: str, instance: Path, ping_if_idle: float):  # type: ignore[no-untyped-def]
    """The app with its real engine settings, a pool of one connection."""
    app = make_test_app(database_url, instance)
    app.extensions["portal.engine"].dispose()
    app.extensions["portal.engine"] = make_engine(
        database_url, ping_if_idle=ping_if_idle, pool_size=1, max_overflow=0
    )
    return app


@pytest.fixture
def one_connection_app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A short idle threshold (0.3 s instead of the default few seconds)."""
    app = _one_connection_app(database_url, tmp_path / "instance", 0.3)
    yield app
    with app.app_context():
        db.session.remove()
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def steady_app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A long idle threshold: every checkout in the test counts as steady use."""
    app = _one_connection_app(database_url, tmp_path / "instance", 60.0)
    yield app
    with app.app_context():
        db.session.remove()
    app.extensions["portal.engine"].dispose()


def test_dead_idle_connection_is_replaced_without_an_error(one_connection_app) -> None:  # type: ignore[no-untyped-def]
    app = one_connection_app
    pid = _backend_pid(app)
    _terminate(pid)
    time.sleep(0.4)  # past the idle threshold: the next checkout pings
    client = app.test_client()
    resp = client.get("/api/v1/communities")  # a request that reads the database
    assert resp.status_code == 200, resp.get_data(as_text=True)
    new_pid = _backend_pid(app)
    assert new_pid != pid  # the pool threw the dead connection away and opened a new one
    assert client.get("/api/v1/communities").status_code == 200


def test_connection_in_steady_use_is_not_pinged(steady_app) -> None:  # type: ignore[no-untyped-def]
    """Within the threshold there is no ping (that is the saving): a connection killed
    moments after its last use fails once, is invalidated, and the next one works."""
    app = steady_app
    pid = _backend_pid(app)
    _terminate(pid)
    with app.app_context():
        with pytest.raises(OperationalError):
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
        db.session.remove()
    assert _backend_pid(app) != pid


def test_a_driver_statement_runs_alone_and_replaces_a_broken_connection(steady_app) -> None:  # type: ignore[no-untyped-def]
    """``DriverStatement`` (the chat message's statement) runs straight on a pooled
    connection in autocommit: what it writes is committed when it returns, and the
    connection goes back to the pool as it came (not in autocommit). A connection the
    server closed fails once, is invalidated, and the next call gets a fresh one."""
    import psycopg

    app = steady_app
    with app.app_context():
        db.session.execute(text("CREATE TABLE driver_probe (id serial PRIMARY KEY, v text)"))
        db.session.commit()
        try:
            stmt = text("INSERT INTO driver_probe (v) VALUES (:v) RETURNING id, :v AS echo")
            probe = DriverStatement(stmt, db.engine)
            assert probe.one({"v": "一"})[1] == "一"
            # Committed: another connection sees it at once.
            other = create_engine(PG_URL)  # type: ignore[arg-type]
            try:
                with other.connect() as conn:
                    assert conn.scalar(text("SELECT count(*) FROM driver_probe")) == 1
            finally:
                other.dispose()
            # The pool's connection is back to transactions as usual.
            assert db.session.connection().connection.driver_connection.autocommit is False
            db.session.rollback()
            db.session.remove()
            pid = _backend_pid(app)
            _terminate(pid)
            with pytest.raises(psycopg.OperationalError):
                probe.one({"v": "二"})
            assert probe.one({"v": "三"})[1] == "三"
            assert _backend_pid(app) != pid
        finally:
            db.session.rollback()
            db.session.execute(text("DROP TABLE driver_probe"))
            db.session.commit()
