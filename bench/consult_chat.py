"""Live-chat benchmark: resident–officer pairs against the portal's ``/chat`` namespace,
compared in the same run with a bare python-socketio echo server on the same async mode.

Not a test: it prints figures. Everything runs on 127.0.0.1 and every phase is bounded.
The clients are ``socketio.AsyncClient`` in one asyncio loop (aiohttp), so one process can
open thousands of connections. Needs ``pip install -e '.[bench]'`` (aiohttp; gevent for
``BENCH_MODES=gevent``)::

    .venv/bin/python bench/consult_chat.py                      # 500 pairs, then hold 1,000
    BENCH_PAIRS=50 BENCH_HOLD_PAIRS=0 .venv/bin/python bench/consult_chat.py   # quick look
    BENCH_MODES=threading,gevent .venv/bin/python bench/consult_chat.py

Settings (environment): ``BENCH_PAIRS`` (500) pairs in the latency phase, each resident
sending ``BENCH_MESSAGES`` (5) messages ``BENCH_INTERVAL`` (1.0) s apart, pairs staggered
over the interval; ``BENCH_HOLD_PAIRS`` (1000) pairs held open for ``BENCH_HOLD_SECONDS``
(60) while each resident sends one message every ``BENCH_HOLD_INTERVAL`` (10) s;
``BENCH_MODES`` (threading) the async modes to compare; ``BENCH_HOLD_ECHO`` (1) also hold
the echo server; ``BENCH_DATABASE_URL`` (a fresh SQLite file) — a PostgreSQL URL works,
its tables are dropped and made again; ``BENCH_KINDS`` (portal,echo) which servers to run.
``BENCH_PROCESSES`` (1) server processes per phase, each on its own port, sharing rooms
through the Redis queue at ``BENCH_REDIS_URL`` (the portal with ``PORTAL_REDIS_URL``, the
bare echo server with python-socketio's ``RedisManager``, so both pay the same hop); the
clients go to them round-robin, so with 2 every resident and its officer are on different
processes and every message crosses the queue. Diagnosis only: ``BENCH_TRACE`` logs the
servers' GC pauses over 5 ms and stalls of a 1 ms sleep over 30 ms; the portal's
``PORTAL_GC_FULL_EVERY`` passes through (``0``: Python's own threshold for full
collections); ``BENCH_ECHO_SETTLED=1`` gives the echo the portal's collector settings
(``realtime.settle_collector``) instead of Python's defaults;
``BENCH_SWITCH_INTERVAL`` sets the server's ``sys.setswitchinterval``;
``BENCH_ECHO_ASYNC_HANDLERS=0`` runs the echo's events in order on the socket's thread, as
the portal does (``SOCKETIO_ASYNC_HANDLERS``), instead of python-socketio's default;
``BENCH_CLIENT_GC=1`` leaves the client's garbage collector on while messages are timed.

What it does:
1. builds the database: one community, one on-duty officer, the residents (one
   conversation each) and a server-side login session for each (no argon2 per login: the
   signed session cookie is made directly, as the login route would);
2. per mode, starts the portal (``create_app`` + ``realtime.serve``, exactly as
   ``portal serve --no-worker`` does; for gevent the process monkey-patches first and the
   Socket.IO async mode is switched to gevent) and then a bare python-socketio server on the same
   server stack (werkzeug threads, or gevent's pywsgi) that only joins rooms and broadcasts;
3. latency phase: opens 2 × pairs websocket connections (the resident, and one officer
   connection per conversation), each joined to its room; each resident sends through the
   real ``send`` event (stored, committed, then broadcast). Latency = receive time − send
   time on this process's monotonic clock, at both room members (the officer and the
   resident's own echo, so "delivered" is 2 per message); msgs/s = deliveries / send phase;
4. hold phase: opens 2 × hold pairs connections, keeps them for the hold time with the
   light load above, and counts connections the server dropped (a ``disconnect`` the
   client did not ask for), connections that failed to open, and the latency meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = int(os.environ.get("BENCH_PAIRS", "500"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5"))
INTERVAL = float(os.environ.get("BENCH_INTERVAL", "1.0"))
HOLD_PAIRS = int(os.environ.get("BENCH_HOLD_PAIRS", "1000"))
HOLD_SECONDS = float(os.environ.get("BENCH_HOLD_SECONDS", "60"))
HOLD_INTERVAL = float(os.environ.get("BENCH_HOLD_INTERVAL", "10"))
HOLD_ECHO = os.environ.get("BENCH_HOLD_ECHO", "1") == "1"
MODES = [m for m in os.environ.get("BENCH_MODES", "threading").split(",") if m]
KINDS = [k for k in os.environ.get("BENCH_KINDS", "portal,echo").split(",") if k]
#: Server processes per phase; with more than one they share rooms through Redis
#: (``BENCH_REDIS_URL``) and the clients are spread over them round-robin.
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "1"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
ECHO_CHANNEL = "bench-echo"
CONNECT_CONCURRENCY = int(os.environ.get("BENCH_CONNECT_CONCURRENCY", "50"))
PHASE_LIMIT = float(os.environ.get("BENCH_PHASE_LIMIT", "300"))  # seconds, per phase
PASSWORD = "bench horse battery"
PII_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="
SECRET = "bench-secret"
NS = "/chat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the servers (run as child processes of this script) -------------------------------------


def server_diagnostics() -> None:
    """``BENCH_SWITCH_INTERVAL`` sets the GIL switch interval; with ``BENCH_TRACE`` the server
    logs its garbage-collection pauses over 5 ms and stalls of a 1 ms sleep over 30 ms."""
    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    if not os.environ.get("BENCH_TRACE"):
        return
    import gc

    started: dict[str, float] = {}

    def cb(phase: str, info: dict) -> None:
        if phase == "start":
            started["t"] = time.perf_counter()
        else:
            ms = (time.perf_counter() - started.get("t", time.perf_counter())) * 1000
            if ms > 5:
                print(f"gc gen{info['generation']} {ms:.0f} ms at {time.time():.1f}", flush=True)

    gc.callbacks.append(cb)

    import threading

    def probe() -> None:  # how late a 1 ms sleep wakes up: the process's stalls
        while True:
            t = time.perf_counter()
            time.sleep(0.001)
            late = (time.perf_counter() - t) * 1000
            if late > 30:
                print(f"stall {late:.0f} ms at {time.time():.1f}", flush=True)

    threading.Thread(target=probe, daemon=True).start()


def serve_portal(mode: str, port: int) -> None:
    """The portal as ``portal serve --no-worker`` runs it, in the given async mode."""
    server_diagnostics()
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from portal.extensions import socketio

    if mode != "threading":
        init_app = socketio.init_app

        def init_in_mode(app, **kwargs):  # type: ignore[no-untyped-def]
            kwargs["async_mode"] = mode
            return init_app(app, **kwargs)

        socketio.init_app = init_in_mode  # type: ignore[method-assign]
    from portal import create_app
    from portal.realtime import serve

    serve(create_app(), host="127.0.0.1", port=port, log_output=False)


def serve_echo(mode: str, port: int) -> None:
    """A bare python-socketio server: join a room, broadcast to it (no database, no auth)."""
    server_diagnostics()
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    import logging

    import socketio

    if os.environ.get("BENCH_ECHO_SETTLED") == "1":  # the portal's collector settings
        from portal.realtime import settle_collector

        settle_collector(int(os.environ.get("PORTAL_GC_FULL_EVERY", "100")))
    redis_url = os.environ.get("BENCH_ECHO_REDIS_URL")
    manager = socketio.RedisManager(redis_url, channel=ECHO_CHANNEL) if redis_url else None
    # python-socketio's defaults (a thread per event), unless BENCH_ECHO_ASYNC_HANDLERS=0:
    # then one socket's events run in order on its reading thread, as the portal's do.
    in_order = os.environ.get("BENCH_ECHO_ASYNC_HANDLERS") == "0"
    sio = socketio.Server(async_mode=mode, client_manager=manager, async_handlers=not in_order)

    @sio.on("join", namespace=NS)
    def join(sid: str, data: dict) -> dict:
        sio.enter_room(sid, f"c:{data['conversation_id']}", namespace=NS)
        return {"ok": True, "messages": []}

    @sio.on("send", namespace=NS)
    def send(sid: str, data: dict) -> dict:
        sio.emit("message", data, to=f"c:{data['conversation_id']}", namespace=NS)
        return {"ok": True}

    app = socketio.WSGIApp(sio)
    if mode == "gevent":
        from gevent import pywsgi

        pywsgi.WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
    else:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def start_all(
    kind: str, mode: str, env: dict[str, str], log: Path
) -> tuple[list[subprocess.Popen], list[str]]:
    """``PROCESSES`` servers of one kind, each on its own port (a Redis queue between them)."""
    if PROCESSES > 1:
        if not REDIS_URL:
            raise SystemExit("BENCH_PROCESSES > 1 needs BENCH_REDIS_URL")
        env = {**env, "PORTAL_REDIS_URL": REDIS_URL, "BENCH_ECHO_REDIS_URL": REDIS_URL}
    procs, bases = [], []
    try:
        for i in range(PROCESSES):
            proc, base = start(kind, mode, env, log.with_suffix(f".{i}.log"))
            procs.append(proc)
            bases.append(base)
    except BaseException:
        for proc in procs:
            stop(proc)
        raise
    return procs, bases


def start(kind: str, mode: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, __file__, f"--serve-{kind}", mode, str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{kind} server exited: {log.read_text()[-2000:]}")
        try:
            requests.get(
                base + ("/healthz" if kind == "portal" else "/socket.io/?EIO=4"), timeout=1
            )
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{kind} server did not start")


def server_state(pids: list[int]) -> dict[str, int]:
    """The server processes' thread count and resident memory (MB) now, summed."""
    state = {"server_threads": 0, "server_rss_mb": 0}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    state["server_threads"] += int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    state["server_rss_mb"] += int(line.split()[1]) // 1024
        except OSError:
            pass
    return state


