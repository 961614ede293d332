"""Board use cases: posting, moderation with hints, reports, applications and expiry.

Services flush and never commit (except the expiry job, which claims rows one by one);
a refused act raises ``DomainError`` so the request boundary rolls back.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import statistics
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session, selectinload

from portal import search as fulltext
from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.backoffice.panels import Panel, register_panel
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.jobs import register_job
from portal.jobs_housing.models import (
    Agreement,
    AgreementStatus,
    Application,
    ApplicationStatus,
    Kind,
    Listing,
    ListingPhoto,
    ListingReport,
    ListingStatus,
    ReportReason,
)
from portal.notifications.services import notify
from portal.security import audit
from portal.security.uploads import WEB_PHOTO_FORMATS, store_image, stored_path

LIFETIME = dt.timedelta(days=30)
REMIND_BEFORE = dt.timedelta(days=3)
MAX_PHOTOS = 9
MAX_RESULTS = 1000
DEFAULT_FEE_WORDS = ("中介费", "押金", "保证金", "培训费", "服装费", "体检费", "服务费", "介绍费")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
WECHAT_RE = re.compile(
    r"(微信|威信|薇信|vx|wx|weixin|wechat|v信)\s*(号)?\s*[:：]?\s*[A-Za-z][-_A-Za-z0-9]{5,19}",
    re.IGNORECASE,
)
EDITABLE = (ListingStatus.DRAFT, ListingStatus.CHANGES_REQUESTED, ListingStatus.PUBLISHED)


MAX_ID = 2**63 - 1


def get(model: Any, pk: int) -> Any:
    """A row by id; None for ids no database column can hold (a URL may say anything)."""
    return db.session.get(model, pk) if 0 < pk <= MAX_ID else None


def _link(listing: Listing) -> str:
    return f"/board/{listing.id}"


def _price(data: dict[str, Any], kind: Kind) -> int:
    return int((data.get("rent") if kind == Kind.RENTAL else data.get("pay_min")) or 0)


def _to_json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()}


def _from_json(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if out.get("available_from"):
        out["available_from"] = dt.date.fromisoformat(out["available_from"])
    return out


SEARCH_KIND = "listing"
SEARCHED_FIELDS = ("title", "org_name", "address", "description", "requirements", "hours")


SEARCH_COLUMNS = ("id", "community_id", "live", *SEARCHED_FIELDS)
# What a listing's document holds besides its text; a flush that changes one re-indexes.
SEARCH_FACETS = ("community_id", "live")


def _search_text(row: Any) -> str:
    return "\n".join(str(getattr(row, k) or "") for k in SEARCHED_FIELDS)


def search_document(row: Any) -> fulltext.Doc:
    """A listing (or a row of its ``SEARCH_COLUMNS``) as a keyword-index document: its
    text, and as facets its community and whether it is live, so that a keyword search
    asks the index for the live listings (of one community) only, and counts them
    without reading a listing."""
    return (
        row.id,
        _search_text(row),
        {"community": row.community_id, "live": 1 if row.live else None},
    )


@sa_event.listens_for(Session, "after_flush")
def _listing_facet_changes(session: Session, _context: object) -> None:
    """Note the listings whose document a flush made stale: put on or taken off the
    board (approval, withdrawal, reports, renewal...) or moved to another community,
    whichever code made the change. The bulk expiry re-indexes by itself."""
    changed: set[Listing] = set(session.info.get("portal.listing_sync", ()))
    for obj in session.dirty:
        if isinstance(obj, Listing) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[k].history.has_changes() for k in SEARCH_FACETS):
                changed.add(obj)
    if changed:
        session.info["portal.listing_sync"] = changed


@sa_event.listens_for(Session, "after_flush_postexec")
def _listing_facet_sync(session: Session, _context: object) -> None:
    docs = [search_document(x) for x in session.info.pop("portal.listing_sync", ())]
    if docs:
        fulltext.index_many(SEARCH_KIND, docs)


@fulltext.register_source(SEARCH_KIND)
def _all_listing_texts() -> list[fulltext.Doc]:
    cols = [getattr(Listing, k) for k in SEARCH_COLUMNS]
    return [search_document(row) for row in db.session.execute(select(*cols))]


def _apply(listing: Listing, data: dict[str, Any]) -> None:
    """Set the public version; the keyword index follows it (the listing must have an id,
    or get one at the caller's next flush and be indexed there)."""
    for key in listing.fields:
        if key in data:
            setattr(listing, key, data[key])
    listing.price = _price({k: getattr(listing, k) for k in listing.fields}, listing.kind)
    if listing.id is not None:
        fulltext.index_many(SEARCH_KIND, [search_document(listing)])


# ---- posting ----------------------------------------------------------------------------


def may_post(user: User, kind: Kind) -> bool:
    """Verified residents post rentals; residents with a verified organisation post jobs."""
    if not user.is_authenticated:
        return False
    if kind == Kind.JOB:
        return accounts.has_verified_organisation(user)
    return accounts.is_verified(user)


def check_poster(user: User, kind: Kind) -> None:
    if not may_post(user, kind):
        if kind == Kind.JOB:
            raise DomainError(_("发布招工信息需要先完成实名认证和单位认证。"), code="not_verified")
        raise DomainError(_("发布房屋出租信息需要先完成实名认证。"), code="not_verified")


def create_listing(
    user: User, kind: Kind, data: dict[str, Any], *, community_id: int, owner_declared: bool
) -> Listing:
    """A new draft; only verified posters may create one."""
    check_poster(user, kind)
    if kind == Kind.RENTAL and not owner_declared:
        raise DomainError(_("请声明您是房主或已获房主授权。"), field="owner_declared")
    listing = Listing(
        kind=kind,
        poster_id=user.id,
        community_id=community_id,
        status=ListingStatus.DRAFT,
        owner_declared=owner_declared,
        title="",
    )
    _apply(listing, data)
    db.session.add(listing)
    db.session.flush()
    fulltext.index_many(SEARCH_KIND, [search_document(listing)])
    audit.record(user, "listing.create", obj=listing, kind=kind.value)
    return listing


def update_listing(
    user: User, listing: Listing, data: dict[str, Any], community_id: int | None = None
) -> Listing:
    """Change a listing. A live listing keeps its public version; the edit waits for review.
    The community (whose officers moderate it) can change only before it is published."""
    if listing.status not in EDITABLE and not (listing.status == ListingStatus.PENDING):
        raise DomainError(_("当前状态下不能修改。"))
    check_poster(user, listing.kind)
    if community_id is not None and community_id != listing.community_id:
        if listing.live or listing.published_at is not None:
            raise DomainError(
                _("已发布过的信息不能更换社区，请撤回后重新发布。"), field="community_id"
            )
        listing.community_id = community_id
    if listing.live:
        listing.pending_edit = _to_json({k: data.get(k) for k in listing.fields})
        if listing.status == ListingStatus.PUBLISHED:
            _submit(listing)
    elif listing.status == ListingStatus.PENDING:
        raise DomainError(_("信息正在审核中，审核后才能再修改。"))
    else:
        _apply(listing, data)
    listing.updated_at = utcnow()
    db.session.flush()
    audit.record(user, "listing.edit", obj=listing)
    return listing


def _submit(listing: Listing) -> None:
    listing.status = ListingStatus.PENDING
    listing.submitted_at = utcnow()


def submit(user: User, listing: Listing) -> None:
    """Send a draft (or a listing with requested changes) to the community's officers."""
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.CHANGES_REQUESTED):
        raise DomainError(_("只有草稿或需修改的信息可以提交审核。"))
    check_poster(user, listing.kind)
    if not listing.title:
        raise DomainError(_("请填写标题。"), field="title")
    _submit(listing)
    db.session.flush()
    audit.record(user, "listing.submit", obj=listing)


