"""Socket.IO namespace ``/notifications``: the bell updates live.

A logged-in user joins only their own room on connect; there is nothing else to join, so
no one can listen to another user's notifications.
"""

from __future__ import annotations

from flask_login import current_user
from flask_socketio import join_room

from portal.extensions import socketio
from portal.notifications.services import unread_count
from portal.realtime import authenticated_only, user_room

NAMESPACE = "/notifications"


@socketio.on("connect", namespace=NAMESPACE)
@authenticated_only
def on_connect(auth: object = None) -> None:
    """Join the user's own room and send the current count."""
    join_room(user_room(current_user.id))
    socketio.emit(
        "unread",
        {"count": unread_count(current_user)},
        to=user_room(current_user.id),
        namespace=NAMESPACE,
    )
