"""The consultation SLA on the station calendar, as pure functions.

Ordinary questions are due by the end of the working day they arrive in, complex ones by the
end of the third working day after it (``StationCalendar.end_of_working_day`` and
``add_working_days``). While an officer waits on the resident the clock is paused: the office
time left is kept, and added again from the moment the resident answers.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import format_datetime
from flask_babel import gettext as _

from portal.station.calendar import STATION_TZ, StationCalendar

COMPLEX_WORKING_DAYS = 3
#: How long before the target a warning shows.
WARN_BEFORE = dt.timedelta(hours=1)


def reply_target(cal: StationCalendar, at: dt.datetime, *, complex_case: bool) -> dt.datetime:
    """When a reply is due for a question that arrived (or came back) at ``at``."""
    if complex_case:
        return cal.add_working_days(at, COMPLEX_WORKING_DAYS)
    return cal.end_of_working_day(at)


def pause(cal: StationCalendar, due: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """The office time left until ``due``, kept while waiting on the resident (zero if late)."""
    return cal.working_time_between(now, due)


def resume(cal: StationCalendar, remaining: dt.timedelta, now: dt.datetime) -> dt.datetime:
    """The new target once the resident answers: the kept office time counted from ``now``."""
    if remaining <= dt.timedelta(0):
        return now.astimezone(dt.UTC)
    return cal.add_working_time(now, remaining)


def due_soon(due: dt.datetime | None, now: dt.datetime) -> bool:
    """Within ``WARN_BEFORE`` of the target and not yet past it."""
    return due is not None and now <= due <= now + WARN_BEFORE


def describe_target(due: dt.datetime, now: dt.datetime) -> str:
    """The target in the resident's terms: 预计今天 17:30 前答复, 明天, or a date."""
    local_due = due.astimezone(STATION_TZ)
    today = now.astimezone(STATION_TZ).date()
    clock = local_due.strftime("%H:%M")
    if local_due.date() == today:
        return _("预计今天 %(time)s 前答复", time=clock)
    if local_due.date() == today + dt.timedelta(days=1):
        return _("预计明天 %(time)s 前答复", time=clock)
    return _("预计 %(date)s %(time)s 前答复", date=format_datetime(due, "M/d EEE"), time=clock)
