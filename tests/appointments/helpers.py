"""Shared set-up for the appointment tests: services, a plan, a fixed clock."""

from __future__ import annotations

import datetime as dt

from portal.accounts.models import User
from portal.appointments import services as svc
from portal.appointments.models import Service
from portal.appointments.seed import seed_services
from portal.db import db
from portal.station.calendar import STATION_TZ

# Monday 2026-12-07, 08:00 in Shanghai: an ordinary working week.
NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=STATION_TZ).astimezone(dt.UTC)


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=STATION_TZ).astimezone(dt.UTC)


def setup_plan(
    provider_id: int, *, buffer: int = 0, slot: int = 30, notice: int = 120, horizon: int = 14
) -> dict[str, Service]:
    """Mon–Fri 09:00–12:00, tea break 10:00–10:15; Tue/Thu 14:00–17:00."""
    services = seed_services()
    provider = db.session.get(User, provider_id)
    svc.save_plan(
        provider,
        provider,
        periods=[(wd, dt.time(9), dt.time(12)) for wd in range(5)]
        + [(wd, dt.time(14), dt.time(17)) for wd in (1, 3)],
        breaks=[(wd, dt.time(10), dt.time(10, 15)) for wd in range(5)],
        slot_minutes=slot,
        buffer_minutes=buffer,
        min_notice_minutes=notice,
        horizon_days=horizon,
    )
    db.session.commit()
    return services
