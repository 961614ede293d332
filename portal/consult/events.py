"""Socket.IO namespace ``/chat``: one room per conversation.

Every handler is ``@authenticated_only`` (the user is authenticated once, at ``connect``; see
``portal/realtime.py``) and checks membership of the conversation named in the event. A
membership once checked is remembered on the connection until the next session re-check
(``SOCKET_SESSION_CHECK_SECONDS``), so a membership that ends is noticed within that time
while an ordinary event costs no membership query. ``send`` stores the message and commits
before it is broadcast (``publish_after_commit``), acknowledges with the stored id, and
answers a resend of the same client id with the message already stored. A client that
reconnects calls ``join`` with the last id it holds and receives everything after it.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import emit, join_room, leave_room
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from portal.consult import chat
from portal.consult.models import Conversation
from portal.db import db
from portal.errors import DomainError
from portal.extensions import socketio
from portal.realtime import authenticated_only, connection, forget_connection, user_room

NAMESPACE = chat.NAMESPACE
#: Messages per connection per window before a notice instead of a store.
RATE_LIMIT = (10, 10.0)
_recent: dict[str, deque[float]] = {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def _requested_id(data: Any) -> int | None:
    try:
        return int(data.get("conversation_id"))  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return None


def _seat(conv_id: int) -> chat.Seat | None:
    """The user's seat in the conversation, when this connection already checked that its
    user belongs to it."""
    conn = connection()
    return conn.checked.get(("conversation", conv_id)) if conn is not None else None


#: Built once: every event that names a conversation runs it (building it per event costs
#: more Python than the query's execution).
_CONVERSATION = (
    select(Conversation)
    .options(joinedload(Conversation.resident), joinedload(Conversation.community))
    .where(Conversation.id == bindparam("conv_id"))
)


def _conversation(data: Any) -> Conversation | None:
    """The conversation named in the event, if the user belongs to it."""
    conv_id = _requested_id(data)
    if conv_id is None:
        return None
    # The inbox row sent with each message names the resident and the community: one query.
    conv = db.session.execute(_CONVERSATION, {"conv_id": conv_id}).scalar()
    if conv is None:
        return None
    if _seat(conv_id) is None:
        if not conv.can_join(current_user):
            return None
        conn = connection()
        if conn is not None:
            conn.checked[("conversation", conv_id)] = chat.Seat.of(conv, current_user)
    return conv


def _rate_limited() -> bool:
    limit, window = current_app.config.get("CHAT_RATE_LIMIT", RATE_LIMIT)
    now = time.monotonic()
    stamps = _recent.setdefault(request.sid, deque())  # type: ignore[attr-defined]
    while stamps and now - stamps[0] > window:
        stamps.popleft()
    if len(stamps) >= limit:
        return True
    stamps.append(now)
    return False


@socketio.on("connect", namespace=NAMESPACE)
@authenticated_only
def on_connect(auth: object = None) -> None:
    """A logged-in user connects; rooms are joined per conversation with ``join``."""
    join_room(user_room(current_user.id))


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args: Any) -> None:
    sid = request.sid  # type: ignore[attr-defined]
    forget_connection()
    _recent.pop(sid, None)
    for conv_id in chat.resident_left(sid):
        _announce_presence(conv_id, False)


def _announce_presence(conv_id: int, online: bool) -> None:
    """The resident came online or went offline: their conversation and the inboxes hear it."""
    conv = db.session.get(Conversation, conv_id)
    if conv is None:
        return
    data = {"conversation_id": conv_id, "user_id": conv.resident_id, "online": online}
    chat.publish("presence", data, room=chat.room(conv_id), namespace=NAMESPACE)
    chat.to_inboxes("presence", data, conv.community_id, after_commit=False)
    db.session.rollback()  # nothing was written; end the read transaction


@socketio.on("watch_inbox", namespace=NAMESPACE)
@authenticated_only
def on_watch_inbox(_data: Any = None) -> dict[str, Any]:
    """An officer's inbox page listens for unread counts, urgent marks and presence."""
    rooms = chat.inbox_rooms_of(current_user)
    if not rooms:
        return _error("forbidden", _("您没有权限访问此页面。"))
    for name in rooms:
        join_room(name)
    rows = [chat.inbox_row(c, unread) for c, unread in chat.inbox(current_user)]
    db.session.rollback()
    return {"ok": True, "rows": rows}


