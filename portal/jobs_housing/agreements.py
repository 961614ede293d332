"""Agreements (协议文本): generated from an accepted application with both parties'
verified names and masked ID numbers, confirmed by each side with their password, stored
unchangeable with a SHA-256 of the text.

The registration ledger (the registry feature) takes signed agreements through
``on_agreement_signed`` (a hook called in the same transaction) or by reading
``signed_agreements()``; neither needs to know this package's tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from string import Template
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.accounts.passwords import check_password
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.jobs_housing.models import (
    Agreement,
    AgreementStatus,
    AgreementTemplate,
    Application,
    ApplicationStatus,
    Kind,
    Listing,
)
from portal.notifications.services import notify
from portal.security import audit
from portal.security.pii import mask_id
from portal.station.calendar import STATION_TZ

RENTAL_TEMPLATE = """房屋租赁协议

出租方（甲方）：$poster_name，身份证号：$poster_id
承租方（乙方）：$seeker_name，身份证号：$seeker_id

一、房屋地址：$address，$rooms 室，面积 $area 平方米，所属社区：$community。
二、月租金 $rent 元，押金 $deposit_months 个月租金；$furnished。
三、起租日期：$start_date。
四、双方经社区免费中介服务站核实身份后自愿签订本协议，平台未收取任何中介费用。
五、乙方入住后按规定办理居住登记，甲方予以协助。

治安责任保证书
甲方保证：不将房屋出租给无合法有效身份证件的人员；发现承租人有违法犯罪活动或嫌疑，
及时向社区警务室报告；配合社区民警做好出租房屋和流动人口的登记管理；
对出租房屋的消防、用电等安全负责。

生成日期：$today
"""

JOB_TEMPLATE = """用工协议

用人单位（甲方）：$org_name，负责人：$poster_name，身份证号：$poster_id
劳动者（乙方）：$seeker_name，身份证号：$seeker_id

一、岗位：$title，工作地点：$address，所属社区：$community。
二、工资：$pay 元（$pay_period），工作时间：$hours；$housing。
三、起始日期：$start_date。
四、甲方不得向乙方收取押金、保证金、培训费等任何费用，不得扣押乙方身份证件。
五、双方经社区免费中介服务站核实身份后自愿签订本协议，平台未收取任何中介费用。

生成日期：$today
"""

PAY_PERIODS = {"hour": "按小时", "day": "按天", "month": "按月"}

Hook = Callable[[Agreement], None]
_hooks: list[Hook] = []


def on_agreement_signed(fn: Hook) -> Hook:
    """Register a function called with each agreement when its second party signs (in the
    same transaction). The registry feature uses this to hand it to the ledger."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


@dataclass(frozen=True)
class SignedAgreement:
    """What the registration ledger needs of a signed agreement (no plain ID numbers)."""

    id: int
    kind: str
    listing_id: int
    community_id: int
    poster_user_id: int
    seeker_user_id: int
    text_sha256: str
    signed_at: dt.datetime
    # Added later, optional: the move-in / work start date printed in the text.
    start_date: dt.date | None = None


def signed_agreements(since: dt.datetime | None = None, limit: int = 500) -> list[SignedAgreement]:
    """Signed agreements, oldest first, optionally signed after ``since``."""
    stmt = select(Agreement).where(Agreement.status == AgreementStatus.SIGNED)
    if since is not None:
        stmt = stmt.where(Agreement.signed_at > since)
    rows = db.session.scalars(stmt.order_by(Agreement.signed_at, Agreement.id).limit(limit))
    return [
        SignedAgreement(
            id=a.id,
            kind=a.kind.value,
            listing_id=a.listing_id,
            community_id=a.listing.community_id,
            poster_user_id=a.listing.poster_id,
            seeker_user_id=a.application.seeker_id,
            text_sha256=a.text_sha256,
            signed_at=a.signed_at,  # type: ignore[arg-type]
            start_date=a.start_date,
        )
        for a in rows
    ]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _identity(user: User, who: str) -> tuple[str, str]:
    v = accounts.latest_identity(user)
    if v is None or not v.is_current:
        raise DomainError(
            _("%(who)s尚未完成实名认证，不能生成协议。", who=who), code="not_verified"
        )
    return v.real_name, mask_id(v.id_number)


