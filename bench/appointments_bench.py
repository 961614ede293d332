"""Appointments benchmark: free-slot computation and booking throughput.

1. Free slots of one officer over a 14-day horizon with 500 existing bookings: p50/p95
   of ``services.free_slots`` and the SQL statements it issues.
2. Booking throughput with 50 concurrent clients (threads, each with its own app context
   and session) through ``services.book`` in this one process: 10 officers, every free
   slot of each wanted by two clients at once; bookings per second and checks that no two
   claims and no two open bookings of one provider overlap.
3. Where a booking request's time goes (PostgreSQL): one client, sequential requests
   through the whole app (session cookie, CSRF, JSON) — a bare page, ``/api/v1/me``
   (session and user), a booking — with the SQL statements of each; and one argon2 login.
4. HTTP throughput with several server processes (PostgreSQL): N processes of the WSGI app
   (werkzeug, threaded, HTTP/1.1 keep-alive) on N ports; 50 clients in separate client
   processes, each logged in with its own account and spread over the servers, POST
   ``/api/v1/appointments/bookings`` with their CSRF token; every slot wanted twice. The
   same double-booking checks afterwards.

SQLite for 1–2 (and 3–4 with ``--sqlite-http``); PostgreSQL for all four, in a scratch
database beside ``PORTAL_TEST_DATABASE_URL``. Run: ``.venv/bin/python
bench/appointments_bench.py`` (``--servers 1,2,4`` picks the werkzeug process counts of
part 4, ``--gunicorn 1,2`` adds runs on Gunicorn's threaded worker with that many worker
processes, ``--floor 1,2`` adds part-4 runs in which every client asks ``GET /api/v1/me``
instead of booking — the ceiling any request has on the same servers, clients and
machine — and ``--quick`` skips parts 1–2; a few minutes in all).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import aliased

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_foundation import scratch_postgres  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts.models import Role, User  # noqa: E402
from portal.accounts.services import register_user  # noqa: E402
from portal.appointments import services as svc  # noqa: E402
from portal.appointments.models import OPEN_STATUSES, Booking, Service, SlotClaim  # noqa: E402
from portal.appointments.seed import seed_services  # noqa: E402
from portal.appointments.slots import local_day  # noqa: E402
from portal.db import db, make_engine, utcnow  # noqa: E402
from portal.models import metadata  # noqa: E402
from portal.station.calendar import STATION_TZ  # noqa: E402

CLIENTS = 50
NOW = dt.datetime(2026, 12, 6, 20, 0, tzinfo=STATION_TZ).astimezone(dt.UTC)  # Sunday night


def line(label: str, value: str) -> None:
    print(f"  {label:<62} {value}")


PASSWORD = "bench password 1"


def app_config(url: str, instance: Path, csrf: bool = False) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "PII_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
        "WTF_CSRF_ENABLED": csrf,
        "RATELIMIT_STORAGE_URI": "memory://",
        "APPOINTMENT_MAX_OPEN": 10_000,
    }


def make_app(url: str, instance: Path, csrf: bool = False):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return create_app(app_config(url, instance, csrf))


def overlapping_open_bookings() -> int:
    """Pairs of open bookings of one provider whose times overlap (must be 0)."""
    a, b = aliased(Booking), aliased(Booking)
    return (
        db.session.scalar(
            select(func.count())
            .select_from(a)
            .join(b, (a.provider_id == b.provider_id) & (a.id < b.id))
            .where(
                a.status.in_(OPEN_STATUSES),
                b.status.in_(OPEN_STATUSES),
                a.starts_at < b.ends_at,
                b.starts_at < a.ends_at,
            )
        )
        or 0
    )


def double_booking_checks(slots: int, provider_ids: list[int]) -> str:
    claims = db.session.scalar(select(func.count()).select_from(SlotClaim))
    distinct = db.session.scalar(
        select(func.count()).select_from(
            select(SlotClaim.provider_id, SlotClaim.unit_start).distinct().subquery()
        )
    )
    booked = db.session.scalar(
        select(func.count()).where(
            Booking.provider_id.in_(provider_ids), Booking.status.in_(OPEN_STATUSES)
        )
    )
    return f"{claims - distinct}; {booked - slots}; {overlapping_open_bookings()}"


def plan(provider: User) -> None:
    # Every day 08:00-20:00, 10-minute slots: 72 a day, ~1000 in 14 days.
    svc.save_plan(
        provider,
        provider,
        periods=[(wd, dt.time(8), dt.time(20)) for wd in range(7)],
        breaks=[],
        slot_minutes=10,
        buffer_minutes=0,
        min_notice_minutes=0,
        horizon_days=14,
        follow_holidays=False,
    )


def bench_slots(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        seed_services()
        quick = Service(name="快速咨询", duration_minutes=10, materials="身份证")
        db.session.add(quick)
        officer = User(display_name="王警官", role=Role.OFFICER, email="o@bench")
        resident = User(display_name="居民", role=Role.RESIDENT, email="r@bench")
        db.session.add_all([officer, resident])
        db.session.flush()
        plan(officer)
        slots = svc.free_slots(quick, officer.id, days=14, now=NOW)
        rows, claims = [], []
        for i, start in enumerate(slots[::2][:500]):
            rows.append(
                Booking(
                    code=f"B{i:07d}",
                    resident_id=resident.id,
                    provider_id=officer.id,
                    service_id=quick.id,
                    starts_at=start,
                    ends_at=start + dt.timedelta(minutes=10),
                )
            )
        db.session.add_all(rows)
        db.session.flush()
        for b in rows:
            claims += [
                SlotClaim(booking_id=b.id, provider_id=officer.id, unit_start=u)
                for u in svc._units(b.starts_at, b.ends_at, 0)
            ]
        db.session.add_all(claims)
        db.session.commit()
        service = quick
        statements = []
        engine = app.extensions["portal.engine"]

        def count(conn, cursor, stmt, *a):  # type: ignore[no-untyped-def]
            statements.append(stmt)

        times = []
        for i in range(31):
            db.session.expire_all()
            if i == 30:
                event.listen(engine, "before_cursor_execute", count)
            t0 = time.perf_counter()
            free = svc.free_slots(service, officer.id, days=14, now=NOW)
            times.append(time.perf_counter() - t0)
        event.remove(engine, "before_cursor_execute", count)
        times = times[1:]
        line(
            "free slots, 14 days, 500 bookings: p50 / p95",
            f"{statistics.median(times) * 1000:.1f} / "
            f"{sorted(times)[int(len(times) * 0.95) - 1] * 1000:.1f} ms "
            f"({len(free)} free slots)",
        )
        line("SQL statements per computation", str(len(statements)))


def bench_booking(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        services = seed_services()
        quick = db.session.scalar(select(Service).where(Service.name == "快速咨询"))
        if quick is None:
            quick = Service(name="快速咨询", duration_minutes=10)
            db.session.add(quick)
        officers = [
            User(display_name=f"警官{i}", role=Role.OFFICER, email=f"o{i}@load") for i in range(10)
        ]
        residents = [
            User(display_name=f"居民{i}", role=Role.RESIDENT, email=f"r{i}@load")
            for i in range(CLIENTS)
        ]
        db.session.add_all(officers + residents)
        db.session.flush()
        for o in officers:
            plan(o)
        db.session.commit()
        work = []
        for o in officers:
            for s in svc.free_slots(quick, o.id, first_day=dt.date(2026, 12, 7), days=1, now=NOW):
                work.append((o.id, s))
        quick_id, resident_ids = quick.id, [r.id for r in residents]
        del services
    # Every slot is wanted twice: client k takes items k, k+50, ...; the list is doubled
    # and offset so two clients race for each slot.
    jobs = work + work
    per_client = [jobs[k::CLIENTS] for k in range(CLIENTS)]
    results = {"ok": 0, "taken": 0, "error": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        barrier.wait()
        for provider_id, start in per_client[k]:
            with app.test_request_context():
                try:
                    svc.book(
                        db.session.get(User, resident_ids[k]),
                        db.session.get(Service, quick_id),
                        db.session.get(User, provider_id),
                        start,
                        now=NOW,
                    )
                    db.session.commit()
                    r = "ok"
                except svc.SlotTaken:
                    db.session.rollback()
                    r = "taken"
                except Exception as exc:  # noqa: BLE001
                    db.session.rollback()
                    print("   error:", repr(exc)[:200])
                    r = "error"
            with lock:
                results[r] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    with app.app_context():
        checks = double_booking_checks(len(work), sorted({p for p, _ in work}))
    line(
        f"{CLIENTS} clients, {len(jobs)} attempts on {len(work)} slots",
        f"{results['ok']} booked, {results['taken']} slot taken, {results['error']} errors",
    )
    line(
        "booking throughput",
        f"{results['ok'] / elapsed:.0f} bookings/s "
        f"({len(jobs) / elapsed:.0f} attempts/s, {elapsed:.1f} s)",
    )
    line("double bookings (claims-units; open bookings-slots; overlapping pairs)", checks)


# -- 3. where a booking request's time goes ----------------------------------------------


def seed_http(app, residents: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A 10-minute service, 10 officers open every day 08:00-20:00, residents with logins."""
    with app.test_request_context():
        seed_services()
        quick = db.session.scalar(select(Service).where(Service.name == "快速咨询"))
        if quick is None:
            quick = Service(name="快速咨询", duration_minutes=10, materials="身份证")
            db.session.add(quick)
        officers = [
            User(display_name=f"网警{i}", role=Role.OFFICER, email=f"ho{i}@http") for i in range(10)
        ]
        db.session.add_all(officers)
        db.session.flush()
        for o in officers:
            plan(o)
        logins = []
        for i in range(residents):
            login = f"hr{i}@http.test"
            register_user(
                login=login,
                password=PASSWORD,
                display_name=f"居民{i}",
                community=None,
                role=Role.RESIDENT,
            )
            logins.append(login)
        db.session.commit()
        return {"service": quick.id, "officers": [o.id for o in officers], "logins": logins}


