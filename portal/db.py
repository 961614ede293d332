"""Database engine, session and the declarative base.

The app owns one engine and one scoped session. Services add and flush; the request
boundary (``portal.__init__``) commits when the response succeeded and rolls back
otherwise, so one place owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import time
from typing import Any, overload

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.sql.expression import Executable

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


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC datetime. SQLite hands back naive ones; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry their translatable label beside their value::

        class Category(LabelledEnum):
            LEGAL = "legal", _l("法律咨询")

    ``Category.LEGAL == "legal"`` and ``Category("legal")`` work as for any ``StrEnum``;
    ``Category.LEGAL.label`` is the label in the request's language.
    """

    _label: Any

    def __new__(cls, value: str, label: Any = None) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label if label is not None else value
        return member

    @property
    def label(self) -> str:
        return str(self._label)

    @classmethod
    def choices(cls) -> list[tuple[str, Any]]:
        """``(value, label)`` pairs in declaration order, for a form's select."""
        return [(m.value, m._label) for m in cls]


def str_enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    """A Python enum stored by its values in a VARCHAR (no native DB enum to migrate)."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def _scope() -> Any:
    # One session per application context (request, CLI command, worker tick).
    if has_app_context():
        return id(g._get_current_object())
    import threading

    return threading.get_ident()


class AppSession(Session):
    """A session that talks to the engine of the app in context, so several apps (tests,
    a benchmark beside a server) can live in one process without sharing a database."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine:  # type: ignore[override]
        return current_app.extensions["portal.engine"]


class Database:
    """The scoped session; each app keeps its own engine in ``app.extensions``."""

    def __init__(self) -> None:
        self.session = scoped_session(
            sessionmaker(class_=AppSession, expire_on_commit=False), scopefunc=_scope
        )

    @property
    def engine(self) -> Engine:
        """The engine of the app in context."""
        return current_app.extensions["portal.engine"]

    def init_app(self, app: Flask) -> None:
        """Create the app's engine from ``DATABASE_URL``."""
        app.extensions["portal.engine"] = make_engine(app.config["DATABASE_URL"])
        app.extensions["portal.db"] = self

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            self.session.remove()


# A pooled PostgreSQL connection idle longer than this is pinged before use; one in
# steady use is not (the ping is a round trip, and a busy server would pay it on every
# request). Connections older than POOL_RECYCLE_SECONDS are replaced on checkout.
PING_IF_IDLE_SECONDS = 5.0
POOL_RECYCLE_SECONDS = 1800


def make_engine(
    url: str, *, ping_if_idle: float = PING_IF_IDLE_SECONDS, **overrides: Any
) -> Engine:
    """An engine with the settings the portal needs on each backend (``overrides``: pool
    sizes, e.g. a benchmark bounding several processes' connections)."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
    kwargs.update(overrides)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLAlchemy emits BEGIN itself, so every transaction can be BEGIN IMMEDIATE.
        event.listen(engine, "begin", _sqlite_begin)
    else:
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", functools.partial(_ping_if_idle, ping_if_idle))
    return engine


class DriverStatement:
    """A Core statement compiled once for an engine's dialect and run straight on a pooled
    DBAPI connection, in autocommit: one round trip, durable when it returns.

    For the few statements run on every realtime event (a chat message): there SQLAlchemy's
    per-execution layers (the compiled-cache look-up, the ``Connection`` and its transaction,
    the execution context, the result object) cost more than the database's own work. The
    SQL is still SQLAlchemy's own compilation of a typed Core statement; its constant
    parameters are processed by their types once, here. A connection the driver reports
    broken is invalidated, so the pool replaces it."""

    def __init__(self, stmt: Executable, engine: Engine) -> None:
        compiled = stmt.compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.constants: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.value is None:  # supplied at each execution
                continue
            process = bind.type.bind_processor(engine.dialect)
            self.constants[name] = process(bind.value) if process else bind.value
        self._engine = engine

    def one(self, params: dict[str, Any]) -> tuple[Any, ...]:
        """The statement's one row (it must return exactly one)."""
        raw = self._engine.raw_connection()
        try:
            driver = raw.driver_connection
            driver.autocommit = True
            cursor = raw.cursor()
            try:
                cursor.execute(self.sql, {**self.constants, **params})
                row = cursor.fetchone()
            finally:
                cursor.close()
                driver.autocommit = False
        except self._engine.dialect.loaded_dbapi.Error as exc:
            if self._engine.dialect.is_disconnect(exc, raw, None):
                raw.invalidate(exc)
            raise
        finally:
            raw.close()
        if row is None:
            raise LookupError("the statement returned no row")
        return tuple(row)


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    # The record's info lives as long as its DBAPI connection (cleared on invalidation).
    record.info["portal.checked_in"] = time.monotonic()


def _ping_if_idle(idle_seconds: float, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling, only for connections that sat idle in the pool.

    A connection that went back to the pool moments ago was working then; one that waited
    longer may have been closed by a database restart, a failover or an idle timeout. That
    one gets a ``SELECT 1``; if it fails, ``DisconnectionError`` makes the pool discard it
    and check out a fresh connection (SQLAlchemy's documented checkout pattern), so the
    request never sees the dead one. A fresh connection has no check-in time: no ping.
    """
    checked_in = record.info.get("portal.checked_in")
    if checked_in is None or time.monotonic() - checked_in < idle_seconds:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        # psycopg opened a transaction for the ping; end it so the request's BEGIN is clean.
        dbapi_conn.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # SQLite has one writer. A deferred transaction that reads and then writes fails at
    # once (SQLITE_BUSY, no waiting) if another connection wrote in between; taking the
    # write lock at BEGIN makes every transaction wait its turn instead. Requests are
    # short, so on the one-machine setup this costs little; PostgreSQL is for scale.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


db = Database()


def get_session() -> Session:
    """The current session (a shortcut used by services)."""
    return db.session()