def withdraw(user: User, listing: Listing) -> None:
    if listing.status in (ListingStatus.WITHDRAWN, ListingStatus.FILLED):
        raise DomainError(_("该信息已结束。"))
    listing.status = ListingStatus.WITHDRAWN
    listing.live = False
    listing.pending_edit = None
    db.session.flush()
    audit.record(user, "listing.withdraw", obj=listing)


def mark_filled(user: User, listing: Listing) -> None:
    if listing.status != ListingStatus.PUBLISHED:
        raise DomainError(_("只有已发布的信息可以标记为已成交。"))
    listing.status = ListingStatus.FILLED
    listing.live = False
    db.session.flush()
    audit.record(user, "listing.filled", obj=listing)


def renew(user: User, listing: Listing) -> None:
    """Another 30 days: no review when nothing changed since it was published."""
    now = utcnow()
    if listing.status == ListingStatus.PUBLISHED:
        if (as_utc(listing.expires_at) or now) - now > REMIND_BEFORE:
            raise DomainError(_("到期前 3 天内才能续期。"))
    elif listing.status != ListingStatus.EXPIRED or listing.published_at is None:
        raise DomainError(_("只有已发布或已过期的信息可以续期。"))
    check_poster(user, listing.kind)
    listing.live = True
    if listing.pending_edit:
        _submit(listing)  # the edit still needs a decision; the old version is shown
    else:
        listing.status = ListingStatus.PUBLISHED
    listing.expires_at = now + LIFETIME
    listing.reminded_at = None
    db.session.flush()
    audit.record(user, "listing.renew", obj=listing)


