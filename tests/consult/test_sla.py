"""The consultation SLA on the station calendar, table-driven: office hours, lunch breaks,
weekends, the National Day holiday with its 调休 make-up days, admin overrides, and pauses
while waiting on the resident."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.consult import sla
from portal.station.calendar import STATION_TZ, StationCalendar

CAL = StationCalendar()


def at(text: str) -> dt.datetime:
    """A station-local moment."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=STATION_TZ)


ORDINARY = [
    # arrives                  due (same working day)   why
    ("2026-11-24 10:00", "2026-11-24 17:30", "Tuesday morning: today"),
    ("2026-11-24 07:00", "2026-11-24 17:30", "before opening: today"),
    ("2026-11-24 12:30", "2026-11-24 17:30", "lunch break: today"),
    ("2026-11-24 17:29", "2026-11-24 17:30", "a minute before closing: today"),
    ("2026-11-24 17:30", "2026-11-25 17:30", "at closing: the next working day"),
    ("2026-11-24 21:00", "2026-11-25 17:30", "evening: the next working day"),
    ("2026-11-27 18:00", "2026-11-30 17:30", "Friday evening: Monday"),
    ("2026-11-28 10:00", "2026-11-30 17:30", "Saturday: Monday"),
    ("2026-11-29 23:59", "2026-11-30 17:30", "Sunday night: Monday"),
    ("2025-09-30 18:00", "2025-10-09 17:30", "eve of National Day: after the holiday"),
    ("2025-10-03 10:00", "2025-10-09 17:30", "inside the holiday"),
    ("2025-09-27 10:00", "2025-09-28 17:30", "Saturday before a Sunday make-up day"),
    ("2025-10-11 09:00", "2025-10-11 17:30", "Saturday make-up day (调休): today"),
]


@pytest.mark.parametrize(("arrives", "due", "why"), ORDINARY)
def test_ordinary_question_is_due_the_same_working_day(arrives, due, why):
    assert sla.reply_target(CAL, at(arrives), complex_case=False) == at(due), why


COMPLEX = [
    ("2026-11-24 10:00", "2026-11-27 17:30", "Tuesday: Friday"),
    ("2026-11-26 10:00", "2026-12-01 17:30", "Thursday: over the weekend to Tuesday"),
    ("2026-11-28 10:00", "2026-12-03 17:30", "Saturday counts from Monday"),
    ("2025-09-29 10:00", "2025-10-10 17:30", "Monday before National Day: 30th, 9th, 10th"),
    ("2025-09-26 18:00", "2025-10-09 17:30", "Friday evening: Sun 28 (调休), 29, 30, then 9th"),
]


@pytest.mark.parametrize(("arrives", "due", "why"), COMPLEX)
def test_complex_question_is_due_in_three_working_days(arrives, due, why):
    assert sla.reply_target(CAL, at(arrives), complex_case=True) == at(due), why


def test_admin_override_makes_a_holiday():
    cal = StationCalendar(overrides={dt.date(2026, 11, 30): False})
    assert sla.reply_target(cal, at("2026-11-28 10:00"), complex_case=False) == at(
        "2026-12-01 17:30"
    )


def test_configured_office_hours_are_used():
    hours = {wd: [(dt.time(9, 0), dt.time(16, 0))] for wd in range(5)}
    cal = StationCalendar(hours)
    assert sla.reply_target(cal, at("2026-11-24 15:00"), complex_case=False) == at(
        "2026-11-24 16:00"
    )
    assert sla.reply_target(cal, at("2026-11-24 16:30"), complex_case=False) == at(
        "2026-11-25 16:00"
    )


PAUSES = [
    # due               paused at            resumed at           new due               why
    ("2026-11-24 17:30", "2026-11-24 16:30", "2026-11-25 09:00", "2026-11-25 10:00", "1 h left"),
    (
        "2026-11-24 17:30",
        "2026-11-24 11:00",
        "2026-11-27 18:00",
        "2026-11-30 15:00",
        "4 h 30 left, resumed Friday night: Monday, across lunch",
    ),
    ("2026-11-27 17:30", "2026-11-27 17:00", "2026-11-28 10:00", "2026-11-30 09:00", "weekend"),
    (
        "2025-09-30 17:30",
        "2025-09-30 17:00",
        "2025-10-02 10:00",
        "2025-10-09 09:00",
        "resumed in the holiday",
    ),
    (
        "2026-11-24 17:30",
        "2026-11-24 12:30",
        "2026-11-24 14:00",
        "2026-11-24 17:30",
        "paused over lunch loses nothing",
    ),
    (
        "2026-11-24 17:30",
        "2026-11-24 18:00",
        "2026-11-25 10:00",
        "2026-11-25 10:00",
        "late: due at once",
    ),
]


@pytest.mark.parametrize(("due", "paused", "resumed", "new_due", "why"), PAUSES)
def test_waiting_on_the_resident_pauses_the_clock(due, paused, resumed, new_due, why):
    remaining = sla.pause(CAL, at(due), at(paused))
    assert sla.resume(CAL, remaining, at(resumed)) == at(new_due), why


def test_due_soon_is_the_last_hour_before_the_target():
    due = at("2026-11-24 17:30")
    assert sla.due_soon(due, at("2026-11-24 16:45"))
    assert not sla.due_soon(due, at("2026-11-24 16:00"))
    assert not sla.due_soon(due, at("2026-11-24 17:31"))
    assert not sla.due_soon(None, at("2026-11-24 17:00"))


@pytest.mark.parametrize(
    ("due", "now", "text"),
    [
        ("2026-11-24 17:30", "2026-11-24 10:00", "预计今天 17:30 前答复"),
        ("2026-11-25 17:30", "2026-11-24 19:00", "预计明天 17:30 前答复"),
        ("2026-11-30 17:30", "2026-11-27 19:00", "预计 11/30 周一 17:30 前答复"),
    ],
)
def test_target_in_the_residents_terms(ctx, due, now, text):
    assert sla.describe_target(at(due), at(now)) == text
