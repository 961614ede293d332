"""Home, language switch, health check."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.accounts.routes import safe_next
from portal.communities import services as communities
from portal.db import db
from portal.main import bp


@bp.route("/")
def index() -> Any:
    """The station's front page: your community first, then all of them."""
    all_c = communities.all_communities()
    mine = None
    if current_user.is_authenticated and current_user.community_id:
        mine = next((c for c in all_c if c.id == current_user.community_id), None)
    return render_template("main/index.html", communities=all_c, mine=mine)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    """Switch between Chinese and English; remembered in the session."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.route("/healthz")
def healthz() -> Any:
    """Is the database reachable? For load balancers and monitors."""
    try:
        db.session.execute(text("SELECT 1"))
        ok = True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        db.session.rollback()
        ok = False
    return jsonify(status="ok" if ok else "degraded", database=ok), (200 if ok else 503)
