"""Account use cases: registration, sessions, password reset, identity verification.

Services take model objects and validated data, change state, flush, and record who did
it. They raise ``DomainError`` with a message for the user when a rule says no; the
request boundary then rolls back, so a refused action changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from portal.accounts.models import (
    IdentityVerification,
    OrganisationVerification,
    PasswordResetToken,
    Role,
    User,
    UserSession,
    VerificationStatus,
)
from portal.accounts.passwords import check_password, hash_password, needs_rehash
from portal.communities.models import Community, OfficerProfile
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.notifications.services import notify, queue_message
from portal.realtime import cut_off_after_commit
from portal.security import audit
from portal.security.pii import id_index, normalize_phone, phone_index


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- accounts ---------------------------------------------------------------------------


def find_by_login(login: str) -> User | None:
    """The user with this e-mail or phone number."""
    login = (login or "").strip()
    if "@" in login:
        return db.session.scalar(select(User).where(func.lower(User.email) == login.lower()))
    phone = normalize_phone(login)
    if not phone:
        return None
    return db.session.scalar(select(User).where(User.phone_hash == phone_index(phone)))


def register_user(
    *,
    login: str,
    password: str,
    display_name: str,
    community: Community | None,
    role: Role = Role.RESIDENT,
    created_by: User | None = None,
) -> User:
    """Create an account identified by an e-mail address or a mobile phone number."""
    login = login.strip()
    if login and find_by_login(login) is not None:
        raise DomainError(_("该手机号或邮箱已注册。"), field="login", code="taken")
    user = User(display_name=display_name.strip(), role=role, community=community)
    if "@" in login:
        user.email = login.lower()
    elif login:
        phone = normalize_phone(login)
        user.phone = phone
        user.phone_hash = phone_index(phone)
    user.password_hash = hash_password(password) if password else None
    if created_by is not None:
        user.created_by_id = created_by.id
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DomainError(_("该手机号或邮箱已注册。"), field="login", code="taken") from None
    if role == Role.OFFICER:
        db.session.add(OfficerProfile(user=user))
        if community is not None:
            user.served_communities.append(community)
        db.session.flush()
    if created_by is not None:
        audit.record(created_by, "user.create", subject=user, obj=user, role=str(role))
    return user


def authenticate(login: str, password: str) -> User | None:
    """The user if the password matches and the account is active."""
    user = find_by_login(login)
    ok = check_password(user.password_hash if user else None, password)
    if not (user and ok and user.is_active):
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(user: User) -> UserSession:
    """Log in: a fresh server-side session and a fresh session id in the cookie."""
    token = secrets.token_urlsafe(32)
    lang = session.get("lang")
    session.clear()  # the old session id (and anything planted in it) is gone
    if lang:
        session["lang"] = lang
    session["sid"] = token
    session.permanent = True
    row = UserSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    user.last_login_at = utcnow()
    db.session.flush()
    return row


def end_session() -> None:
    """Log out: the server-side session ends, so a copied cookie is worthless (and the
    session's live-chat and bell sockets are cut off once this commits)."""
    token = session.get("sid")
    if token:
        token_hash = _token_hash(token)
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        cut_off_after_commit(token_hash=token_hash)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def session_token_hash(token: str | None) -> str:
    """What the server stores of a session token (empty for none)."""
    return _token_hash(token) if token else ""


def user_for_session_token(token: str | None) -> User | None:
    """The logged-in user of this request, or None if the session ended or went idle."""
    if not token:
        return None
    return user_for_session_token_hash(_token_hash(token))


def user_for_session_token_hash(token_hash: str) -> User | None:
    """The user of a live server-side session (ends it when idle or too old).

    One statement on every request: the session's times and its user, joined."""
    if not token_hash:
        return None
    row = db.session.execute(
        select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash, UserSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    user, session_id, created_at, last_seen_at = row
    now = utcnow()
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    max_age = dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    if now - as_utc(last_seen_at) > idle or now - as_utc(created_at) > max_age:
        _touch_session(session_id, ended_at=now)
        return None
    if not user.is_active:
        return None
    if now - as_utc(last_seen_at) > dt.timedelta(minutes=1):
        _touch_session(session_id, last_seen_at=now)
    return user


def _touch_session(session_id: int, **values: dt.datetime) -> None:
    """Record a session's end or activity, committed at once (the request may fail later)."""
    db.session.execute(update(UserSession).where(UserSession.id == session_id).values(**values))
    db.session.commit()


def live_session_token_hashes(
    token_hashes: set[str], *, active: set[str] = frozenset()
) -> set[str]:
    """Those of the given sessions that are live: not ended, not older than the maximum age,
    not idle, of active accounts. The ``active`` ones (in use since the last look) are first
    marked as seen now, unless they are already idle (use never revives a session). Two
    statements at most, whatever the number of sessions."""
    if not token_hashes:
        return set()
    now = utcnow()
    idle_since = now - dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if active:
        db.session.execute(
            update(UserSession)
            .where(
                UserSession.token_hash.in_(active),
                UserSession.ended_at.is_(None),
                UserSession.last_seen_at > idle_since,
            )
            .values(last_seen_at=now)
        )
        db.session.commit()
    max_age = dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    rows = db.session.scalars(
        select(UserSession.token_hash)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.token_hash.in_(token_hashes),
            UserSession.ended_at.is_(None),
            UserSession.created_at > now - max_age,
            UserSession.last_seen_at > idle_since,
            User.is_active_account.is_(True),
        )
    ).all()
    db.session.rollback()
    return set(rows)


def end_all_sessions(user: User) -> None:
    """End every session of a user (after a password change); their sockets are cut off."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    cut_off_after_commit(user_id=user.id)


def request_password_reset(login: str, reset_url_for: object) -> None:
    """Send a one-time reset link if the account exists; say nothing either way."""
    user = find_by_login(login)
    if user is None or not user.is_active:
        return
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(
        PasswordResetToken(
            token_hash=_token_hash(token),
            user_id=user.id,
            expires_at=utcnow() + dt.timedelta(minutes=minutes),
        )
    )
    link = reset_url_for(token)  # type: ignore[operator]
    body = _(
        "您好，%(name)s：\n\n"
        "请在 %(minutes)s 分钟内打开下面的链接设置新密码（只能使用一次）：\n%(link)s\n\n"
        "如果不是您本人操作，请忽略本邮件。",
        name=user.display_name,
        minutes=minutes,
        link=link,
    )
    if user.email:
        queue_message(user.email, _("网上警务室：重设密码"), body)
    elif user.phone:
        queue_message(user.phone, _("网上警务室：重设密码"), body, channel="sms")
    db.session.flush()


def reset_token_user(token: str) -> PasswordResetToken | None:
    """The unused, unexpired reset token row for this link."""
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token or ""))
    )
    if row is None or row.used_at is not None or as_utc(row.expires_at) < utcnow():
        return None
    return row


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link is spent and sessions end."""
    row = reset_token_user(token)
    if row is None:
        raise DomainError(_("链接无效或已过期，请重新申请。"), code="invalid_token")
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        raise DomainError(_("链接无效或已过期，请重新申请。"), code="invalid_token")
    row.user.password_hash = hash_password(new_password)
    end_all_sessions(row.user)
    db.session.flush()
    return row.user


# ---- identity verification --------------------------------------------------------------


def latest_identity(user: User) -> IdentityVerification | None:
    """The user's most recent identity verification."""
    return db.session.scalar(
        select(IdentityVerification)
        .where(IdentityVerification.user_id == user.id)
        .order_by(IdentityVerification.id.desc())
        .limit(1)
    )


def latest_organisation(user: User) -> OrganisationVerification | None:
    """The user's most recent organisation verification."""
    return db.session.scalar(
        select(OrganisationVerification)
        .where(OrganisationVerification.user_id == user.id)
        .order_by(OrganisationVerification.id.desc())
        .limit(1)
    )


def is_verified(user: User) -> bool:
    """True while the user holds a current identity verification (posters need it)."""
    v = latest_identity(user)
    return bool(v and v.is_current)


def has_verified_organisation(user: User) -> bool:
    """True while the user holds a current organisation verification (employers need it)."""
    v = latest_organisation(user)
    return bool(v and v.is_current and is_verified(user))


def submit_identity(
    user: User, *, real_name: str, id_number: str, phone: str, photo_filename: str | None
) -> IdentityVerification:
    """File a verification for an officer. An ID number already held by another account
    is not refused: the officer sees the conflict and decides."""
    current = latest_identity(user)
    if current and current.status == VerificationStatus.PENDING:
        raise DomainError(_("您已有一份待审核的认证申请，请耐心等待。"), code="pending")
    if current and current.is_current:
        raise DomainError(_("您已通过实名认证。"), code="already_verified")
    digest = id_index(id_number)
    other = db.session.scalar(
        select(IdentityVerification.user_id)
        .where(
            IdentityVerification.id_number_hash == digest,
            IdentityVerification.user_id != user.id,
            IdentityVerification.status.in_(
                [VerificationStatus.APPROVED, VerificationStatus.PENDING]
            ),
        )
        .limit(1)
    )
    phone = normalize_phone(phone)
    v = IdentityVerification(
        user_id=user.id,
        real_name=real_name.strip(),
        id_number=id_number,
        id_number_hash=digest,
        phone=phone,
        phone_hash=phone_index(phone),
        photo_filename=photo_filename,
        conflict_user_id=other,
    )
    db.session.add(v)
    db.session.flush()
    return v


def approve_identity(officer: User, v: IdentityVerification) -> None:
    """Approve; refused while another account holds the same ID number."""
    if not v.can_be_decided():
        raise DomainError(_("该申请已处理。"), code="decided")
    holder = db.session.scalar(
        select(IdentityVerification).where(
            IdentityVerification.id_number_hash == v.id_number_hash,
            IdentityVerification.status == VerificationStatus.APPROVED,
            IdentityVerification.id != v.id,
        )
    )
    if holder is not None:
        raise DomainError(
            _(
                "该身份证号已属于另一个账户（%(name)s）。请先核实并撤销那边的认证，或驳回本申请。",
                name=holder.user.display_name,
            ),
            code="conflict",
        )
    days = current_app.config["VERIFICATION_VALID_DAYS"]
    v.status = VerificationStatus.APPROVED
    v.decided_by_id = officer.id
    v.decided_at = utcnow()
    v.expires_at = utcnow() + dt.timedelta(days=days)
    v.conflict_user_id = None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DomainError(_("该身份证号已属于另一个账户。"), code="conflict") from None
    audit.record(officer, "verification.approve", subject=v.user, obj=v)
    notify(
        v.user,
        _l("实名认证已通过"),
        _l("您的实名认证已通过审核。"),
        link="/account",
        kind="verification",
    )


def reject_identity(officer: User, v: IdentityVerification, reason: str) -> None:
    """Reject with a reason the resident sees."""
    if not v.can_be_decided():
        raise DomainError(_("该申请已处理。"), code="decided")
    v.status = VerificationStatus.REJECTED
    v.decided_by_id = officer.id
    v.decided_at = utcnow()
    v.decision_reason = reason
    db.session.flush()
    audit.record(officer, "verification.reject", subject=v.user, obj=v, reason=reason)
    notify(
        v.user,
        _l("实名认证未通过"),
        _l("原因：%(reason)s", reason=reason),
        link="/account",
        kind="verification",
    )


def revoke_identity(officer: User, v: IdentityVerification, reason: str) -> None:
    """Withdraw an approval (wrong person, fraud, moved away)."""
    if not v.can_be_revoked():
        raise DomainError(_("只有已通过的认证可以撤销。"), code="not_approved")
    v.status = VerificationStatus.REVOKED
    v.decision_reason = reason
    v.decided_by_id = officer.id
    v.decided_at = utcnow()
    db.session.flush()
    audit.record(officer, "verification.revoke", subject=v.user, obj=v, reason=reason)
    notify(
        v.user,
        _l("实名认证已撤销"),
        _l("原因：%(reason)s", reason=reason),
        link="/account",
        kind="verification",
    )


def submit_organisation(user: User, *, org_name: str, credit_code: str) -> OrganisationVerification:
    """File an organisation check; the person must be verified first."""
    if not is_verified(user):
        raise DomainError(_("请先完成个人实名认证，再认证用工单位。"), code="not_verified")
    current = latest_organisation(user)
    if current and current.status == VerificationStatus.PENDING:
        raise DomainError(_("您已有一份待审核的单位认证申请。"), code="pending")
    v = OrganisationVerification(
        user_id=user.id, org_name=org_name.strip(), credit_code=credit_code
    )
    db.session.add(v)
    db.session.flush()
    return v


def decide_organisation(
    officer: User, v: OrganisationVerification, approve: bool, reason: str = ""
) -> None:
    """Approve or reject an organisation check."""
    if not v.can_be_decided():
        raise DomainError(_("该申请已处理。"), code="decided")
    v.decided_by_id = officer.id
    v.decided_at = utcnow()
    if approve:
        v.status = VerificationStatus.APPROVED
        v.expires_at = utcnow() + dt.timedelta(days=current_app.config["VERIFICATION_VALID_DAYS"])
        audit.record(officer, "organisation.approve", subject=v.user, obj=v)
        notify(v.user, _l("用工单位认证已通过"), v.org_name, link="/account", kind="verification")
    else:
        v.status = VerificationStatus.REJECTED
        v.decision_reason = reason
        audit.record(officer, "organisation.reject", subject=v.user, obj=v, reason=reason)
        notify(
            v.user,
            _l("用工单位认证未通过"),
            _l("原因：%(reason)s", reason=reason),
            link="/account",
            kind="verification",
        )
    db.session.flush()


def revoke_organisation(officer: User, v: OrganisationVerification, reason: str) -> None:
    """Withdraw an organisation approval."""
    if not v.can_be_revoked():
        raise DomainError(_("只有已通过的认证可以撤销。"), code="not_approved")
    v.status = VerificationStatus.REVOKED
    v.decision_reason = reason
    v.decided_by_id = officer.id
    v.decided_at = utcnow()
    db.session.flush()
    audit.record(officer, "organisation.revoke", subject=v.user, obj=v, reason=reason)


def _queue_stmt(officer: User, status: VerificationStatus):  # type: ignore[no-untyped-def]
    # The user and their community come in the same round trip (no query per row).
    stmt = (
        select(IdentityVerification)
        .join(User, IdentityVerification.user_id == User.id)
        .options(contains_eager(IdentityVerification.user).selectinload(User.community))
        .where(IdentityVerification.status == status)
    )
    if officer.role != Role.ADMIN:
        ids = [c.id for c in officer.served_communities]
        stmt = stmt.where(or_(User.community_id.in_(ids), User.community_id.is_(None)))
    return stmt


def pending_identity_queue(officer: User, page: int, per_page: int = 20):
    """Pending identity verifications the officer may decide, oldest first."""
    stmt = _queue_stmt(officer, VerificationStatus.PENDING)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(IdentityVerification.created_at, IdentityVerification.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def pending_organisation_queue(officer: User):
    """Pending organisation checks the officer may decide, oldest first (small list)."""
    stmt = (
        select(OrganisationVerification)
        .join(User, OrganisationVerification.user_id == User.id)
        .where(OrganisationVerification.status == VerificationStatus.PENDING)
    )
    if officer.role != Role.ADMIN:
        ids = [c.id for c in officer.served_communities]
        stmt = stmt.where(or_(User.community_id.in_(ids), User.community_id.is_(None)))
    return list(db.session.scalars(stmt.order_by(OrganisationVerification.id).limit(100)))


def reveal(officer: User, v: IdentityVerification, field: str) -> str:
    """Show one plain value on purpose; the act is written to the audit log."""
    if field not in ("id_number", "phone"):
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    value = getattr(v, field)
    if not value:
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    audit.record(officer, f"pii.reveal.{field}", subject=v.user, obj=v)
    return value


def expire_verifications() -> int:
    """Mark approvals past their expiry and tell the holder; safe to run twice at once."""
    now = utcnow()
    total = 0
    for model in (IdentityVerification, OrganisationVerification):
        rows = db.session.execute(
            select(model.id, model.user_id).where(
                model.status == VerificationStatus.APPROVED, model.expires_at < now
            )
        ).all()
        for row_id, user_id in rows:
            # Conditional update: of two runs, exactly one flips the row and notifies.
            result = db.session.execute(
                update(model)
                .where(model.id == row_id, model.status == VerificationStatus.APPROVED)
                .values(status=VerificationStatus.EXPIRED)
            )
            if result.rowcount == 1:
                user = db.session.get(User, user_id)
                if user is not None:
                    notify(
                        user,
                        _l("认证已过期"),
                        _l("请重新提交认证。"),
                        link="/account",
                        kind="verification",
                    )
                total += 1
            db.session.commit()
    return total


def identity_list(officer: User, status: VerificationStatus, page: int, per_page: int = 20):
    """Decided verifications in one state, newest first, within the officer's reach."""
    stmt = _queue_stmt(officer, status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(IdentityVerification.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def register_walk_in(
    officer: User, *, display_name: str, community: Community, real_name: str, id_number: str
) -> User:
    """An officer registers a resident met in person, with no phone or e-mail.

    The officer has seen the person and the ID card, so the verification is approved at
    once — unless another account holds that ID number, which the officer must sort out.
    """
    digest = id_index(id_number)
    holder = db.session.scalar(
        select(IdentityVerification).where(
            IdentityVerification.id_number_hash == digest,
            IdentityVerification.status == VerificationStatus.APPROVED,
        )
    )
    if holder is not None:
        raise DomainError(
            _("该身份证号已属于账户“%(name)s”。", name=holder.user.display_name),
            field="id_number",
            code="conflict",
        )
    user = register_user(
        login="", password="", display_name=display_name, community=community, created_by=officer
    )
    v = IdentityVerification(
        user_id=user.id,
        real_name=real_name.strip(),
        id_number=id_number,
        id_number_hash=digest,
        status=VerificationStatus.APPROVED,
        decided_by_id=officer.id,
        decided_at=utcnow(),
        expires_at=utcnow() + dt.timedelta(days=current_app.config["VERIFICATION_VALID_DAYS"]),
    )
    db.session.add(v)
    db.session.flush()
    audit.record(officer, "verification.walk_in", subject=user, obj=v)
    return user
