"""Back-office queries: the audit log, and the foundation's dashboard panel."""

from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.backoffice.panels import Panel, register_panel
from portal.db import db
from portal.security.models import AuditEntry
from portal.security.pii import mask_name


@register_panel(10)
def verification_panel(officer: User) -> Panel:
    """Pending identity and organisation verifications."""
    rows, total = accounts.pending_identity_queue(officer, 1, per_page=5)
    orgs = accounts.pending_organisation_queue(officer)
    return Panel(
        key="verifications",
        title=_("待审核的实名认证"),
        count=total + len(orgs),
        link=url_for("backoffice.verifications"),
        rows=[
            (
                mask_name(v.real_name) + (" ⚠ " + _("身份证号冲突") if v.conflict_user_id else ""),
                url_for("backoffice.verification", vid=v.id),
            )
            for v in rows
        ],
        empty_text=_("没有待审核的认证。"),
        alert=any(v.conflict_user_id for v in rows),
    )


def audit_page(
    *,
    page: int,
    action: str | None = None,
    actor: str | None = None,
    subject_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    per_page: int = 50,
) -> tuple[list[tuple[AuditEntry, str | None, str | None]], int]:
    """A filtered page of the audit log with the actor's and subject's names."""
    actor_user = aliased(User)
    subject_user = aliased(User)
    stmt = (
        select(AuditEntry, actor_user.display_name, subject_user.display_name)
        .outerjoin(actor_user, AuditEntry.actor_id == actor_user.id)
        .outerjoin(subject_user, AuditEntry.subject_user_id == subject_user.id)
    )
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if actor:
        stmt = stmt.where(actor_user.display_name.contains(actor))
    if subject_id:
        stmt = stmt.where(AuditEntry.subject_user_id == subject_id)
    if since:
        stmt = stmt.where(AuditEntry.created_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        stmt = stmt.where(
            AuditEntry.created_at
            < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(
        stmt.order_by(AuditEntry.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return [tuple(r) for r in rows], total  # type: ignore[misc]


def audit_actions() -> list[str]:
    """Distinct action names, for the filter."""
    return list(
        db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    )
