"""Live-chat delivery benchmark: N resident–officer pairs against a running portal, compared
in the same run with a bare python-socketio echo server on the same async mode (threading).

Not a test: it prints figures. Everything runs on 127.0.0.1 and is bounded (pairs, messages,
timeouts), so it stays short on a shared 2-core machine:

    .venv/bin/python bench/consult_chat.py            # 50 pairs, 5 messages each
    BENCH_PAIRS=200 BENCH_MESSAGES=5 .venv/bin/python bench/consult_chat.py

What it does:
1. builds a fresh SQLite database in a temp dir with one community, one on-duty officer and
   BENCH_PAIRS residents (one conversation each), and starts ``portal serve --no-worker``
   on a free port (threading mode, simple-websocket);
2. logs every resident in through the API and opens 2 × BENCH_PAIRS websocket connections
   (each resident, and one officer connection per conversation), each joined to its room;
3. each resident sends BENCH_MESSAGES messages, one every BENCH_INTERVAL seconds (pairs
   staggered); latency = a room member's receive time − the send time (counted for both
   the officer and the resident's own echo, so "delivered" is 2 per message),
   both on this process's monotonic clock; throughput = delivered messages / send phase;
4. the same with a bare python-socketio server (no database, no auth): the server only
   puts the message into the room — the stack's limit.
Dropped connections (a client disconnected before the end) are counted.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = int(os.environ.get("BENCH_PAIRS", "50"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5"))
INTERVAL = float(os.environ.get("BENCH_INTERVAL", "1.0"))
PASSWORD = "bench horse battery"
PII_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited early")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def seed(url: str, instance: Path) -> list[tuple[str, int]]:
    """Residents' logins and their conversation ids."""
    from sqlalchemy import create_engine

    from portal import create_app
    from portal.accounts.models import Role, User
    from portal.accounts.services import register_user
    from portal.communities.models import Community, OfficerStatus
    from portal.consult.chat import conversation_for
    from portal.db import db
    from portal.models import metadata

    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench",
            "PII_KEY": PII_KEY,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    out = []
    with app.test_request_context():
        community = Community(name="压测社区", slug="bench", district="压测区")
        db.session.add(community)
        db.session.flush()
        officer = register_user(
            login="officer@bench.test",
            password=PASSWORD,
            display_name="压测警官",
            community=community,
            role=Role.OFFICER,
        )
        officer.officer_profile.status = OfficerStatus.IN_OFFICE
        first = None
        for i in range(PAIRS):
            if first is None:
                resident = first = register_user(
                    login=f"r{i}@bench.test",
                    password=PASSWORD,
                    display_name=f"居民{i}",
                    community=community,
                )
            else:
                # One argon2 hash for all: hashing per user would dominate the set-up time.
                resident = User(
                    email=f"r{i}@bench.test",
                    password_hash=first.password_hash,
                    display_name=f"居民{i}",
                    community_id=community.id,
                )
                db.session.add(resident)
            db.session.flush()
            out.append((f"r{i}@bench.test", conversation_for(resident).id))
        db.session.commit()
    app.extensions["portal.engine"].dispose()
    return out


def login(base: str, name: str) -> str:
    http = requests.Session()
    token = http.get(base + "/api/v1/csrf", timeout=10).json()["csrf_token"]
    resp = http.post(
        base + "/api/v1/session",
        json={"login": name, "password": PASSWORD},
        headers={"X-CSRFToken": token},
        timeout=30,
    )
    resp.raise_for_status()
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


