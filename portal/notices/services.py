"""Notice use cases: write, schedule, publish, withdraw, list and search; crime-bulletin
arithmetic; subscriptions and telling subscribers exactly once; Atom feeds; lost and
found; the contact box."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from portal import search as fulltext
from portal.db import as_utc, db, utcnow
from portal.errors import DomainError
from portal.jobs import register_job
from portal.notices.models import (
    BulletinFigure,
    ClaimStatus,
    ContactMessage,
    ItemClaim,
    ItemKind,
    ItemStatus,
    LostItem,
    MessageCategory,
    Notice,
    NoticeImage,
    NoticeKind,
    NoticeSubscription,
    notice_communities,
)
from portal.notices.sanitize import clean_html, plain_text
from portal.security import audit

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.communities.models import Community

DEFAULT_OFFENCES = ("盗窃", "诈骗", "抢劫", "入室盗窃", "电动车被盗")
REPLY_WORKING_DAYS = 3


def offences() -> list[str]:
    """The offence types a crime bulletin counts: the app setting ``NOTICE_OFFENCES``, else
    the environment variable ``PORTAL_NOTICE_OFFENCES`` (comma-separated), else the default."""
    configured = current_app.config.get("NOTICE_OFFENCES")
    if not configured:
        raw = os.environ.get("PORTAL_NOTICE_OFFENCES", "")
        configured = [name.strip()[:30] for name in raw.split(",") if name.strip()]
    return list(configured or DEFAULT_OFFENCES)


# --- keyword index -----------------------------------------------------------------

SEARCH_KIND = "notice"
# A search counts no further than this (+1): a word in every notice costs PostgreSQL
# about 21 ms to count exactly at 5,000 notices, 8 ms capped (bench/README.md).
MAX_RESULTS = 1000
# Up to this many matches are bound as ids; more are matched with a subquery. Binding 700
# ids cost PostgreSQL about 4 ms per statement in bench/notices_list.py, the subquery 1 ms.
FEW_MATCHES = 100


def _search_text(title: str, body_text: str) -> str:
    return f"{title}\n{body_text}"


@fulltext.register_source(SEARCH_KIND)
def _all_notice_texts() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Notice.id, Notice.title, Notice.body_text).where(Notice.withdrawn_at.is_(None))
    )
    return [(r.id, _search_text(r.title, r.body_text)) for r in rows]


def _reindex(notice: Notice) -> None:
    """Keep the keyword index in step with a notice: its title and the plain text of its
    body (never the HTML). Drafts and scheduled notices are indexed too, so they are found
    the moment they go live without a job; a withdrawn notice is taken out."""
    if notice.withdrawn_at is None:
        fulltext.index(SEARCH_KIND, notice.id, _search_text(notice.title, notice.body_text))
    else:
        fulltext.remove(SEARCH_KIND, notice.id)


# --- writing notices ---------------------------------------------------------------


def _communities(ids: list[int]) -> list[Community]:
    from portal.communities.models import Community

    if not ids:
        return []
    return list(db.session.scalars(select(Community).where(Community.id.in_(ids))))


def _check_targets(officer: User, station_wide: bool, communities: list[Community]) -> None:
    if not station_wide and not communities:
        raise DomainError(_("请选择面向全站还是指定社区。"), field="community_ids")
    for c in communities:
        if not officer.serves(c.id):
            raise DomainError(_("只能面向您负责的社区发布。"), field="community_ids")


def _unit_of(officer: User) -> str:
    served = officer.served_communities
    return _("%(name)s警务室", name=served[0].name) if served else _("派出所")


def save_notice(
    officer: User,
    notice: Notice | None,
    *,
    kind: NoticeKind,
    title: str,
    body_html: str,
    station_wide: bool,
    community_ids: list[int],
    pinned: bool = False,
    show_author: bool = False,
    publish_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    advice: str = "",
    period_start: dt.date | None = None,
    figures: dict[str, int] | None = None,
) -> Notice:
    """Create or change a notice. The HTML is sanitised here, once, before it is stored.

    ``publish_at`` None keeps it a draft; a time in the future schedules it."""
    communities = [] if station_wide else _communities(community_ids)
    _check_targets(officer, station_wide, communities)
    if expires_at is not None and publish_at is not None and expires_at <= publish_at:
        raise DomainError(_("过期时间必须晚于发布时间。"), field="expires_at")
    if kind == NoticeKind.BULLETIN and period_start is None:
        raise DomainError(_("警情公示需要填写统计时段。"), field="period_start")
    created = notice is None
    if notice is None:
        notice = Notice(author_id=officer.id, unit=_unit_of(officer))
        db.session.add(notice)
    notice.kind = kind
    notice.title = title.strip()
    notice.body_html = clean_html(body_html)
    notice.body_text = plain_text(notice.body_html)
    notice.advice = advice.strip()
    notice.station_wide = station_wide
    notice.communities = communities
    notice.pinned = pinned
    notice.show_author = show_author
    notice.expires_at = expires_at
    notice.period_start = half_month_start(period_start) if period_start else None
    if notice.withdrawn_at is None:
        notice.publish_at = publish_at
    if kind == NoticeKind.BULLETIN and figures is not None:
        set_figures(notice, figures)
    db.session.flush()
    _reindex(notice)
    audit.record(officer, "notice.create" if created else "notice.update", obj=notice)
    announce_if_live(notice)
    return notice


def publish_now(officer: User, notice: Notice) -> None:
    """Publish a draft or scheduled notice at once (a withdrawn one comes back)."""
    notice.withdrawn_at = None
    notice.publish_at = utcnow()
    db.session.flush()
    _reindex(notice)
    audit.record(officer, "notice.publish", obj=notice)
    announce_if_live(notice)


def withdraw(officer: User, notice: Notice) -> None:
    """Take a notice down; it stays in the back office."""
    if notice.withdrawn_at is None:
        notice.withdrawn_at = utcnow()
        db.session.flush()
        _reindex(notice)
        audit.record(officer, "notice.withdraw", obj=notice)


def store_notice_image(officer: User, upload: Any) -> NoticeImage:
    """Check an uploaded image by its bytes and re-encode it (no EXIF, at most 1600 px)."""
    from portal.security.uploads import UploadError, store_image

    try:
        name = store_image(upload, "notice_images", max_side=1600)
    except UploadError as exc:
        raise DomainError(str(exc), field="image") from None
    image = NoticeImage(filename=name, uploaded_by_id=officer.id)
    db.session.add(image)
    db.session.flush()
    return image


# --- reading notices ---------------------------------------------------------------


def _public(now: dt.datetime) -> Any:
    return and_(
        Notice.withdrawn_at.is_(None),
        Notice.publish_at.is_not(None),
        Notice.publish_at <= now,
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    )


def _aimed_at(community_id: int) -> Any:
    return or_(
        Notice.station_wide.is_(True),
        exists().where(
            notice_communities.c.notice_id == Notice.id,
            notice_communities.c.community_id == community_id,
        ),
    )


def public_notices(
    *,
    kind: NoticeKind | None = None,
    community_id: int | None = None,
    q: str = "",
    page: int = 1,
    per_page: int = 10,
) -> tuple[list[Notice], int]:
    """Published notices, pinned first then newest; filtered, and searched through the
    keyword index (``portal/search.py``) over the title and the body's plain text. A query
    with no letters or digits finds nothing. With a query the count stops at
    ``MAX_RESULTS`` + 1; callers show "more than 1,000" (``capped``)."""
    now = utcnow()
    where = [_public(now)]
    if kind is not None:
        where.append(Notice.kind == kind)
    if community_id is not None:
        where.append(_aimed_at(community_id))
    count_where, page_where = list(where), list(where)
    q = q.strip()[:50]
    if q:
        found = fulltext.matches(SEARCH_KIND, q, few=FEW_MATCHES)
        # As on the board: a narrowed count walks its own index probing the matches; over
        # every notice the matches are looked up by id. A page walks the ordered index.
        narrow = kind is not None or community_id is not None
        count_where.append(found.where(Notice.id, walk=narrow))
        page_where.append(found.where(Notice.id, walk=True))
        limited = select(Notice.id).where(*count_where).limit(MAX_RESULTS + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(limited)) or 0
    else:
        total = db.session.scalar(select(func.count(Notice.id)).where(*count_where)) or 0
    if total <= (page - 1) * per_page:
        return [], total  # nothing on this page: skip the ordered query
    rows = db.session.scalars(
        select(Notice)
        .where(*page_where)
        .options(selectinload(Notice.communities))
        .order_by(Notice.pinned.desc(), Notice.publish_at.desc(), Notice.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def related(notice: Notice, limit: int = 4) -> list[Notice]:
    """Other published notices of the same kind, newest first."""
    rows = db.session.scalars(
        select(Notice)
        .where(_public(utcnow()), Notice.kind == notice.kind, Notice.id != notice.id)
        .order_by(Notice.publish_at.desc())
        .limit(limit)
    ).all()
    return list(rows)


def staff_notices(officer: User, page: int, per_page: int = 20) -> tuple[list[Notice], int]:
    """Every notice an officer may edit (admins: all), newest first."""
    stmt = select(Notice)
    if officer.role != "admin":
        served = [c.id for c in officer.served_communities]
        stmt = stmt.where(
            or_(
                Notice.author_id == officer.id,
                exists().where(
                    notice_communities.c.notice_id == Notice.id,
                    notice_communities.c.community_id.in_(served or [-1]),
                ),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.options(selectinload(Notice.communities))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


# --- crime bulletins ---------------------------------------------------------------


def half_month_start(day: dt.date) -> dt.date:
    """The first day of the half-month ``day`` falls in (the 1st or the 16th)."""
    return day.replace(day=1 if day.day <= 15 else 16)


def half_month_end(start: dt.date) -> dt.date:
    """The last day of the half-month starting on ``start``."""
    if start.day == 1:
        return start.replace(day=15)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def previous_half_month(start: dt.date) -> dt.date:
    """The start of the half-month before the one starting on ``start``."""
    if start.day == 16:
        return start.replace(day=1)
    return (start - dt.timedelta(days=1)).replace(day=16)


def set_figures(notice: Notice, counts: dict[str, int]) -> None:
    """Store a bulletin's counts, one row per offence type, in the configured order."""
    order = {name: i for i, name in enumerate(offences())}
    existing = {f.offence: f for f in notice.figures}
    for name, count in counts.items():
        if count < 0:
            raise DomainError(_("数量不能为负数。"), field="figures")
        fig = existing.get(name)
        if fig is None:
            fig = BulletinFigure(offence=name)
            notice.figures.append(fig)
        fig.count = int(count)
        fig.position = order.get(name, len(order))


