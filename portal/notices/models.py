"""Notices, crime-bulletin figures, subscriptions, lost-and-found items and the contact box."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, LabelledEnum, as_utc, str_enum, utcnow

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.appointments.models import Booking
    from portal.communities.models import Community


class NoticeKind(LabelledEnum):
    """The five kinds of notice the station publishes."""

    TIP = "tip", _l("警方提示")
    BULLETIN = "bulletin", _l("警情公示")
    ANNOUNCEMENT = "announcement", _l("安民告示")
    LEGAL = "legal", _l("法治宣传")
    LOST_FOUND = "lost_found", _l("失物招领")


class NoticeState(LabelledEnum):
    """Where a notice is in its life; computed from its times on every read."""

    DRAFT = "draft", _l("草稿")
    SCHEDULED = "scheduled", _l("定时发布")
    PUBLISHED = "published", _l("已发布")
    EXPIRED = "expired", _l("已过期")
    WITHDRAWN = "withdrawn", _l("已撤回")


notice_communities = Table(
    "notice_communities",
    Base.metadata,
    Column("notice_id", ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class Notice(Base):
    """One notice. Its state is not stored: it follows from ``publish_at`` (none: a draft),
    ``expires_at`` and ``withdrawn_at`` compared with now, so a scheduled notice goes live
    and an old one expires without any job having to run."""

    __tablename__ = "notices"
    # The public list's order (pinned, newest, id) read backwards, stopping at the page;
    # with the state columns the count of public notices never touches the wide rows.
    # The same for one kind (``?kind=``), in place of a plain ``kind`` index: the kind's
    # page is read backwards from its own range, and its count never reads the table rows
    # (``station_wide`` is there for the community filter, which otherwise read every row).
    __table_args__ = (
        Index("ix_notices_listing", "pinned", "publish_at", "id", "withdrawn_at", "expires_at"),
        Index(
            "ix_notices_kind_listing",
            "kind",
            "pinned",
            "publish_at",
            "id",
            "withdrawn_at",
            "expires_at",
            "station_wide",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind))
    title: Mapped[str] = mapped_column(String(120))
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised on save
    body_text: Mapped[str] = mapped_column(Text, default="")  # for search and feeds
    advice: Mapped[str] = mapped_column(Text, default="")  # bulletins: the officer's advice
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    unit: Mapped[str] = mapped_column(String(60), default="")
    show_author: Mapped[bool] = mapped_column(Boolean, default=False)
    station_wide: Mapped[bool] = mapped_column(Boolean, default=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    publish_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once, by whoever first claims the notice for telling its subscribers.
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[dt.date | None] = mapped_column(Date)  # bulletins: the half-month
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    author: Mapped[User | None] = relationship()
    communities: Mapped[list[Community]] = relationship(
        secondary=notice_communities, order_by="Community.id"
    )
    figures: Mapped[list[BulletinFigure]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="BulletinFigure.position"
    )

    def state(self, now: dt.datetime | None = None) -> NoticeState:
        """The notice's state at ``now``."""
        now = now or utcnow()
        if self.withdrawn_at is not None:
            return NoticeState.WITHDRAWN
        publish_at = as_utc(self.publish_at)
        if publish_at is None:
            return NoticeState.DRAFT
        if publish_at > now:
            return NoticeState.SCHEDULED
        expires_at = as_utc(self.expires_at)
        if expires_at is not None and expires_at <= now:
            return NoticeState.EXPIRED
        return NoticeState.PUBLISHED

    @property
    def is_public(self) -> bool:
        """Visible to everyone: published and not expired."""
        return self.state() == NoticeState.PUBLISHED

    def can_edit(self, user: User) -> bool:
        """Admins edit every notice; an officer their own, and those aimed at a community
        they serve."""
        if not user.is_authenticated or not user.is_staff:
            return False
        if user.role == "admin" or self.author_id == user.id:
            return True
        return any(user.serves(c.id) for c in self.communities)

    def can_read(self, user: User) -> bool:
        """Published notices are public; the others only for those who may edit them."""
        return self.is_public or self.can_edit(user)


