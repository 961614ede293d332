"""Real python-socketio clients against a real ``portal serve`` process (threading mode,
simple-websocket): anonymous connect refused, a foreign conversation refused, resync after a
reconnect returns exactly the missed messages, an offline officer turns the message into a
consultation, and a server killed with SIGKILL in the middle of a conversation comes back
with the whole history, nothing doubled. Every wait is bounded."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio
from sqlalchemy import create_engine, func, select

from portal.db import db
from tests.conftest import PASSWORD, TEST_PII_KEY, make_test_app
from tests.consult.test_chat_two_processes import (
    _free_port,
    _login,
    _seed,
    _serve,
    _wait_ready,
)

NS = "/chat"
WAIT = 10  # seconds, for any single answer


@dataclass
class Server:
    base: str
    port: int
    db_url: str
    env: dict[str, str]
    log: Path
    conv_id: int
    proc: subprocess.Popen

    def start(self) -> None:
        self.proc = _serve(self.port, self.env, self.log)
        _wait_ready(self.base, self.proc, self.log)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)


def _add_resident(url: str, instance: Path, login: str) -> None:
    from portal.accounts.services import register_user
    from portal.communities.models import Community

    app = make_test_app(url, instance)
    with app.test_request_context():
        community = db.session.scalar(select(Community))
        register_user(login=login, password=PASSWORD, display_name="隔壁", community=community)
        db.session.commit()
    app.extensions["portal.engine"].dispose()


def _set_officer(url: str, instance: Path, on_duty: bool) -> None:
    from portal.accounts.models import User
    from portal.communities.models import OfficerStatus

    app = make_test_app(url, instance)
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.email == "officer@example.com"))
        officer.officer_profile.status = (
            OfficerStatus.IN_OFFICE if on_duty else OfficerStatus.OFF_DUTY
        )
        db.session.commit()
    app.extensions["portal.engine"].dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("chat-real")
    url = f"sqlite:///{tmp / 'portal.db'}"
    conv_id = _seed(url, tmp / "seed-instance")
    _add_resident(url, tmp / "seed-instance", "nosy@example.com")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORTAL_INSTANCE": str(tmp / "instance"),
        "SECRET_KEY": "real-server-secret",
        "PORTAL_PII_KEY": TEST_PII_KEY,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("PORTAL_REDIS_URL", None)  # one process, no message queue
    port = _free_port()
    srv = Server(f"http://127.0.0.1:{port}", port, url, env, tmp / "server.log", conv_id, None)  # type: ignore[arg-type]
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


class Chat:
    """A python-socketio client that works like chat.js: it remembers the last id it holds,
    resends what was not acknowledged, and on every (re)connect joins with ``after_id``."""

    def __init__(self, base: str, cookie: str, conv_id: int, *, reconnect: bool = False):
        self.conv_id = conv_id
        self.last_id = 0
        self.seen: list[dict] = []  # every message, in the order this client learnt of it
        self.joined: queue.Queue = queue.Queue()
        self.sio = socketio.Client(
            reconnection=reconnect,
            reconnection_delay=0.2,
            reconnection_delay_max=1,
            request_timeout=WAIT,
        )
        self.sio.on("message", self._heard, namespace=NS)
        self.sio.on("connect", self._on_connect, namespace=NS)
        self.sio.connect(
            base,
            namespaces=[NS],
            headers={"Cookie": cookie},
            transports=["websocket"],
            wait_timeout=WAIT,
        )

    def _take(self, m: dict) -> None:
        if m["conversation_id"] == self.conv_id and all(s["id"] != m["id"] for s in self.seen):
            self.seen.append(m)
            self.last_id = max(self.last_id, m["id"])

    def _heard(self, m: dict) -> None:
        self._take(m)

    def _on_connect(self) -> None:
        # Runs on the client's thread: ask in the background, never block the handler.
        self.sio.start_background_task(self._join)

    def _join(self) -> None:
        try:
            ack = self.sio.call(
                "join",
                {"conversation_id": self.conv_id, "after_id": self.last_id},
                namespace=NS,
                timeout=WAIT,
            )
        except socketio.exceptions.TimeoutError:
            ack = {"ok": False, "error": {"code": "timeout"}}
        if ack.get("ok"):
            for m in ack["messages"]:
                self._take(m)
        self.joined.put(ack)

    def wait_joined(self) -> dict:
        return self.joined.get(timeout=WAIT)

    def send(self, client_id: str, body: str) -> dict:
        return self.sio.call(
            "send",
            {"conversation_id": self.conv_id, "client_id": client_id, "body": body},
            namespace=NS,
            timeout=WAIT,
        )

    def close(self) -> None:
        self.sio.disconnect()


def _wait_for(predicate, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_anonymous_connect_is_refused(server: Server):
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.base, namespaces=[NS], transports=["websocket"], wait_timeout=WAIT)
    assert not sio.connected
    # A forged cookie is no better.
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(
            server.base,
            namespaces=[NS],
            headers={"Cookie": "session=forged"},
            transports=["websocket"],
            wait_timeout=WAIT,
        )


def test_foreign_conversation_is_refused(server: Server):
    nosy = Chat(server.base, _login(server.base, "nosy@example.com"), server.conv_id)
    resident = Chat(server.base, _login(server.base, "resident@example.com"), server.conv_id)
    try:
        ack = nosy.wait_joined()
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        assert resident.wait_joined()["ok"]
        refused = nosy.send("nosy-1", "偷看一下")
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
        sent = resident.send("private-1", "只给民警看")
        assert sent["ok"]
        _wait_for(lambda: resident.last_id == sent["message"]["id"], "the resident's echo")
        time.sleep(0.3)
        assert nosy.seen == []  # nor does the outsider hear the room
    finally:
        nosy.close()
        resident.close()


def test_a_burst_of_messages_is_stored_and_heard_in_the_order_sent(server: Server):
    """A client that sends without waiting for each acknowledgement (a quick typist, a
    resend queue after a reconnect): the socket's events are handled one after another, so
    no message overtakes the one sent before it."""
    resident = Chat(server.base, _login(server.base, "resident@example.com"), server.conv_id)
    officer = Chat(server.base, _login(server.base, "officer@example.com"), server.conv_id)
    acks: queue.Queue = queue.Queue()
    try:
        assert resident.wait_joined()["ok"] and officer.wait_joined()["ok"]
        bodies = [f"连发第{i}条" for i in range(8)]
        for i, body in enumerate(bodies):
            resident.sio.emit(
                "send",
                {"conversation_id": server.conv_id, "client_id": f"burst-{i}", "body": body},
                namespace=NS,
                callback=lambda answer, i=i: acks.put((i, answer)),
            )
        answers = dict(acks.get(timeout=WAIT) for _ in bodies)
        assert all(a["ok"] for a in answers.values()), answers
        ids = [answers[i]["message"]["id"] for i in range(len(bodies))]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        _wait_for(lambda: officer.last_id == ids[-1], "the officer hears the whole burst")
        assert [m["body"] for m in officer.seen][-len(bodies) :] == bodies
    finally:
        resident.close()
        officer.close()


def test_resync_after_reconnect_returns_exactly_the_missed(server: Server):
    resident = Chat(server.base, _login(server.base, "resident@example.com"), server.conv_id)
    officer_cookie = _login(server.base, "officer@example.com")
    officer = Chat(server.base, officer_cookie, server.conv_id)
    try:
        assert resident.wait_joined()["ok"] and officer.wait_joined()["ok"]
        first = resident.send("resync-1", "第一条")
        _wait_for(lambda: officer.last_id == first["message"]["id"], "the officer hears it")
        held = list(officer.seen)
        officer.sio.disconnect()
        missed = [resident.send(f"resync-{i}", f"第{i}条") for i in (2, 3, 4)]
        assert all(a["ok"] for a in missed)
        officer.sio.connect(
            server.base,
            namespaces=[NS],
            headers={"Cookie": officer_cookie},
            transports=["websocket"],
            wait_timeout=WAIT,
        )
        ack = officer.wait_joined()
        assert ack["ok"]
        assert [m["id"] for m in ack["messages"]] == [a["message"]["id"] for a in missed]
        ids = [m["id"] for m in officer.seen]
        assert ids == [m["id"] for m in held] + [a["message"]["id"] for a in missed]
        assert len(ids) == len(set(ids))
    finally:
        resident.close()
        officer.close()


def test_offline_officer_turns_the_message_into_a_consultation(server: Server):
    from portal.consult.models import Consultation

    _set_officer(server.db_url, Path(server.log.parent / "seed-instance"), on_duty=False)
    resident = Chat(server.base, _login(server.base, "resident@example.com"), server.conv_id)
    try:
        assert resident.wait_joined()["ok"]
        ack = resident.send("offline-1", "晚上想问个事")
        assert ack["ok"] and ack["offline"]["consultation_id"]
        engine = create_engine(server.db_url)
        with engine.connect() as conn:
            row = conn.execute(
                select(Consultation.source, Consultation.body).where(
                    Consultation.id == ack["offline"]["consultation_id"]
                )
            ).one()
        engine.dispose()
        assert tuple(row) == ("chat", "晚上想问个事")
    finally:
        resident.close()
        _set_officer(server.db_url, Path(server.log.parent / "seed-instance"), on_duty=True)


def test_history_is_whole_after_the_server_is_killed(server: Server):
    """SIGKILL the server mid-conversation, start it again: both clients reconnect on their
    own, the resident resends what was not acknowledged, and the history is whole and
    single on both sides and in the database."""
    from portal.consult.models import ChatMessage

    resident = Chat(
        server.base, _login(server.base, "resident@example.com"), server.conv_id, reconnect=True
    )
    officer = Chat(
        server.base, _login(server.base, "officer@example.com"), server.conv_id, reconnect=True
    )
    try:
        assert resident.wait_joined()["ok"] and officer.wait_joined()["ok"]
        before = [resident.send(f"kill-{i}", f"重启前{i}") for i in range(3)]
        assert all(a["ok"] for a in before)
        _wait_for(lambda: officer.last_id == before[-1]["message"]["id"], "the officer")

        server.kill()
        _wait_for(lambda: not resident.sio.connected, "the resident to notice", timeout=WAIT)
        # Written while the server is down: not acknowledged, so the client keeps it.
        unacked = {"kill-3": "断线时写的", "kill-1": "重启前1"}  # one new, one a resend
        server.start()
        for c in (resident, officer):
            ack = c.wait_joined()  # the automatic reconnect joined again
            assert ack["ok"], ack
        answers = {cid: resident.send(cid, body) for cid, body in unacked.items()}
        assert answers["kill-1"]["duplicate"] is True
        assert answers["kill-1"]["message"]["id"] == before[1]["message"]["id"]
        assert answers["kill-3"]["duplicate"] is False
        after = officer.send("officer-after", "收到，请讲")
        assert after["ok"]
        expected = [a["message"]["id"] for a in before] + [
            answers["kill-3"]["message"]["id"],
            after["message"]["id"],
        ]
        for c in (resident, officer):
            _wait_for(lambda c=c: c.last_id == expected[-1], "the last message")
            assert [m["id"] for m in c.seen if m["id"] >= expected[0]] == expected
        engine = create_engine(server.db_url)
        with engine.connect() as conn:
            stored = conn.execute(
                select(ChatMessage.client_id, func.count())
                .where(ChatMessage.id >= expected[0])
                .group_by(ChatMessage.client_id)
            ).all()
        engine.dispose()
        assert sorted(stored) == sorted(
            [("kill-0", 1), ("kill-1", 1), ("kill-2", 1), ("kill-3", 1), ("officer-after", 1)]
        )
    finally:
        resident.close()
        officer.close()
