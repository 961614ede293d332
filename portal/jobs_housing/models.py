"""Listings (rental and job), their photos, reports and applications."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.db import Base, LabelledEnum, str_enum, utcnow

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.communities.models import Community


class Kind(LabelledEnum):
    RENTAL = "rental", _l("房屋出租")
    JOB = "job", _l("招工")


class ListingStatus(LabelledEnum):
    DRAFT = "draft", _l("草稿")
    PENDING = "pending", _l("待审核")
    CHANGES_REQUESTED = "changes_requested", _l("需修改")
    PUBLISHED = "published", _l("已发布")
    REJECTED = "rejected", _l("未通过")
    EXPIRED = "expired", _l("已过期")
    WITHDRAWN = "withdrawn", _l("已撤回")
    FILLED = "filled", _l("已成交")


class PayPeriod(LabelledEnum):
    HOUR = "hour", _l("每小时")
    DAY = "day", _l("每天")
    MONTH = "month", _l("每月")


class ReportReason(LabelledEnum):
    FRAUD = "fraud", _l("疑似诈骗")
    WRONG = "wrong", _l("信息不实")
    TAKEN = "taken", _l("已租出或已招满")
    FEE = "fee", _l("违规收费")
    OTHER = "other", _l("其他")


class ApplicationStatus(LabelledEnum):
    PENDING = "pending", _l("待回复")
    ACCEPTED = "accepted", _l("已接受")
    DECLINED = "declined", _l("已婉拒")
    WITHDRAWN = "withdrawn", _l("已撤回")


# The fields a poster writes; an edit of a live listing is kept in ``pending_edit`` with
# these keys until an officer approves it.
RENTAL_FIELDS = (
    "title",
    "description",
    "address",
    "rooms",
    "area",
    "rent",
    "deposit_months",
    "furnished",
    "available_from",
    "contact_pref",
)
JOB_FIELDS = (
    "title",
    "description",
    "org_name",
    "pay_min",
    "pay_max",
    "pay_period",
    "headcount",
    "address",
    "hours",
    "housing_provided",
    "requirements",
)


class Listing(Base):
    """A rental or job listing. The columns hold the public version; an edit of a live
    listing waits in ``pending_edit`` so the old version stays visible meanwhile."""

    __tablename__ = "listings"
    __table_args__ = (
        # The public search: newest first or by price, with or without kind / community.
        Index("ix_listings_live_new", "live", "published_at"),
        Index("ix_listings_live_kind_new", "live", "kind", "published_at"),
        Index("ix_listings_live_rooms_price", "live", "kind", "rooms", "price"),
        Index("ix_listings_live_price_all", "live", "price"),  # by price, any kind
        Index("ix_listings_live_community_new", "live", "community_id", "published_at"),
        Index(
            "ix_listings_live_kind_housing_new", "live", "kind", "housing_provided", "published_at"
        ),
        # A price range: ordered by price as it stands, and covering ``published_at`` so
        # "newest first" sorts the matching (id, published_at) pairs from the index alone,
        # never reading the table rows of every match (search selects ids first).
        Index("ix_listings_live_kind_price_new", "live", "kind", "price", "published_at"),
        Index(
            "ix_listings_live_community_price_new", "live", "community_id", "price", "published_at"
        ),
        Index("ix_listings_status_submitted", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(str_enum(Kind, 10))
    poster_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    status: Mapped[ListingStatus] = mapped_column(
        str_enum(ListingStatus), default=ListingStatus.DRAFT
    )
    # True while a published version is shown to the public.
    live: Mapped[bool] = mapped_column(Boolean, default=False)

    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # rentals
    rooms: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[int | None] = mapped_column(Integer)
    rent: Mapped[int | None] = mapped_column(Integer)
    deposit_months: Mapped[int | None] = mapped_column(Integer)
    furnished: Mapped[bool] = mapped_column(Boolean, default=False)
    available_from: Mapped[dt.date | None] = mapped_column(Date)
    contact_pref: Mapped[str] = mapped_column(String(100), default="")
    owner_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    # jobs
    org_name: Mapped[str] = mapped_column(String(100), default="")
    pay_min: Mapped[int | None] = mapped_column(Integer)
    pay_max: Mapped[int | None] = mapped_column(Integer)
    pay_period: Mapped[str | None] = mapped_column(String(10))
    headcount: Mapped[int | None] = mapped_column(Integer)
    hours: Mapped[str] = mapped_column(String(100), default="")
    housing_provided: Mapped[bool] = mapped_column(Boolean, default=False)
    requirements: Mapped[str] = mapped_column(Text, default="")
    # rent, or the lower end of the pay: what filters and "sort by price" use
    price: Mapped[int] = mapped_column(Integer, default=0)

    pending_edit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    moderator_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    poster: Mapped[User] = relationship(foreign_keys=[poster_id])
    community: Mapped[Community] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing", order_by="ListingPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def fields(self) -> tuple[str, ...]:
        return RENTAL_FIELDS if self.kind == Kind.RENTAL else JOB_FIELDS

    def can_edit(self, user: Any) -> bool:
        return user.is_authenticated and user.id == self.poster_id

    def can_view(self, user: Any) -> bool:
        """The public sees live listings; the poster and the community's officers see all."""
        if self.live:
            return True
        return user.is_authenticated and (user.id == self.poster_id or self.can_moderate(user))

    def can_moderate(self, user: Any) -> bool:
        return user.is_authenticated and user.is_staff and user.serves(self.community_id)