@socketio.on("join", namespace=NAMESPACE)
@authenticated_only
def on_join(data: Any) -> dict[str, Any]:
    """Join a conversation's room; the answer holds every message after ``after_id``."""
    conv = _conversation(data)
    if conv is None:
        return _error("forbidden", _("您不在这个对话中。"))
    try:
        after = max(0, int(data.get("after_id") or 0))
    except (TypeError, ValueError):
        after = 0
    join_room(chat.room(conv.id))
    messages = [chat.message_dict(m) for m in chat.history(conv, after)]
    is_resident = conv.is_resident(current_user)
    other_read = conv.staff_read_id if is_resident else conv.resident_read_id
    urgent, conv_id = conv.is_urgent, conv.id
    db.session.commit()
    if is_resident and chat.resident_joined(conv_id, request.sid):  # type: ignore[attr-defined]
        _announce_presence(conv_id, True)
    return {
        "ok": True,
        "messages": messages,
        "other_read_id": other_read,
        "urgent": urgent,
        "resident_online": chat.resident_online(conv_id),
    }


@socketio.on("leave", namespace=NAMESPACE)
@authenticated_only
def on_leave(data: Any) -> dict[str, Any]:
    conv = _conversation(data)
    if conv is None:
        return _error("forbidden", _("您不在这个对话中。"))
    leave_room(chat.room(conv.id))
    if conv.is_resident(current_user) and chat.resident_left(request.sid, conv.id):  # type: ignore[attr-defined]
        _announce_presence(conv.id, False)
    return {"ok": True}


@socketio.on("send", namespace=NAMESPACE)
@authenticated_only
def on_send(data: Any) -> dict[str, Any]:
    """Store, commit, then broadcast; the acknowledgement carries the stored id.

    A socket that holds its seat in the conversation sends without any look-up: the insert
    and one update (``chat.post_from``)."""
    conv_id = _requested_id(data)
    seat = _seat(conv_id) if conv_id is not None else None
    if seat is None:
        conv = _conversation(data)
        seat = _seat(conv.id) if conv is not None else None
        if seat is None:  # not a member (or the connection is gone)
            db.session.rollback()
            return _error("forbidden", _("您不在这个对话中。"))
    if _rate_limited():
        db.session.rollback()
        return _error("rate_limited", _("发送太频繁，请稍候再试。"))
    try:
        posted = chat.post_from(seat, str(data.get("body") or ""), str(data.get("client_id") or ""))
        answer: dict[str, Any] = {
            "ok": True,
            "message": posted.message,
            "duplicate": not posted.created,
            "urgent": posted.urgent,
        }
        if posted.offline:
            answer["offline"] = {
                "consultation_id": posted.consultation_id,
                "back_at": posted.back_at.isoformat() if posted.back_at else None,
            }
        db.session.commit()
    except DomainError as err:
        db.session.rollback()
        return _error(err.code, err.message)
    return answer


@socketio.on("typing", namespace=NAMESPACE)
@authenticated_only
def on_typing(data: Any) -> None:
    """Tell the others in the room that this user is typing (nothing is stored; once the
    membership is checked this costs no query)."""
    conv_id = _requested_id(data)
    if conv_id is None:
        return
    if _seat(conv_id) is None:
        conv = _conversation(data)
        db.session.rollback()
        if conv is None:
            return
    conn = connection()
    emit(
        "typing",
        {"conversation_id": conv_id, "user_id": conn.user_id if conn else current_user.id},
        to=chat.room(conv_id),
        include_self=False,
    )


@socketio.on("read", namespace=NAMESPACE)
@authenticated_only
def on_read(data: Any) -> dict[str, Any]:
    """Record the last message read; the room hears it (read receipts)."""
    conv = _conversation(data)
    if conv is None:
        return _error("forbidden", _("您不在这个对话中。"))
    try:
        value = chat.mark_read(current_user, conv, int(data.get("last_id") or 0))
        db.session.commit()
    except (DomainError, TypeError, ValueError):
        db.session.rollback()
        return _error("invalid", _("提交的内容有误。"))
    return {"ok": True, "last_id": value}
