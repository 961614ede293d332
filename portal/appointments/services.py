"""Appointment use cases: plans, free slots, booking, cancelling, check-in, reminders."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Sequence
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role, User
from portal.appointments.models import (
    CLAIM_UNIT,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
    ExceptionKind,
    Location,
    PeriodKind,
    PlanException,
    PlanPeriod,
    Service,
    SlotClaim,
    WorkingPlan,
)
from portal.appointments.slots import (
    PlanData,
    compute_free_slots,
    fits,
    half_days,
    local_day,
)
from portal.communities.models import Community
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.jobs import register_job
from portal.security import audit
from portal.station.calendar import STATION_TZ, get_calendar

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DEAD_STATUSES = (BookingStatus.CANCELLED, BookingStatus.DECLINED)


class SlotTaken(DomainError):
    """The slot was taken (just now, or before): the answer carries other free slots."""

    def __init__(self, alternatives: Sequence[dt.datetime]) -> None:
        super().__init__(
            _("该时段刚刚被他人预约，请选择其他时段。"), field="starts_at", code="slot_taken"
        )
        self.alternatives = list(alternatives)


def get_by_id(model: Any, ident: int) -> Any:
    """``session.get`` that answers None for ids no row can have (no driver overflow)."""
    return db.session.get(model, ident) if 0 < ident < 2**31 else None


def _cfg(key: str) -> int:
    """An appointment setting (``portal/config.py`` holds the defaults)."""
    return int(current_app.config[key])


# -- services and providers ---------------------------------------------------------------


def active_services() -> list[Service]:
    """Every bookable service, listed or not (other features look theirs up here)."""
    return list(db.session.scalars(select(Service).where(Service.is_active).order_by(Service.id)))


def listed_services() -> list[Service]:
    """The services residents choose from (the page and the API): active and ``listed``.
    A service booked only through another feature (the lost-and-found claim) is left out."""
    return list(
        db.session.scalars(
            select(Service).where(Service.is_active, Service.listed).order_by(Service.id)
        )
    )


def providers_for(service: Service, resident: User | None) -> list[User]:
    """Who serves a service for this resident: their community's officers, or any lawyer
    (and any officer when no officer serves the resident's community)."""
    stmt = (
        select(User)
        .where(User.role == service.provider_role, User.is_active_account)
        .order_by(User.id)
    )
    cid = _officer_community(service, resident)
    if cid is not None:
        own = list(db.session.scalars(stmt.where(User.served_communities.any(Community.id == cid))))
        if own:
            return own
    return list(db.session.scalars(stmt))


def _officer_community(service: Service, resident: User | None) -> int | None:
    """The community whose officers serve this resident for an officer's service, if any."""
    if service.provider_role != Role.OFFICER or resident is None:
        return None
    return getattr(resident, "community_id", None)


def may_provide(service: Service, provider: User, resident: User) -> bool:
    """Whether ``provider`` is one of ``providers_for(service, resident)``, in at most one
    small query (the booking path runs it on every attempt)."""
    if provider.role != service.provider_role or not provider.is_active_account:
        return False
    cid = _officer_community(service, resident)
    if cid is None:
        return True
    own = db.session.scalars(
        select(User.id).where(
            User.role == Role.OFFICER,
            User.is_active_account,
            User.served_communities.any(Community.id == cid),
        )
    ).all()
    return not own or provider.id in own


def save_service(service: Service | None, actor: User, **fields: Any) -> Service:
    """Create or edit a service (admins and officers)."""
    if fields.get("duration_minutes", CLAIM_UNIT) % CLAIM_UNIT:
        raise DomainError(
            _("时长须为 %(n)s 分钟的整数倍。", n=CLAIM_UNIT), field="duration_minutes"
        )
    try:
        with db.session.begin_nested():
            if service is None:
                service = Service()
                db.session.add(service)
            for key, value in fields.items():
                setattr(service, key, value)
            db.session.flush()
    except IntegrityError:
        raise DomainError(_("已有同名服务。"), field="name", code="conflict") from None
    audit.record(actor, "appointments.service", obj=service)
    return service


# -- working plans ------------------------------------------------------------------------


def plan_of(provider_id: int) -> WorkingPlan | None:
    return db.session.get(WorkingPlan, provider_id)


# The plan and its periods in one statement (a plan without periods gives one row of
# NULL periods). Built once: the booking path runs it on every attempt.
_PLAN_ROWS = (
    select(
        WorkingPlan.slot_minutes,
        WorkingPlan.buffer_minutes,
        WorkingPlan.min_notice_minutes,
        WorkingPlan.horizon_days,
        WorkingPlan.follow_holidays,
        PlanPeriod.kind,
        PlanPeriod.weekday,
        PlanPeriod.starts_at,
        PlanPeriod.ends_at,
    )
    .outerjoin(PlanPeriod, PlanPeriod.provider_id == WorkingPlan.provider_id)
    .where(WorkingPlan.provider_id == bindparam("provider_id"))
)


def plan_data(provider_id: int) -> PlanData | None:
    """The plan as plain data: one query."""
    rows = db.session.execute(_PLAN_ROWS, {"provider_id": provider_id}).all()
    if not rows:
        return None
    periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
    breaks: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for *_plan, kind, weekday, starts_at, ends_at in rows:
        if kind is None:
            continue
        target = periods if kind == PeriodKind.WORK else breaks
        target.setdefault(weekday, []).append((starts_at, ends_at))
    slot, buffer, notice, horizon, holidays = rows[0][:5]
    return PlanData(
        periods={k: sorted(v) for k, v in periods.items()},
        breaks=breaks,
        slot_minutes=slot,
        buffer_minutes=buffer,
        min_notice_minutes=notice,
        horizon_days=horizon,
        follow_holidays=holidays,
    )


def save_plan(
    provider: User,
    actor: User,
    *,
    periods: Sequence[tuple[int, dt.time, dt.time]],
    breaks: Sequence[tuple[int, dt.time, dt.time]],
    slot_minutes: int,
    buffer_minutes: int,
    min_notice_minutes: int,
    horizon_days: int,
    follow_holidays: bool = True,
) -> list[str]:
    """Replace a provider's plan; returns warnings (e.g. fewer than two half-days)."""
    for name, value in (("slot_minutes", slot_minutes), ("buffer_minutes", buffer_minutes)):
        if value % CLAIM_UNIT:
            raise DomainError(_("时长须为 %(n)s 分钟的整数倍。", n=CLAIM_UNIT), field=name)
    plan = plan_of(provider.id) or WorkingPlan(provider_id=provider.id)
    db.session.add(plan)
    plan.slot_minutes, plan.buffer_minutes = slot_minutes, buffer_minutes
    plan.min_notice_minutes, plan.horizon_days = min_notice_minutes, horizon_days
    plan.follow_holidays = follow_holidays
    db.session.execute(delete(PlanPeriod).where(PlanPeriod.provider_id == provider.id))
    for kind, rows in ((PeriodKind.WORK, periods), (PeriodKind.BREAK, breaks)):
        for weekday, a, b in rows:
            db.session.add(
                PlanPeriod(
                    provider_id=provider.id, weekday=weekday, starts_at=a, ends_at=b, kind=kind
                )
            )
    db.session.flush()
    audit.record(actor, "appointments.plan", subject=provider)
    return plan_warnings(provider.id)


def plan_warnings(provider_id: int) -> list[str]:
    data = plan_data(provider_id)
    if data is None:
        return [_("尚未设置接待计划，居民无法预约。")]
    provider = db.session.get(User, provider_id)
    if provider is not None and provider.role == Role.OFFICER and half_days(data.periods) < 2:
        return [_("警务室接待每周应不少于两个半天，当前计划不足。")]
    return []


# -- free slots ---------------------------------------------------------------------------


def free_slots(
    service: Service,
    provider_id: int,
    first_day: dt.date | None = None,
    days: int = 14,
    now: dt.datetime | None = None,
    exclude_booking_id: int | None = None,
    plan: PlanData | None = None,
) -> list[dt.datetime]:
    """Free start times (UTC) for a provider and service; two queries (one when the
    caller already holds the provider's ``plan``)."""
    now = now or utcnow()
    data = plan or plan_data(provider_id)
    if data is None:
        return []
    first_day = first_day or local_day(now)
    last_day = first_day + dt.timedelta(days=max(0, days - 1))
    lo = dt.datetime.combine(first_day, dt.time(), tzinfo=STATION_TZ) - dt.timedelta(days=1)
    hi = dt.datetime.combine(last_day, dt.time(), tzinfo=STATION_TZ) + dt.timedelta(days=2)
    unavailable, extras, booked = _busy_times(provider_id, lo, hi, exclude_booking_id)
    working_day = get_calendar().is_working_day if data.follow_holidays else _any_day
    return compute_free_slots(
        data,
        duration_minutes=service.duration_minutes,
        first_day=first_day,
        last_day=last_day,
        now=as_utc(now),
        is_working_day=working_day,
        unavailable=unavailable,
        extras=extras,
        booked=booked,
    )


Span = tuple[dt.datetime, dt.datetime]
_BOOKED = "booked"  # the row kind of a booking in _busy_times' union


def _busy_times(
    provider_id: int, lo: dt.datetime, hi: dt.datetime, exclude_booking_id: int | None
) -> tuple[list[Span], list[Span], list[Span]]:
    """The provider's leave and blocks, extra periods, and live bookings touching
    ``[lo, hi)``, in UTC: one ``UNION ALL`` statement (one round trip per free-slot look)."""
    exceptions = select(
        type_coerce(PlanException.kind, String).label("kind"),
        PlanException.starts_at,
        PlanException.ends_at,
    ).where(
        PlanException.provider_id == provider_id,
        PlanException.ends_at > lo,
        PlanException.starts_at < hi,
    )
    bookings = select(literal(_BOOKED, String), Booking.starts_at, Booking.ends_at).where(
        Booking.provider_id == provider_id,
        Booking.status.not_in(DEAD_STATUSES),
        Booking.ends_at > lo,
        Booking.starts_at < hi,
    )
    if exclude_booking_id is not None:
        bookings = bookings.where(Booking.id != exclude_booking_id)
    unavailable: list[Span] = []
    extras: list[Span] = []
    booked: list[Span] = []
    for kind, a, b in db.session.execute(union_all(exceptions, bookings)):
        target = (
            booked if kind == _BOOKED else extras if kind == ExceptionKind.EXTRA else unavailable
        )
        target.append((as_utc(a), as_utc(b)))
    return unavailable, extras, booked


def _any_day(day: dt.date) -> bool:
    return True


def alternatives(
    service: Service,
    provider_id: int,
    around: dt.datetime,
    n: int = 5,
    now: dt.datetime | None = None,
    known: list[dt.datetime] | None = None,
) -> list[dt.datetime]:
    """The next few free slots from the day of ``around`` on. ``known``: free slots from
    that day on already computed (the booking check's day), used when they suffice."""
    if known is not None:
        later = [s for s in known if s >= around]
        if len(later) >= n:
            return later[:n]
    later, slots = [], []
    for days in (2, 14):  # the next two days usually suffice; look further only if not
        slots = free_slots(service, provider_id, first_day=local_day(around), days=days, now=now)
        later = [s for s in slots if s >= around]
        if len(later) >= n:
            break
    return (later or slots)[:n]


# -- booking ------------------------------------------------------------------------------


def _units(start: dt.datetime, end: dt.datetime, buffer_minutes: int) -> list[dt.datetime]:
    step = dt.timedelta(minutes=CLAIM_UNIT)
    stop = end + dt.timedelta(minutes=buffer_minutes)
    units, t = [], start
    while t < stop:
        units.append(t)
        t += step
    return units


def _claim(booking: Booking, buffer_minutes: int) -> bool:
    """Claim the booking's grid units; False, claiming none, when any unit is taken.

    One ``INSERT ... ON CONFLICT DO NOTHING`` on the unique key: a unit another open
    booking holds (committed, or inserted by a transaction running at the same moment,
    which this one then waits for) is skipped, so fewer rows than units means taken. No
    savepoint is needed, and nothing is left half-claimed.
    """
    rows = [
        {"booking_id": booking.id, "provider_id": booking.provider_id, "unit_start": u}
        for u in _units(as_utc(booking.starts_at), as_utc(booking.ends_at), buffer_minutes)
    ]
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = (
        dialect_insert(SlotClaim)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["provider_id", "unit_start"])
        .returning(SlotClaim.id)  # the drivers' rowcount is not reliable here
    )
    if len(db.session.execute(stmt).all()) == len(rows):
        return True
    db.session.execute(delete(SlotClaim).where(SlotClaim.booking_id == booking.id))
    return False