@dataclass
class BulletinRow:
    """One offence type: this period, the previous one, and the change."""

    offence: str
    count: int
    previous: int | None
    change_pct: float | None  # None when there is nothing to compare with

    @property
    def change_label(self) -> str:
        if self.change_pct is None:
            return "—"
        return f"{self.change_pct:+.1f}%"


def change_pct(current: int, previous: int | None) -> float | None:
    """The change in per cent from ``previous`` to ``current``; None when undefined."""
    if previous is None or previous == 0:
        return None
    return round((current - previous) * 100 / previous, 1)


def previous_bulletin(notice: Notice) -> Notice | None:
    """The published bulletin for the half-month before this one."""
    if notice.period_start is None:
        return None
    return db.session.scalar(
        select(Notice)
        .where(
            Notice.kind == NoticeKind.BULLETIN,
            Notice.period_start == previous_half_month(notice.period_start),
            Notice.id != notice.id,
            Notice.withdrawn_at.is_(None),
            Notice.publish_at.is_not(None),
        )
        .options(selectinload(Notice.figures))
        .order_by(Notice.publish_at.desc())
        .limit(1)
    )


def bulletin_rows(notice: Notice, previous: Notice | None) -> list[BulletinRow]:
    """The table and chart of a bulletin against the previous period."""
    before = {f.offence: f.count for f in previous.figures} if previous else {}
    rows = []
    for f in notice.figures:
        prev = before.get(f.offence) if previous else None
        rows.append(BulletinRow(f.offence, f.count, prev, change_pct(f.count, prev)))
    return rows


