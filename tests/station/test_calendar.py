"""Tests of the station calendar.

Almost all of them build ``StationCalendar`` from plain data, so no app or database is needed;
facts about the 2026 holiday schedule are looked up in ``chinese_calendar`` rather than
hard-coded where the package is the authority.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import chinese_calendar
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import Base
from portal.station import calendar as calendar_module
from portal.station.calendar import (
    DEFAULT_OFFICE_HOURS,
    STATION_TZ,
    StationCalendar,
    get_calendar,
    invalidate,
)
from portal.station.models import CalendarOverride, OfficeHours

T = dt.time
D = dt.date
H = dt.timedelta(hours=1)

# Ordinary working weeks of 2026 (no holiday nearby): Mon 1 – Fri 5 June, Mon 8 June.
TUESDAY = D(2026, 6, 2)
FRIDAY = D(2026, 6, 5)
SATURDAY = D(2026, 6, 6)
NEXT_MONDAY = D(2026, 6, 8)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A station-local aware datetime."""
    return dt.datetime.combine(day, T(hour, minute), tzinfo=STATION_TZ)


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """The UTC form of a station-local time, as the calendar returns it."""
    return local(day, hour, minute).astimezone(dt.UTC)


def weekend_workdays(year: int) -> list[dt.date]:
    """调休 make-up working days of ``year`` that fall on a Saturday or Sunday."""
    days = chinese_calendar.get_workdays(D(year, 1, 1), D(year, 12, 31), include_weekends=True)
    return [day for day in days if day.weekday() >= 5]


def first_uncovered_year() -> int:
    """The first year after 2026 the installed chinese_calendar has no data for."""
    cal = StationCalendar()
    return next(year for year in range(2027, 2200) if not cal.has_holiday_data(year))


@pytest.fixture
def cal() -> StationCalendar:
    return StationCalendar()


# -- working days -------------------------------------------------------------------------


def test_fixture_days_are_ordinary_working_days() -> None:
    # Guards the other tests against a holiday data update moving these days.
    for day in (TUESDAY, FRIDAY, NEXT_MONDAY, D(2026, 6, 3), D(2026, 6, 4)):
        assert chinese_calendar.is_workday(day)
    assert not chinese_calendar.is_workday(SATURDAY)


def test_national_day_is_not_a_working_day(cal: StationCalendar) -> None:
    national_day = D(2026, 10, 1)
    assert national_day.weekday() < 5  # a Thursday: closed because of the holiday
    assert not cal.is_working_day(national_day)
    assert cal.periods_on(national_day) == []
    assert not cal.is_open(local(national_day, 10))


def test_makeup_weekend_day_is_a_working_day_with_monday_hours(cal: StationCalendar) -> None:
    makeup_days = weekend_workdays(2026)
    assert makeup_days, "2026 has 调休 days on weekends"
    for day in makeup_days:
        assert cal.is_working_day(day)
        assert cal.periods_on(day) == [
            (utc(day, 8, 30), utc(day, 12)),
            (utc(day, 14), utc(day, 17, 30)),
        ]
        assert cal.is_open(local(day, 9))


def test_makeup_day_uses_first_open_weekday_when_closed_on_monday() -> None:
    cal = StationCalendar({1: [(T(9), T(11))], 6: [(T(10), T(12))]})
    day = weekend_workdays(2026)[0]
    assert cal.periods_on(day) == [(utc(day, 9), utc(day, 11))]


def test_plain_weekend_is_closed_even_with_weekend_hours() -> None:
    cal = StationCalendar({5: [(T(9), T(12))]})
    assert not cal.is_working_day(SATURDAY)
    assert cal.periods_on(SATURDAY) == []


def test_override_closes_a_working_day() -> None:
    cal = StationCalendar(overrides={TUESDAY: False})
    assert not cal.is_working_day(TUESDAY)
    assert cal.periods_on(TUESDAY) == []
    assert cal.next_opening(local(TUESDAY, 9)) == utc(D(2026, 6, 3), 8, 30)


def test_override_opens_a_holiday_and_a_weekend() -> None:
    national_day = D(2026, 10, 1)
    cal = StationCalendar(overrides={national_day: True, SATURDAY: True})
    assert cal.is_working_day(national_day)
    assert cal.is_open(local(national_day, 15))
    assert cal.is_working_day(SATURDAY)
    assert cal.periods_on(SATURDAY)[0] == (utc(SATURDAY, 8, 30), utc(SATURDAY, 12))


def test_override_beats_makeup_day() -> None:
    makeup = weekend_workdays(2026)[0]
    assert not StationCalendar(overrides={makeup: False}).is_working_day(makeup)