def add_photo(user: User, listing: Listing, upload: Any) -> ListingPhoto:
    """A photo checked by its bytes and re-encoded (EXIF location dropped); public after review."""
    if len(listing.photos) >= MAX_PHOTOS:
        raise DomainError(_("每条信息最多 %(n)s 张照片。", n=MAX_PHOTOS), field="photo")
    if listing.status in (ListingStatus.WITHDRAWN, ListingStatus.FILLED, ListingStatus.REJECTED):
        raise DomainError(_("当前状态下不能修改。"))
    name = store_image(upload, "listings", max_side=1280, formats=WEB_PHOTO_FORMATS)
    photo = ListingPhoto(listing_id=listing.id, filename=name, approved=False)
    db.session.add(photo)
    listing.photos.append(photo)
    if listing.status == ListingStatus.PUBLISHED:
        _submit(listing)
    db.session.flush()
    audit.record(user, "listing.photo", obj=listing)
    return photo


def delete_photo(user: User, photo: ListingPhoto) -> None:
    """The poster removes a photo (no review needed to show less); the file goes too."""
    listing = photo.listing
    path = stored_path("listings", photo.filename)
    listing.photos.remove(photo)
    db.session.flush()
    audit.record(user, "listing.photo_delete", obj=listing)
    if path is not None:
        path.unlink(missing_ok=True)


def my_listings(user: User) -> list[Listing]:
    return list(
        db.session.scalars(
            select(Listing)
            .where(Listing.poster_id == user.id)
            .options(selectinload(Listing.community))
            .order_by(Listing.id.desc())
        )
    )


# ---- moderation --------------------------------------------------------------------------


def moderation_queue(officer: User, limit: int = 100) -> list[Listing]:
    """Listings waiting for a decision in the officer's communities (oldest first)."""
    stmt = select(Listing).where(Listing.status == ListingStatus.PENDING)
    if officer.role != "admin":
        stmt = stmt.where(Listing.community_id.in_([c.id for c in officer.served_communities]))
    stmt = stmt.options(selectinload(Listing.poster), selectinload(Listing.community))
    return list(db.session.scalars(stmt.order_by(Listing.submitted_at, Listing.id).limit(limit)))


def _notify_poster(listing: Listing, title: Any, body: Any) -> None:
    notify(listing.poster, title, body, link=_link(listing), kind="jobs_housing")


def approve(officer: User, listing: Listing, note: str = "") -> None:
    if listing.status != ListingStatus.PENDING:
        raise DomainError(_("该信息不在待审核状态。"))
    if listing.pending_edit:
        _apply(listing, _from_json(listing.pending_edit))
        listing.pending_edit = None
    now = utcnow()
    listing.status = ListingStatus.PUBLISHED
    listing.live = True
    if listing.published_at is None or listing.expires_at is None:
        listing.published_at = now
    if listing.expires_at is None or as_utc(listing.expires_at) < now + REMIND_BEFORE:
        listing.expires_at = now + LIFETIME
        listing.reminded_at = None
    listing.moderator_note = note or None
    listing.reviewed_by_id, listing.reviewed_at = officer.id, now
    for photo in listing.photos:
        photo.approved = True
    db.session.execute(
        update(ListingReport).where(ListingReport.listing_id == listing.id).values(resolved=True)
    )
    db.session.flush()
    audit.record(officer, "listing.approve", subject=listing.poster, obj=listing, note=note or None)
    _notify_poster(listing, _l("您的信息已通过审核"), _l("“%(t)s”已发布。", t=listing.title))