class _Conflict(Exception):
    """A claim failed inside a savepoint (rescheduling), so the savepoint rolls back."""


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def _open_bookings(resident_id: Any, now: Any) -> Any:
    return (
        select(func.count())
        .where(
            Booking.resident_id == resident_id,
            Booking.status.in_(OPEN_STATUSES),
            Booking.ends_at > now,
        )
        .scalar_subquery()
    )


def _no_shows_since_approval(resident_id: Any) -> Any:
    last_approved = (
        select(func.max(Booking.starts_at))
        .where(
            Booking.resident_id == resident_id,
            Booking.needs_approval,
            Booking.status.in_(
                (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.DONE)
            ),
        )
        .scalar_subquery()
    )
    return (
        select(func.count())
        .where(
            Booking.resident_id == resident_id,
            Booking.status == BookingStatus.NO_SHOW,
            or_(last_approved.is_(None), Booking.starts_at > last_approved),
        )
        .scalar_subquery()
    )


# The booking path's lock and limits, built once and bound on each attempt.
_LOCK_RESIDENT = select(User.id).where(User.id == bindparam("resident_id")).with_for_update()
_LIMITS = select(
    _open_bookings(bindparam("resident_id"), bindparam("now")),
    _no_shows_since_approval(bindparam("resident_id")),
)


