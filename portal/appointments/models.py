"""Services, working plans, exceptions, bookings and the claimed slot units.

**Never two bookings on one slot** is a database rule, not a Python check: every booking
claims the grid units (``CLAIM_UNIT`` minutes each) from its start to its end plus the
provider's buffer, one ``SlotClaim`` row per unit, and ``(provider_id, unit_start)`` is
unique. Two bookings that overlap by even one unit — same slot, or different lengths —
cannot both commit, on SQLite and on PostgreSQL alike. Cancelling deletes the claims; the
booking row stays for the record.
"""

from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Role, User
from portal.db import Base, LabelledEnum, str_enum, utcnow

#: The grid of claimed units, in minutes. Slot lengths, durations and buffers are
#: multiples of it, so two overlapping bookings always share at least one unit.
CLAIM_UNIT = 5


class Location(LabelledEnum):
    STATION = "station", _l("警务室")
    HOME = "home", _l("上门")


class Service(Base):
    """Something a resident can book: who serves it, where, how long, what to bring."""

    __tablename__ = "appointment_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    provider_role: Mapped[Role] = mapped_column(
        str_enum(Role),
        default=Role.OFFICER,
    )
    location: Mapped[Location] = mapped_column(str_enum(Location), default=Location.STATION)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    materials: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Shown in the residents' list of services and bookable from it. Off for a service
    # booked only through another feature: the lost-and-found claim's visit (失物认领),
    # which needs a claim on a found item first.
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration_positive"),)

    @property
    def materials_list(self) -> list[str]:
        return [line.strip() for line in self.materials.splitlines() if line.strip()]


class WorkingPlan(Base):
    """A provider's booking rules; the weekly periods are ``PlanPeriod`` rows."""

    __tablename__ = "appointment_plans"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    horizon_days: Mapped[int] = mapped_column(Integer, default=14)
    follow_holidays: Mapped[bool] = mapped_column(Boolean, default=True)

    provider: Mapped[User] = relationship()
    periods: Mapped[list[PlanPeriod]] = relationship(
        primaryjoin="WorkingPlan.provider_id == foreign(PlanPeriod.provider_id)",
        order_by="(PlanPeriod.weekday, PlanPeriod.starts_at)",
        viewonly=True,
    )


class PeriodKind(enum.StrEnum):
    WORK = "work"
    BREAK = "break"


class PlanPeriod(Base):
    """A weekly reception period or break, in station-local wall-clock time."""

    __tablename__ = "appointment_plan_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    starts_at: Mapped[dt.time] = mapped_column(Time)
    ends_at: Mapped[dt.time] = mapped_column(Time)
    kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind), default=PeriodKind.WORK)

    __table_args__ = (CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),)


class ExceptionKind(LabelledEnum):
    LEAVE = "leave", _l("请假")  # away: no slots
    EXTRA = "extra", _l("临时加开")  # a one-off extra reception period
    BLOCK = "block", _l("临时占用")  # called away ad hoc; bookings in it are cancelled


class PlanException(Base):
    """Leave, an extra period or an ad-hoc block, as a UTC interval."""

    __tablename__ = "appointment_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ExceptionKind] = mapped_column(str_enum(ExceptionKind))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BookingStatus(LabelledEnum):
    PENDING = "pending", _l("待确认")  # waits for the officer (home visit, or after no-shows)
    CONFIRMED = "confirmed", _l("已预约")
    CHECKED_IN = "checked_in", _l("已签到")
    DONE = "done", _l("已办结")
    NO_SHOW = "no_show", _l("爽约")
    CANCELLED = "cancelled", _l("已取消")
    DECLINED = "declined", _l("已拒绝")


OPEN_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class Booking(Base):
    """One appointment. Times are UTC; the claims hold its units while it is open."""

    __tablename__ = "appointment_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # see the composite index
    service_id: Mapped[int] = mapped_column(ForeignKey("appointment_services.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[BookingStatus] = mapped_column(
        str_enum(BookingStatus), default=BookingStatus.CONFIRMED
    )
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(200), default="")
    resident_note: Mapped[str] = mapped_column(String(500), default="")
    officer_note: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    resident: Mapped[User] = relationship(foreign_keys=[resident_id])
    provider: Mapped[User] = relationship(foreign_keys=[provider_id])
    service: Mapped[Service] = relationship()

    __table_args__ = (
        Index("ix_appointment_bookings_provider_start", "provider_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def can_be_seen_by(self, user: User) -> bool:
        """The resident, the provider, officers serving the resident's community, admins."""
        if not user.is_authenticated:
            return False
        if user.id in (self.resident_id, self.provider_id) or user.role == Role.ADMIN:
            return True
        return user.role == Role.OFFICER and (
            self.resident.community_id is None or user.serves(self.resident.community_id)
        )

    def can_be_handled_by(self, user: User) -> bool:
        """Check-in, done, no-show, confirm: the provider, a serving officer, an admin."""
        return user.is_authenticated and user.id != self.resident_id and self.can_be_seen_by(user)


class SlotClaim(Base):
    """One claimed grid unit of a provider; the unique key is the double-booking guard."""

    __tablename__ = "appointment_slot_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_bookings.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("provider_id", "unit_start", name="uq_appointment_slot_claims_unit"),
    )
