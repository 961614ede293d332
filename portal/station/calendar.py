"""Working time on the station calendar.

The consultation SLA ("reply the same working day", "within 3 working days") and the
appointment slots both count *office time*: the opening periods of the station on days that are
working days in China. Working days follow the State Council holiday schedule, including the
adjusted working days (调休) on which a Saturday or Sunday becomes a working day to make up for a
bridged holiday; the ``chinese_calendar`` package carries that schedule, and administrators can
override single days (``CalendarOverride``).

Callers pass and receive timezone-aware datetimes, and every datetime returned is in UTC, so the
result can be stored or compared with ``portal.db.utcnow()`` directly. Which *day* a moment falls
on, and what the office hours mean, is decided in station local time (``STATION_TZ``).

``StationCalendar`` is built from plain data so that it can be tested, and reasoned about,
without a database; ``StationCalendar.load`` and ``get_calendar`` build it from the tables.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from portal.db import db
from portal.station.models import CalendarOverride, OfficeHours

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "SEARCH_HORIZON_DAYS",
    "STATION_TZ",
    "StationCalendar",
    "get_calendar",
    "invalidate",
]

log = logging.getLogger(__name__)

STATION_TZ = ZoneInfo("Asia/Shanghai")

#: An opening period as station-local wall-clock times, ``opens < closes``.
Period = tuple[dt.time, dt.time]
#: An opening period on a concrete day, as UTC-aware datetimes ``[start, end)``.
Interval = tuple[dt.datetime, dt.datetime]

_MORNING: Period = (dt.time(8, 30), dt.time(12, 0))
_AFTERNOON: Period = (dt.time(14, 0), dt.time(17, 30))

#: Office hours used while the ``office_hours`` table is empty: Monday to Friday, with the
#: customary lunch break. Read-only so that no caller can change every station's hours by
#: accident.
DEFAULT_OFFICE_HOURS: Mapping[int, Sequence[Period]] = MappingProxyType(
    {weekday: (_MORNING, _AFTERNOON) for weekday in range(5)}
)

#: The longest stretch of closed days searched before giving up. A longer one means the office
#: hours or overrides are misconfigured (Spring Festival, the longest holiday, is 8–9 days), and
#: an error is better than an unbounded loop or a deadline months away.
SEARCH_HORIZON_DAYS = 60

_G_KEY = "station_calendar"
_ZERO = dt.timedelta(0)


@cache
def _holiday_data_covers(year: int) -> bool:
    """Whether ``chinese_calendar`` has the holiday schedule of ``year``.

    Cached per process so that the warning about a missing year is logged once, not on every
    request: the fix (upgrading the package, or adding overrides) is an operator's job.
    """
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        log.warning(
            "chinese_calendar has no holiday data for %d; treating Monday-Friday as working "
            "days. Upgrade chinesecalendar or add calendar overrides for that year.",
            year,
        )
        return False
    return True


def _to_utc(at: dt.datetime) -> dt.datetime:
    """``at`` in UTC; naive datetimes are refused because their zone would be a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {at!r}")
    return at.astimezone(dt.UTC)


def _local_date(at: dt.datetime) -> dt.date:
    """The station-local calendar day of an aware datetime."""
    return at.astimezone(STATION_TZ).date()


def _check_date(day: dt.date) -> None:
    # A datetime is a date subclass; accepting one would silently use its own zone's day.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"a datetime.date is required, got {type(day).__name__}")


def _normalise(weekday: int, periods: Sequence[Period]) -> tuple[Period, ...]:
    """Sort a weekday's periods and merge overlapping or touching ones.

    Admins enter rows one at a time, so overlaps happen; merging them keeps working time from
    being counted twice.
    """
    merged: list[Period] = []
    for opens, closes in sorted(periods):
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError(f"office hours are naive station-local times: {opens}-{closes}")
        if not opens < closes:
            raise ValueError(f"weekday {weekday}: period {opens}-{closes} does not open first")
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return tuple(merged)