def open_bookings_count(resident_id: int, now: dt.datetime) -> int:
    return db.session.scalar(select(_open_bookings(resident_id, now))) or 0


def needs_approval(resident_id: int) -> bool:
    """Repeated no-shows since the last approved booking: the next one needs an officer."""
    no_shows = db.session.scalar(select(_no_shows_since_approval(resident_id))) or 0
    return no_shows >= _cfg("APPOINTMENT_NO_SHOW_LIMIT")


def book(
    resident: User,
    service: Service,
    provider: User,
    starts_at: dt.datetime,
    *,
    address: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Booking:
    """Book a slot. The claim rows make a concurrent double booking impossible."""
    now = now or utcnow()
    starts_at = as_utc(starts_at)
    if not service.is_active or not may_provide(service, provider, resident):
        raise DomainError(_("该服务不可预约。"), field="provider_id")
    if service.location == Location.HOME and not address.strip():
        raise DomainError(_("上门服务请填写地址。"), field="address")
    # Serialise one resident's bookings (a row lock on PostgreSQL; SQLite transactions
    # already run one at a time), so the open-booking limit holds under concurrency.
    db.session.execute(_LOCK_RESIDENT, {"resident_id": resident.id})
    # After the lock (its own statement: a statement's snapshot is taken before it waits
    # for the lock): the open bookings and the no-show rule, in one statement.
    open_count, no_shows = db.session.execute(
        _LIMITS, {"resident_id": resident.id, "now": now}
    ).one()
    limit = _cfg("APPOINTMENT_MAX_OPEN")
    if open_count >= limit:
        raise DomainError(
            _("您已有 %(n)s 个未完成的预约，请先办理或取消后再预约。", n=limit), code="limit"
        )
    # Free now? This check only turns away what is already taken; the claims decide a
    # race. Its day's free slots are usually enough alternatives for a refusal.
    plan = plan_data(provider.id)
    slots = (
        free_slots(service, provider.id, first_day=local_day(starts_at), days=1, now=now, plan=plan)
        if plan is not None
        else []
    )
    if starts_at not in slots:
        raise SlotTaken(alternatives(service, provider.id, starts_at, now=now, known=slots))
    approval = no_shows >= _cfg("APPOINTMENT_NO_SHOW_LIMIT")
    pending = service.needs_confirmation or approval
    booking = Booking(
        code=_new_code(),
        resident_id=resident.id,
        provider_id=provider.id,
        service_id=service.id,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=service.duration_minutes),
        status=BookingStatus.PENDING if pending else BookingStatus.CONFIRMED,
        needs_approval=approval,
        address=address.strip()[:200],
        resident_note=note.strip()[:500],
    )
    db.session.add(booking)
    db.session.flush()
    if not _claim(booking, plan.buffer_minutes if plan else 0):
        db.session.delete(booking)
        db.session.flush()
        raise SlotTaken(alternatives(service, provider.id, starts_at, now=now))
    booking.service, booking.provider, booking.resident = service, provider, resident
    audit.record(resident, "appointments.book", obj=booking)
    link = url_for("appointments.show", code=booking.code)
    when = _when(booking)
    from portal.notifications.services import notify

    if pending:
        notify(
            resident,
            _l("预约已提交，等待民警确认"),
            _l("%(s)s，%(t)s", s=service.name, t=when),
            link=link,
            kind="appointment",
        )
        notify(
            provider,
            _l("有新的预约待确认"),
            _l("%(s)s，%(t)s", s=service.name, t=when),
            link=url_for("appointments.officer_day"),
            kind="appointment",
        )
    else:
        notify(
            resident,
            _l("预约成功：%(code)s", code=booking.code),
            _l("%(s)s，%(t)s", s=service.name, t=when),
            link=link,
            kind="appointment",
        )
    return booking