def day_slots(app, seed: dict[str, Any], day: dt.date) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        service = db.session.get(Service, seed["service"])
        return [
            (o, s.isoformat())
            for o in seed["officers"]
            for s in svc.free_slots(service, o, first_day=day, days=1)
        ]


def bench_request_costs(url: str, instance: Path) -> None:
    """One client, one request at a time, through the whole app: time and statements."""
    app = make_app(url, instance, csrf=True)
    seed = seed_http(app, 1)
    slots = day_slots(app, seed, local_day(utcnow()) + dt.timedelta(days=1))
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    t0 = time.perf_counter()
    resp = client.post(
        "/api/v1/session",
        json={"login": seed["logins"][0], "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    login_ms = (time.perf_counter() - t0) * 1000
    assert resp.status_code == 200, resp.get_json()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    engine = app.extensions["portal.engine"]
    statements: list[str] = []

    def count(conn, cursor, stmt, *a):  # type: ignore[no-untyped-def]
        statements.append(stmt)

    def booking(i: int) -> Any:
        provider, start = slots[i]
        return client.post(
            "/api/v1/appointments/bookings",
            json={"service_id": seed["service"], "provider_id": provider, "starts_at": start},
            headers={"X-CSRFToken": token},
        )

    cases = {
        "GET /api/v1/communities (no user lookup, 1 query)": (
            lambda i: client.get("/api/v1/communities"),
            200,
        ),
        "GET /api/v1/me (session and user)": (lambda i: client.get("/api/v1/me"), 200),
        "POST /api/v1/appointments/bookings": (booking, 201),
        "the same, slot already taken (409 with alternatives)": (booking, 409),
    }
    line("login (argon2 verify, session row)", f"{login_ms:.0f} ms")
    n = 150
    for label, (call, expected) in cases.items():
        assert call(0).status_code == expected
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        call(1)
        event.remove(engine, "before_cursor_execute", count)
        per = len(statements)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(2, n):
            resp = call(i)
            assert resp.status_code == expected, resp.get_data(as_text=True)[:200]
        ms = (time.perf_counter() - t0) / (n - 2) * 1000
        cpu = (time.process_time() - c0) / (n - 2) * 1000
        line(label, f"{ms:.1f} ms ({cpu:.1f} ms Python CPU), {per} SQL statements")
    with app.app_context():
        db.session.remove()
    engine.dispose()


# -- 4. HTTP throughput with several server processes -----------------------------------


def _bench_app(url: str, instance: str, pool: int):  # type: ignore[no-untyped-def]
    """The app of one server process, its pool bounded (N processes share PostgreSQL's
    connection slots) but otherwise the production engine (idle-only ping, recycle)."""
    app = create_app(app_config(url, Path(instance), csrf=True))
    app.extensions["portal.engine"].dispose()
    if not url.startswith("sqlite"):
        app.extensions["portal.engine"] = make_engine(
            url, pool_size=pool, max_overflow=0, pool_timeout=120
        )
    else:
        app.extensions["portal.engine"] = make_engine(url)
    return app


def _serve(url: str, instance: str, port: int, pool: int, ready: Any) -> None:
    """One server process: the app on werkzeug's threaded server, keep-alive, quiet."""
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = _bench_app(url, instance, pool)
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    server = make_server("127.0.0.1", port, app, threaded=True)
    ready.set()
    server.serve_forever()


def _serve_gunicorn(
    url: str, instance: str, port: int, workers: int, threads: int, pool: int, ready: Any
) -> None:
    """Gunicorn on one port: ``workers`` processes of the threaded (gthread) worker, each
    with ``threads`` threads and its own app (not preloaded: no engine crosses a fork)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 300,
                "timeout": 300,
                "loglevel": "error",
                "accesslog": None,
                "post_worker_init": lambda _worker: ready.put(1),
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return _bench_app(url, instance, pool)

    Server().run()


class ApiClient:
    """A logged-in API client on one keep-alive connection (cookie and CSRF token kept)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.cookie = ""
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        if self.token and method != "GET":
            headers["X-CSRFToken"] = self.token
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            if value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return resp.status, raw

    def login(self, login: str) -> None:
        self.token = json.loads(self.call("GET", "/api/v1/csrf")[1])["csrf_token"]
        status, raw = self.call("POST", "/api/v1/session", {"login": login, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"login {login}: {status} {raw[:200]!r}")
        self.token = json.loads(self.call("GET", "/api/v1/csrf")[1])["csrf_token"]


def _client_process(
    specs: list[tuple[str, int, list[tuple[int, str]]]],
    service_id: int,
    ready: Any,
    start: Any,
    results: Any,
    floor: bool = False,
) -> None:
    """Client threads of one process: log in, wait for the start, book every job (with
    ``floor``: ask ``GET /api/v1/me`` once per job instead — the cheapest logged-in API
    request, so the ceiling of any request on the same servers and clients)."""

    def client(login: str, port: int, jobs: list[tuple[int, str]]) -> None:
        api = ApiClient(port)
        api.login(login)
        ready.put(1)
        start.wait()
        counts = {"ok": 0, "taken": 0, "error": 0}
        latencies = []
        for provider, starts_at in jobs:
            t0 = time.monotonic()
            if floor:
                status, raw = api.call("GET", "/api/v1/me")
                status = 201 if status == 200 else status
            else:
                status, raw = api.call(
                    "POST",
                    "/api/v1/appointments/bookings",
                    {"service_id": service_id, "provider_id": provider, "starts_at": starts_at},
                )
            latencies.append(time.monotonic() - t0)
            if status == 201:
                counts["ok"] += 1
            elif status == 409 and b"slot_taken" in raw:
                counts["taken"] += 1
            else:
                counts["error"] += 1
                if counts["error"] <= 2:
                    print(f"   error: {status} {raw[:160]!r}", flush=True)
        results.put((counts, time.monotonic(), latencies))

    threads = [threading.Thread(target=client, args=spec) for spec in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores so far (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _backend_pids() -> list[int]:
    """PostgreSQL backends connected to this (scratch) database: same machine, so their
    CPU time can be read from /proc. None on SQLite (the database is in the servers)."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return []

    return list(
        db.session.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    )


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux /proc): gunicorn's workers under its arbiter."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def bench_http(
    url: str,
    instance: Path,
    server_counts: list[int],
    client_procs: int,
    gunicorn: list[int] | None = None,
    threads: int = 8,
    floor: list[int] | None = None,
) -> None:
    """Part 4; ``gunicorn``: worker counts to run on Gunicorn (gthread) after werkzeug;
    ``floor``: werkzeug server counts to run with ``GET /api/v1/me`` instead of booking."""
    app = make_app(url, instance)
    seed = seed_http(app, CLIENTS)
    ctx = mp.get_context("spawn")
    first_day = local_day(utcnow()) + dt.timedelta(days=1)
    runs = [("werkzeug", n) for n in server_counts] + [("gunicorn", n) for n in gunicorn or []]
    runs += [("floor", n) for n in floor or []]
    for run_no, (kind, n_servers) in enumerate(runs):
        day = first_day + dt.timedelta(days=run_no)
        work = day_slots(app, seed, day)
        jobs = work + work  # every slot wanted by two clients at once
        per_client = [jobs[k::CLIENTS] for k in range(CLIENTS)]
        pool = max(4, min(20, 60 // n_servers))
        servers = []
        if kind in ("werkzeug", "floor"):
            ports = [_free_port() for _ in range(n_servers)]
            for port in ports:
                ready = ctx.Event()
                proc = ctx.Process(target=_serve, args=(url, str(instance), port, pool, ready))
                proc.start()
                servers.append((proc, ready))
            for _proc, ready in servers:
                if not ready.wait(120):
                    raise RuntimeError("a server did not start")
        else:
            ports = [_free_port()]
            started = ctx.Queue()
            proc = ctx.Process(
                target=_serve_gunicorn,
                args=(url, str(instance), ports[0], n_servers, threads, pool, started),
            )
            proc.start()
            for _ in range(n_servers):
                started.get(timeout=120)
            servers.append((proc, None))
        # The processes doing the work: werkzeug's servers, or gunicorn's workers.
        workers = [p.pid for p, _ in servers] if kind != "gunicorn" else _children(proc.pid)
        ready_q, results = ctx.Queue(), ctx.Queue()
        start = ctx.Event()
        clients = []
        for c in range(client_procs):
            specs = [
                (seed["logins"][k], ports[k % len(ports)], per_client[k])
                for k in range(c, CLIENTS, client_procs)
            ]
            proc = ctx.Process(
                target=_client_process,
                args=(specs, seed["service"], ready_q, start, results, kind == "floor"),
            )
            proc.start()
            clients.append(proc)
        for _ in range(CLIENTS):
            ready_q.get(timeout=300)
        with app.app_context():
            pg0 = {pid: _cpu_seconds(pid) for pid in _backend_pids()}
            db.session.remove()
        cpu0 = {pid: _cpu_seconds(pid) for pid in workers}
        ccpu0 = {p.pid: _cpu_seconds(p.pid) for p in clients}
        busy0, total0 = _machine_busy()
        t0 = time.monotonic()
        start.set()
        totals = {"ok": 0, "taken": 0, "error": 0}
        latencies: list[float] = []
        ends = []
        for _ in range(CLIENTS):
            counts, end, lat = results.get(timeout=1800)
            for key in totals:
                totals[key] += counts[key]
            latencies += lat
            ends.append(end)
        elapsed = max(ends) - t0
        busy1, total1 = _machine_busy()
        per_server = [_cpu_seconds(pid) - cpu0[pid] for pid in workers]
        server_cpu = sum(per_server)
        client_cpu = sum(_cpu_seconds(p.pid) - ccpu0[p.pid] for p in clients)
        with app.app_context():
            pg_cpu = sum(_cpu_seconds(pid) - pg0.get(pid, 0.0) for pid in _backend_pids())
            db.session.remove()
        for proc in clients:
            proc.join(60)
        for proc, _ in servers:
            proc.terminate()
            proc.join(30)
        with app.app_context():
            lo = dt.datetime.combine(day, dt.time(), tzinfo=STATION_TZ)
            booked = db.session.scalar(
                select(func.count()).where(
                    Booking.starts_at >= lo,
                    Booking.starts_at < lo + dt.timedelta(days=1),
                    Booking.status.in_(OPEN_STATUSES),
                )
            )
            claims = db.session.scalar(select(func.count()).select_from(SlotClaim))
            distinct = db.session.scalar(
                select(func.count()).select_from(
                    select(SlotClaim.provider_id, SlotClaim.unit_start).distinct().subquery()
                )
            )
            overlaps = overlapping_open_bookings()
            db.session.remove()
        latencies.sort()
        cores = os.cpu_count() or 1
        label = {
            "werkzeug": f"{n_servers} werkzeug server process(es)",
            "gunicorn": f"gunicorn, {n_servers} gthread worker(s) x {threads} threads",
            "floor": f"FLOOR: GET /api/v1/me instead of booking, {n_servers} werkzeug server(s)",
        }[kind]
        print(
            f"  -- {label}, {client_procs} client processes, "
            f"load average {os.getloadavg()[0]:.1f} --"
        )
        if kind == "floor":
            line(
                f"{CLIENTS} clients, {len(jobs)} requests",
                f"{totals['ok']} answered 200, {totals['error']} errors",
            )
            line(
                "logged-in API requests over HTTP (the ceiling of any request)",
                f"{len(jobs) / elapsed:.0f} requests/s ({elapsed:.1f} s)",
            )
            line(
                "CPU per request: server process; PostgreSQL",
                f"{server_cpu / len(jobs) * 1000:.1f} ms; {pg_cpu / len(jobs) * 1000:.1f} ms",
            )
            line(
                "CPU: machine busy; servers, PostgreSQL, clients (CPU-s per s)",
                f"{(busy1 - busy0) / max(1, total1 - total0) * 100:.0f}% of {cores} cores; "
                f"{server_cpu / elapsed:.2f}, {pg_cpu / elapsed:.2f}, {client_cpu / elapsed:.2f}",
            )
            continue
        line(
            f"{CLIENTS} clients, {len(jobs)} attempts on {len(work)} slots",
            f"{totals['ok']} booked, {totals['taken']} slot taken, {totals['error']} errors",
        )
        line(
            "booking throughput over HTTP",
            f"{totals['ok'] / elapsed:.0f} bookings/s "
            f"({len(jobs) / elapsed:.0f} attempts/s, {elapsed:.1f} s)",
        )
        line(
            "request latency p50 / p95",
            f"{latencies[len(latencies) // 2] * 1000:.0f} / "
            f"{latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms",
        )
        line(
            "CPU: machine busy; servers, PostgreSQL, clients (CPU-s per s)",
            f"{(busy1 - busy0) / max(1, total1 - total0) * 100:.0f}% of {cores} cores; "
            f"{server_cpu / elapsed:.2f}, {pg_cpu / elapsed:.2f}, {client_cpu / elapsed:.2f}",
        )
        line(
            "CPU-s/s of each server process (how evenly the load spread)",
            ", ".join(f"{c / elapsed:.2f}" for c in per_server),
        )
        line(
            "CPU per attempt: server process; PostgreSQL",
            f"{server_cpu / len(jobs) * 1000:.1f} ms; {pg_cpu / len(jobs) * 1000:.1f} ms",
        )
        line(
            "double bookings (claims-units; open bookings-slots; overlapping pairs)",
            f"{claims - distinct}; {booked - len(work)}; {overlaps}",
        )
    app.extensions["portal.engine"].dispose()


def run(label: str, url: str, instance: Path) -> None:
    print(f"\n== {label}: free slots and in-process booking ==")
    app = make_app(url, instance)
    bench_slots(app)
    bench_booking(app)
    with app.app_context():
        db.session.remove()
    app.extensions["portal.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="1,2,4", help="server process counts for part 4")
    parser.add_argument(
        "--gunicorn", default="", help="also part 4 on Gunicorn (gthread), e.g. 1,2 workers"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per Gunicorn worker")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="skip parts 1 and 2")
    parser.add_argument("--sqlite-http", action="store_true", help="parts 3 and 4 on SQLite too")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--floor",
        default="",
        help="also part 4 with GET /api/v1/me instead of booking, e.g. 1,2 werkzeug servers",
    )
    args = parser.parse_args()
    floor = [int(n) for n in args.floor.split(",") if n.strip()]
    counts = [int(n) for n in args.servers.split(",") if n.strip()]
    gunicorn = [int(n) for n in args.gunicorn.split(",") if n.strip()]
    started = time.perf_counter()
    print(
        f"portal appointments benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="portal-bench-appt-") as tmp:
        if not args.quick:
            run("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance")
        if args.sqlite_http:
            print("\n== SQLite: one booking request, sequential ==")
            bench_request_costs(f"sqlite:///{tmp}/cost.db", Path(tmp) / "instance-cost-sqlite")
            print("\n== SQLite: HTTP, several server processes ==")
            bench_http(
                f"sqlite:///{tmp}/http.db",
                Path(tmp) / "instance-http-sqlite",
                counts,
                args.client_processes,
                gunicorn,
                args.threads,
                floor,
            )
        pg = None if args.no_postgres else os.environ.get("PORTAL_TEST_DATABASE_URL")
        if pg:
            if not args.quick:
                with scratch_postgres(pg) as scratch:
                    run("PostgreSQL", scratch, Path(tmp) / "instance-pg")
            print("\n== PostgreSQL: one booking request, sequential ==")
            with scratch_postgres(pg) as scratch:
                bench_request_costs(scratch, Path(tmp) / "instance-cost")
            print("\n== PostgreSQL: HTTP, several server processes ==")
            with scratch_postgres(pg) as scratch:
                bench_http(
                    scratch,
                    Path(tmp) / "instance-http",
                    counts,
                    args.client_processes,
                    gunicorn,
                    args.threads,
                    floor,
                )
        else:
            print("\n(PORTAL_TEST_DATABASE_URL not set: PostgreSQL parts skipped)")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
