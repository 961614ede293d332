"""Residence permits (居住证): eligibility, the resident's application and the officers'
status changes, each told to the resident and written to the ledger (PERMIT events).

Eligible after six months of registered residence: ``since`` + 6 months ≤ today (station
time). Status: applied → accepted → making → ready → collected, or refused with a reason
from any step before ready.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.notifications.services import notify
from portal.registry import services as svc
from portal.registry.models import (
    EventKind,
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    ResidencePermit,
)
from portal.security import audit

MONTHS = 6
OPEN = (PermitStatus.APPLIED, PermitStatus.ACCEPTED, PermitStatus.MAKING, PermitStatus.READY)
NEXT: dict[PermitStatus, tuple[PermitStatus, ...]] = {
    PermitStatus.APPLIED: (PermitStatus.ACCEPTED, PermitStatus.REFUSED),
    PermitStatus.ACCEPTED: (PermitStatus.MAKING, PermitStatus.REFUSED),
    PermitStatus.MAKING: (PermitStatus.READY, PermitStatus.REFUSED),
    PermitStatus.READY: (PermitStatus.COLLECTED,),
    PermitStatus.COLLECTED: (),
    PermitStatus.REFUSED: (),
}
MESSAGES = {
    PermitStatus.APPLIED: _l("您的居住证申请已提交，等待民警受理。"),
    PermitStatus.ACCEPTED: _l("您的居住证申请已受理。"),
    PermitStatus.MAKING: _l("您的居住证正在制作中。"),
    PermitStatus.READY: _l("您的居住证已制作完成，请预约到警务室领取。"),
    PermitStatus.COLLECTED: _l("您已领取居住证。"),
}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def eligible_from(record: MigrantRecord) -> dt.date:
    """When six months of registered residence are complete."""
    return add_months(record.since, MONTHS)


def confirmed_record_of(user: User) -> MigrantRecord | None:
    """The resident's record in the ledger (confirmed), if any."""
    return db.session.scalar(
        select(MigrantRecord)
        .where(svc.known_person_filter(user), MigrantRecord.status == RecordStatus.CONFIRMED)
        .order_by(MigrantRecord.id)
        .limit(1)
    )


def permits_of(user: User) -> list[ResidencePermit]:
    return list(
        db.session.scalars(
            select(ResidencePermit)
            .where(ResidencePermit.applicant_id == user.id)
            .order_by(ResidencePermit.id.desc())
        )
    )


def open_permit(record: MigrantRecord) -> ResidencePermit | None:
    return db.session.scalar(
        select(ResidencePermit).where(
            ResidencePermit.migrant_id == record.id, ResidencePermit.status.in_(OPEN)
        )
    )


def eligibility(user: User) -> dict[str, Any]:
    """What the resident's page says: record, eligible date, whether they may apply now."""
    record = confirmed_record_of(user)
    if record is None:
        return {"record": None, "eligible_from": None, "eligible": False, "open": None}
    when = eligible_from(record)
    current = open_permit(record)
    return {
        "record": record,
        "eligible_from": when,
        "eligible": when <= svc.local_today() and current is None,
        "open": current,
    }


def _event(permit: ResidencePermit, actor: User, **detail: Any) -> None:
    svc.event(
        EventKind.PERMIT,
        permit.migrant.community_id,
        migrant=permit.migrant,
        actor=actor,
        status=permit.status.value,
        **detail,
    )


def apply(user: User) -> ResidencePermit:
    """A resident with a confirmed record applies after six months of registered residence."""
    record = confirmed_record_of(user)
    if record is None:
        raise DomainError(_("需要先有经民警确认的居住登记才能申请居住证。"), code="not_registered")
    when = eligible_from(record)
    if when > svc.local_today():
        raise DomainError(
            _("居住满六个月后才能申请，您可于 %(d)s 起申请。", d=when.isoformat()),
            code="not_yet",
        )
    if open_permit(record) is not None:
        raise DomainError(_("您已有一份正在办理的居住证申请。"), code="duplicate")
    if record.user_id is None:
        record.user_id = user.id
    now = utcnow()
    permit = ResidencePermit(
        migrant_id=record.id,
        applicant_id=user.id,
        status=PermitStatus.APPLIED,
        applied_at=now,
        updated_at=now,
    )
    db.session.add(permit)
    db.session.flush()
    _event(permit, user)
    audit.record(user, "registry.permit_apply", obj=permit)
    notify(user, _l("居住证申请已提交"), MESSAGES[PermitStatus.APPLIED], link="/registry")
    return permit


def can_handle(user: Any, permit: ResidencePermit) -> bool:
    return svc.can_handle(user, permit.migrant.community_id)


def change_status(
    officer: User, permit: ResidencePermit, status: PermitStatus, reason: str = ""
) -> None:
    """Move a permit one step on, or refuse it with a reason; the resident is told."""
    if not can_handle(officer, permit):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    if status not in NEXT[permit.status]:
        raise DomainError(
            _("不能从“%(a)s”变为“%(b)s”。", a=permit.status.label, b=status.label),
            field="status",
            code="bad_step",
        )
    reason = (reason or "").strip()
    if status == PermitStatus.REFUSED and not reason:
        raise DomainError(_("请填写不予办理的理由。"), field="reason", code="invalid")
    now = utcnow()
    permit.status = status
    permit.updated_at = now
    if status == PermitStatus.REFUSED:
        permit.refuse_reason = reason[:500]
    if status == PermitStatus.COLLECTED:
        permit.collected_at = now
    db.session.flush()
    _event(permit, officer, reason=reason or None)
    audit.record(
        officer,
        "registry.permit_status",
        subject=permit.applicant,
        obj=permit,
        status=status.value,
    )
    body = (
        _l("您的居住证申请不予办理：%(r)s", r=reason)
        if status == PermitStatus.REFUSED
        else MESSAGES[status]
    )
    notify(permit.applicant, _l("居住证办理进度：%(s)s", s=status.label), body, link="/registry")


def queue(officer: User, page: int, per_page: int = 20) -> tuple[list[ResidencePermit], int]:
    """Open applications of the officer's communities, oldest change first."""
    stmt = (
        select(ResidencePermit)
        .join(MigrantRecord, MigrantRecord.id == ResidencePermit.migrant_id)
        .where(ResidencePermit.status.in_(OPEN))
    )
    ids = svc.served_community_ids(officer)
    if ids is not None:
        stmt = stmt.where(MigrantRecord.community_id.in_(ids))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(ResidencePermit.updated_at, ResidencePermit.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def booking_service_id() -> int | None:
    """The appointments feature's 办理居住证 service, when it is there and active."""
    try:
        from portal.appointments import services as appointments
    except ImportError:  # the appointments feature is optional
        return None
    for service in appointments.active_services():
        if "居住证" in service.name:
            return service.id
    return None
