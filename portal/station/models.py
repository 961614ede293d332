"""Tables behind the station calendar.

Office hours are stored as naive station-local wall-clock times (Asia/Shanghai): "we open at
08:30" means 08:30 in the station's town whatever the server's zone, so a UTC time would be
wrong here. Days are calendar dates in the same zone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class OfficeHours(Base):
    """One opening period on one weekday.

    A weekday may have several rows (a morning and an afternoon session with a lunch break
    between); a weekday with no row is closed. When the table is empty the calendar falls back
    to ``portal.station.calendar.DEFAULT_OFFICE_HOURS``. A period lies within one day, so
    ``closes_at`` is strictly after ``opens_at`` (no period runs past midnight).
    """

    __tablename__ = "office_hours"
    __table_args__ = (
        CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 0 = Monday … 6 = Sunday, as ``datetime.date.weekday()``.
    weekday: Mapped[int] = mapped_column(SmallInteger, index=True)
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time] = mapped_column(Time)

    def __repr__(self) -> str:
        return f"<OfficeHours {self.weekday} {self.opens_at}-{self.closes_at}>"


class CalendarOverride(Base):
    """An administrator's decision that a day is (or is not) a working day.

    It beats the ``chinese_calendar`` holiday data: the station may close for a typhoon or a
    local event, open on a day the package does not know about yet, or correct the package
    before a new release ships the State Council's schedule.
    """

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        kind = "workday" if self.is_workday else "closed"
        return f"<CalendarOverride {self.day.isoformat()} {kind}>"