def reject(officer: User, listing: Listing, reason: str) -> None:
    """Reject a new listing, or an edit of a live one (its public version stays)."""
    if listing.status != ListingStatus.PENDING:
        raise DomainError(_("该信息不在待审核状态。"))
    if not reason.strip():
        raise DomainError(_("请填写理由。"), field="note")
    if listing.live:
        listing.pending_edit = None
        listing.status = ListingStatus.PUBLISHED
        for photo in [p for p in listing.photos if not p.approved]:
            listing.photos.remove(photo)
    else:
        listing.status = ListingStatus.REJECTED
    listing.moderator_note = reason
    listing.reviewed_by_id, listing.reviewed_at = officer.id, utcnow()
    db.session.flush()
    audit.record(officer, "listing.reject", subject=listing.poster, obj=listing, reason=reason)
    _notify_poster(
        listing,
        _l("您的信息未通过审核"),
        _l("“%(t)s”未通过审核，理由：%(r)s", t=listing.title, r=reason),
    )


def request_changes(officer: User, listing: Listing, note: str) -> None:
    if listing.status != ListingStatus.PENDING:
        raise DomainError(_("该信息不在待审核状态。"))
    if not note.strip():
        raise DomainError(_("请填写需要修改的地方。"), field="note")
    listing.status = ListingStatus.CHANGES_REQUESTED
    listing.moderator_note = note
    listing.reviewed_by_id, listing.reviewed_at = officer.id, utcnow()
    db.session.flush()
    audit.record(officer, "listing.request_changes", subject=listing.poster, obj=listing, note=note)
    _notify_poster(
        listing,
        _l("您的信息需要修改"),
        _l("“%(t)s”需要修改：%(n)s", t=listing.title, n=note),
    )


def fee_words() -> list[str]:
    return list(current_app.config.get("JOBS_HOUSING_FEE_WORDS") or DEFAULT_FEE_WORDS)


def _texts(listing: Listing, data: dict[str, Any]) -> str:
    keys = ("title", "description", "requirements", "contact_pref", "hours", "address")
    return "\n".join(str(data.get(k) or "") for k in keys)


def hints(listing: Listing) -> list[str]:
    """What a moderator should look at twice. Hints never reject by themselves."""
    data = {k: getattr(listing, k) for k in listing.fields}
    if listing.pending_edit:
        data.update(_from_json(listing.pending_edit))
    text = _texts(listing, data)
    out: list[str] = []
    found = [w for w in fee_words() if w in text]
    if found:
        out.append(
            str(_l("含收费字样：%(w)s（本平台免费，招工不得收取押金或费用）", w="、".join(found)))
        )
    if PHONE_RE.search(text):
        out.append(str(_l("正文含电话号码（联系应通过平台进行）")))
    if WECHAT_RE.search(text):
        out.append(str(_l("正文含微信号（联系应通过平台进行）")))
    dup = likely_duplicate(listing, data)
    if dup is not None:
        out.append(str(_l("疑似重复：与信息 #%(id)s 地址相同或内容相近", id=dup.id)))
    outlier = price_outlier(listing, _price(data, listing.kind))
    if outlier:
        out.append(outlier)
    return out


def _norm(value: str) -> str:
    return re.sub(r"[\s，,。.、\-]", "", value or "").lower()


def likely_duplicate(listing: Listing, data: dict[str, Any]) -> Listing | None:
    """Another live or pending listing of the same kind with the same address or very
    similar text (the 200 most recent in the community are compared)."""
    others = db.session.scalars(
        select(Listing)
        .where(
            Listing.id != listing.id,
            Listing.kind == listing.kind,
            Listing.community_id == listing.community_id,
            (Listing.live.is_(True)) | (Listing.status == ListingStatus.PENDING),
        )
        .order_by(Listing.id.desc())
        .limit(200)
    )
    addr = _norm(data.get("address") or "")
    body = _norm((data.get("title") or "") + (data.get("description") or ""))
    for other in others:
        if addr and _norm(other.address) == addr:
            return other
        other_body = _norm(other.title + other.description)
        if len(body) >= 10 and difflib.SequenceMatcher(None, body, other_body).ratio() >= 0.9:
            return other
    return None