def bulletin_total(rows: list[BulletinRow]) -> BulletinRow:
    """The sum over every offence type."""
    count = sum(r.count for r in rows)
    prevs = [r.previous for r in rows if r.previous is not None]
    previous = sum(prevs) if prevs else None
    return BulletinRow(_("合计"), count, previous, change_pct(count, previous))


@dataclass
class Bar:
    """One bar of the SVG chart."""

    x: float
    y: float
    width: float
    height: float
    value: int
    current: bool


def chart(rows: list[BulletinRow], width: int = 320, bar_area: int = 140) -> dict[str, Any]:
    """Geometry of a grouped bar chart (this period against the previous), drawn by the
    template as SVG: no script, no inline style."""
    top = max([r.count for r in rows] + [r.previous or 0 for r in rows] + [1])
    group = width / max(len(rows), 1)
    bar_w = max(group / 3, 4)
    bars, labels = [], []
    for i, r in enumerate(rows):
        x0 = i * group + group / 6
        for j, (value, current) in enumerate(((r.previous, False), (r.count, True))):
            if value is None:
                continue
            h = round(value * bar_area / top, 1)
            bars.append(
                Bar(
                    round(x0 + j * bar_w, 1),
                    20 + bar_area - h,
                    round(bar_w - 2, 1),
                    h,
                    value,
                    current,
                )
            )
        labels.append((round(i * group + group / 2, 1), r.offence))
    return {
        "width": width,
        "height": bar_area + 44,
        "bars": bars,
        "labels": labels,
        "base": 20 + bar_area,
    }


