"""Database engine, session and the declarative base.

The app owns one engine and one scoped session. Services add and flush; the request
boundary (``portal.__init__``) commits when the response succeeded and rolls back
otherwise, so one place owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model; its metadata names constraints the same everywhere."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Timezone-aware UTC now; used as a callable default for timestamps."""
    return dt.datetime.now(dt.UTC)


def _scope() -> Any:
    # One session per application context (request, CLI command, worker tick).
    if has_app_context():
        return id(g._get_current_object())
    import threading

    return threading.get_ident()


class Database:
    """Holds the engine and the scoped session of the current app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False), scopefunc=_scope)

    def init_app(self, app: Flask) -> None:
        """Create the engine from ``DATABASE_URL`` and bind the session to it."""
        url = app.config["DATABASE_URL"]
        self.engine = make_engine(url)
        self.session.configure(bind=self.engine)
        app.extensions["portal.db"] = self

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            self.session.remove()


def make_engine(url: str) -> Engine:
    """An engine with the settings the portal needs on each backend."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN be emitted by SQLAlchemy so BEGIN IMMEDIATE is possible where needed.
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


db = Database()


def get_session() -> Session:
    """The current session (a shortcut used by services)."""
    return db.session()
