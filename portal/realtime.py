"""Socket.IO plumbing every feature uses.

Rules: one namespace per feature, one room per conversation; ``connect`` refuses anonymous
users; every event checks that the user belongs to the room; services publish through
``publish`` instead of calling ``emit`` everywhere (with a Redis message queue configured,
``publish`` reaches clients connected to any server process).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect

from portal.extensions import socketio


def user_room(user_id: int) -> str:
    """The private room of one user (all their tabs and devices)."""
    return f"user:{user_id}"


def authenticated_only(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a connection or event from someone who is not logged in."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            if handler.__name__.endswith("connect"):
                raise ConnectionRefusedError("login required")
            disconnect()
            return None
        return handler(*args, **kwargs)

    return wrapper


def publish(event: str, data: dict[str, Any], *, room: str, namespace: str) -> None:
    """Send an event to a room. Never raises: a realtime hiccup must not fail a request."""
    try:
        socketio.emit(event, data, to=room, namespace=namespace)
    except Exception:  # noqa: BLE001 - the data is in the database; the page shows it on reload
        import logging

        logging.getLogger(__name__).warning(
            "could not publish %s to %s", event, room, exc_info=True
        )


def publish_after_commit(event: str, data: dict[str, Any], *, room: str, namespace: str) -> None:
    """Publish once the current transaction commits; drop it if it rolls back.

    Clients must never hear of a change the database does not hold."""
    from portal.db import db

    db.session().info.setdefault("portal.publish", []).append((event, data, room, namespace))


def _install_session_hooks() -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    @sa_event.listens_for(Session, "after_commit")
    def _after_commit(session: Session) -> None:
        for event, data, room, namespace in session.info.pop("portal.publish", []):
            publish(event, data, room=room, namespace=namespace)

    @sa_event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop("portal.publish", None)


_install_session_hooks()
