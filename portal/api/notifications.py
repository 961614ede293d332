"""The bell over the API (tag ``notifications``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from portal.api import bp
from portal.api.spec import operation
from portal.notifications import services as svc
from portal.security.access import login_required
from portal.templating import page_arg

NOTE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "link": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
        "read": {"type": "boolean"},
    },
    "required": ["id", "kind", "title", "body", "link", "created_at", "read"],
}
PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": NOTE},
        "total": {"type": "integer"},
        "unread": {"type": "integer"},
        "page": {"type": "integer"},
    },
    "required": ["items", "total", "unread", "page"],
}


@bp.route("/notifications")
@login_required
@operation("notifications", "My notifications, newest first (?page=)", response=PAGE, auth="any")
def notifications() -> Any:
    """A page of 20 notifications and the unread count."""
    page = page_arg()
    rows, total = svc.notifications_for(current_user, page)
    return jsonify(
        items=[
            {
                "id": n.id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "created_at": n.created_at.isoformat(),
                "read": n.read_at is not None,
            }
            for n in rows
        ],
        total=total,
        unread=svc.unread_count(current_user),
        page=page,
    )


@bp.route("/notifications/read", methods=["POST"])
@login_required
@operation(
    "notifications",
    'Mark one notification read ({"id": n}) or all ({})',
    response={
        "type": "object",
        "properties": {"changed": {"type": "integer"}},
        "required": ["changed"],
    },
    auth="any",
)
def mark_read() -> Any:
    """Mark read; an id that is not the user's changes nothing."""
    payload = request.get_json(silent=True)
    note_id = payload.get("id") if isinstance(payload, dict) else None
    if note_id is not None and (
        not isinstance(note_id, int) or isinstance(note_id, bool) or not 0 < note_id < 2**31
    ):
        from flask_babel import gettext as _

        from portal.api.common import error

        return error(422, "invalid", _("id 必须是整数。"))
    return jsonify(changed=svc.mark_read(current_user, note_id))