# --- subscriptions -----------------------------------------------------------------


def is_subscribed(user: User, community_id: int) -> bool:
    """True if the user hears about new notices for the community."""
    return bool(
        db.session.scalar(
            select(NoticeSubscription.id).where(
                NoticeSubscription.user_id == user.id,
                NoticeSubscription.community_id == community_id,
            )
        )
    )


def subscribe(user: User) -> NoticeSubscription:
    """Subscribe a resident to their own community's notices (idempotent)."""
    if user.community_id is None:
        raise DomainError(_("请先在账户中选择所在社区。"))
    sub = db.session.scalar(
        select(NoticeSubscription).where(
            NoticeSubscription.user_id == user.id,
            NoticeSubscription.community_id == user.community_id,
        )
    )
    if sub is None:
        sub = NoticeSubscription(user_id=user.id, community_id=user.community_id)
        db.session.add(sub)
        db.session.flush()
    return sub


def unsubscribe(user: User) -> None:
    """Stop hearing about new notices."""
    for sub in db.session.scalars(
        select(NoticeSubscription).where(NoticeSubscription.user_id == user.id)
    ):
        db.session.delete(sub)
    db.session.flush()


def _claim_announcement(notice_id: int, now: dt.datetime) -> bool:
    # Of two workers (or a request and a worker) racing, exactly one wins the notice.
    result = db.session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            Notice.notified_at.is_(None),
            _public(now),
        )
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _tell_subscribers(notice: Notice) -> int:
    from portal.accounts.models import User
    from portal.notifications.services import notify

    stmt = select(User).join(NoticeSubscription, NoticeSubscription.user_id == User.id)
    if not notice.station_wide:
        stmt = stmt.where(
            NoticeSubscription.community_id.in_([c.id for c in notice.communities] or [-1])
        )
    users = db.session.scalars(stmt.distinct()).all()
    link = f"/notices/{notice.id}"  # built by hand: the worker has no request
    for user in users:
        notify(
            user,
            _l("新%(kind)s：%(title)s", kind=notice.kind.label, title=notice.title),
            notice.body_text[:200],
            link=link,
            kind="notice",
        )
    return len(users)


def announce_if_live(notice: Notice) -> int:
    """Tell the subscribers about a notice that is live now, once in its life."""
    if notice.is_public and _claim_announcement(notice.id, utcnow()):
        db.session.refresh(notice)
        return _tell_subscribers(notice)
    return 0


@register_job("announce-notices", 60)
def announce_due() -> int:
    """The job: scheduled notices whose time has come are announced, each exactly once."""
    now = utcnow()
    ids = db.session.scalars(
        select(Notice.id).where(Notice.notified_at.is_(None), _public(now)).limit(100)
    ).all()
    told = 0
    for notice_id in ids:
        if _claim_announcement(notice_id, now):
            notice = db.session.get(Notice, notice_id)
            assert notice is not None
            told += _tell_subscribers(notice)
            db.session.commit()
    return told


# --- Atom --------------------------------------------------------------------------

ATOM = "http://www.w3.org/2005/Atom"


