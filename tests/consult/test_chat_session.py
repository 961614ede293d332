"""A chat socket is authenticated once, at connect, and stays tied to its server-side
session: logging out (or a password reset) cuts the session's sockets off at once; a
session ended in another server process is cut by the sweep; events re-check the session
and the membership every ``SOCKET_SESSION_CHECK_SECONDS``; and an ordinary event does not
look the session up in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import event, func, select, update

from portal.accounts.models import User, UserSession
from portal.accounts.services import end_all_sessions
from portal.communities.models import Community, OfficerStatus
from portal.consult import services as consult
from portal.consult.models import ChatMessage, Consultation, Conversation
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.extensions import socketio
from portal.realtime import sweep_ended_sessions
from tests.conftest import login
from tests.consult.test_chat_socket import NS, _conversation, _events, _on_duty, _send


def _pair(app, login_name):
    """An HTTP client logged in, and a chat socket on the same cookie."""
    http = app.test_client()
    login(http, login_name)
    return http, socketio.test_client(app, namespace=NS, flask_test_client=http)


def _join(sio, conv_id):
    return sio.emit("join", {"conversation_id": conv_id}, namespace=NS, callback=True)


def test_logout_cuts_off_that_sessions_sockets(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    http, r = _pair(app, "resident@example.com")
    _, r_other_device = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    for sio in (r, r_other_device, o):
        assert _join(sio, conv_id)["ok"]
    bell = socketio.test_client(app, namespace="/notifications", flask_test_client=http)
    assert bell.is_connected("/notifications")

    assert http.post("/logout").status_code in (302, 303)

    assert not r.is_connected(NS)
    assert not bell.is_connected("/notifications")
    # The cut-off socket went through the whole disconnect: it left its rooms and the
    # officer heard the resident go offline (the other device keeps them online).
    assert _events(o, "presence") == []
    in_room = socketio.server.manager.get_participants(NS, f"conversation:{conv_id}")
    assert r.eio_sid not in {eio for _sid, eio in in_room}
    r_other_device.emit("leave", {"conversation_id": conv_id}, namespace=NS, callback=True)
    assert _events(o, "presence") == [
        {"conversation_id": conv_id, "user_id": world["resident"], "online": False}
    ]
    # The same resident on another device (another session) and the officer stay on.
    assert r_other_device.is_connected(NS) and o.is_connected(NS)
    o.get_received(NS)
    assert _send(r_other_device, conv_id, "d1", "还在")["ok"]
    assert [m["body"] for m in _events(o, "message")] == ["还在"]
    # The old cookie cannot reconnect.
    again = socketio.test_client(app, namespace=NS, flask_test_client=http)
    assert not again.is_connected(NS)


def test_password_reset_cuts_off_every_socket_of_the_user(app, world):
    conv_id = _conversation(app, world["resident"])
    _, a = _pair(app, "resident@example.com")
    _, b = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    for sio in (a, b):
        assert _join(sio, conv_id)["ok"]
    with app.test_request_context():
        end_all_sessions(db.session.get(User, world["resident"]))
        db.session.commit()
    assert not a.is_connected(NS) and not b.is_connected(NS)
    assert o.is_connected(NS)


def test_session_ended_elsewhere_is_cut_by_the_sweep(app, world):
    """Another server process ended the session (it can only write the database)."""
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    assert _join(r, conv_id)["ok"]
    assert sweep_ended_sessions(app) == 0
    assert r.is_connected(NS)
    with app.app_context():
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == world["resident"])
            .values(ended_at=utcnow())
        )
        db.session.commit()
    assert r.is_connected(NS)  # nothing in this process heard of it yet
    assert sweep_ended_sessions(app) == 1
    assert not r.is_connected(NS)
    assert o.is_connected(NS)


def test_a_sweep_while_a_socket_connects_does_not_forget_it(app, world, monkeypatch):
    """python-socketio counts a socket as connected only after its connect handler returned,
    while the portal registers it during the handler: a sweep in that window (thousands of
    sockets connecting at once) must leave it alone."""
    from flask import current_app

    from portal import realtime

    conv_id = _conversation(app, world["resident"])
    register = realtime._register

    def register_then_sweep():
        register()
        db.session.commit()  # the sweeper's thread would wait for this transaction
        assert sweep_ended_sessions(current_app._get_current_object()) == 0

    monkeypatch.setattr(realtime, "_register", register_then_sweep)
    _, r = _pair(app, "resident@example.com")
    monkeypatch.setattr(realtime, "_register", register)
    assert r.is_connected(NS)
    assert _join(r, conv_id)["ok"]
    assert sweep_ended_sessions(app) == 0
    assert r.is_connected(NS) and _join(r, conv_id)["ok"]


def test_a_socket_that_is_gone_is_forgotten_by_the_second_sweep(app, world):
    _, r = _pair(app, "resident@example.com")
    sockets = app.extensions["portal.sockets"]
    [(key, conn)] = sockets.items()  # the resident's socket
    # As if its disconnect handler had never run: the registration outlived the socket.
    ghost = (key[0], "no-such-socket")
    sockets[ghost] = replace(conn, checked={})
    assert sweep_ended_sessions(app) == 0
    assert ghost in sockets and sockets[ghost].missing
    assert sweep_ended_sessions(app) == 0
    assert ghost not in sockets
    assert key in sockets and not sockets[key].missing and r.is_connected(NS)


def test_events_recheck_the_session_and_the_membership(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    assert _join(r, conv_id)["ok"] and _join(o, conv_id)["ok"]
    # The officer leaves the community: within the re-check interval the connection keeps
    # what it checked; after it, the membership is checked again and refused.
    with app.app_context():
        officer = db.session.get(User, world["officer"])
        community = db.session.get(Community, world["community"])
        officer.served_communities.remove(community)
        db.session.commit()
    assert _send(o, conv_id, "o1", "稍等")["ok"]
    app.config["SOCKET_SESSION_CHECK_SECONDS"] = 0
    ack = _send(o, conv_id, "o2", "还在吗")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert o.is_connected(NS)  # the session itself is fine
    # The resident's session ends in the database only: the next event notices it.
    with app.app_context():
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == world["resident"])
            .values(ended_at=utcnow())
        )
        db.session.commit()
    r.emit("typing", {"conversation_id": conv_id}, namespace=NS)
    assert not r.is_connected(NS)


def test_an_ordinary_event_does_not_look_up_the_session(app, world):
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    assert _join(r, conv_id)["ok"]
    ack, sent = _statements_during(app, lambda: _send(r, conv_id, "s1", "你好"))
    assert ack["ok"]
    _, statements = _statements_during(
        app, lambda: r.emit("typing", {"conversation_id": conv_id}, namespace=NS)
    )
    assert sent and not any("user_sessions" in s for s in sent)
    assert statements == []  # typing in a checked conversation touches no table


def test_a_resident_message_is_one_statement_on_postgresql_two_on_sqlite(app, world):
    """The insert, and the conversation's update, which also returns the on-duty check and
    the unread count: the per-message cost under load. On PostgreSQL it is one statement
    (the insert a CTE the update reads) that runs on its own, in autocommit, so no BEGIN
    and COMMIT round trips surround it. The socket learnt its seat in the conversation
    when it joined, so nothing is looked up."""
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    assert _join(r, conv_id)["ok"]
    one = app.extensions["portal.engine"].dialect.name == "postgresql"
    if one:
        ack, seen, autocommit = _driver_statements_during(lambda: _send(r, conv_id, "s1", "你好"))
    else:
        ack, seen = _statements_during(app, lambda: _send(r, conv_id, "s1", "你好"))
    statements = [s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert ack["ok"] and "offline" not in ack  # the officer is on duty
    assert len(statements) == (1 if one else 2), statements
    assert "INSERT INTO chat_messages" in statements[0]
    assert "officer_profiles" in statements[-1] and "UPDATE" in statements[-1].upper()
    if one:
        assert autocommit == [True]
    else:
        assert sum("officer_profiles" in s for s in statements) == 1
    with app.app_context():  # stored, and the conversation says so
        conv = db.session.get(Conversation, conv_id)
        assert conv.resident_read_id == ack["message"]["id"] and conv.last_message_at


def test_a_message_nobody_is_on_duty_for_is_stored_with_its_consultation_or_not_at_all(
    app, world, monkeypatch
):
    """When no officer is on duty the message and its consultation are one transaction: if
    the consultation cannot be made, the message is not stored either (on PostgreSQL the
    statement that stores a message on its own stores nothing when nobody is on duty), so
    the resident's resend is not taken for a duplicate and is queued."""
    _on_duty(app, world["officer"], OfficerStatus.OFF_DUTY)
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    assert _join(r, conv_id)["ok"]
    real_ask = consult.ask

    def broken_ask(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise DomainError("队列暂时不可用。", code="unavailable")

    monkeypatch.setattr(consult, "ask", broken_ask)
    ack = _send(r, conv_id, "n1", "晚上有人在吗")
    assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 0
        assert db.session.get(Conversation, conv_id).last_message_at is None
    monkeypatch.setattr(consult, "ask", real_ask)
    again = _send(r, conv_id, "n1", "晚上有人在吗")
    assert again["ok"] and not again["duplicate"] and again["offline"]["consultation_id"]
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 1
        c = db.session.get(Consultation, again["offline"]["consultation_id"])
        assert [m.body for m in c.messages] == ["晚上有人在吗"]


def _driver_statements_during(action):
    """PostgreSQL: the statements psycopg executes meanwhile, and whether each ran in
    autocommit (a statement on its own, with no BEGIN and COMMIT round trips)."""
    import psycopg

    seen: list[str] = []
    autocommit: list[bool] = []
    execute = psycopg.Cursor.execute

    def spy(cursor, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(str(query))
        autocommit.append(cursor.connection.autocommit)
        return execute(cursor, query, *args, **kwargs)

    psycopg.Cursor.execute = spy  # type: ignore[method-assign]
    try:
        result = action()
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    return result, seen, autocommit


def _statements_during(app, action):
    """The statements run meanwhile (on PostgreSQL as the driver sees them, so a statement
    run straight on the driver counts too)."""
    if app.extensions["portal.engine"].dialect.name == "postgresql":
        result, seen, _autocommit = _driver_statements_during(action)
        return result, seen
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app.extensions["portal.engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, seen


def _connections(app):
    return app.extensions["portal.sockets"]


def test_the_sweep_rechecks_every_connection_so_events_need_no_session_look_up(app, world):
    """The sweep (one query for every connection of the process) stands for each
    connection's own session check: after it, an event whose check was due costs none. A
    resident keeps their seat in their own conversation; an officer's seat is checked again
    (their communities may have changed)."""
    _on_duty(app, world["officer"])
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    assert _join(r, conv_id)["ok"] and _join(o, conv_id)["ok"]
    app.config["SOCKET_SESSION_CHECK_SECONDS"] = 60
    for conn in _connections(app).values():
        conn.checked_at -= 3600  # every connection's own check is long due
    assert sweep_ended_sessions(app) == 0
    kept = {c.user_id: set(c.checked) for c in _connections(app).values()}
    assert kept[world["resident"]] == {("conversation", conv_id)}
    assert kept[world["officer"]] == set()

    ack, seen = _statements_during(app, lambda: _send(r, conv_id, "r1", "你好"))
    assert ack["ok"]
    assert not any("user_sessions" in s for s in seen)
    assert not any(s.lstrip().upper().startswith("SELECT") for s in seen), seen
    # The officer's membership is checked again (the conversation once), not the session.
    ack, seen = _statements_during(app, lambda: _send(o, conv_id, "o1", "收到"))
    assert ack["ok"]
    assert not any("user_sessions" in s for s in seen)
    assert any("FROM chat_conversations" in s for s in seen)


def test_the_sweep_marks_used_sessions_seen_and_never_revives_an_idle_one(app, world):
    conv_id = _conversation(app, world["resident"])
    _, r = _pair(app, "resident@example.com")
    _, o = _pair(app, "officer@example.com")
    assert _join(r, conv_id)["ok"] and _join(o, conv_id)["ok"]
    a_while_ago = utcnow() - dt.timedelta(minutes=5)
    long_ago = utcnow() - dt.timedelta(hours=3)  # past the idle limit (60 minutes)
    with app.app_context():
        for user_id, when in ((world["resident"], a_while_ago), (world["officer"], long_ago)):
            db.session.execute(
                update(UserSession).where(UserSession.user_id == user_id).values(last_seen_at=when)
            )
        db.session.commit()
    r.emit("typing", {"conversation_id": conv_id}, namespace=NS)
    o.emit("typing", {"conversation_id": conv_id}, namespace=NS)

    assert sweep_ended_sessions(app) == 1  # the officer's idle session: its socket is cut
    assert r.is_connected(NS) and not o.is_connected(NS)
    with app.app_context():
        seen = dict(db.session.execute(select(UserSession.user_id, UserSession.last_seen_at)).all())
    assert as_utc(seen[world["resident"]]) > a_while_ago + dt.timedelta(minutes=4)
    assert as_utc(seen[world["officer"]]) == long_ago  # use does not revive an idle session
    # A socket that stayed silent is not marked as seen.
    assert sweep_ended_sessions(app) == 0
    with app.app_context():
        again = db.session.scalar(
            select(UserSession.last_seen_at).where(UserSession.user_id == world["resident"])
        )
    assert as_utc(again) == as_utc(seen[world["resident"]])