def server_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the server processes have used so far, summed."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


# -- the database and the login sessions -----------------------------------------------------


def seed(url: str, instance: Path, count: int) -> tuple[list[tuple[str, int]], str]:
    """Cookies of ``count`` logged-in residents with their conversation ids, and the
    officer's cookie."""
    from flask import session
    from sqlalchemy import create_engine

    from portal import create_app
    from portal.accounts.models import Role, User
    from portal.accounts.services import register_user, start_session
    from portal.communities.models import Community, OfficerStatus
    from portal.consult.chat import conversation_for
    from portal.db import db
    from portal.models import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": SECRET,
            "PII_KEY": PII_KEY,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    name = app.config["SESSION_COOKIE_NAME"]

    def cookie_for(user: User) -> str:
        with app.test_request_context():
            start_session(user)
            db.session.commit()
            return f"{name}={serializer.dumps(dict(session))}"

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
        first = register_user(
            login="r0@bench.test", password=PASSWORD, display_name="居民0", community=community
        )
        residents = [first]
        for i in range(1, count):
            # One argon2 hash for all: hashing per user would dominate the set-up time.
            r = User(
                email=f"r{i}@bench.test",
                password_hash=first.password_hash,
                display_name=f"居民{i}",
                community_id=community.id,
            )
            db.session.add(r)
            residents.append(r)
        db.session.flush()
        convs = [conversation_for(r).id for r in residents]
        ids = [r.id for r in residents]
        officer_id = officer.id
        db.session.commit()
    with app.app_context():
        officer_cookie = cookie_for(db.session.get(User, officer_id))
        out = [
            (cookie_for(db.session.get(User, uid)), conv)
            for uid, conv in zip(ids, convs, strict=True)
        ]
    app.extensions["portal.engine"].dispose()
    return out, officer_cookie