class Run:
    """One measurement: connections, latencies, drops."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.clients: list[socketio.Client] = []
        self.dropped = 0

    def client(self, base: str, cookie: str | None, namespace: str) -> socketio.Client:
        sio = socketio.Client(reconnection=False)

        def on_message(data: dict) -> None:
            try:
                sent = float(data["body"].split("|", 1)[0])
            except (KeyError, ValueError):
                return
            with self.lock:
                self.latencies.append(time.monotonic() - sent)

        sio.on("message", on_message, namespace=namespace)
        headers = {"Cookie": cookie} if cookie else {}
        sio.connect(base, namespaces=[namespace], headers=headers, transports=["websocket"])
        self.clients.append(sio)
        return sio

    def report(self, label: str, sent: int, seconds: float) -> dict:
        lat = sorted(self.latencies)
        alive = sum(1 for c in self.clients if c.connected)
        self.dropped = len(self.clients) - alive
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
        figures = {
            "label": label,
            "connections": len(self.clients),
            "dropped": self.dropped,
            "sent": sent,
            "delivered": len(lat),
            "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
            "msgs_per_s": round(len(lat) / seconds, 1) if seconds else 0,
        }
        print(figures, flush=True)
        return figures

    def close(self) -> None:
        for c in self.clients:
            try:
                c.disconnect()
            except Exception:  # noqa: BLE001 - best effort at the end of a benchmark
                pass


def drive(
    senders: list[tuple[socketio.Client, dict]], namespace: str, event: str
) -> tuple[int, float]:
    """Each sender emits MESSAGES messages, INTERVAL apart, staggered across the interval."""
    sent = 0
    lock = threading.Lock()

    def one(i: int, sio: socketio.Client, base: dict) -> None:
        nonlocal sent
        time.sleep(INTERVAL * i / max(1, len(senders)))
        for n in range(MESSAGES):
            payload = dict(base, client_id=f"{i}-{n}", body=f"{time.monotonic()}|消息{n}")
            try:
                sio.call(event, payload, namespace=namespace, timeout=30)
            except Exception:  # noqa: BLE001 - counted as not delivered
                continue
            with lock:
                sent += 1
            time.sleep(INTERVAL)

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i, s, b)) for i, (s, b) in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=INTERVAL * MESSAGES + 120)
    time.sleep(1.0)  # let the last deliveries arrive
    return sent, time.monotonic() - start


def bench_portal(tmp: Path) -> dict:
    url = f"sqlite:///{tmp / 'bench.db'}"
    pairs = seed(url, tmp / "seed")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORTAL_INSTANCE": str(tmp / "instance"),
        "SECRET_KEY": "bench",
        "PORTAL_PII_KEY": PII_KEY,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PORTAL_REDIS_URL", None)
    portal = Path(sys.executable).with_name("portal")
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [str(portal), "serve", "--no-worker", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    run = Run()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/healthz", proc)
        officer_cookie = login(base, "officer@bench.test")
        senders = []
        for name, conv_id in pairs:
            resident = run.client(base, login(base, name), "/chat")
            officer = run.client(base, officer_cookie, "/chat")
            for sio in (resident, officer):
                ack = sio.call("join", {"conversation_id": conv_id}, namespace="/chat", timeout=30)
                assert ack["ok"], ack
            run.latencies.clear()
            senders.append((resident, {"conversation_id": conv_id}))
        run.latencies.clear()
        sent, seconds = drive(senders, "/chat", "send")
        # Each message reaches the resident (its own echo) and the officer: count the officer's.
        run.latencies = sorted(run.latencies)
        return run.report(f"portal /chat, {PAIRS} pairs", sent, seconds)
    finally:
        run.close()
        proc.terminate()
        proc.wait(timeout=15)


def bench_echo() -> dict:
    """A bare python-socketio server in threading mode: join a room, broadcast to it."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log, no shutdown noise

    sio_server = socketio.Server(async_mode="threading")

    @sio_server.on("join", namespace="/chat")
    def join(sid: str, data: dict) -> dict:
        sio_server.enter_room(sid, f"c:{data['conversation_id']}", namespace="/chat")
        return {"ok": True}

    @sio_server.on("send", namespace="/chat")
    def send(sid: str, data: dict) -> dict:
        sio_server.emit("message", data, to=f"c:{data['conversation_id']}", namespace="/chat")
        return {"ok": True}

    port = free_port()
    server = make_server("127.0.0.1", port, socketio.WSGIApp(sio_server), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    run = Run()
    try:
        base = f"http://127.0.0.1:{port}"
        senders = []
        for i in range(PAIRS):
            resident = run.client(base, None, "/chat")
            officer = run.client(base, None, "/chat")
            for c in (resident, officer):
                c.call("join", {"conversation_id": i}, namespace="/chat", timeout=30)
            senders.append((resident, {"conversation_id": i}))
        run.latencies.clear()
        sent, seconds = drive(senders, "/chat", "send")
        return run.report(f"bare python-socketio echo, {PAIRS} pairs", sent, seconds)
    finally:
        run.close()
        server.shutdown()


def main() -> None:
    print(f"pairs={PAIRS} messages={MESSAGES} interval={INTERVAL}s", flush=True)
    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        portal = bench_portal(Path(tmp))
    echo = bench_echo()
    if echo["p99_ms"]:
        print(f"p99 ratio portal/echo: {portal['p99_ms'] / echo['p99_ms']:.2f}", flush=True)


if __name__ == "__main__":
    main()