def price_outlier(listing: Listing, price: int) -> str | None:
    """Rent or pay below a third or above three times the community's median (needs at
    least 5 live listings to compare with)."""
    prices = list(
        db.session.scalars(
            select(Listing.price)
            .where(
                Listing.live.is_(True),
                Listing.kind == listing.kind,
                Listing.community_id == listing.community_id,
                Listing.id != listing.id,
                Listing.price > 0,
            )
            .limit(500)
        )
    )
    if len(prices) < 5 or price <= 0:
        return None
    median = statistics.median(prices)
    if price > 3 * median or price * 3 < median:
        return str(_l("价格 %(p)s 元远离本社区常见水平（中位数 %(m)s 元）", p=price, m=int(median)))
    return None


@register_panel(30)
def moderation_panel(officer: User) -> Panel:
    rows = moderation_queue(officer, limit=5)
    total = db.session.scalar(
        select(func.count())
        .select_from(Listing)
        .where(
            Listing.status == ListingStatus.PENDING,
            *(
                []
                if officer.role == "admin"
                else [Listing.community_id.in_([c.id for c in officer.served_communities])]
            ),
        )
    )
    return Panel(
        key="jobs_housing",
        title=str(_l("待审核的租房招工信息")),
        count=total or 0,
        link=url_for("jobs_housing.moderation"),
        rows=[
            (f"{r.kind.label} · {r.title}", url_for("jobs_housing.review", lid=r.id)) for r in rows
        ],
        empty_text=str(_l("没有待审核的信息。")),
    )


# ---- public search -----------------------------------------------------------------------