class ListingPhoto(Base):
    """A photo, re-encoded on upload; shown publicly once a moderator approved it."""

    __tablename__ = "listing_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(80))
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="photos")


class ListingReport(Base):
    """A logged-in user's report; one per user and listing."""

    __tablename__ = "listing_reports"
    __table_args__ = (UniqueConstraint("listing_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[ReportReason] = mapped_column(str_enum(ReportReason, 10))
    note: Mapped[str] = mapped_column(String(500), default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    reporter: Mapped[User] = relationship()


class Application(Base):
    """A seeker's application to a listing."""

    __tablename__ = "listing_applications"
    __table_args__ = (UniqueConstraint("listing_id", "seeker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    seeker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(String(500))
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus), default=ApplicationStatus.PENDING
    )
    seeker_consents: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship()
    seeker: Mapped[User] = relationship()

    @property
    def phones_shared(self) -> bool:
        """Both sides see each other's phone only after the poster accepted and the seeker
        agreed."""
        return self.status == ApplicationStatus.ACCEPTED and self.seeker_consents

    def can_be_seen_by(self, user: Any) -> bool:
        return user.is_authenticated and user.id in (self.seeker_id, self.listing.poster_id)


class AgreementStatus(LabelledEnum):
    AWAITING = "awaiting", _l("待双方确认")
    SIGNED = "signed", _l("已签署")


class AgreementIsImmutable(Exception):
    """The text of an agreement never changes, and a signed agreement not at all."""


class Agreement(Base):
    """A rental or employment agreement generated from an accepted application. The text
    is fixed when generated (with its SHA-256); each side confirms that exact text."""

    __tablename__ = "listing_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("listing_applications.id"), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    kind: Mapped[Kind] = mapped_column(str_enum(Kind, 10))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # The move-in or work start date chosen when the agreement was drafted (in the text).
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(
        str_enum(AgreementStatus), default=AgreementStatus.AWAITING, index=True
    )
    poster_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seeker_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[Application] = relationship()
    listing: Mapped[Listing] = relationship()

    def party(self, user: Any) -> str | None:
        """'poster', 'seeker' or None."""
        if not user.is_authenticated:
            return None
        if user.id == self.listing.poster_id:
            return "poster"
        if user.id == self.application.seeker_id:
            return "seeker"
        return None

    def can_be_seen_by(self, user: Any) -> bool:
        return self.party(user) is not None or self.listing.can_moderate(user)


@event.listens_for(Session, "before_flush")
def _refuse_agreement_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Agreement):
            continue
        if obj in session.deleted:
            raise AgreementIsImmutable("agreements cannot be deleted")
        state = inspect(obj)
        for name in ("text", "text_sha256", "kind", "application_id", "listing_id", "start_date"):
            if state.attrs[name].history.has_changes():
                raise AgreementIsImmutable(f"agreement {name} cannot change")
        hist = state.attrs["status"].history
        before = (list(hist.deleted) or list(hist.unchanged) or [None])[0]
        if before == AgreementStatus.SIGNED and session.is_modified(obj):
            raise AgreementIsImmutable("a signed agreement cannot change")


class AgreementTemplate(Base):
    """An admin's wording of the rental or employment agreement (``string.Template``)."""

    __tablename__ = "agreement_templates"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
