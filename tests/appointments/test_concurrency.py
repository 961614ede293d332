"""Never two bookings on one slot: 50 threads, and separately 20 processes, book the same
slot (or overlapping slots of different lengths) at once; exactly one wins, everyone else
gets "slot just taken" with alternatives. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.appointments import services as svc
from portal.appointments.models import Booking, Service, SlotClaim
from portal.db import db
from tests.appointments.helpers import NOW, local, setup_plan
from tests.conftest import make_test_app


def _residents(app, community_id: int, n: int) -> list[int]:
    with app.app_context():
        users = [
            User(
                display_name=f"居民{i}",
                role=Role.RESIDENT,
                community_id=community_id,
                email=f"r{i}@load.test",
            )
            for i in range(n)
        ]
        db.session.add_all(users)
        db.session.commit()
        return [u.id for u in users]


def _attempt(app, resident_id: int, officer_id: int, service_name: str, start) -> str:
    with app.test_request_context():
        try:
            service = db.session.scalar(select(Service).where(Service.name == service_name))
            svc.book(
                db.session.get(User, resident_id),
                service,
                db.session.get(User, officer_id),
                start,
                now=NOW,
            )
            db.session.commit()
            return "ok"
        except svc.SlotTaken as exc:
            db.session.rollback()
            return "taken" if exc.alternatives else "taken-without-alternatives"
        except Exception as exc:  # noqa: BLE001 - the test reports it
            db.session.rollback()
            return f"error: {exc!r}"


def _count_bookings(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Booking)),
            db.session.scalar(select(func.count()).select_from(SlotClaim)),
        )


def _run_threads(app, plan) -> list[str]:
    results: list[str] = []
    barrier = threading.Barrier(len(plan))
    lock = threading.Lock()

    def worker(args) -> None:
        barrier.wait()
        r = _attempt(app, *args)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker, args=(p,)) for p in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _setup(app, world):
    with app.test_request_context():
        setup_plan(world["officer"])


def test_50_threads_same_slot(app, world):
    _setup(app, world)
    residents = _residents(app, world["community"], 50)
    plan = [(r, world["officer"], "户籍业务咨询", local(8, 9)) for r in residents]
    results = _run_threads(app, plan)
    assert results.count("ok") == 1, results
    assert results.count("taken") == 49, results
    assert _count_bookings(app) == (1, 4)


def test_50_threads_overlapping_different_lengths(app, world):
    _setup(app, world)
    residents = _residents(app, world["community"], 50)
    plan = [
        (
            r,
            world["officer"],
            *(("纠纷调解", local(8, 10, 30)) if i % 2 else ("户籍业务咨询", local(8, 11))),
        )
        for i, r in enumerate(residents)
    ]
    results = _run_threads(app, plan)
    assert results.count("ok") == 1, results
    assert results.count("taken") == 49, results
    with app.app_context():
        starts = db.session.scalars(select(Booking.starts_at)).all()
    assert len(starts) == 1


def _process_main(url, instance, args, barrier, queue) -> None:
    app = make_test_app(url, Path(instance))
    barrier.wait()
    queue.put(_attempt(app, *args))
    app.extensions["portal.engine"].dispose()


def _run_processes(app, database_url, tmp_path, plan) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(len(plan)), ctx.Queue()
    app.extensions["portal.engine"].dispose()  # no pooled connection crosses the fork
    procs = [
        ctx.Process(
            target=_process_main, args=(database_url, str(tmp_path / f"p{i}"), p, barrier, queue)
        )
        for i, p in enumerate(plan)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
    return results


def test_20_processes_same_slot(app, world, database_url, tmp_path):
    _setup(app, world)
    residents = _residents(app, world["community"], 20)
    plan = [(r, world["officer"], "户籍业务咨询", local(8, 9)) for r in residents]
    results = _run_processes(app, database_url, tmp_path, plan)
    assert results.count("ok") == 1, results
    assert results.count("taken") == 19, results
    assert _count_bookings(app) == (1, 4)


def test_20_processes_overlapping_different_lengths(app, world, database_url, tmp_path):
    _setup(app, world)
    residents = _residents(app, world["community"], 20)
    plan = [
        (
            r,
            world["officer"],
            *(("纠纷调解", local(8, 10, 30)) if i % 2 else ("户籍业务咨询", local(8, 11))),
        )
        for i, r in enumerate(residents)
    ]
    results = _run_processes(app, database_url, tmp_path, plan)
    assert results.count("ok") == 1, results
    assert results.count("taken") == 19, results
    assert _count_bookings(app)[0] == 1