def _when(booking: Booking) -> str:
    return as_utc(booking.starts_at).astimezone(STATION_TZ).strftime("%Y-%m-%d %H:%M")


def by_code(code: str) -> Booking | None:
    return db.session.scalar(
        select(Booking)
        .where(Booking.code == code.strip().upper()[:12])
        .options(selectinload(Booking.service), selectinload(Booking.provider))
    )


def my_bookings(resident: User) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.resident_id == resident.id)
            .order_by(Booking.starts_at.desc())
            .options(selectinload(Booking.service), selectinload(Booking.provider))
        )
    )


def _check_cutoff(booking: Booking, actor: User, now: dt.datetime) -> None:
    if not booking.is_open:
        raise DomainError(_("该预约已不能更改。"), code="closed")
    cutoff = dt.timedelta(minutes=_cfg("APPOINTMENT_CANCEL_CUTOFF_MINUTES"))
    if actor.id == booking.resident_id and now > as_utc(booking.starts_at) - cutoff:
        raise DomainError(
            _(
                "距预约开始不足 %(m)s 分钟，不能再取消或改约，请联系民警。",
                m=int(cutoff.total_seconds() // 60),
            ),
            code="cutoff",
        )


def cancel(
    booking: Booking,
    actor: User,
    reason: str,
    now: dt.datetime | None = None,
    status: BookingStatus = BookingStatus.CANCELLED,
) -> None:
    """Cancel (resident until the cutoff; staff any time) with a reason; frees the units."""
    now = now or utcnow()
    if not reason.strip():
        raise DomainError(_("请填写原因。"), field="reason")
    _check_cutoff(booking, actor, now)
    booking.status = status
    booking.cancel_reason = reason.strip()[:200]
    db.session.execute(delete(SlotClaim).where(SlotClaim.booking_id == booking.id))
    db.session.flush()
    audit.record(actor, f"appointments.{status.value}", obj=booking)
    from portal.notifications.services import notify

    other = booking.provider if actor.id == booking.resident_id else booking.resident
    notify(
        other,
        _l("预约已取消：%(code)s", code=booking.code),
        _l(
            "%(s)s，%(t)s。原因：%(r)s",
            s=booking.service.name,
            t=_when(booking),
            r=booking.cancel_reason,
        ),
        link=url_for("appointments.show", code=booking.code),
        kind="appointment",
    )


def reschedule(
    booking: Booking,
    actor: User,
    new_start: dt.datetime,
    reason: str,
    now: dt.datetime | None = None,
) -> None:
    """Move a booking to another free slot of the same provider, atomically."""
    now = now or utcnow()
    new_start = as_utc(new_start)
    if not reason.strip():
        raise DomainError(_("请填写原因。"), field="reason")
    _check_cutoff(booking, actor, now)
    service = booking.service
    slots = free_slots(
        service,
        booking.provider_id,
        first_day=local_day(new_start),
        days=1,
        now=now,
        exclude_booking_id=booking.id,
    )
    if new_start not in slots:
        raise SlotTaken(alternatives(service, booking.provider_id, new_start, now=now))
    plan = plan_of(booking.provider_id)
    old = (booking.starts_at, booking.ends_at)
    try:
        with db.session.begin_nested():
            db.session.execute(delete(SlotClaim).where(SlotClaim.booking_id == booking.id))
            booking.starts_at = new_start
            booking.ends_at = new_start + dt.timedelta(minutes=service.duration_minutes)
            booking.reminder_sent_at = None
            db.session.flush()
            if not _claim(booking, plan.buffer_minutes if plan else 0):
                raise _Conflict
    except _Conflict:
        booking.starts_at, booking.ends_at = old
        raise SlotTaken(alternatives(service, booking.provider_id, new_start, now=now)) from None
    booking.cancel_reason = reason.strip()[:200]
    audit.record(actor, "appointments.reschedule", obj=booking)
    from portal.notifications.services import notify

    other = booking.provider if actor.id == booking.resident_id else booking.resident
    notify(
        other,
        _l("预约已改期：%(code)s", code=booking.code),
        _l("%(s)s，新时间 %(t)s", s=service.name, t=_when(booking)),
        link=url_for("appointments.show", code=booking.code),
        kind="appointment",
    )


# -- officer side -------------------------------------------------------------------------


def provider_bookings(provider: User, first_day: dt.date, days: int) -> list[Booking]:
    lo = dt.datetime.combine(first_day, dt.time(), tzinfo=STATION_TZ)
    hi = lo + dt.timedelta(days=days)
    stmt = select(Booking).where(Booking.starts_at >= lo, Booking.starts_at < hi)
    if provider.role != Role.ADMIN:
        stmt = stmt.where(Booking.provider_id == provider.id)
    return list(
        db.session.scalars(
            stmt.order_by(Booking.starts_at).options(
                selectinload(Booking.service), selectinload(Booking.resident)
            )
        )
    )


def pending_requests(provider: User) -> list[Booking]:
    stmt = select(Booking).where(Booking.status == BookingStatus.PENDING)
    if provider.role != Role.ADMIN:
        stmt = stmt.where(Booking.provider_id == provider.id)
    return list(
        db.session.scalars(
            stmt.order_by(Booking.starts_at).limit(20).options(selectinload(Booking.service))
        )
    )


def check_in(booking: Booking, actor: User, now: dt.datetime | None = None) -> None:
    if booking.status != BookingStatus.CONFIRMED:
        raise DomainError(_("该预约当前不能签到（%(s)s）。", s=booking.status.label), code="state")
    booking.status = BookingStatus.CHECKED_IN
    booking.checked_in_at = now or utcnow()
    db.session.flush()
    audit.record(actor, "appointments.check_in", obj=booking)


def finish(
    booking: Booking, actor: User, outcome: str, note: str = "", now: dt.datetime | None = None
) -> None:
    """Mark done (with a note) or no-show."""
    now = now or utcnow()
    if outcome == "done":
        if booking.status not in (BookingStatus.CHECKED_IN, BookingStatus.CONFIRMED):
            raise DomainError(_("该预约当前不能办结。"), code="state")
        booking.status = BookingStatus.DONE
    elif outcome == "no_show":
        if booking.status != BookingStatus.CONFIRMED or as_utc(booking.starts_at) > now:
            raise DomainError(_("预约开始后才能标记爽约。"), code="state")
        booking.status = BookingStatus.NO_SHOW
    else:
        raise DomainError(_("未知操作。"))
    booking.officer_note = note.strip()[:2000]
    db.session.flush()
    audit.record(actor, f"appointments.{outcome}", obj=booking)


def decide(booking: Booking, actor: User, approve: bool, reason: str = "") -> None:
    """Confirm or decline a pending booking (home visit, or after no-shows)."""
    if booking.status != BookingStatus.PENDING:
        raise DomainError(_("该预约不在待确认状态。"), code="state")
    from portal.notifications.services import notify

    if approve:
        booking.status = BookingStatus.CONFIRMED
        db.session.flush()
        audit.record(actor, "appointments.confirm", obj=booking)
        notify(
            booking.resident,
            _l("预约已确认：%(code)s", code=booking.code),
            _l("%(s)s，%(t)s", s=booking.service.name, t=_when(booking)),
            link=url_for("appointments.show", code=booking.code),
            kind="appointment",
        )
    else:
        if not reason.strip():
            raise DomainError(_("请填写原因。"), field="reason")
        booking.status = BookingStatus.DECLINED
        booking.cancel_reason = reason.strip()[:200]
        db.session.execute(delete(SlotClaim).where(SlotClaim.booking_id == booking.id))
        db.session.flush()
        audit.record(actor, "appointments.decline", obj=booking)
        notify(
            booking.resident,
            _l("预约未被确认：%(code)s", code=booking.code),
            _l("原因：%(r)s", r=booking.cancel_reason),
            link=url_for("appointments.show", code=booking.code),
            kind="appointment",
        )


ExceptionChange = tuple[ExceptionKind, dt.datetime, dt.datetime]


def _exception_rows(
    provider_id: int, lo: dt.datetime, hi: dt.datetime
) -> list[tuple[int, ExceptionKind, dt.datetime, dt.datetime]]:
    """(id, kind, start, end) of a provider's exceptions that touch ``[lo, hi)``, in UTC."""
    rows = db.session.execute(
        select(
            PlanException.id, PlanException.kind, PlanException.starts_at, PlanException.ends_at
        ).where(
            PlanException.provider_id == provider_id,
            PlanException.ends_at > lo,
            PlanException.starts_at < hi,
        )
    ).all()
    return [(i, k, as_utc(a), as_utc(b)) for i, k, a, b in rows]


def exception_impact(
    provider_id: int, *, old: PlanException | None = None, new: ExceptionChange | None = None
) -> list[Booking]:
    """The open bookings a change of exceptions would leave outside the provider's reception
    time: adding ``new``, replacing ``old`` by ``new``, or removing ``old``.

    A booking counts when it no longer fits its day's windows after the change and either
    fitted before (e.g. it lies in an extra period being removed or shortened) or lies in
    the new leave or block. Changing the weekly plan is not this function's business, so a
    booking that was already outside the plan is not blamed on an extra period.
    """
    spans = [(as_utc(old.starts_at), as_utc(old.ends_at))] if old is not None else []
    if new is not None:
        _check_span(as_utc(new[1]), as_utc(new[2]))
        spans.append((as_utc(new[1]), as_utc(new[2])))
    if not spans:
        return []
    candidates = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.provider_id == provider_id,
                Booking.status.in_(OPEN_STATUSES),
                or_(*(and_(Booking.starts_at < b, Booking.ends_at > a) for a, b in spans)),
            )
            .order_by(Booking.starts_at)
            .options(selectinload(Booking.service), selectinload(Booking.resident))
        )
    )
    if not candidates:
        return []
    margin = dt.timedelta(days=1)
    lo = min(as_utc(b.starts_at) for b in candidates) - margin
    hi = max(as_utc(b.ends_at) for b in candidates) + margin
    before = _exception_rows(provider_id, lo, hi)
    after = [r for r in before if old is None or r[0] != old.id]
    if new is not None:
        after.append((0, *new))
    data = plan_data(provider_id) or PlanData(periods={})
    working_day = get_calendar().is_working_day if data.follow_holidays else _any_day

    def fits_under(
        rows: list[tuple[int, ExceptionKind, dt.datetime, dt.datetime]], b: Booking
    ) -> bool:
        return fits(
            data,
            as_utc(b.starts_at),
            as_utc(b.ends_at),
            is_working_day=working_day,
            unavailable=[(a, e) for _id, k, a, e in rows if k != ExceptionKind.EXTRA],
            extras=[(a, e) for _id, k, a, e in rows if k == ExceptionKind.EXTRA],
        )

    blocked = (
        (as_utc(new[1]), as_utc(new[2]))
        if new is not None and new[0] != ExceptionKind.EXTRA
        else None
    )
    return [
        b
        for b in candidates
        if not fits_under(after, b)
        and (
            fits_under(before, b)
            or (
                blocked is not None
                and as_utc(b.starts_at) < blocked[1]
                and blocked[0] < as_utc(b.ends_at)
            )
        )
    ]


