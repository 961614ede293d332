"""Station calendar use cases for admins: corrections of the holiday calendar."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from portal.db import db
from portal.security import audit
from portal.station.calendar import DEFAULT_OFFICE_HOURS, get_calendar, invalidate
from portal.station.models import CalendarOverride, OfficeHours

if TYPE_CHECKING:
    from portal.accounts.models import User


def overrides(limit: int = 200) -> list[CalendarOverride]:
    """Corrections from a month ago on, soonest first."""
    since = dt.date.today() - dt.timedelta(days=31)
    return list(
        db.session.scalars(
            select(CalendarOverride)
            .where(CalendarOverride.day >= since)
            .order_by(CalendarOverride.day)
            .limit(limit)
        )
    )


def set_override(admin: User, day: dt.date, is_workday: bool, note: str) -> CalendarOverride:
    """Say whether a day is a working day, beating the holiday package."""
    row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        row = CalendarOverride(day=day, is_workday=is_workday, note=note)
        db.session.add(row)
    else:
        row.is_workday = is_workday
        row.note = note
    db.session.flush()
    audit.record(admin, "calendar.override", obj=row, day=day.isoformat(), workday=is_workday)
    invalidate()
    return row


def delete_override(admin: User, override_id: int) -> None:
    """Drop a correction."""
    row = db.session.get(CalendarOverride, override_id)
    if row is not None:
        audit.record(admin, "calendar.override_delete", obj=row, day=row.day.isoformat())
        db.session.delete(row)
        db.session.flush()
        invalidate()


def office_hours_table() -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Office hours per weekday (0 = Monday), the defaults when none are stored."""
    rows = db.session.scalars(
        select(OfficeHours).order_by(OfficeHours.weekday, OfficeHours.opens_at)
    )
    table: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for row in rows:
        table.setdefault(row.weekday, []).append((row.opens_at, row.closes_at))
    if not table:
        return {k: list(v) for k, v in DEFAULT_OFFICE_HOURS.items()}
    return table


def upcoming_days(n: int = 14) -> list[tuple[dt.date, bool]]:
    """The next ``n`` days and whether the station works on each (for the admin page)."""
    cal = get_calendar()
    today = dt.date.today()
    return [
        (today + dt.timedelta(days=i), cal.is_working_day(today + dt.timedelta(days=i)))
        for i in range(n)
    ]