def _iso(value: dt.datetime | None) -> str:
    return as_utc(value or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    notices: list[Notice], *, title: str, self_url: str, alternate_url: str, base: str
) -> bytes:
    """An Atom 1.0 document of the given notices."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", base + self_url)
    sub(feed, "title", title)
    sub(
        feed,
        "updated",
        _iso(max((n.publish_at for n in notices), default=None, key=lambda d: _iso(d))),
    )
    sub(feed, "link", rel="self", href=base + self_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=base + alternate_url, type="text/html")
    author = sub(feed, "author")
    sub(author, "name", _("网上警务室"))
    for n in notices:
        entry = sub(feed, "entry")
        link = base + url_for("notices.show", notice_id=n.id)
        sub(entry, "id", link)
        sub(entry, "title", n.title)
        sub(
            entry,
            "updated",
            _iso(
                n.updated_at
                if n.updated_at and n.publish_at and n.updated_at > n.publish_at
                else n.publish_at
            ),
        )
        sub(entry, "published", _iso(n.publish_at))
        sub(entry, "link", rel="alternate", href=link, type="text/html")
        sub(entry, "category", term=n.kind.value, label=n.kind.label)
        sub(entry, "summary", n.body_text[:300])
        sub(entry, "content", n.body_html, type="html")
        a = sub(entry, "author")
        sub(a, "name", n.unit or _("网上警务室"))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


# --- lost and found ----------------------------------------------------------------


def register_found(
    officer: User,
    *,
    title: str,
    description: str,
    place: str,
    happened_on: dt.date | None,
    collect_at: str,
    community_id: int | None,
) -> LostItem:
    """An item handed in at the station: listed at once."""
    if community_id is not None and not officer.serves(community_id):
        raise DomainError(_("只能登记您负责的社区。"), field="community_id")
    item = LostItem(
        kind=ItemKind.FOUND,
        status=ItemStatus.OPEN,
        title=title.strip(),
        description=description.strip(),
        place=place.strip(),
        happened_on=happened_on,
        collect_at=collect_at.strip(),
        community_id=community_id,
        reporter_id=officer.id,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(officer, "lost_found.found", obj=item)
    return item


def report_lost(
    resident: User, *, title: str, description: str, place: str, happened_on: dt.date | None
) -> LostItem:
    """A resident's lost item: shown once an officer approves it."""
    item = LostItem(
        kind=ItemKind.LOST,
        status=ItemStatus.PENDING,
        title=title.strip(),
        description=description.strip(),
        place=place.strip(),
        happened_on=happened_on,
        community_id=resident.community_id,
        reporter_id=resident.id,
    )
    db.session.add(item)
    db.session.flush()
    return item


MODERATION_ACTIONS = ("approve", "reject", "claimed", "returned")


def moderate_item(
    officer: User,
    item: LostItem,
    action: str,
    reason: str = "",
    claim: ItemClaim | None = None,
) -> None:
    """An officer's decision on an item: approve or reject (with a reason) a resident's
    lost-item report; mark a found item claimed (the owner came in person) or returned —
    to one claimant when ``claim`` is given, whose rivals' claims are then closed."""
    from portal.notifications.services import notify

    reason = reason.strip()[:200]
    if action == "approve" and item.status == ItemStatus.PENDING:
        item.status = ItemStatus.OPEN
    elif action == "reject" and item.status == ItemStatus.PENDING:
        if not reason:
            raise DomainError(_("请填写不通过的理由。"), field="reason")
        item.status = ItemStatus.REJECTED
        item.reason = reason
    elif action == "claimed" and item.kind == ItemKind.FOUND and item.status == ItemStatus.OPEN:
        item.status = ItemStatus.CLAIMED
    elif action == "returned" and item.status in (ItemStatus.OPEN, ItemStatus.CLAIMED):
        if claim is not None and (claim.item_id != item.id or claim.status != ClaimStatus.OPEN):
            raise DomainError(_("该认领已处理。"))
        item.status = ItemStatus.RETURNED
        if claim is not None:
            _close_claim(officer, claim, ClaimStatus.RETURNED)
            item.claimant_id = claim.claimant_id
        for other in item.claims:
            if other.status == ClaimStatus.OPEN:
                _close_claim(officer, other, ClaimStatus.REJECTED, _("物品已归还失主。"))
    else:
        raise DomainError(_("该物品当前状态下不能这样处理。"))
    db.session.flush()
    audit.record(officer, f"lost_found.{action}", obj=item)
    if item.reporter is not None and item.kind == ItemKind.LOST and action in ("approve", "reject"):
        notify(
            item.reporter,
            _l("您的寻物登记已审核：%(status)s", status=item.status.label),
            item.reason or "",
            link=url_for("notices.my_items"),
            kind="lost_found",
        )


# --- claiming a found item by booking a visit ------------------------------------------