REQUIRED_PLACEHOLDERS = ("$poster_name", "$poster_id", "$seeker_name", "$seeker_id")


def template_problems(kind: Kind, body: str) -> list[str]:
    """What a wording lacks: the parties' placeholders, and for rentals the pledge."""
    problems = [p for p in REQUIRED_PLACEHOLDERS if p not in body]
    if kind == Kind.RENTAL and "治安责任保证书" not in body:
        problems.append("治安责任保证书")
    return problems


def _configured(kind: Kind, default: str) -> str:
    body = (current_app.config.get("JOBS_HOUSING_AGREEMENT_TEMPLATES") or {}).get(kind.value)
    if not body:
        return default
    missing = template_problems(kind, body)
    if missing:
        current_app.logger.warning(
            "agreement template %s.txt lacks %s; the built-in wording is used", kind, missing
        )
        return default
    return str(body)


def templates() -> dict[Kind, str]:
    """The admins' wording where saved, else the configured one (from
    ``PORTAL_JOBS_HOUSING_AGREEMENT_DIR``) if complete, else the built-in one."""
    saved = {t.kind: t.body for t in db.session.scalars(select(AgreementTemplate))}
    return {
        Kind.RENTAL: saved.get("rental") or _configured(Kind.RENTAL, RENTAL_TEMPLATE),
        Kind.JOB: saved.get("job") or _configured(Kind.JOB, JOB_TEMPLATE),
    }


def save_template(admin: User, kind: Kind, body: str) -> AgreementTemplate:
    """Change the wording of future agreements (signed ones keep their text)."""
    missing = [p for p in REQUIRED_PLACEHOLDERS if p not in body]
    if missing:
        raise DomainError(
            _("模板必须包含：%(p)s", p="、".join(missing)), field="body", code="invalid"
        )
    if kind == Kind.RENTAL and "治安责任保证书" not in body:
        raise DomainError(_("房屋租赁协议必须包含治安责任保证书。"), field="body", code="invalid")
    row = db.session.get(AgreementTemplate, kind.value)
    if row is None:
        row = AgreementTemplate(kind=kind.value, body=body)
        db.session.add(row)
    row.body, row.updated_by_id, row.updated_at = body, admin.id, utcnow()
    db.session.flush()
    audit.record(admin, "agreement.template", kind=kind.value, sha256=sha256(body))
    return row


def render_text(
    listing: Listing, poster: tuple[str, str], seeker: tuple[str, str], start: dt.date
) -> str:
    values: dict[str, Any] = {
        "poster_name": poster[0],
        "poster_id": poster[1],
        "seeker_name": seeker[0],
        "seeker_id": seeker[1],
        "address": listing.address,
        "community": listing.community.name,
        "title": listing.title,
        "rooms": listing.rooms or "",
        "area": listing.area or "",
        "rent": listing.rent or "",
        "deposit_months": listing.deposit_months or 0,
        "furnished": "带家具家电" if listing.furnished else "不带家具家电",
        "org_name": listing.org_name,
        "pay": (
            f"{listing.pay_min}–{listing.pay_max}"
            if listing.pay_max and listing.pay_max != listing.pay_min
            else f"{listing.pay_min}"
        ),
        "pay_period": PAY_PERIODS.get(listing.pay_period or "", ""),
        "hours": listing.hours or "面议",
        "housing": "提供住宿" if listing.housing_provided else "不提供住宿",
        "start_date": start.isoformat(),
        "today": utcnow().date().isoformat(),
    }
    return Template(templates()[listing.kind]).safe_substitute(values)


MAX_START_DAYS = 180


def local_today() -> dt.date:
    """Today at the station (an agreement's dates are local dates)."""
    return utcnow().astimezone(STATION_TZ).date()


def suggested_start(listing: Listing) -> dt.date:
    """The form's first value: the listing's move-in date if still ahead, else today."""
    today = local_today()
    return max(listing.available_from or today, today)