def test_year_without_holiday_data_falls_back_to_weekdays() -> None:
    cal = StationCalendar()
    year = first_uncovered_year()
    assert cal.has_holiday_data(2026)
    assert not cal.has_holiday_data(year)
    assert cal.uncovered_years == frozenset()

    monday = D(year, 3, 1) + dt.timedelta(days=(7 - D(year, 3, 1).weekday()) % 7)
    assert monday.weekday() == 0
    assert cal.is_working_day(monday)
    assert not cal.is_working_day(monday + dt.timedelta(days=5))  # Saturday
    # New Year's Day is a weekday-or-not guess: no holiday data means no holidays.
    assert cal.is_working_day(D(year, 1, 1)) is (D(year, 1, 1).weekday() < 5)
    assert cal.uncovered_years == frozenset({year})


def test_override_applies_in_uncovered_year_without_flagging_it() -> None:
    year = first_uncovered_year()
    new_year = D(year, 1, 1)
    cal = StationCalendar(overrides={new_year: False})
    assert not cal.is_working_day(new_year)
    assert cal.uncovered_years == frozenset()


def test_default_hours() -> None:
    assert set(DEFAULT_OFFICE_HOURS) == {0, 1, 2, 3, 4}
    cal = StationCalendar()
    assert cal.periods_on(TUESDAY) == [
        (utc(TUESDAY, 8, 30), utc(TUESDAY, 12)),
        (utc(TUESDAY, 14), utc(TUESDAY, 17, 30)),
    ]
    assert all(p.tzinfo is dt.UTC for period in cal.periods_on(TUESDAY) for p in period)


def test_overlapping_periods_are_merged() -> None:
    cal = StationCalendar({1: [(T(10), T(12)), (T(9), T(11)), (T(12), T(13)), (T(15), T(16))]})
    assert cal.periods_on(TUESDAY) == [
        (utc(TUESDAY, 9), utc(TUESDAY, 13)),
        (utc(TUESDAY, 15), utc(TUESDAY, 16)),
    ]


@pytest.mark.parametrize(
    "periods",
    [{1: [(T(12), T(9))]}, {1: [(T(9), T(9))]}, {7: [(T(9), T(12))]}, {-1: []}],
)
def test_invalid_periods_are_refused(periods: dict[int, list[tuple[dt.time, dt.time]]]) -> None:
    with pytest.raises(ValueError):
        StationCalendar(periods)


