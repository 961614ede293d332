"""Alembic environment: the portal's metadata, the URL from the app or the command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from portal.models import metadata
from portal.search import include_name

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        import os

        url = os.environ.get("DATABASE_URL", "sqlite:///instance/portal.db")
    return url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Encrypted columns are plain strings in the schema; render them as such."""
    from portal.security.pii import EncryptedString

    if type_ == "type" and isinstance(obj, EncryptedString):
        return "sa.String(length=255)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(_url(), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
