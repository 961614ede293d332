"""Periodic jobs, run by ``portal worker`` (or a thread of ``portal serve``).

Each job must be safe to run in two processes at once: jobs claim their rows with a
conditional UPDATE, so a second run finds nothing left to do. Features register their
jobs here (reminders, expiry, SLA warnings) with ``register_job``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from portal.db import db

log = logging.getLogger(__name__)


@dataclass
class Job:
    """A named function run every ``every`` seconds."""

    name: str
    func: Callable[[], int]
    every: float
    last_run: float = 0.0


_jobs: dict[str, Job] = {}


def register_job(name: str, every: float) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Decorator: run this function periodically; it returns how many things it did."""

    def decorator(func: Callable[[], int]) -> Callable[[], int]:
        _jobs[name] = Job(name, func, every)
        return func

    return decorator


def registered_jobs() -> dict[str, Job]:
    """Every job, after the features that define them are imported."""
    from portal.accounts import services as accounts
    from portal.notifications import services as notifications

    _jobs.setdefault("send-mail", Job("send-mail", notifications.send_queued_mail, 5))
    _jobs.setdefault(
        "expire-verifications", Job("expire-verifications", accounts.expire_verifications, 3600)
    )
    return _jobs


def run_due(app: Flask, now: float | None = None, force: bool = False) -> dict[str, int]:
    """Run every job whose interval has passed; a failing job does not stop the others."""
    now = time.monotonic() if now is None else now
    done: dict[str, int] = {}
    for job in registered_jobs().values():
        if not force and now - job.last_run < job.every:
            continue
        job.last_run = now
        with app.app_context():
            try:
                done[job.name] = job.func() or 0
                db.session.commit()
            except Exception:  # noqa: BLE001 - log and carry on with the next job
                db.session.rollback()
                log.exception("job %s failed", job.name)
    return done


def run_forever(app: Flask, stop: threading.Event | None = None) -> None:
    """The worker loop: tick every few seconds until stopped."""
    stop = stop or threading.Event()
    interval = app.config["WORKER_INTERVAL_SECONDS"]
    while not stop.is_set():
        run_due(app)
        stop.wait(interval)


def start_in_thread(app: Flask) -> threading.Event:
    """Run the worker beside the web server (``portal serve``), for a one-machine setup."""
    stop = threading.Event()
    threading.Thread(
        target=run_forever, args=(app, stop), daemon=True, name="portal-worker"
    ).start()
    return stop
