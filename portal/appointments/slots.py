"""Free-slot arithmetic, from plain data so it can be tested without a database.

Free slots = the weekly plan on working days (and one-off extra periods) − breaks − leave
and blocks − existing bookings with their buffers, not sooner than the minimum notice and
not later than the horizon. Which day a moment belongs to, and what the plan's wall-clock
times mean, is decided in Asia/Shanghai (no DST); every datetime in and out is UTC-aware.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from portal.station.calendar import STATION_TZ

Period = tuple[dt.time, dt.time]
Interval = tuple[dt.datetime, dt.datetime]


@dataclass
class PlanData:
    """A provider's plan as plain values (minutes, local wall-clock periods)."""

    periods: Mapping[int, Sequence[Period]]
    breaks: Mapping[int, Sequence[Period]] = field(default_factory=dict)
    slot_minutes: int = 30
    buffer_minutes: int = 0
    min_notice_minutes: int = 120
    horizon_days: int = 14
    follow_holidays: bool = True


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(STATION_TZ).date()


def _at(day: dt.date, t: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, t, tzinfo=STATION_TZ).astimezone(dt.UTC)


def _overlaps(a: Interval, intervals: Iterable[Interval]) -> bool:
    return any(s < a[1] and a[0] < e for s, e in intervals)


def compute_free_slots(
    plan: PlanData,
    *,
    duration_minutes: int,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    is_working_day: Callable[[dt.date], bool] = lambda d: d.weekday() < 5,
    unavailable: Sequence[Interval] = (),
    extras: Sequence[Interval] = (),
    booked: Sequence[Interval] = (),
) -> list[dt.datetime]:
    """Start times (UTC) of every free slot on the local days ``first_day..last_day``.

    ``booked`` are existing bookings ``(start, end)`` without buffers; they never overlap
    each other (the database sees to that). A new booking ``[t, t+d)`` fits when its claim
    ``[t, t+d+buffer)`` misses every existing claim ``[s, e+buffer)`` — the same rule the
    unique constraint on claimed units enforces.
    """
    duration = dt.timedelta(minutes=duration_minutes)
    step = dt.timedelta(minutes=plan.slot_minutes)
    buffer = dt.timedelta(minutes=plan.buffer_minutes)
    earliest = now + dt.timedelta(minutes=plan.min_notice_minutes)
    today = local_day(now)
    last_day = min(last_day, today + dt.timedelta(days=plan.horizon_days))
    first_day = max(first_day, today)

    claims = sorted((s, e + buffer) for s, e in booked)
    claim_ends = [e for _, e in claims]

    slots: list[dt.datetime] = []
    day = first_day
    while day <= last_day:
        windows, breaks = day_windows(plan, day, is_working_day, extras)
        seen: set[dt.datetime] = set()
        for w_start, w_end in sorted(windows):
            t = w_start
            while t + duration <= w_end:
                end = t + duration
                if (
                    t >= earliest
                    and t not in seen
                    and not _overlaps((t, end), breaks)
                    and not _overlaps((t, end), unavailable)
                    and not _hits(claims, claim_ends, t, end + buffer)
                ):
                    slots.append(t)
                    seen.add(t)
                t += step
        day += dt.timedelta(days=1)
    return sorted(slots)


def day_windows(
    plan: PlanData,
    day: dt.date,
    is_working_day: Callable[[dt.date], bool],
    extras: Sequence[Interval] = (),
) -> tuple[list[Interval], list[Interval]]:
    """The reception windows and breaks (UTC) of one local day: the weekly plan on working
    days, plus the one-off extra periods that start that day."""
    weekday = day.weekday()
    if plan.follow_holidays:
        working = is_working_day(day)
        use_wd = weekday
        if working and weekday >= 5 and not plan.periods.get(weekday):
            # The station's first weekday with hours stands in for a 调休 weekend working day.
            use_wd = next((wd for wd in range(5) if plan.periods.get(wd)), 0)
        periods: Sequence[Period] = plan.periods.get(use_wd, ()) if working else ()
    else:
        use_wd, periods = weekday, plan.periods.get(weekday, ())
    windows = [(_at(day, a), _at(day, b)) for a, b in periods]
    breaks = [(_at(day, a), _at(day, b)) for a, b in plan.breaks.get(use_wd, ())]
    windows += [(s, e) for s, e in extras if local_day(s) == day]
    return windows, breaks


def fits(
    plan: PlanData,
    start: dt.datetime,
    end: dt.datetime,
    *,
    is_working_day: Callable[[dt.date], bool],
    unavailable: Sequence[Interval] = (),
    extras: Sequence[Interval] = (),
) -> bool:
    """Whether ``[start, end)`` lies inside one reception window of its day, clear of the
    breaks and of leave and blocks: the rule a booking was made under (notice, horizon and
    other bookings aside)."""
    windows, breaks = day_windows(plan, local_day(start), is_working_day, extras)
    return (
        any(a <= start and end <= b for a, b in windows)
        and not _overlaps((start, end), breaks)
        and not _overlaps((start, end), unavailable)
    )


def _hits(
    claims: list[Interval], claim_ends: list[dt.datetime], start: dt.datetime, end: dt.datetime
) -> bool:
    # Claims do not overlap, so sorted by start they are sorted by end too: the first claim
    # ending after ``start`` is the only one that can begin before ``end``.
    i = bisect.bisect_right(claim_ends, start)
    return i < len(claims) and claims[i][0] < end


def half_days(periods: Mapping[int, Sequence[Period]]) -> int:
    """How many half-day receptions a weekly plan holds (morning and afternoon per day)."""
    count = 0
    for weekday in range(7):
        ps = periods.get(weekday, ())
        morning = any(
            a < dt.time(12, 0) and (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute) >= 120
            for a, b in ps
        )
        afternoon = any(
            b > dt.time(12, 0)
            and (b.hour * 60 + b.minute)
            - (max(a, dt.time(12, 0)).hour * 60 + max(a, dt.time(12, 0)).minute)
            >= 120
            for a, b in ps
        )
        count += int(morning) + int(afternoon)
    return count