DEFAULT_CLAIM_SERVICE = "失物认领"


def claim_service_name() -> str:
    """``LOST_FOUND_CLAIM_SERVICE`` (``PORTAL_LOST_FOUND_CLAIM_SERVICE``), default 失物认领."""
    return current_app.config.get("LOST_FOUND_CLAIM_SERVICE") or DEFAULT_CLAIM_SERVICE


def claim_service() -> Any:
    """The appointment service a claimant books to collect an item: the active service
    named by ``claim_service_name()``, listed or not (the seed makes it unlisted, so it is
    booked from a claim only); None when there is none."""
    from portal.appointments.services import active_services

    name = claim_service_name()
    return next((s for s in active_services() if s.name == name), None)


def claim_providers(resident: User, item: LostItem, service: Any) -> list[User]:
    """Whom the claimant may book: of the officers the appointments feature offers this
    resident, those serving the item's community come first."""
    from portal.appointments.services import providers_for

    providers = providers_for(service, resident)
    if item.community_id is None:
        return providers
    here = [p for p in providers if p.serves(item.community_id)]
    return here + [p for p in providers if p not in here]


def claim_item(resident: User, item: LostItem, proof: str) -> ItemClaim:
    """Say a found item is yours, describing what only its owner knows; the officers are
    told. The claimant then books a visit (``book_claim_visit``) to collect it."""
    from portal.notifications.services import notify

    if not item.can_be_claimed:
        raise DomainError(_("该物品不能认领。"))
    if resident.is_staff:
        raise DomainError(_("民警账户不能认领物品。"))
    existing = db.session.scalar(
        select(ItemClaim).where(ItemClaim.item_id == item.id, ItemClaim.claimant_id == resident.id)
    )
    if existing is not None:
        raise DomainError(_("您已认领过该物品。"), code="conflict")
    claim = ItemClaim(item=item, claimant_id=resident.id, proof=proof.strip()[:1000])
    db.session.add(claim)
    item.status = ItemStatus.CLAIMED
    db.session.flush()
    audit.record(resident, "lost_found.claim", obj=item)
    officers = item.community.officers if item.community else []
    for officer in officers:
        notify(
            officer,
            _l("失物被认领：%(title)s", title=item.title),
            _l("认领人将预约到警务室核对领取。"),
            link=url_for("notices.item", item_id=item.id),
            kind="lost_found",
        )
    return claim


def claim_note(claim: ItemClaim) -> str:
    """The booking note that tells the officer which item the visit is about."""
    return _("失物认领：%(title)s（招领编号 %(id)s）", title=claim.item.title, id=claim.item_id)


def book_claim_visit(
    resident: User, claim: ItemClaim, provider: User, starts_at: dt.datetime
) -> Any:
    """Book the visit to collect a claimed item through the appointments feature (its
    free-slot and double-booking rules apply); the booking is linked to the claim."""
    from portal.appointments.models import OPEN_STATUSES
    from portal.appointments.services import book

    if claim.claimant_id != resident.id or claim.status != ClaimStatus.OPEN:
        raise DomainError(_("该认领已处理。"))
    if claim.booking is not None and claim.booking.status in OPEN_STATUSES:
        raise DomainError(_("您已预约了领取时间。"), code="conflict")
    service = claim_service()
    if service is None:
        raise DomainError(_("暂未开通认领预约，请按领取地点前往警务室。"))
    if provider.id not in {p.id for p in claim_providers(resident, claim.item, service)}:
        raise DomainError(_("该服务不可预约。"), field="provider_id")
    booking = book(resident, service, provider, starts_at, note=claim_note(claim))
    claim.booking_id = booking.id
    claim.booking = booking
    db.session.flush()
    return booking


def _close_claim(officer: User, claim: ItemClaim, status: ClaimStatus, reason: str = "") -> None:
    from portal.appointments.models import OPEN_STATUSES
    from portal.appointments.services import cancel
    from portal.notifications.services import notify

    claim.status = status
    claim.reason = reason.strip()[:200] or None
    claim.decided_at = utcnow()
    if status == ClaimStatus.REJECTED:
        booking = claim.booking
        if booking is not None and booking.status in OPEN_STATUSES:
            cancel(booking, officer, reason or _("认领未被认定。"))
        notify(
            claim.claimant,
            _l("您对“%(title)s”的认领未被认定", title=claim.item.title),
            claim.reason or "",
            link=url_for("notices.claim_page", claim_id=claim.id),
            kind="lost_found",
        )