def _check_span(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise DomainError(_("结束时间须晚于开始时间。"), field="ends_at")


def add_exception(
    provider: User,
    actor: User,
    kind: ExceptionKind,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
) -> list[Booking]:
    """Leave, extra period or ad-hoc block. Leave and blocks cancel the open bookings they
    cover; those residents are told and offered the next free slots. Returns them."""
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    affected = exception_impact(provider.id, new=(kind, starts_at, ends_at))
    db.session.add(
        PlanException(
            provider_id=provider.id,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip()[:200],
        )
    )
    db.session.flush()
    audit.record(actor, f"appointments.exception.{kind.value}", subject=provider)
    _release(affected, provider, reason.strip() or kind.label, called_away=True)
    return affected


def update_exception(
    exc: PlanException,
    actor: User,
    kind: ExceptionKind,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
) -> list[Booking]:
    """Change an exception. Bookings the change leaves outside reception time (a longer
    leave, a shorter extra period) are cancelled, told and offered other slots."""
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    affected = exception_impact(exc.provider_id, old=exc, new=(kind, starts_at, ends_at))
    exc.kind, exc.starts_at, exc.ends_at = kind, starts_at, ends_at
    exc.reason = reason.strip()[:200]
    db.session.flush()
    provider = db.session.get(User, exc.provider_id)
    audit.record(actor, "appointments.exception.update", subject=provider, exception=exc.id)
    _release(affected, provider, exc.reason or kind.label, called_away=kind != ExceptionKind.EXTRA)
    return affected


def delete_exception(exc: PlanException, actor: User) -> list[Booking]:
    """Remove an exception. Removing an extra period cancels the bookings made in it (they
    would lie outside reception time); removing leave or a block only frees time."""
    affected = exception_impact(exc.provider_id, old=exc)
    provider = db.session.get(User, exc.provider_id)
    why = _("临时加开的接待时段已取消") if exc.kind == ExceptionKind.EXTRA else exc.kind.label
    db.session.delete(exc)
    db.session.flush()
    audit.record(actor, "appointments.exception.delete", subject=provider, exception=exc.id)
    _release(affected, provider, why, called_away=False)
    return affected


def _release(affected: list[Booking], provider: User, why: str, *, called_away: bool) -> None:
    """Cancel bookings the provider can no longer keep; tell each resident, with the next
    free slots (computed after the change, so they are real)."""
    from portal.notifications.services import notify

    for b in affected:
        b.status = BookingStatus.CANCELLED
        b.cancel_reason = why[:200]
        db.session.execute(delete(SlotClaim).where(SlotClaim.booking_id == b.id))
    db.session.flush()
    for b in affected:
        others = alternatives(b.service, provider.id, as_utc(b.starts_at))
        offer = "、".join(s.astimezone(STATION_TZ).strftime("%m-%d %H:%M") for s in others[:3])
        title = (
            _l("民警临时有事，预约已取消：%(code)s", code=b.code)
            if called_away
            else _l("接待时间调整，预约已取消：%(code)s", code=b.code)
        )
        notify(
            b.resident,
            title,
            _l("原因：%(r)s。可改约的时段：%(o)s", r=why, o=offer or "-"),
            link=url_for("appointments.service", service_id=b.service_id),
            kind="appointment",
        )


def provider_exceptions(provider: User, now: dt.datetime | None = None) -> list[PlanException]:
    """The provider's exceptions that have not ended yet."""
    return list(
        db.session.scalars(
            select(PlanException)
            .where(
                PlanException.provider_id == provider.id, PlanException.ends_at > (now or utcnow())
            )
            .order_by(PlanException.starts_at)
        )
    )


def rate(booking: Booking, resident: User, stars: int, comment: str = "") -> None:
    if booking.resident_id != resident.id or booking.status != BookingStatus.DONE:
        raise DomainError(_("办结后才能评价。"), code="state")
    if booking.rating is not None:
        raise DomainError(_("已经评价过了。"), code="state")
    booking.rating = stars
    booking.rating_comment = comment.strip()[:500]
    db.session.flush()


# -- files --------------------------------------------------------------------------------


def qr_svg(code: str) -> bytes:
    import qrcode
    from qrcode.image.svg import SvgPathImage

    img = qrcode.make(code, image_factory=SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    img.save(out)
    return out.getvalue()


def ics_bytes(booking: Booking) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//portal//appointments//ZH")
    cal.add("version", "2.0")
    ev = Event()
    host = current_app.config.get("BASE_URL", "http://localhost").split("//")[-1].split("/")[0]
    ev.add("uid", f"{booking.code}@{host}")
    ev.add("dtstamp", as_utc(booking.created_at))
    ev.add("dtstart", as_utc(booking.starts_at))
    ev.add("dtend", as_utc(booking.ends_at))
    ev.add("summary", f"{booking.service.name}（{booking.code}）")
    place = booking.address if booking.service.location == Location.HOME else _("社区警务室")
    ev.add("location", place)
    lines = [_("预约号：%(c)s", c=booking.code), _("请携带：")] + [
        f"- {m}" for m in booking.service.materials_list
    ]
    ev.add("description", "\n".join(lines))
    cal.add_component(ev)
    return cal.to_ical()


# -- reminders ----------------------------------------------------------------------------


@register_job("send-reminders", 300)
def send_reminders(now: dt.datetime | None = None) -> int:
    """Remind residents of tomorrow's (next 24 h) bookings, each exactly once.

    Each reminder is claimed with a conditional UPDATE (``reminder_sent_at IS NULL``) and
    committed with its notification, so an overlapping second run claims nothing twice.
    """
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(Booking.id).where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.reminder_sent_at.is_(None),
                Booking.starts_at > now,
                Booking.starts_at <= now + dt.timedelta(hours=24),
            )
        )
    )
    db.session.commit()
    sent = 0
    from portal.notifications.services import notify

    for booking_id in ids:
        claimed = db.session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.reminder_sent_at.is_(None),
                Booking.status == BookingStatus.CONFIRMED,
            )
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        b = db.session.get(Booking, booking_id)
        notify(
            b.resident,
            _l("预约提醒：%(s)s", s=b.service.name),
            _l(
                "%(t)s，预约号 %(c)s。请携带：%(m)s",
                t=_when(b),
                c=b.code,
                m="、".join(b.service.materials_list) or "-",
            ),
            link=f"/appointments/b/{b.code}",
            kind="appointment",
        )
        db.session.commit()
        sent += 1
    return sent


def today_panel_rows(provider: User, now: dt.datetime | None = None) -> list[Booking]:
    now = now or utcnow()
    return provider_bookings(provider, local_day(now), 1)


def reschedulable(booking: Booking) -> bool:
    return booking.is_open


__all__ = [
    "SlotTaken",
    "book",
    "cancel",
    "free_slots",
    "or_",
]