# -- the clients -----------------------------------------------------------------------------


@dataclass
class Run:
    """One phase against one server: connections, latencies, drops."""

    label: str
    latencies: list[float] = field(default_factory=list)
    clients: list = field(default_factory=list)
    failed_connects: int = 0
    dropped: int = 0
    refused_sends: int = 0
    closing: bool = False
    connect_seconds: float = 0.0

    async def client(self, base: str, cookie: str | None, conv_id: int, sem: asyncio.Semaphore):
        import socketio

        sio = socketio.AsyncClient(reconnection=False, request_timeout=60)

        async def on_message(data: dict) -> None:
            try:
                sent = float(str(data["body"]).split("|", 1)[0])
            except (KeyError, ValueError):
                return
            self.latencies.append(time.monotonic() - sent)

        async def on_disconnect(*_args: object) -> None:
            if not self.closing:
                self.dropped += 1

        sio.on("message", on_message, namespace=NS)
        sio.on("disconnect", on_disconnect, namespace=NS)
        headers = {"Cookie": cookie} if cookie else {}
        async with sem:
            try:
                await sio.connect(
                    base,
                    namespaces=[NS],
                    headers=headers,
                    transports=["websocket"],
                    wait_timeout=60,
                )
                ack = await sio.call("join", {"conversation_id": conv_id}, namespace=NS, timeout=60)
                if not ack.get("ok"):
                    raise RuntimeError(ack)
            except Exception:  # noqa: BLE001 - counted, the run goes on
                self.failed_connects += 1
                try:
                    await sio.disconnect()
                except Exception:  # noqa: BLE001
                    pass
                return None
        self.clients.append(sio)
        return sio

    async def open_pairs(
        self, bases: list[str], pairs: list[tuple[str | None, int]], officer_cookie: str | None
    ) -> list[tuple[object, int]]:
        """Connections go to the servers round-robin: with two servers, every resident is on
        the first and its officer on the second, so every message crosses the queue."""
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        t0 = time.monotonic()

        async def pair(i: int, cookie: str | None, conv: int):
            resident = await self.client(bases[(2 * i) % len(bases)], cookie, conv, sem)
            await self.client(bases[(2 * i + 1) % len(bases)], officer_cookie, conv, sem)
            return resident, conv

        opened = await asyncio.gather(*(pair(i, c, conv) for i, (c, conv) in enumerate(pairs)))
        self.connect_seconds = time.monotonic() - t0
        return [(r, conv) for r, conv in opened if r is not None]

    async def drive(self, senders: list, messages: int, interval: float) -> tuple[int, float]:
        """Each sender sends ``messages`` at fixed times ``interval`` apart, staggered."""
        sent = 0
        n_senders = max(1, len(senders))

        async def one(i: int, sio, conv: int) -> None:
            nonlocal sent
            t0 = start + interval * i / n_senders
            for n in range(messages):
                await asyncio.sleep(max(0.0, t0 + n * interval - time.monotonic()))
                if not sio.connected:
                    return
                payload = {
                    "conversation_id": conv,
                    "client_id": f"{self.label}-{i}-{n}",
                    "body": f"{time.monotonic()}|消息{n}",
                }
                try:
                    ack = await sio.call("send", payload, namespace=NS, timeout=30)
                except Exception:  # noqa: BLE001 - counted as not sent
                    continue
                if ack.get("ok"):
                    sent += 1
                else:
                    self.refused_sends += 1

        start = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(one(i, s, c) for i, (s, c) in enumerate(senders))),
            timeout=messages * interval + PHASE_LIMIT,
        )
        await asyncio.sleep(1.0)  # the last deliveries
        return sent, time.monotonic() - start

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)

    def report(self, sent: int, seconds: float, **extra: object) -> dict:
        lat = sorted(self.latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
        figures = {
            "run": self.label,
            "connections": len(self.clients),
            "failed_connects": self.failed_connects,
            "dropped": self.dropped,
            "connect_s": round(self.connect_seconds, 1),
            "sent": sent,
            "refused": self.refused_sends,
            "delivered": len(lat),
            "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
            "msgs_per_s": round(len(lat) / seconds, 1) if seconds else 0,
            **extra,
        }
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        return figures


async def phase(
    label: str,
    bases: list[str],
    pairs: list[tuple[str | None, int]],
    officer_cookie: str | None,
    messages: int,
    interval: float,
    hold: float = 0.0,
    pids: list[int] | None = None,
) -> dict:
    run = Run(label)
    try:
        senders = await asyncio.wait_for(
            run.open_pairs(bases, pairs, officer_cookie), timeout=PHASE_LIMIT
        )
        run.latencies.clear()
        if hold:
            messages = max(1, int(hold / interval))
        cpu_before = server_cpu_seconds(pids or [])
        with client_gc_paused() as pauses:
            sent, seconds = await run.drive(senders, messages, interval)
        cpu = server_cpu_seconds(pids or []) - cpu_before
        alive = sum(1 for c in run.clients if c.connected)
        figures = run.report(sent, seconds, alive_at_end=alive, **server_state(pids or []))
        figures["client_gc_pauses_over_5ms"] = len(pauses)
        # Server CPU per message sent while messages flowed (pings and idle threads included).
        figures["server_cpu_ms_per_msg"] = round(1000 * cpu / max(1, sent), 2)
        return figures
    finally:
        await run.close()


@contextlib.contextmanager
def client_gc_paused():
    """The measuring client must not add pauses of its own: with 2,000 connections in one
    asyncio process, a full collection of its heap stops every client for a few hundred
    ms (seen in server-side stamps: a burst of late sends after one client stall). So the
    objects made while connecting are frozen and the collector is off while messages are
    timed, as ``timeit`` does; the servers are untouched. Yields the list of collections
    over 5 ms that still happened (``BENCH_CLIENT_GC=1`` leaves the collector on)."""
    import gc

    pauses: list[float] = []
    started: list[float] = []

    def watch(phase: str, _info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and time.perf_counter() - started[0] > 0.005:
            pauses.append(time.perf_counter() - started[0])

    leave_on = os.environ.get("BENCH_CLIENT_GC") == "1"
    if not leave_on:
        gc.collect()
        gc.freeze()
        gc.disable()
    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        if not leave_on:
            gc.enable()
            gc.unfreeze()
        gc.callbacks.remove(watch)


def main() -> None:
    import logging

    # The clients' own loggers ("packet queue is empty, aborting" on every drop): the drops
    # are counted instead.
    for name in ("socketio", "engineio", "socketio.client", "engineio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    print(
        f"pairs={PAIRS} messages={MESSAGES} interval={INTERVAL}s hold_pairs={HOLD_PAIRS} "
        f"hold={HOLD_SECONDS}s modes={MODES} cpus={os.cpu_count()} "
        f"load={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp_name:
        tmp = Path(tmp_name)
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
        t0 = time.monotonic()
        pairs, officer_cookie = seed(url, tmp / "seed", max(PAIRS, HOLD_PAIRS))
        print(f"seeded {len(pairs)} residents in {time.monotonic() - t0:.0f}s", flush=True)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORTAL_INSTANCE": str(tmp / "instance"),
            "SECRET_KEY": SECRET,
            "PORTAL_PII_KEY": PII_KEY,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("PORTAL_REDIS_URL", None)
        anonymous = [(None, i) for i in range(max(PAIRS, HOLD_PAIRS))]
        arrangement = f" x{PROCESSES}" if PROCESSES > 1 else ""
        for mode in MODES:
            for kind in KINDS:
                who = pairs if kind == "portal" else anonymous
                cookie = officer_cookie if kind == "portal" else None
                runs = []
                if PAIRS:
                    label = f"{kind} {mode}{arrangement} {PAIRS} pairs"
                    runs.append((label, PAIRS, MESSAGES, INTERVAL, 0.0))
                if HOLD_PAIRS and (kind == "portal" or HOLD_ECHO):
                    label = f"{kind} {mode}{arrangement} hold {HOLD_PAIRS} pairs"
                    runs.append((label, HOLD_PAIRS, 1, HOLD_INTERVAL, HOLD_SECONDS))
                for label, n, messages, interval, hold in runs:
                    # A fresh server per phase: nothing left over from the one before.
                    log = tmp / f"{label.replace(' ', '-')}.log"
                    procs, bases = start_all(kind, mode, env, log)
                    try:
                        pids = [proc.pid for proc in procs]
                        r = asyncio.run(
                            phase(label, bases, who[:n], cookie, messages, interval, hold, pids)
                        )
                        r["offered_msgs_per_s"] = round(n / interval, 1)
                        results.append(r)
                    finally:
                        for proc in procs:
                            stop(proc)
                    if os.environ.get("BENCH_KEEP_LOGS"):
                        keep = Path(os.environ["BENCH_KEEP_LOGS"])
                        keep.mkdir(parents=True, exist_ok=True)
                        for part in tmp.glob(log.stem + ".*.log"):
                            (keep / part.name).write_bytes(part.read_bytes())
    print("summary:", flush=True)
    for r in results:
        print(json.dumps(r, ensure_ascii=False), flush=True)
    by = {r["run"]: r for r in results}
    for mode in MODES:
        p = by.get(f"portal {mode}{arrangement} {PAIRS} pairs")
        e = by.get(f"echo {mode}{arrangement} {PAIRS} pairs")
        if p and e and e["p99_ms"]:
            print(
                f"{mode}, {PAIRS} pairs: p99 portal/echo = {p['p99_ms'] / e['p99_ms']:.2f}, "
                f"p50 portal/echo = {p['p50_ms'] / e['p50_ms']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-portal":
        serve_portal(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--serve-echo":
        serve_echo(sys.argv[2], int(sys.argv[3]))
    else:
        main()
