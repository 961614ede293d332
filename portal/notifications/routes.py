"""The notification list behind the bell."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for
from flask_login import current_user

from portal.notifications import bp
from portal.notifications import services as svc
from portal.security.access import login_required
from portal.templating import Page, page_arg


@bp.route("/notifications")
@login_required
def index() -> Any:
    """The user's notifications, newest first."""
    page = page_arg()
    rows, total = svc.notifications_for(current_user, page)
    return render_template("notifications/index.html", page=Page(rows, total, page, 20))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all() -> Any:
    """Mark everything read."""
    svc.mark_read(current_user)
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@login_required
def read_one(note_id: int) -> Any:
    """Mark one read and follow its link."""
    from portal.db import db
    from portal.notifications.models import Notification

    note = db.session.get(Notification, note_id)
    if note is None or not note.can_be_read_by(current_user):
        return redirect(url_for("notifications.index"))
    svc.mark_read(current_user, note_id)
    from portal.accounts.routes import safe_next

    return redirect(safe_next(note.link) or url_for("notifications.index"))