class BulletinFigure(Base):
    """One offence type's count in a crime bulletin's half-month: data, not only HTML."""

    __tablename__ = "bulletin_figures"
    __table_args__ = (UniqueConstraint("notice_id", "offence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    offence: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(Integer, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)

    notice: Mapped[Notice] = relationship(back_populates="figures")


class NoticeImage(Base):
    """An image an officer uploaded for a notice, re-encoded; served publicly."""

    __tablename__ = "notice_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NoticeSubscription(Base):
    """A resident who wants to hear about new notices for a community."""

    __tablename__ = "notice_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemKind(LabelledEnum):
    """Found (handed in at the station) or lost (reported by a resident)."""

    FOUND = "found", _l("招领")
    LOST = "lost", _l("寻物")


class ItemStatus(LabelledEnum):
    """A lost-and-found item's state."""

    PENDING = "pending", _l("待审核")  # a resident's lost-item report awaiting moderation
    OPEN = "open", _l("登记中")
    REJECTED = "rejected", _l("未通过")
    CLAIMED = "claimed", _l("已认领")  # someone says it is theirs and will come to the office
    RETURNED = "returned", _l("已归还")


class LostItem(Base):
    """An item handed in, or one a resident lost."""

    __tablename__ = "lost_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, 10), index=True)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus), index=True)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(120), default="")  # where found / lost
    happened_on: Mapped[dt.date | None] = mapped_column(Date)
    collect_at: Mapped[str] = mapped_column(String(120), default="")  # where to collect
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    community: Mapped[Community | None] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    claimant: Mapped[User | None] = relationship(foreign_keys=[claimant_id])
    claims: Mapped[list[ItemClaim]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemClaim.id"
    )

    @property
    def is_public(self) -> bool:
        """Shown to everyone: open and claimed items."""
        return self.status in (ItemStatus.OPEN, ItemStatus.CLAIMED)

    @property
    def can_be_claimed(self) -> bool:
        """A found item nobody has collected yet; a claim is a request, not proof."""
        return self.kind == ItemKind.FOUND and self.status in (ItemStatus.OPEN, ItemStatus.CLAIMED)

    def can_be_seen_by(self, user: User) -> bool:
        """Public items for everyone; the others for their reporter and the moderators."""
        if self.is_public:
            return True
        if not user.is_authenticated:
            return False
        return self.reporter_id == user.id or self.can_moderate(user)

    def can_moderate(self, user: User) -> bool:
        """Officers of the item's community (or any, for items with none); admins."""
        if not user.is_authenticated or not user.is_staff:
            return False
        return self.community_id is None or user.serves(self.community_id)


class ClaimStatus(LabelledEnum):
    """A resident's claim on a found item."""

    OPEN = "open", _l("待领取")  # waiting for the claimant's visit
    RETURNED = "returned", _l("已领回")  # the officer handed the item over to this claimant
    REJECTED = "rejected", _l("未认定")  # not the owner, or the item went to someone else


class ItemClaim(Base):
    """A resident says a found item is theirs and books a visit to collect it.

    The claimant describes the item (what only the owner knows) and books an appointment
    with the community officer; the booking, made through the appointments feature, is
    linked here. Several people may claim one item; the officer hands it to one of them."""

    __tablename__ = "lost_item_claims"
    __table_args__ = (UniqueConstraint("item_id", "claimant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("lost_items.id", ondelete="CASCADE"))
    claimant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    proof: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus), default=ClaimStatus.OPEN)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_bookings.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    item: Mapped[LostItem] = relationship(back_populates="claims")
    claimant: Mapped[User] = relationship()
    booking: Mapped[Booking | None] = relationship()

    def can_be_seen_by(self, user: User) -> bool:
        """The claimant, and the officers who handle the item."""
        if not user.is_authenticated:
            return False
        return self.claimant_id == user.id or self.item.can_moderate(user)


class MessageCategory(LabelledEnum):
    """A tip (线索) or a suggestion (建议)."""

    TIP = "tip", _l("线索举报")
    SUGGESTION = "suggestion", _l("意见建议")


class ContactMessage(Base):
    """A message to the contact box (警民联系箱).

    For an anonymous message nothing identifies the sender: no user, no address, no user
    agent — there are no columns for them. The sender holds a tracking code; only its
    SHA-256 is stored."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    category: Mapped[MessageCategory] = mapped_column(str_enum(MessageCategory))
    body: Mapped[str] = mapped_column(Text)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tracking_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )

    community: Mapped[Community] = relationship()
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])

    def can_answer(self, user: User) -> bool:
        """Officers of the message's community, and admins."""
        return user.is_authenticated and user.is_staff and user.serves(self.community_id)

    def can_be_read_by(self, user: User) -> bool:
        """The named sender, or whoever may answer."""
        if not user.is_authenticated:
            return False
        return (self.sender_id is not None and self.sender_id == user.id) or self.can_answer(user)