def search(
    *,
    kind: str | None = None,
    community_id: int | None = None,
    price_min: int | None = None,
    price_max: int | None = None,
    rooms: int | None = None,
    housing: bool = False,
    q: str | None = None,
    sort: str = "new",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Listing], int]:
    """Live listings matching the filters, newest first or by price."""
    conds: list[Any] = [Listing.live.is_(True)]
    if community_id:
        conds.append(Listing.community_id == community_id)
    # The filters that the keyword index does not hold as facets.
    others: list[Any] = []
    if kind in (Kind.RENTAL.value, Kind.JOB.value):
        others.append(Listing.kind == kind)
    if price_min is not None:
        others.append(Listing.price >= price_min)
    if price_max is not None:
        others.append(Listing.price <= price_max)
    if rooms:
        others.append(Listing.rooms == rooms)
    if housing:
        others.append(Listing.housing_provided.is_(True))
    conds += others
    page_conds = list(conds)
    # Counting stops at MAX_RESULTS: an exact count of 100,000 rows costs a full scan, and
    # nobody pages that far (the page asks to narrow the filters instead).
    if q and fulltext.query_tokens(q):
        # Being live and the community are facets of the index (``search_document``):
        # the index hands over only the live listings (of that community) that match.
        # One look-up fetches their ids (up to MAX_RESULTS + 1: the count) — from the
        # index alone, or, with other filters, joined to the listings under them; the
        # page then takes those ids, or, when there are more, walks the ordered index
        # probing each listing's document until it has its rows.
        found = fulltext.matches(
            SEARCH_KIND,
            q,
            few=MAX_RESULTS,
            facets={"community": community_id or None, "live": 1},
            within=(select(Listing.id).where(*conds), Listing.id) if others else None,
        )
        total = found.found
        page_conds.append(found.where(Listing.id, walk=True))
    else:
        limited = select(Listing.id).where(*conds).limit(MAX_RESULTS + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(limited)) or 0
    order = {
        "price": (Listing.price.asc(), Listing.id.desc()),
        "price_desc": (Listing.price.desc(), Listing.id.desc()),
    }.get(sort, (Listing.published_at.desc(), Listing.id.desc()))
    page = min(page, max(1, -(-MAX_RESULTS // per_page)))
    if total <= (page - 1) * per_page:
        return [], total  # nothing on this page: skip the ordered query
    # Ids first, then the rows: the ordered query reads only indexes (a price range sorts
    # its matches' (id, published_at) from a covering index), and only the page's rows
    # are read from the table.
    ids = list(
        db.session.scalars(
            select(Listing.id)
            .where(*page_conds)
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    if not ids:
        return [], total
    rows = db.session.scalars(
        select(Listing)
        .where(Listing.id.in_(ids))
        .options(
            selectinload(Listing.community),
            selectinload(Listing.photos),
            selectinload(Listing.poster),
        )
    )
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id], total


# ---- reports -----------------------------------------------------------------------------


def report_threshold() -> int:
    """Distinct reporters that hide a live listing; never fewer than 2, so one user
    cannot hide a listing alone whatever the configuration says."""
    configured = current_app.config.get("JOBS_HOUSING_REPORT_THRESHOLD")
    return max(2, int(3 if configured is None else configured))


def report(user: User, listing: Listing, reason: ReportReason, note: str = "") -> ListingReport:
    """One report per user and listing. Reports from several distinct users send a live
    listing back to review and hide it; one user alone cannot."""
    if user.id == listing.poster_id:
        raise DomainError(_("不能举报自己发布的信息。"))
    existing = db.session.scalar(
        select(ListingReport).where(
            ListingReport.listing_id == listing.id, ListingReport.reporter_id == user.id
        )
    )
    if existing is not None:
        raise DomainError(_("您已经举报过这条信息，我们会尽快处理。"), code="duplicate")
    r = ListingReport(listing_id=listing.id, reporter_id=user.id, reason=reason, note=note)
    db.session.add(r)
    db.session.flush()
    audit.record(user, "listing.report", obj=listing, reason=reason.value)
    distinct = db.session.scalar(
        select(func.count(func.distinct(ListingReport.reporter_id))).where(
            ListingReport.listing_id == listing.id, ListingReport.resolved.is_(False)
        )
    )
    if listing.live and (distinct or 0) >= report_threshold():
        listing.live = False
        listing.status = ListingStatus.PENDING
        listing.submitted_at = utcnow()
        db.session.flush()
        audit.record(None, "listing.hidden_by_reports", obj=listing, reporters=distinct)
        _notify_poster(
            listing,
            _l("您的信息被多人举报，已暂停展示"),
            _l("“%(t)s”将由社区民警重新审核。", t=listing.title),
        )
    return r


def _served(officer: User) -> list[Any]:
    if officer.role == "admin":
        return []
    return [Listing.community_id.in_([c.id for c in officer.served_communities])]


def reported_listings(
    officer: User, page: int = 1, per_page: int = 20
) -> tuple[list[tuple[Listing, int, list[tuple[ReportReason, int]], dt.datetime]], int]:
    """Live listings in the officer's communities with unresolved reports, most recently
    reported first: (listing, distinct reporters, [(reason, count)], newest report time),
    and how many such listings there are."""
    conds = [Listing.live.is_(True), ListingReport.resolved.is_(False), *_served(officer)]
    total = (
        db.session.scalar(
            select(func.count(func.distinct(Listing.id)))
            .select_from(Listing)
            .join(ListingReport, ListingReport.listing_id == Listing.id)
            .where(*conds)
        )
        or 0
    )
    newest = func.max(ListingReport.created_at).label("newest")
    reporters = func.count(func.distinct(ListingReport.reporter_id)).label("reporters")
    page_rows = db.session.execute(
        select(Listing.id, reporters, newest)
        .join(ListingReport, ListingReport.listing_id == Listing.id)
        .where(*conds)
        .group_by(Listing.id)
        .order_by(newest.desc(), Listing.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    ids = [r.id for r in page_rows]
    listings = {
        row.id: row
        for row in db.session.scalars(
            select(Listing)
            .where(Listing.id.in_(ids))
            .options(selectinload(Listing.community), selectinload(Listing.poster))
        )
    }
    reasons: dict[int, list[tuple[ReportReason, int]]] = {i: [] for i in ids}
    for lid, reason, n in db.session.execute(
        select(ListingReport.listing_id, ListingReport.reason, func.count())
        .where(ListingReport.listing_id.in_(ids), ListingReport.resolved.is_(False))
        .group_by(ListingReport.listing_id, ListingReport.reason)
        .order_by(ListingReport.listing_id, func.count().desc(), ListingReport.reason)
    ):
        reasons[lid].append((ReportReason(reason), n))
    return [(listings[r.id], r.reporters, reasons[r.id], r.newest) for r in page_rows], total


def _open_reports(listing: Listing) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ListingReport)
            .where(ListingReport.listing_id == listing.id, ListingReport.resolved.is_(False))
        )
        or 0
    )


def dismiss_reports(officer: User, listing: Listing, note: str) -> int:
    """The reports are unfounded: they are marked handled and the listing stays live."""
    if not note.strip():
        raise DomainError(_("请填写理由。"), field="note")
    n = _open_reports(listing)
    if n == 0:
        raise DomainError(_("这条信息没有待处理的举报。"))
    db.session.execute(
        update(ListingReport)
        .where(ListingReport.listing_id == listing.id, ListingReport.resolved.is_(False))
        .values(resolved=True)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    audit.record(
        officer, "listing.reports_dismiss", subject=listing.poster, obj=listing, note=note, n=n
    )
    return n


def suspend_for_review(officer: User, listing: Listing, note: str) -> None:
    """Take a reported live listing off the board and back to review (approve, reject or
    request changes follow on the review page). The reports stay for that review."""
    if not note.strip():
        raise DomainError(_("请填写理由。"), field="note")
    if not listing.live:
        raise DomainError(_("只有正在展示的信息可以下架复审。"))
    listing.live = False
    listing.status = ListingStatus.PENDING
    listing.submitted_at = utcnow()
    listing.moderator_note = note
    db.session.flush()
    audit.record(officer, "listing.suspend", subject=listing.poster, obj=listing, note=note)
    _notify_poster(
        listing,
        _l("您的信息已暂停展示"),
        _l("“%(t)s”因举报暂停展示，社区民警将重新审核：%(n)s", t=listing.title, n=note),
    )


def reports_for(listing: Listing) -> list[ListingReport]:
    return list(
        db.session.scalars(
            select(ListingReport)
            .where(ListingReport.listing_id == listing.id)
            .options(selectinload(ListingReport.reporter))
            .order_by(ListingReport.id)
        )
    )


# ---- applications ------------------------------------------------------------------------


def apply(user: User, listing: Listing, message: str) -> Application:
    if not listing.live:
        raise DomainError(_("该信息目前不可申请。"))
    if user.id == listing.poster_id:
        raise DomainError(_("不能申请自己发布的信息。"))
    if db.session.scalar(
        select(Application).where(
            Application.listing_id == listing.id, Application.seeker_id == user.id
        )
    ):
        raise DomainError(_("您已经申请过了。"), code="duplicate")
    a = Application(listing_id=listing.id, seeker_id=user.id, message=message)
    db.session.add(a)
    db.session.flush()
    audit.record(user, "listing.apply", obj=listing)
    notify(
        listing.poster,
        _l("有人申请了您的信息"),
        _l("“%(t)s”收到一条新申请。", t=listing.title),
        link=f"/board/{listing.id}/applications",
        kind="jobs_housing",
    )
    return a


def applications_for(listing: Listing) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.listing_id == listing.id)
            .options(selectinload(Application.seeker))
            .order_by(Application.id)
        )
    )


def my_applications(user: User) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.seeker_id == user.id)
            .options(selectinload(Application.listing))
            .order_by(Application.id.desc())
        )
    )


