"""网上警务室 — the online community police office.

``create_app`` builds the application in named steps; there is no module-level app.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from portal.db import db
from portal.extensions import babel, csrf, limiter, login_manager, socketio

ROOT = Path(__file__).resolve().parent.parent


class DatabaseId(IntegerConverter):
    """``<int:...>`` limited to what a 32-bit integer primary key can hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, commands."""
    instance = Path(
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("PORTAL_INSTANCE")
        or ROOT / "instance"
    ).resolve()
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Ids in URLs fit the database's integer columns: a larger number is a 404, not a 500.
    app.url_map.converters["int"] = DatabaseId
    configure(app, config or {})
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def configure(app: Flask, overrides: dict[str, Any]) -> None:
    """Environment settings first, explicit overrides (tests) last."""
    from portal.config import load_config

    app.config.update(load_config(Path(app.instance_path)))
    app.config.update(overrides)
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["SESSION_MAX_HOURS"] * 3600
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = True


def register_extensions(app: Flask) -> None:
    """Bind database, PII cipher, login, CSRF, i18n, limiter and Socket.IO."""
    from portal.i18n import select_locale, select_timezone
    from portal.realtime import SocketSessionInterface
    from portal.security.pii import PiiCipher

    db.init_app(app)
    app.extensions["portal.pii"] = PiiCipher(app.config["PII_KEY"])
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    limiter.init_app(app)
    app.session_interface = SocketSessionInterface()
    socketio.init_app(
        app,
        # None = the page's own origin only (never "*"); a list may be configured.
        cors_allowed_origins=app.config.get("SOCKETIO_ORIGINS"),
        message_queue=app.config.get("REDIS_URL"),
        async_mode="threading",
        async_handlers=app.config.get("SOCKETIO_ASYNC_HANDLERS", False),
    )

    @login_manager.request_loader
    def _load_user(_request: Any) -> Any:
        from portal.accounts.models import User
        from portal.accounts.services import user_for_session_token
        from portal.realtime import socket_user_id

        uid = socket_user_id()  # a socket event: checked at connect (see portal/realtime.py)
        if uid is not None:
            return db.session.get(User, uid)
        return user_for_session_token(session.get("sid"))


def register_blueprints(app: Flask) -> None:
    """Each feature package is one blueprint."""
    from portal.accounts import bp as accounts_bp
    from portal.api import bp as api_bp
    from portal.appointments import bp as appointments_bp
    from portal.backoffice import bp as backoffice_bp
    from portal.communities import bp as communities_bp
    from portal.consult import bp as consult_bp
    from portal.jobs_housing import bp as jobs_housing_bp
    from portal.main import bp as main_bp
    from portal.notices import bp as notices_bp
    from portal.notifications import bp as notifications_bp
    from portal.registry import bp as registry_bp

    for bp in (
        main_bp,
        accounts_bp,
        communities_bp,
        notifications_bp,
        backoffice_bp,
        api_bp,
        consult_bp,
    ):
        app.register_blueprint(bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(appointments_bp)
    app.register_blueprint(jobs_housing_bp)
    app.register_blueprint(registry_bp)


def register_request_hooks(app: Flask) -> None:
    """Security headers, and the one place that commits or rolls back."""

    @app.after_request
    def _finish(response: Response) -> Response:
        if response.status_code < 400 and not g.get("rollback"):
            db.session.commit()
        else:
            db.session.rollback()
        return add_security_headers(response)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def add_security_headers(response: Response) -> Response:
    """CSP without inline script, nosniff, no framing, a strict referrer policy."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.path.startswith(("/account", "/backoffice", "/api/")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the user's language; JSON errors under /api."""
    from portal.security.access import wants_json

    messages = {
        400: lambda: _("请求有误。"),
        401: lambda: _("请先登录。"),
        403: lambda: _("您没有权限访问此页面。"),
        404: lambda: _("页面不存在。"),
        405: lambda: _("不支持该请求方式。"),
        413: lambda: _("上传的文件太大。"),
        429: lambda: _("操作太频繁，请稍后再试。"),
        500: lambda: _("服务器出错了，请稍后再试。"),
    }

    def render(code: int, message: str, error_code: str) -> Any:
        db.session.rollback()
        if wants_json():
            resp = jsonify(error={"code": error_code, "message": message})
            resp.status_code = code
            return resp
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError) -> Any:
        return render(400, _("页面已过期或请求无效，请刷新页面后重试。"), "csrf")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        code = err.code or 500
        text = messages.get(code, lambda: err.description or "")()
        return render(code, str(text), (err.name or "error").lower().replace(" ", "_"))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        app.logger.exception("unhandled error")
        return render(500, str(messages[500]()), "internal_error")


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share."""
    from portal.templating import init_templating

    init_templating(app)


def register_cli(app: Flask) -> None:
    """The ``portal`` commands."""
    from portal.cli import register_commands

    register_commands(app)
