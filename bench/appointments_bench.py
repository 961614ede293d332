"""Appointments benchmark: free-slot computation and booking throughput.

1. Free slots of one officer over a 14-day horizon with 500 existing bookings: p50/p95
   of ``services.free_slots`` and the SQL statements it issues.
2. Booking throughput with 50 concurrent clients (threads, each with its own app context
   and session) through ``services.book``: 10 officers, every free slot of each wanted by
   two clients at once; bookings per second and a check that no two claims overlap.

SQLite always; PostgreSQL in a scratch database beside ``PORTAL_TEST_DATABASE_URL``.
Run: ``.venv/bin/python bench/appointments_bench.py`` (well under two minutes).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_foundation import scratch_postgres  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts.models import Role, User  # noqa: E402
from portal.appointments import services as svc  # noqa: E402
from portal.appointments.models import Booking, Service, SlotClaim  # noqa: E402
from portal.appointments.seed import seed_services  # noqa: E402
from portal.db import db  # noqa: E402
from portal.models import metadata  # noqa: E402
from portal.station.calendar import STATION_TZ  # noqa: E402

CLIENTS = 50
NOW = dt.datetime(2026, 12, 6, 20, 0, tzinfo=STATION_TZ).astimezone(dt.UTC)  # Sunday night


def line(label: str, value: str) -> None:
    print(f"  {label:<62} {value}")


def make_app(url: str, instance: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PII_KEY": base64.urlsafe_b64encode(b"b" * 32).decode(),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "APPOINTMENT_MAX_OPEN": 10_000,
        }
    )


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
        claims = db.session.scalar(select(func.count()).select_from(SlotClaim))
        distinct = db.session.scalar(
            select(func.count()).select_from(
                select(SlotClaim.provider_id, SlotClaim.unit_start).distinct().subquery()
            )
        )
        booked = db.session.scalar(
            select(func.count()).where(Booking.provider_id.in_([p for p, _ in work]))
        )
    line(
        f"{CLIENTS} clients, {len(jobs)} attempts on {len(work)} slots",
        f"{results['ok']} booked, {results['taken']} slot taken, {results['error']} errors",
    )
    line(
        "booking throughput",
        f"{results['ok'] / elapsed:.0f} bookings/s "
        f"({len(jobs) / elapsed:.0f} attempts/s, {elapsed:.1f} s)",
    )
    line(
        "double bookings (claims - distinct units; bookings - slots)",
        f"{claims - distinct}; {booked - len(work)}",
    )


def run(label: str, url: str, instance: Path) -> None:
    print(f"\n== {label} ==")
    app = make_app(url, instance)
    bench_slots(app)
    bench_booking(app)
    with app.app_context():
        db.session.remove()
    app.extensions["portal.engine"].dispose()


def main() -> None:
    started = time.perf_counter()
    print(
        f"portal appointments benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="portal-bench-appt-") as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance")
        pg = os.environ.get("PORTAL_TEST_DATABASE_URL")
        if pg:
            with scratch_postgres(pg) as scratch:
                run("PostgreSQL", scratch, Path(tmp) / "instance-pg")
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