def test_naive_datetimes_and_datetime_days_are_refused(cal: StationCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.is_open(dt.datetime(2026, 6, 2, 9))
    with pytest.raises(TypeError):
        cal.is_working_day(dt.datetime(2026, 6, 2, 9, tzinfo=dt.UTC))


# -- is_open / next_opening ---------------------------------------------------------------


def test_is_open_boundaries(cal: StationCalendar) -> None:
    assert not cal.is_open(local(TUESDAY, 8, 29))
    assert cal.is_open(local(TUESDAY, 8, 30))
    assert not cal.is_open(local(TUESDAY, 12))  # closing time is excluded
    assert not cal.is_open(local(TUESDAY, 13))
    assert cal.is_open(local(TUESDAY, 17, 29))
    assert not cal.is_open(local(SATURDAY, 10))


def test_is_open_accepts_any_zone(cal: StationCalendar) -> None:
    # 09:00 in Shanghai is 01:00 UTC; 17:00 UTC on the Monday is 01:00 Tuesday in Shanghai.
    assert cal.is_open(dt.datetime(2026, 6, 2, 1, tzinfo=dt.UTC))
    assert not cal.is_open(dt.datetime(2026, 6, 1, 17, tzinfo=dt.UTC))


def test_next_opening(cal: StationCalendar) -> None:
    now = local(TUESDAY, 10)
    assert cal.next_opening(now) == now
    assert cal.next_opening(now).tzinfo is dt.UTC
    assert cal.next_opening(local(TUESDAY, 7)) == utc(TUESDAY, 8, 30)
    assert cal.next_opening(local(TUESDAY, 12)) == utc(TUESDAY, 14)
    assert cal.next_opening(local(FRIDAY, 18)) == utc(NEXT_MONDAY, 8, 30)
    assert cal.next_opening(local(SATURDAY, 10)) == utc(NEXT_MONDAY, 8, 30)


def test_next_opening_after_national_day(cal: StationCalendar) -> None:
    after = D(2026, 9, 30) + dt.timedelta(days=1)
    while not chinese_calendar.is_workday(after):
        after += dt.timedelta(days=1)
    assert after > D(2026, 10, 7)
    assert cal.next_opening(local(D(2026, 10, 1), 9)) == utc(after, 8, 30)


def test_next_opening_gives_up_beyond_horizon() -> None:
    with pytest.raises(ValueError, match="closed for more than 60 days"):
        StationCalendar({}).next_opening(local(TUESDAY, 9))
    closed = {TUESDAY + dt.timedelta(days=i): False for i in range(70)}
    with pytest.raises(ValueError):
        StationCalendar(overrides=closed).next_opening(local(TUESDAY, 9))
    closed = {TUESDAY + dt.timedelta(days=i): False for i in range(50)}
    reopens = StationCalendar(overrides=closed).next_opening(local(TUESDAY, 9))
    assert reopens.date() >= TUESDAY + dt.timedelta(days=50)


# -- add_working_time / working_time_between ----------------------------------------------


def test_add_working_time_within_a_period(cal: StationCalendar) -> None:
    assert cal.add_working_time(local(TUESDAY, 9), H) == utc(TUESDAY, 10)


def test_add_working_time_across_lunch_break(cal: StationCalendar) -> None:
    assert cal.add_working_time(local(TUESDAY, 11, 30), H) == utc(TUESDAY, 14, 30)
    assert cal.add_working_time(local(TUESDAY, 12, 30), H) == utc(TUESDAY, 15)


def test_add_working_time_ending_at_close_stays_at_close(cal: StationCalendar) -> None:
    assert cal.add_working_time(local(TUESDAY, 11), H) == utc(TUESDAY, 12)


def test_add_working_time_across_weekend(cal: StationCalendar) -> None:
    assert cal.add_working_time(local(FRIDAY, 17), H) == utc(NEXT_MONDAY, 9)
    assert cal.add_working_time(local(SATURDAY, 10), H) == utc(NEXT_MONDAY, 9, 30)


def test_add_working_time_across_national_day(cal: StationCalendar) -> None:
    eve = D(2026, 9, 30)
    assert cal.is_working_day(eve)
    back = D(2026, 10, 8)
    assert cal.is_working_day(back)
    assert all(not cal.is_working_day(D(2026, 10, d)) for d in range(1, 8))
    assert cal.add_working_time(local(eve, 17), H) == utc(back, 9)


def test_add_working_time_three_working_days(cal: StationCalendar) -> None:
    # 7 hours of office time a day: 21 hours from Tuesday opening is Thursday closing.
    assert cal.add_working_time(local(TUESDAY, 8, 30), 21 * H) == utc(D(2026, 6, 4), 17, 30)


def test_add_working_time_zero_and_negative(cal: StationCalendar) -> None:
    sunday = local(D(2026, 6, 7), 10)
    assert cal.add_working_time(sunday, dt.timedelta(0)) == sunday
    with pytest.raises(ValueError):
        cal.add_working_time(sunday, -H)


def test_working_time_between(cal: StationCalendar) -> None:
    assert cal.working_time_between(local(TUESDAY, 11), local(TUESDAY, 15)) == 2 * H
    assert cal.working_time_between(local(FRIDAY, 17), local(NEXT_MONDAY, 9)) == H
    assert cal.working_time_between(local(TUESDAY, 8), local(TUESDAY, 20)) == 7 * H
    assert cal.working_time_between(local(TUESDAY, 15), local(TUESDAY, 11)) == dt.timedelta(0)
    assert cal.working_time_between(local(SATURDAY, 9), local(SATURDAY, 17)) == dt.timedelta(0)


_starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2026, 12, 31, 23, 59),
    timezones=st.just(STATION_TZ),
)
_durations = st.timedeltas(min_value=dt.timedelta(0), max_value=40 * H)


@settings(max_examples=300, deadline=None)
@given(start=_starts, duration=_durations)
def test_working_time_between_inverts_add_working_time(
    start: dt.datetime, duration: dt.timedelta
) -> None:
    cal = StationCalendar()
    end = cal.add_working_time(start, duration)
    assert end >= start
    assert cal.working_time_between(start, end) == duration


@settings(max_examples=200, deadline=None)
@given(start=_starts, a=_durations, b=_durations)
def test_working_time_between_is_additive(
    start: dt.datetime, a: dt.timedelta, b: dt.timedelta
) -> None:
    cal = StationCalendar()
    middle, end = start + a, start + a + b
    assert cal.working_time_between(start, end) == (
        cal.working_time_between(start, middle) + cal.working_time_between(middle, end)
    )


# -- end_of_working_day / add_working_days ------------------------------------------------


