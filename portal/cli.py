"""The ``portal`` command: serve, worker, migrations, users and demo data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

ROOT = Path(__file__).resolve().parent.parent


def _alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", (url or current_app.config["DATABASE_URL"]).replace("%", "%%")
    )
    return cfg


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    """Apply the Alembic migrations (explicitly; never implicitly at start)."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI."""

    @app.cli.group("db")
    def db_group() -> None:
        """Database migrations (Alembic)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    @with_appcontext
    def db_upgrade(revision: str) -> None:
        """Apply migrations up to REVISION (default: head)."""
        upgrade_database(revision=revision)
        click.echo("database is at " + revision)

    @db_group.command("downgrade")
    @click.argument("revision")
    @with_appcontext
    def db_downgrade(revision: str) -> None:
        """Step migrations back to REVISION."""
        from alembic import command

        command.downgrade(_alembic_config(), revision)

    @db_group.command("revision")
    @click.option("-m", "--message", required=True)
    @with_appcontext
    def db_revision(message: str) -> None:
        """Autogenerate a new revision, to be reviewed by hand."""
        from alembic import command

        command.revision(_alembic_config(), message=message, autogenerate=True)

    @db_group.command("current")
    @with_appcontext
    def db_current() -> None:
        """Show the current revision."""
        from alembic import command

        command.current(_alembic_config())

    @app.cli.command("seed-demo")
    @with_appcontext
    def seed_demo() -> None:
        """Add the demo community, officer, lawyer, landlord, employer and residents once."""
        from portal.seed import seed_demo as run

        created = run()
        from portal.seed import print_logins

        print_logins(created)

    @app.cli.command("create-user")
    @click.option(
        "--role", type=click.Choice(["resident", "officer", "lawyer", "admin"]), default="resident"
    )
    @click.option("--login", "login", required=True, help="phone number or e-mail")
    @click.option("--name", required=True)
    @click.option("--community", default=None, help="community name or slug")
    @click.password_option()
    @with_appcontext
    def create_user(role: str, login: str, name: str, community: str | None, password: str) -> None:
        """Create a user of any role."""
        from sqlalchemy import or_, select

        from portal.accounts.models import Role
        from portal.accounts.services import register_user
        from portal.communities.models import Community
        from portal.db import db
        from portal.errors import DomainError

        comm = None
        if community:
            comm = db.session.scalar(
                select(Community).where(
                    or_(Community.name == community, Community.slug == community)
                )
            )
            if comm is None:
                raise click.ClickException(f"no community {community!r}")
        try:
            user = register_user(
                login=login, password=password, display_name=name, community=comm, role=Role(role)
            )
        except DomainError as err:
            raise click.ClickException(err.message) from None
        db.session.commit()
        click.echo(f"created {role} #{user.id} {name}")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="run every job once and exit")
    def worker(once: bool) -> None:
        """Run the periodic jobs (mail sending, expiry, reminders)."""
        from portal.jobs import run_due, run_forever

        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        if once:
            click.echo(run_due(app_obj, force=True))
            return
        click.echo("worker running; Ctrl-C to stop")
        run_forever(app_obj)

    @app.cli.command("serve")
    @click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"))
    @click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
    @click.option("--no-worker", is_flag=True, help="do not run the jobs in this process")
    def serve(host: str, port: int, no_worker: bool) -> None:
        """Serve the portal (with Socket.IO) and, unless told not to, the worker."""
        from portal.jobs import start_in_thread
        from portal.realtime import serve as serve_app

        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        if not no_worker:
            start_in_thread(app_obj)
        click.echo(f"serving http://{host}:{port}")
        serve_app(app_obj, host=host, port=port)


def main() -> None:
    """Entry point of the ``portal`` console script."""
    from portal import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=True)
    sys.exit(cli.main(prog_name="portal"))
