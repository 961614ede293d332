"""Socket.IO plumbing every feature uses.

Rules: one namespace per feature, one room per conversation; ``connect`` refuses anonymous
users; every event checks that the user belongs to the room; services publish through
``publish`` instead of calling ``emit`` everywhere (with a Redis message queue configured,
``publish`` reaches clients connected to any server process).

Authentication happens once, at ``connect`` (Flask-Login loads the user from the server-side
session). The connection then keeps who it is (``Connection``: user id, the session's token
hash, what the handlers have already checked) so that an event costs no session look-up:
events re-check the server-side session at most every ``SOCKET_SESSION_CHECK_SECONDS``.
A logout or a password change disconnects that session's (that user's) sockets in this
process as soon as it commits (``cut_off_after_commit``); sockets held by other server
processes are cut by ``sweep_ended_sessions``, which each process runs every
``SOCKET_SESSION_SWEEP_SECONDS`` (one query for all its connections).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Request, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect

from portal.extensions import socketio


class SocketSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except for a Socket.IO event: Flask-SocketIO pushes a
    request context per event, whose session it then replaces with the copy it made once at
    connect (``environ["saved_session"]``, ``manage_session``). Returning that copy at once
    saves verifying and decoding the cookie again on every event; what handlers see is the
    same object."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        saved = request.environ.get("saved_session")
        if saved is not None:
            return saved  # type: ignore[no-any-return]
        return super().open_session(app, request)


def user_room(user_id: int) -> str:
    """The private room of one user (all their tabs and devices)."""
    return f"user:{user_id}"


log = logging.getLogger(__name__)


@dataclass
class Connection:
    """Who a socket belongs to, learnt once at ``connect``.

    ``checked`` holds what handlers have verified for this connection, with what they learnt
    doing so (e.g. membership of a conversation, and the user's seat in it); it is emptied
    whenever the session is re-checked, so a membership that ended is noticed within
    ``SOCKET_SESSION_CHECK_SECONDS``."""

    user_id: int
    token_hash: str
    namespace: str
    checked_at: float
    checked: dict[Hashable, Any] = field(default_factory=dict)
    #: An event came since the last sweep (the sweep marks the session as seen).
    active: bool = False
    #: The last sweep did not find the socket connected (see ``sweep_ended_sessions``).
    missing: bool = False

    def recheck(self, now: float) -> None:
        """The session was found live at ``now``: what handlers checked must be checked
        again, except what lasts as long as the session (``lasts_the_session``, such as a
        resident's seat in their own conversation)."""
        self.checked_at = now
        self.checked = {
            k: v for k, v in self.checked.items() if getattr(v, "lasts_the_session", False)
        }


_lock = threading.Lock()


def _connections(app: Flask | None = None) -> dict[tuple[str, str], Connection]:
    """(namespace, socket id) -> Connection, per app (several apps may share a process)."""
    app = app or current_app
    return app.extensions.setdefault("portal.sockets", {})


def connection() -> Connection | None:
    """The Connection of the socket handling the current event."""
    with _lock:
        return _connections().get((request.namespace, request.sid))  # type: ignore[attr-defined]


def _register() -> None:
    from portal.accounts.services import session_token_hash

    conn = Connection(
        user_id=current_user.id,
        token_hash=session_token_hash(session.get("sid")),
        namespace=request.namespace,  # type: ignore[attr-defined]
        checked_at=time.monotonic(),
    )
    with _lock:
        _connections()[(conn.namespace, request.sid)] = conn  # type: ignore[attr-defined]
    _start_sweeper(current_app._get_current_object())  # type: ignore[attr-defined]


def forget_connection() -> None:
    """Drop the current socket's Connection (its disconnect handler calls this)."""
    with _lock:
        _connections().pop((request.namespace, request.sid), None)  # type: ignore[attr-defined]


def _still_valid(conn: Connection) -> bool:
    """Re-check the server-side session when the last check is older than the setting."""
    every = current_app.config.get("SOCKET_SESSION_CHECK_SECONDS", 30)
    now = time.monotonic()
    if now - conn.checked_at < every:
        return True
    from portal.accounts.services import user_for_session_token_hash

    user = user_for_session_token_hash(conn.token_hash)
    if user is None or user.id != conn.user_id:
        return False
    conn.recheck(now)
    return True


def authenticated_only(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a connection or event from someone who is not logged in.

    ``connect`` authenticates through Flask-Login and records the Connection; later events
    use it (``current_user`` is then loaded by primary key, only if the handler asks)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if handler.__name__.endswith("connect"):
            if not current_user.is_authenticated:
                raise ConnectionRefusedError("login required")
            _register()
            return handler(*args, **kwargs)
        conn = connection()
        if conn is None or not _still_valid(conn):
            forget_connection()
            disconnect()
            return None
        conn.active = True
        g.portal_socket_user_id = conn.user_id
        return handler(*args, **kwargs)

    return wrapper


def socket_user_id() -> int | None:
    """The user id of the socket event being handled (the request loader's fast path)."""
    return g.get("portal_socket_user_id")


def cut_off_after_commit(*, token_hash: str | None = None, user_id: int | None = None) -> None:
    """Once the current transaction commits, disconnect this process's sockets of the ended
    session (``token_hash``) or of every session of the user (``user_id``)."""
    from portal.db import db

    db.session().info.setdefault("portal.cutoff", []).append((token_hash, user_id))


def _cut_off(app: Flask, token_hash: str | None, user_id: int | None) -> None:
    with _lock:
        doomed = [
            (ns, sid)
            for (ns, sid), c in _connections(app).items()
            if (token_hash and c.token_hash == token_hash) or (user_id and c.user_id == user_id)
        ]
    _disconnect(app, doomed)


def _disconnect(app: Flask, doomed: list[tuple[str, str]]) -> None:
    for ns, sid in doomed:
        with _lock:
            _connections(app).pop((ns, sid), None)
        try:
            socketio.server.disconnect(sid, namespace=ns, ignore_queue=True)
        except Exception:  # noqa: BLE001 - already gone
            log.debug("could not disconnect %s", sid, exc_info=True)


def sweep_ended_sessions(app: Flask) -> int:
    """Disconnect this process's sockets whose server-side session has ended (logout on
    another process, password change, idle or too old, deactivated account); forget sockets
    that two sweeps in a row found gone. The sessions of sockets used since the last sweep
    are marked as seen, and every live connection counts as re-checked now, so that events
    between sweeps cost no session look-up (``_still_valid`` is the fallback when a sweep is
    late). Two statements for all connections. Returns how many sockets were cut off."""
    from portal.accounts.services import live_session_token_hashes

    with _lock:
        conns = dict(_connections(app))
    if not conns:
        return 0
    started = time.monotonic()
    manager = socketio.server.manager
    # A socket is registered here while its connect handler runs, but python-socketio counts
    # it as connected only once the handler has returned; a sweep in between must not
    # forget it (its next event would be refused). So a socket is forgotten only when two
    # sweeps in a row find it gone (its disconnect handler normally forgets it first).
    gone = []
    for key, c in conns.items():
        if manager.is_connected(key[1], key[0]):
            c.missing = False
        elif c.missing:
            gone.append(key)
        else:
            c.missing = True
    with _lock:
        for key in gone:
            _connections(app).pop(key, None)
    live_keys = {k: c for k, c in conns.items() if k not in gone}
    active = set()
    for c in live_keys.values():
        if c.active:
            c.active = False
            active.add(c.token_hash)
    with app.app_context():
        live = live_session_token_hashes({c.token_hash for c in live_keys.values()}, active=active)
    doomed = [k for k, c in live_keys.items() if c.token_hash not in live]
    _disconnect(app, doomed)
    for c in live_keys.values():
        if c.token_hash in live:
            c.recheck(started)
    return len(doomed)


def _start_sweeper(app: Flask) -> None:
    """Once per app and process: run ``sweep_ended_sessions`` in the background."""
    every = app.config.get("SOCKET_SESSION_SWEEP_SECONDS", 30)
    if not every or app.testing:
        return
    with _lock:
        if app.extensions.get("portal.socket_sweeper"):
            return
        app.extensions["portal.socket_sweeper"] = True

    def loop() -> None:
        while True:
            socketio.sleep(every)
            try:
                sweep_ended_sessions(app)
            except Exception:  # noqa: BLE001 - try again next round
                log.warning("socket session sweep failed", exc_info=True)

    socketio.start_background_task(loop)


def publish(event: str, data: dict[str, Any], *, room: str | list[str], namespace: str) -> None:
    """Send an event to a room (or to several: each member hears it once). Never raises: a
    realtime hiccup must not fail a request."""
    try:
        socketio.emit(event, data, to=room, namespace=namespace)
    except Exception:  # noqa: BLE001 - the data is in the database; the page shows it on reload
        log.warning("could not publish %s to %s", event, room, exc_info=True)


def publish_after_commit(
    event: str, data: dict[str, Any], *, room: str | list[str], namespace: str
) -> None:
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
        cutoffs = session.info.pop("portal.cutoff", [])
        if cutoffs:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            # A fresh app context: the disconnect handlers run now, with their own database
            # session, not inside the one that has just committed.
            with app.app_context():
                for token_hash, user_id in cutoffs:
                    _cut_off(app, token_hash, user_id)

    @sa_event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop("portal.publish", None)
        session.info.pop("portal.cutoff", None)


_install_session_hooks()


def settle_collector(full_every: int) -> None:
    """Garbage-collector settings for a long-running server process (``portal serve``).

    Measured with 1,000 open sockets: a full collection stops every thread of the process
    for 150–250 ms, and with Python's defaults one came about every 30 s at a steady 50
    messages/s (objects that live for seconds keep reaching the oldest generation; in
    threading mode python-engineio starts a thread per socket per ping, every 25 s). So:

    - everything made at start-up (the app, its mappers, catalogues and compiled statements,
      about 160,000 objects whose full collection alone took 85 ms) is frozen: it lives as
      long as the process, and no collection looks at it again;
    - a full collection waits for ``full_every`` collections of the middle generation
      (Python's default is 10; 0 keeps it). Young garbage is collected as before, and
      reference counting frees all garbage that is not a cycle at once; cycles in the oldest
      generation wait longer, which costs memory, not correctness."""
    gc.collect()
    gc.freeze()
    if full_every:
        young, middle, _full = gc.get_threshold()
        gc.set_threshold(young, middle, full_every)


def serve(app: Flask, *, host: str, port: int, log_output: bool = True) -> None:
    """Run the portal's server (Flask-SocketIO's, on Werkzeug, threading) until stopped."""
    settle_collector(app.config["GC_FULL_EVERY"])
    # Flask refuses app.run() under its CLI; this is the server, so allow it.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=log_output)