def reject_claim(officer: User, claim: ItemClaim, reason: str) -> None:
    """Not the owner: the claim is closed with a reason, its open visit cancelled, and the
    item is open again when nobody else claims it."""
    if not reason.strip():
        raise DomainError(_("请填写原因。"), field="reason")
    if claim.status != ClaimStatus.OPEN:
        raise DomainError(_("该认领已处理。"))
    _close_claim(officer, claim, ClaimStatus.REJECTED, reason)
    item = claim.item
    if item.status == ItemStatus.CLAIMED and not any(
        c.status == ClaimStatus.OPEN for c in item.claims
    ):
        item.status = ItemStatus.OPEN
    db.session.flush()
    audit.record(officer, "lost_found.claim_rejected", obj=item)


def reported_by(resident: User) -> list[LostItem]:
    """A resident's own lost-item reports in every state, newest first."""
    return list(
        db.session.scalars(
            select(LostItem)
            .where(LostItem.reporter_id == resident.id, LostItem.kind == ItemKind.LOST)
            .order_by(LostItem.created_at.desc(), LostItem.id.desc())
            .limit(50)
        )
    )


def claims_of(resident: User) -> list[ItemClaim]:
    """A resident's own claims, newest first."""
    return list(
        db.session.scalars(
            select(ItemClaim)
            .where(ItemClaim.claimant_id == resident.id)
            .options(selectinload(ItemClaim.item), selectinload(ItemClaim.booking))
            .order_by(ItemClaim.id.desc())
            .limit(50)
        )
    )