def decide_application(poster: User, a: Application, accept: bool) -> None:
    if a.status != ApplicationStatus.PENDING:
        raise DomainError(_("该申请已处理。"))
    a.status = ApplicationStatus.ACCEPTED if accept else ApplicationStatus.DECLINED
    a.decided_at = utcnow()
    db.session.flush()
    audit.record(
        poster,
        "listing.application." + ("accept" if accept else "decline"),
        obj=a.listing,
        subject=a.seeker,
    )
    notify(
        a.seeker,
        _l("您的申请已被接受") if accept else _l("您的申请未被接受"),
        _l("“%(t)s”", t=a.listing.title),
        link="/board/applications",
        kind="jobs_housing",
    )


def consent_to_share(seeker: User, a: Application) -> None:
    """The seeker agrees to exchange phone numbers (only after the poster accepted)."""
    if a.status != ApplicationStatus.ACCEPTED:
        raise DomainError(_("房主或用人单位接受申请后才能交换电话。"))
    a.seeker_consents = True
    db.session.flush()
    audit.record(seeker, "listing.application.consent", obj=a.listing)


def withdraw_application(seeker: User, a: Application) -> None:
    """The seeker takes back an application (pending or accepted) while no agreement is
    signed; the poster is told. An unsigned agreement of it can no longer be signed."""
    if a.seeker_id != seeker.id:
        raise DomainError(_("无权操作。"), code="forbidden")
    if a.status not in (ApplicationStatus.PENDING, ApplicationStatus.ACCEPTED):
        raise DomainError(_("该申请已结束，不能撤回。"))
    signed = db.session.scalar(
        select(Agreement.id).where(
            Agreement.application_id == a.id, Agreement.status == AgreementStatus.SIGNED
        )
    )
    if signed is not None:
        raise DomainError(_("协议已签署，不能撤回申请。"))
    before = a.status
    a.status = ApplicationStatus.WITHDRAWN
    a.seeker_consents = False
    a.decided_at = utcnow()
    db.session.flush()
    audit.record(seeker, "listing.application.withdraw", obj=a.listing, was=before.value)
    notify(
        a.listing.poster,
        _l("申请人撤回了申请"),
        _l("“%(t)s”的一条申请已被申请人撤回。", t=a.listing.title),
        link=f"/board/{a.listing_id}/applications",
        kind="jobs_housing",
    )