class StationCalendar:
    """Office hours on Chinese working days, with administrators' overrides.

    Build one per request (``get_calendar``): it caches per-day results and is cheap, but it
    does not see admin edits made after it was built.

    A *working day* in the methods that count days (``end_of_working_day``,
    ``add_working_days``) is a working day on which the station has office hours; a working day
    whose weekday has no hours configured is skipped, since it has no closing time.
    """

    def __init__(
        self,
        periods: Mapping[int, Sequence[Period]] | None = None,
        overrides: Mapping[dt.date, bool] | None = None,
    ) -> None:
        """Build from plain data.

        ``periods`` maps a weekday (0 = Monday … 6 = Sunday) to its opening periods as naive
        station-local times; ``None`` means ``DEFAULT_OFFICE_HOURS``. ``overrides`` maps a day
        to whether it is a working day, beating the holiday data.
        """
        source = DEFAULT_OFFICE_HOURS if periods is None else periods
        unknown = set(source) - set(range(7))
        if unknown:
            raise ValueError(f"weekdays must be 0..6, got {sorted(unknown)}")
        self._periods: dict[int, tuple[Period, ...]] = {
            weekday: _normalise(weekday, source.get(weekday, ())) for weekday in range(7)
        }
        # A 调休 make-up day on a weekend stands in for some weekday, but which one is not
        # recorded anywhere, so it gets Monday's hours (or, if the station is closed on Monday,
        # those of the first weekday it is open).
        self._makeup_periods: tuple[Period, ...] = next(
            (self._periods[wd] for wd in range(5) if self._periods[wd]), ()
        )
        self._overrides: dict[dt.date, bool] = dict(overrides or {})
        self._uncovered_years: set[int] = set()
        self._day_cache: dict[dt.date, tuple[Interval, ...]] = {}

    @classmethod
    def load(cls, session: Session | scoped_session[Session]) -> StationCalendar:
        """Build the calendar from the ``office_hours`` and ``calendar_overrides`` tables.

        One query per table. An empty ``office_hours`` table means the defaults, so that a fresh
        install has sensible hours before anyone configures them.
        """
        periods: dict[int, list[Period]] = {}
        hours = session.execute(
            select(OfficeHours.weekday, OfficeHours.opens_at, OfficeHours.closes_at)
        ).all()
        for weekday, opens, closes in hours:
            periods.setdefault(weekday, []).append((opens, closes))
        rows = session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all()
        overrides = {day: is_workday for day, is_workday in rows}
        return cls(periods or None, overrides)

    # -- days -----------------------------------------------------------------------------

    @property
    def uncovered_years(self) -> frozenset[int]:
        """Years this calendar had to guess (Monday–Friday) for lack of holiday data."""
        return frozenset(self._uncovered_years)

    def has_holiday_data(self, year: int) -> bool:
        """Whether the public-holiday schedule of ``year`` is known.

        Without it, holidays and 调休 days of that year are only right where an admin added
        overrides; the admin UI can use this to warn.
        """
        return _holiday_data_covers(year)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day: an override if there is one, else the holiday data.

        For a year without holiday data, Monday to Friday are working days and the year is
        recorded in ``uncovered_years``.
        """
        _check_date(day)
        override = self._overrides.get(day)
        if override is not None:
            return override
        if _holiday_data_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        self._uncovered_years.add(day.year)
        return day.weekday() < 5

    def periods_on(self, day: dt.date) -> list[Interval]:
        """The opening periods of ``day`` as UTC-aware ``(start, end)`` pairs, in order.

        Empty on a non-working day. A working day on a Saturday or Sunday (a 调休 make-up day
        or an override) uses Monday's hours, because the weekday it replaces is not known; if
        the station is closed on Mondays, the first weekday with hours is used instead. Hours
        configured for Saturday or Sunday therefore never apply.
        """
        _check_date(day)
        return list(self._intervals(day))

    def _intervals(self, day: dt.date) -> tuple[Interval, ...]:
        cached = self._day_cache.get(day)
        if cached is None:
            if not self.is_working_day(day):
                cached = ()
            else:
                weekday = day.weekday()
                periods = self._makeup_periods if weekday >= 5 else self._periods[weekday]
                cached = tuple(
                    (
                        dt.datetime.combine(day, opens, tzinfo=STATION_TZ).astimezone(dt.UTC),
                        dt.datetime.combine(day, closes, tzinfo=STATION_TZ).astimezone(dt.UTC),
                    )
                    for opens, closes in periods
                )
            self._day_cache[day] = cached
        return cached

    def _open_days(self, first: dt.date) -> Iterator[tuple[dt.date, tuple[Interval, ...]]]:
        """Days from ``first`` on that have opening periods, endlessly.

        Raises ValueError once more than ``SEARCH_HORIZON_DAYS`` days pass without one, so
        that a station configured as always closed fails loudly instead of looping.
        """
        day = anchor = first
        while True:
            if (day - anchor).days > SEARCH_HORIZON_DAYS:
                raise ValueError(
                    f"the station is closed for more than {SEARCH_HORIZON_DAYS} days after "
                    f"{anchor.isoformat()}; check the office hours and calendar overrides"
                )
            intervals = self._intervals(day)
            if intervals:
                yield day, intervals
                anchor = day
            day += dt.timedelta(days=1)

    # -- moments --------------------------------------------------------------------------

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the station is open at ``at`` (opening time included, closing excluded)."""
        at = _to_utc(at)
        return any(start <= at < end for start, end in self._intervals(_local_date(at)))

    def next_opening(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself if the station is open then, else the next opening time (UTC).

        Raises ValueError if nothing opens within ``SEARCH_HORIZON_DAYS`` days.
        """
        at = _to_utc(at)
        for _day, intervals in self._open_days(_local_date(at)):
            for start, end in intervals:
                if at < end:
                    return max(start, at)
        raise AssertionError("_open_days ends only by raising")  # pragma: no cover

    def add_working_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment at which ``duration`` of office time has passed since ``start`` (UTC).

        Time outside office hours does not count, so two hours from 11:00 is 15:00 with the
        default lunch break. A result landing exactly on a closing time is that closing time,
        not the next opening: the time is up when the office closes. A zero duration returns
        ``start`` unchanged.
        """
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        start = _to_utc(start)
        if duration == _ZERO:
            return start
        remaining = duration
        for _day, intervals in self._open_days(_local_date(start)):
            for opens, closes in intervals:
                if closes <= start:
                    continue
                opens = max(opens, start)
                available = closes - opens
                if remaining <= available:
                    return opens + remaining
                remaining -= available
        raise AssertionError("_open_days ends only by raising")  # pragma: no cover

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Office time in ``[a, b)``; zero if ``b`` is not after ``a``.

        The inverse of ``add_working_time``: ``working_time_between(s, add_working_time(s, d))
        == d``, which is what lets the SLA report how much of a deadline is used up.
        """
        a, b = _to_utc(a), _to_utc(b)
        total = _ZERO
        if b <= a:
            return total
        day, last = _local_date(a), _local_date(b)
        while day <= last:
            for opens, closes in self._intervals(day):
                lo, hi = max(opens, a), min(closes, b)
                if lo < hi:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def _closing_times(self, at: dt.datetime) -> Iterator[dt.datetime]:
        """The final closing time of each open day, from the first one after ``at`` on."""
        for _day, intervals in self._open_days(_local_date(at)):
            closes = intervals[-1][1]
            if at < closes:
                yield closes

    def end_of_working_day(self, at: dt.datetime) -> dt.datetime:
        """The closing time of the working day ``at`` belongs to (UTC).

        That is the same day's final closing time if ``at`` is before it (before opening and
        during the lunch break included), else the next working day's: a message sent on
        Friday evening or on Sunday is due on Monday. Implements "reply the same working day".
        """
        return next(self._closing_times(_to_utc(at)))

    def add_working_days(self, at: dt.datetime, n: int) -> dt.datetime:
        """The closing time of the ``n``-th working day after the one ``at`` belongs to (UTC).

        ``n == 0`` is ``end_of_working_day(at)``. Counting from the working day ``at`` belongs
        to means a request sent after closing time or on a holiday is counted from the next
        working day, as if it had arrived then. Implements "within n working days".
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        closing_times = self._closing_times(_to_utc(at))
        closes = next(closing_times)
        for _ in range(n):
            closes = next(closing_times)
        return closes


def get_calendar() -> StationCalendar:
    """The station calendar for the current request, loaded from the database.

    Inside an app context it is cached in ``flask.g`` so that the SLA and the slot code share
    one load per request; outside one (a script, a test) it is loaded fresh each time. After
    editing office hours or overrides, call ``invalidate()``.
    """
    if not has_app_context():
        return StationCalendar.load(db.session)
    calendar = g.get(_G_KEY)
    if not isinstance(calendar, StationCalendar):
        calendar = StationCalendar.load(db.session)
        setattr(g, _G_KEY, calendar)
    return calendar


def invalidate() -> None:
    """Drop the calendar cached for this request, so the next ``get_calendar`` reloads it."""
    if has_app_context():
        g.pop(_G_KEY, None)