def public_items(page: int, per_page: int = 20) -> tuple[list[LostItem], int]:
    """Items shown publicly: open and claimed ones, newest first."""
    where = LostItem.status.in_([ItemStatus.OPEN, ItemStatus.CLAIMED])
    total = db.session.scalar(select(func.count(LostItem.id)).where(where)) or 0
    rows = db.session.scalars(
        select(LostItem)
        .where(where)
        .options(selectinload(LostItem.community))
        .order_by(LostItem.created_at.desc(), LostItem.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def _handled_by(officer: User) -> list[Any]:
    if officer.role == "admin":
        return []
    served = [c.id for c in officer.served_communities]
    return [or_(LostItem.community_id.is_(None), LostItem.community_id.in_(served or [-1]))]


def lost_found_counts(officer: User) -> tuple[int, int]:
    """How many reports wait for moderation and how many items wait to be collected."""
    rows = db.session.execute(
        select(LostItem.status, func.count(LostItem.id))
        .where(LostItem.status.in_([ItemStatus.PENDING, ItemStatus.CLAIMED]), *_handled_by(officer))
        .group_by(LostItem.status)
    ).all()
    counts = {ItemStatus(s): n for s, n in rows}
    return counts.get(ItemStatus.PENDING, 0), counts.get(ItemStatus.CLAIMED, 0)


def lost_found_queue(officer: User, limit: int = 5) -> list[LostItem]:
    """The few items most in need of the officer: reports to moderate, then claimed items."""
    return list(
        db.session.scalars(
            select(LostItem)
            .where(
                LostItem.status.in_([ItemStatus.PENDING, ItemStatus.CLAIMED]),
                *_handled_by(officer),
            )
            # "pending" sorts after "claimed": descending puts reports to moderate first.
            .order_by(LostItem.status.desc(), LostItem.created_at.desc(), LostItem.id.desc())
            .limit(limit)
        )
    )


def staff_items(officer: User, page: int = 1, per_page: int = 20) -> tuple[list[LostItem], int]:
    """Items an officer handles: reports awaiting moderation first, then claimed items
    (someone is coming), then open ones; newest first within each."""
    where = [
        LostItem.status.in_([ItemStatus.PENDING, ItemStatus.OPEN, ItemStatus.CLAIMED]),
        *_handled_by(officer),
    ]
    total = db.session.scalar(select(func.count(LostItem.id)).where(*where)) or 0
    urgency = case(
        (LostItem.status == ItemStatus.PENDING, 0),
        (LostItem.status == ItemStatus.CLAIMED, 1),
        else_=2,
    )
    rows = db.session.scalars(
        select(LostItem)
        .where(*where)
        .options(
            selectinload(LostItem.community),
            selectinload(LostItem.claims).selectinload(ItemClaim.claimant),
            selectinload(LostItem.claims).selectinload(ItemClaim.booking),
        )
        .order_by(urgency, LostItem.created_at.desc(), LostItem.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


# --- contact box -------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_tracking_code() -> str:
    """A code an anonymous sender keeps to read the reply: 16 characters, no look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def send_message(
    sender: User | None,
    *,
    community_id: int,
    category: MessageCategory,
    body: str,
    anonymous: bool,
) -> tuple[ContactMessage, str | None]:
    """Put a message in the contact box. An anonymous one stores no user, no address and
    no audit entry; the sender gets a tracking code (returned once, stored hashed)."""
    from portal.communities.models import Community

    if db.session.get(Community, community_id) is None:
        raise DomainError(_("请选择社区。"), field="community_id")
    anonymous = anonymous or sender is None or not sender.is_authenticated
    msg = ContactMessage(
        community_id=community_id,
        category=category,
        body=body.strip(),
        sender_id=None if anonymous else sender.id,  # type: ignore[union-attr]
    )
    code = None
    if anonymous:
        code = new_tracking_code()
        msg.tracking_hash = _code_hash(code)
        # Only the hour: an exact time could be matched with a login session's last-seen
        # time. The 3-working-day reply rule does not need more.
        msg.created_at = utcnow().replace(minute=0, second=0, microsecond=0)
    db.session.add(msg)
    db.session.flush()
    return msg, code


def message_by_code(code: str) -> ContactMessage | None:
    """The anonymous message a tracking code belongs to."""
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return db.session.scalar(
        select(ContactMessage).where(ContactMessage.tracking_hash == _code_hash(code))
    )


def reply(officer: User, msg: ContactMessage, text: str) -> None:
    """Answer a message (回告); a named sender is notified."""
    from portal.notifications.services import notify

    msg.reply = text.strip()
    msg.replied_at = utcnow()
    msg.replied_by_id = officer.id
    db.session.flush()
    audit.record(officer, "contact.reply", obj=msg)
    if msg.sender is not None:
        notify(
            msg.sender,
            _l("警民联系箱已回复您的留言"),
            msg.reply[:200],
            link=url_for("notices.my_messages"),
            kind="contact",
        )


def _messages_stmt(officer: User, waiting_only: bool) -> Any:
    stmt = select(ContactMessage)
    if officer.role != "admin":
        stmt = stmt.where(
            ContactMessage.community_id.in_([c.id for c in officer.served_communities] or [-1])
        )
    if waiting_only:
        stmt = stmt.where(ContactMessage.replied_at.is_(None))
    return stmt


def messages_for(
    officer: User, waiting_only: bool = False, limit: int = 100, offset: int = 0
) -> list[ContactMessage]:
    """Messages to the communities an officer serves (admins: all), oldest waiting first."""
    return list(
        db.session.scalars(
            _messages_stmt(officer, waiting_only)
            .options(selectinload(ContactMessage.community))
            .order_by(
                ContactMessage.replied_at.is_not(None),
                ContactMessage.created_at,
                ContactMessage.id,
            )
            .limit(limit)
            .offset(offset)
        )
    )


def message_page(
    officer: User, page: int, waiting_only: bool = False, per_page: int = 20
) -> tuple[list[ContactMessage], int]:
    """One page of ``messages_for`` and the total."""
    stmt = _messages_stmt(officer, waiting_only)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return messages_for(officer, waiting_only, per_page, (page - 1) * per_page), total


def reply_due(msg: ContactMessage) -> dt.datetime:
    """When the reply is due: the end of the 3rd working day after the message came."""
    from portal.station.calendar import get_calendar

    created = as_utc(msg.created_at)
    return get_calendar().add_working_days(created, REPLY_WORKING_DAYS)


def overdue(messages: list[ContactMessage], now: dt.datetime | None = None) -> list[ContactMessage]:
    """Unanswered messages waiting longer than 3 working days."""
    now = now or utcnow()
    return [m for m in messages if m.replied_at is None and reply_due(m) < now]


def sent_by(user: User) -> list[ContactMessage]:
    """A named sender's own messages, newest first."""
    return list(
        db.session.scalars(
            select(ContactMessage)
            .where(ContactMessage.sender_id == user.id)
            .order_by(ContactMessage.created_at.desc())
            .limit(50)
        )
    )