def check_start_date(start: dt.date | None, today: dt.date | None = None) -> dt.date:
    """A start (move-in / work start) date: not in the past, at most 180 days ahead."""
    today = today or local_today()
    if start is None:
        raise DomainError(_("请选择起始日期。"), field="start_date", code="invalid")
    if start < today:
        raise DomainError(_("起始日期不能早于今天。"), field="start_date", code="invalid")
    if start > today + dt.timedelta(days=MAX_START_DAYS):
        raise DomainError(
            _("起始日期不能晚于 %(n)s 天以后。", n=MAX_START_DAYS),
            field="start_date",
            code="invalid",
        )
    return start


def start_agreement(poster: User, a: Application, start: dt.date | None = None) -> Agreement:
    """Generate the agreement of an accepted application; both parties must be verified.
    ``start`` is the move-in or work start date (default: ``suggested_start``)."""
    listing = a.listing
    if poster.id != listing.poster_id:
        raise DomainError(_("只有发布人可以生成协议。"), code="forbidden")
    if a.status != ApplicationStatus.ACCEPTED:
        raise DomainError(_("接受申请后才能生成协议。"))
    existing = db.session.scalar(select(Agreement).where(Agreement.application_id == a.id))
    if existing is not None:
        return existing
    start = check_start_date(start or suggested_start(listing))
    text = render_text(
        listing,
        _identity(poster, _("发布人")),
        _identity(a.seeker, _("申请人")),
        start,
    )
    agreement = Agreement(
        application_id=a.id,
        listing_id=listing.id,
        kind=listing.kind,
        text=text,
        text_sha256=sha256(text),
        start_date=start,
    )
    db.session.add(agreement)
    db.session.flush()
    audit.record(
        poster,
        "agreement.create",
        subject=a.seeker,
        obj=agreement,
        sha256=agreement.text_sha256,
        start_date=start.isoformat(),
    )
    notify(
        a.seeker,
        _l("请确认协议"),
        _l("“%(t)s”的协议已生成，请阅读后确认。", t=listing.title),
        link=f"/board/agreements/{agreement.id}",
        kind="jobs_housing",
    )
    return agreement


def confirm(user: User, agreement: Agreement, password: str, sha: str | None = None) -> Agreement:
    """One side confirms the exact text, re-entering their password."""
    party = agreement.party(user)
    if party is None:
        raise DomainError(_("您不是协议的一方。"), code="forbidden")
    if agreement.status == AgreementStatus.SIGNED:
        raise DomainError(_("协议已签署。"))
    if agreement.application.status != ApplicationStatus.ACCEPTED:
        raise DomainError(_("申请已撤回，该协议不能再签署。"))
    if not check_password(user.password_hash, password or ""):
        raise DomainError(_("密码不正确。"), field="password", code="bad_password")
    if sha is not None and sha != agreement.text_sha256:
        raise DomainError(_("协议内容已变化，请重新阅读。"))
    now = utcnow()
    if party == "poster":
        if agreement.poster_confirmed_at:
            raise DomainError(_("您已经确认过了。"))
        agreement.poster_confirmed_at = now
    else:
        if agreement.seeker_confirmed_at:
            raise DomainError(_("您已经确认过了。"))
        agreement.seeker_confirmed_at = now
    audit.record(
        user, "agreement.confirm", obj=agreement, party=party, sha256=agreement.text_sha256
    )
    if agreement.poster_confirmed_at and agreement.seeker_confirmed_at:
        agreement.status = AgreementStatus.SIGNED
        agreement.signed_at = now
        db.session.flush()
        audit.record(user, "agreement.signed", obj=agreement, sha256=agreement.text_sha256)
        for hook in list(_hooks):
            hook(agreement)
        other = agreement.listing.poster if party == "seeker" else agreement.application.seeker
        notify(
            other,
            _l("协议已签署"),
            _l("“%(t)s”的协议双方均已确认。", t=agreement.listing.title),
            link=f"/board/agreements/{agreement.id}",
            kind="jobs_housing",
        )
    db.session.flush()
    return agreement


def agreement_for(a: Application) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(Agreement.application_id == a.id))
