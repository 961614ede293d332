"""Writing the audit log. Every service that changes or reveals someone's data calls
``record`` with the acting user; the request supplies the address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request

from portal.db import db
from portal.security.models import AuditEntry

if TYPE_CHECKING:
    from portal.accounts.models import User


def record(
    actor: User | None,
    action: str,
    *,
    subject: User | None = None,
    obj: Any = None,
    **detail: Any,
) -> AuditEntry:
    """Append one entry: who (actor), what (action, detail), whose (subject), when, from where."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_user_id=subject.id if subject is not None else None,
        object_type=obj.__tablename__ if obj is not None else None,
        object_id=getattr(obj, "id", None) if obj is not None else None,
        detail={k: v for k, v in detail.items() if v is not None} or None,
        ip_address=(request.remote_addr if has_request_context() else "cli"),
    )
    db.session.add(entry)
    db.session.flush()
    return entry