def test_end_of_working_day(cal: StationCalendar) -> None:
    close = utc(TUESDAY, 17, 30)
    assert cal.end_of_working_day(local(TUESDAY, 7)) == close  # before opening
    assert cal.end_of_working_day(local(TUESDAY, 10)) == close  # during
    assert cal.end_of_working_day(local(TUESDAY, 12, 30)) == close  # lunch break
    assert cal.end_of_working_day(local(TUESDAY, 17, 30)) == utc(D(2026, 6, 3), 17, 30)
    assert cal.end_of_working_day(local(TUESDAY, 20)) == utc(D(2026, 6, 3), 17, 30)
    assert cal.end_of_working_day(local(TUESDAY, 20)).tzinfo is dt.UTC


def test_end_of_working_day_friday_evening_and_weekend(cal: StationCalendar) -> None:
    monday_close = utc(NEXT_MONDAY, 17, 30)
    assert cal.end_of_working_day(local(FRIDAY, 19)) == monday_close
    assert cal.end_of_working_day(local(SATURDAY, 10)) == monday_close


def test_end_of_working_day_skips_working_day_without_hours() -> None:
    cal = StationCalendar({0: [(T(9), T(12))], 2: [(T(9), T(12))]})
    assert cal.is_working_day(TUESDAY)
    assert cal.end_of_working_day(local(D(2026, 6, 1), 13)) == utc(D(2026, 6, 3), 12)


def test_add_working_days(cal: StationCalendar) -> None:
    at = local(TUESDAY, 10)
    assert cal.add_working_days(at, 0) == cal.end_of_working_day(at)
    assert cal.add_working_days(at, 1) == utc(D(2026, 6, 3), 17, 30)
    assert cal.add_working_days(at, 3) == utc(FRIDAY, 17, 30)
    assert cal.add_working_days(at, 4) == utc(NEXT_MONDAY, 17, 30)
    # After closing, the request belongs to the next working day.
    assert cal.add_working_days(local(TUESDAY, 18), 3) == utc(NEXT_MONDAY, 17, 30)
    assert cal.add_working_days(local(SATURDAY, 10), 0) == utc(NEXT_MONDAY, 17, 30)
    with pytest.raises(ValueError):
        cal.add_working_days(at, -1)


def test_add_working_days_across_national_day(cal: StationCalendar) -> None:
    expected = [
        day
        for day in chinese_calendar.get_workdays(D(2026, 10, 1), D(2026, 10, 31))
        if day > D(2026, 9, 30)
    ][2]
    assert cal.add_working_days(local(D(2026, 9, 30), 10), 3) == utc(expected, 17, 30)


# -- database and Flask glue --------------------------------------------------------------


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[OfficeHours.__table__, CalendarOverride.__table__])
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_load_from_tables(session: Session) -> None:
    assert StationCalendar.load(session).periods_on(TUESDAY) == StationCalendar().periods_on(
        TUESDAY
    )

    session.add_all(
        [
            OfficeHours(weekday=1, opens_at=T(14), closes_at=T(16)),
            OfficeHours(weekday=1, opens_at=T(9), closes_at=T(11)),
            CalendarOverride(day=D(2026, 6, 3), is_workday=False, note="台风停工"),
            CalendarOverride(day=D(2026, 10, 1), is_workday=True),
        ]
    )
    session.flush()
    override = session.get(CalendarOverride, 1)
    assert override is not None and override.created_at is not None

    cal = StationCalendar.load(session)
    assert cal.periods_on(TUESDAY) == [
        (utc(TUESDAY, 9), utc(TUESDAY, 11)),
        (utc(TUESDAY, 14), utc(TUESDAY, 16)),
    ]
    assert cal.periods_on(D(2026, 6, 1)) == []  # Monday: no rows, so closed
    assert not cal.is_working_day(D(2026, 6, 3))
    assert cal.is_working_day(D(2026, 10, 1))


def test_office_hours_check_constraint(session: Session) -> None:
    session.add(OfficeHours(weekday=1, opens_at=T(12), closes_at=T(9)))
    with pytest.raises(IntegrityError, match="ck_office_hours_opens_before_closes"):
        session.flush()


def test_get_calendar_is_cached_per_app_context(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[StationCalendar] = []

    def fake_load(cls: type[StationCalendar], _session: object) -> StationCalendar:
        loads.append(cls())
        return loads[-1]

    monkeypatch.setattr(calendar_module.StationCalendar, "load", classmethod(fake_load))

    assert get_calendar() is not get_calendar()  # no app context: fresh each time
    assert len(loads) == 2

    app = Flask(__name__)
    with app.app_context():
        first = get_calendar()
        assert get_calendar() is first
        invalidate()
        assert get_calendar() is not first
    assert len(loads) == 4
    invalidate()  # harmless outside an app context