def phone_of(user: User) -> str | None:
    v = accounts.latest_identity(user)
    return (v.phone if v and v.is_current and v.phone else None) or user.phone


def shared_phones(viewer: User, a: Application) -> str | None:
    """The other side's phone, only when both conditions hold."""
    if not a.phones_shared or not a.can_be_seen_by(viewer):
        return None
    other = a.seeker if viewer.id == a.listing.poster_id else a.listing.poster
    return phone_of(other)


# ---- expiry -----------------------------------------------------------------------------


@register_job("expire-listings", 3600)
def expire_listings(now: dt.datetime | None = None) -> int:
    """Remind posters 3 days before expiry and expire listings after 30 days.

    Each row is claimed with a conditional UPDATE, so two runs (cron and the worker) never
    remind or expire twice."""
    now = now or utcnow()
    done = 0
    due = db.session.scalars(
        select(Listing.id).where(
            Listing.live.is_(True),
            Listing.reminded_at.is_(None),
            Listing.expires_at <= now + REMIND_BEFORE,
            Listing.expires_at > now,
        )
    ).all()
    for lid in due:
        claimed = db.session.execute(
            update(Listing)
            .where(Listing.id == lid, Listing.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            listing = db.session.get(Listing, lid, populate_existing=True)
            assert listing is not None
            _notify_poster(
                listing,
                _l("您的信息即将到期"),
                _l("“%(t)s”将在 3 天内到期，可在“我的信息”中续期。", t=listing.title),
            )
            db.session.commit()
            done += 1
    expired = db.session.scalars(
        select(Listing.id).where(Listing.live.is_(True), Listing.expires_at <= now)
    ).all()
    for lid in expired:
        # A live listing with an edit under review expires too; the edit is kept and
        # goes to review again on renewal.
        claimed = db.session.execute(
            update(Listing)
            .where(Listing.id == lid, Listing.live.is_(True))
            .values(status=ListingStatus.EXPIRED, live=False)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            listing = db.session.get(Listing, lid, populate_existing=True)
            assert listing is not None
            fulltext.index_many(SEARCH_KIND, [search_document(listing)])  # no longer live
            audit.record(None, "listing.expire", obj=listing)
            _notify_poster(
                listing,
                _l("您的信息已到期"),
                _l("“%(t)s”已到期下线，可在“我的信息”中续期。", t=listing.title),
            )
            db.session.commit()
            done += 1
    return done
