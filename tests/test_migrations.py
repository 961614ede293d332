"""The Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal.cli import upgrade_database
from portal.models import metadata
from portal.search import include_name
from tests.conftest import PG_URL


def _fresh_database(backend: str, tmp_path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}", None
    assert PG_URL
    name = "portal_mig_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), drop


def _compare(url: str) -> list:

    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return diff


BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_models(backend, tmp_path):
    url, cleanup = _fresh_database(backend, tmp_path)
    try:
        upgrade_database(url)
        diff = _compare(url)
        assert diff == [], f"migrations and models differ: {diff}"
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert set(metadata.tables) <= tables
        # Running it again is a no-op.
        upgrade_database(url)
    finally:
        if cleanup:
            cleanup()


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_to_base_and_up_again(backend, tmp_path):
    from alembic import command

    from portal.cli import _alembic_config

    url, cleanup = _fresh_database(backend, tmp_path)
    try:
        upgrade_database(url)
        command.downgrade(_alembic_config(url), "base")
        engine = create_engine(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        upgrade_database(url)
        assert _compare(url) == []
    finally:
        if cleanup:
            cleanup()
