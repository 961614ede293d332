"""Two server processes sharing rooms through the Redis message queue, with real
python-socketio clients: the resident is connected to one process, the officer to the other,
and messages cross both ways. Redis is required (127.0.0.1:6379 or PORTAL_TEST_REDIS_URL):
without it this test fails, it never skips."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import socketio
from sqlalchemy import create_engine

from portal.db import db
from portal.models import metadata
from tests.conftest import PASSWORD, TEST_PII_KEY, make_test_app

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the two-process chat test ({REDIS_URL}): {exc}")


def _seed(url: str, instance: Path) -> int:
    from portal.accounts.models import Role
    from portal.accounts.services import register_user
    from portal.communities.models import Community, OfficerStatus
    from portal.consult import chat

    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    app = make_test_app(url, instance)
    with app.test_request_context():
        community = Community(name="天桥社区", slug="tianqiao", district="铁西区")
        db.session.add(community)
        db.session.flush()
        officer = register_user(
            login="officer@example.com",
            password=PASSWORD,
            display_name="王警官",
            community=community,
            role=Role.OFFICER,
        )
        officer.officer_profile.status = OfficerStatus.IN_OFFICE
        resident = register_user(
            login="resident@example.com",
            password=PASSWORD,
            display_name="孙女士",
            community=community,
            role=Role.RESIDENT,
        )
        db.session.flush()
        conv_id = chat.conversation_for(resident).id
        db.session.commit()
    app.extensions["portal.engine"].dispose()
    return conv_id


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    portal = Path(sys.executable).with_name("portal")
    cmd = [str(portal), "serve", "--no-worker", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_ready(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    pytest.fail(f"server at {base} did not start: {log.read_text()[-2000:]}")


def _login(base: str, login: str) -> str:
    http = requests.Session()
    token = http.get(base + "/api/v1/csrf", timeout=5).json()["csrf_token"]
    resp = http.post(
        base + "/api/v1/session",
        json={"login": login, "password": PASSWORD},
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def _connect(base: str, cookie: str) -> tuple[socketio.Client, queue.Queue]:
    heard: queue.Queue = queue.Queue()
    sio = socketio.Client(reconnection=False)
    sio.on("message", lambda data: heard.put(data), namespace="/chat")
    sio.connect(base, namespaces=["/chat"], headers={"Cookie": cookie}, transports=["websocket"])
    return sio, heard


def test_message_crosses_two_server_processes(tmp_path):
    _require_redis()
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    conv_id = _seed(url, tmp_path / "seed-instance")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORTAL_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "two-process-secret",
        "PORTAL_PII_KEY": TEST_PII_KEY,
        "PORTAL_REDIS_URL": REDIS_URL,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"server{i}.log" for i in range(2)]
    procs = [_serve(p, env, log) for p, log in zip(ports, logs, strict=True)]
    clients: list[socketio.Client] = []
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base, proc, log in zip(bases, procs, logs, strict=True):
            _wait_ready(base, proc, log)
        resident, resident_heard = _connect(bases[0], _login(bases[0], "resident@example.com"))
        officer, officer_heard = _connect(bases[1], _login(bases[1], "officer@example.com"))
        clients += [resident, officer]
        for sio in clients:
            ack = sio.call("join", {"conversation_id": conv_id}, namespace="/chat", timeout=10)
            assert ack["ok"], ack
        sent = resident.call(
            "send",
            {"conversation_id": conv_id, "client_id": "r-1", "body": "你好，王警官"},
            namespace="/chat",
            timeout=10,
        )
        assert sent["ok"]
        got = officer_heard.get(timeout=10)
        assert got["id"] == sent["message"]["id"] and got["body"] == "你好，王警官"
        answer = officer.call(
            "send",
            {"conversation_id": conv_id, "client_id": "o-1", "body": "您好，请讲"},
            namespace="/chat",
            timeout=10,
        )
        assert answer["ok"]
        seen = [resident_heard.get(timeout=10) for _ in range(2)]  # its own echo, then the reply
        assert [m["id"] for m in seen] == [sent["message"]["id"], answer["message"]["id"]]
        # A resend to the *other* process is still recognised as the same message.
        again = officer.call(
            "send",
            {"conversation_id": conv_id, "client_id": "o-1", "body": "您好，请讲"},
            namespace="/chat",
            timeout=10,
        )
        assert again["duplicate"] and again["message"]["id"] == answer["message"]["id"]
    finally:
        for sio in clients:
            sio.disconnect()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
