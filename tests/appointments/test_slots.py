"""Slot generation from plain data: breaks, buffers, exceptions, notice, horizon, month
ends, Asia/Shanghai (no DST)."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.appointments.slots import PlanData, compute_free_slots, half_days
from portal.station.calendar import STATION_TZ

T = dt.time


def L(y: int, m: int, d: int, h: int, mi: int = 0) -> dt.datetime:  # noqa: N802
    return dt.datetime(y, m, d, h, mi, tzinfo=STATION_TZ).astimezone(dt.UTC)


def hhmm(slots: list[dt.datetime]) -> list[str]:
    return [s.astimezone(STATION_TZ).strftime("%H:%M") for s in slots]


MORNING = {wd: [(T(9), T(12))] for wd in range(5)}
NOW = L(2026, 12, 7, 0)  # Monday midnight, Shanghai
DAY = dt.date(2026, 12, 8)  # Tuesday

CASES = [
    (
        "plain 30-min slots",
        PlanData(MORNING, min_notice_minutes=0),
        30,
        {},
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
    ),
    (
        "a break removes overlapping slots",
        PlanData(MORNING, breaks={1: [(T(10), T(10, 15))]}, min_notice_minutes=0),
        30,
        {},
        ["09:00", "09:30", "10:30", "11:00", "11:30"],
    ),
    (
        "a 60-min service must fit the period",
        PlanData(MORNING, min_notice_minutes=0),
        60,
        {},
        ["09:00", "09:30", "10:00", "10:30", "11:00"],
    ),
    (
        "a booking blocks the slots it overlaps",
        PlanData(MORNING, min_notice_minutes=0),
        60,
        {"booked": [(L(2026, 12, 8, 10), L(2026, 12, 8, 10, 30))]},
        ["09:00", "10:30", "11:00"],
    ),
    (
        "buffers keep distance on both sides",
        PlanData(MORNING, buffer_minutes=15, min_notice_minutes=0, slot_minutes=15),
        30,
        {"booked": [(L(2026, 12, 8, 10), L(2026, 12, 8, 10, 30))]},
        ["09:00", "09:15", "10:45", "11:00", "11:15", "11:30"],
    ),
    (
        "leave removes slots",
        PlanData(MORNING, min_notice_minutes=0),
        30,
        {"unavailable": [(L(2026, 12, 8, 9), L(2026, 12, 8, 11))]},
        ["11:00", "11:30"],
    ),
    (
        "an extra period adds slots",
        PlanData(MORNING, min_notice_minutes=0),
        30,
        {"extras": [(L(2026, 12, 8, 15), L(2026, 12, 8, 16))]},
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "15:00", "15:30"],
    ),
]


@pytest.mark.parametrize(
    ("name", "plan", "minutes", "extra", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_slot_table(name, plan, minutes, extra, expected):
    slots = compute_free_slots(
        plan, duration_minutes=minutes, first_day=DAY, last_day=DAY, now=NOW, **extra
    )
    assert hhmm(slots) == expected


def test_minimum_notice_cuts_the_first_slots():
    now = L(2026, 12, 8, 8, 10)
    slots = compute_free_slots(
        PlanData(MORNING, min_notice_minutes=120),
        duration_minutes=30,
        first_day=DAY,
        last_day=DAY,
        now=now,
    )
    assert hhmm(slots) == ["10:30", "11:00", "11:30"]


def test_horizon_limits_the_days():
    slots = compute_free_slots(
        PlanData(MORNING, horizon_days=3, min_notice_minutes=0),
        duration_minutes=30,
        first_day=dt.date(2026, 12, 7),
        last_day=dt.date(2026, 12, 31),
        now=NOW,
    )
    days = sorted({s.astimezone(STATION_TZ).date() for s in slots})
    assert days == [dt.date(2026, 12, d) for d in (7, 8, 9, 10)]


def test_holidays_follow_the_calendar_unless_disabled():
    plan = PlanData(MORNING, min_notice_minutes=0)
    holiday = lambda d: d != DAY  # noqa: E731
    assert (
        compute_free_slots(
            plan, duration_minutes=30, first_day=DAY, last_day=DAY, now=NOW, is_working_day=holiday
        )
        == []
    )
    plan.follow_holidays = False
    assert (
        len(
            compute_free_slots(
                plan,
                duration_minutes=30,
                first_day=DAY,
                last_day=DAY,
                now=NOW,
                is_working_day=holiday,
            )
        )
        == 6
    )


def test_makeup_weekend_day_uses_the_first_weekday_hours():
    saturday = dt.date(2026, 12, 12)
    slots = compute_free_slots(
        PlanData(MORNING, min_notice_minutes=0),
        duration_minutes=30,
        first_day=saturday,
        last_day=saturday,
        now=NOW,
        is_working_day=lambda d: True,
    )
    assert hhmm(slots)[0] == "09:00" and len(slots) == 6


def test_month_end_and_year_end_days_in_shanghai():
    # 08:00 Shanghai on 1 January is 00:00 UTC; 07:30 would be 31 December in UTC.
    plan = PlanData(
        {wd: [(T(7, 30), T(8, 30))] for wd in range(7)},
        min_notice_minutes=0,
        follow_holidays=False,
        horizon_days=60,
    )
    now = L(2026, 12, 30, 0)
    slots = compute_free_slots(
        plan,
        duration_minutes=30,
        first_day=dt.date(2026, 12, 31),
        last_day=dt.date(2027, 1, 1),
        now=now,
    )
    assert [s.isoformat() for s in slots] == [
        "2026-12-30T23:30:00+00:00",
        "2026-12-31T00:00:00+00:00",
        "2026-12-31T23:30:00+00:00",
        "2027-01-01T00:00:00+00:00",
    ]
    # No DST in Asia/Shanghai: the same wall-clock time is the same UTC hour all year.
    assert {L(2026, m, 1, 9).hour for m in range(1, 13)} == {1}


def test_half_days_rule():
    assert half_days({0: [(T(9), T(12))]}) == 1
    assert half_days({0: [(T(9), T(12)), (T(14), T(17))]}) == 2
    assert half_days({0: [(T(9), T(10))]}) == 0
