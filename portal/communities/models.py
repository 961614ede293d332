"""Communities (社区) and their officers' public profiles (去向牌)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, LabelledEnum, str_enum, utcnow

if TYPE_CHECKING:
    from portal.accounts.models import User

community_officers = Table(
    "community_officers",
    Base.metadata,
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
    Column("officer_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class OfficerStatus(LabelledEnum):
    """The whereabouts board: where the community officer is right now."""

    IN_OFFICE = "in_office", _l("在警务室")
    PATROL = "patrol", _l("巡逻")
    VISITING = "visiting", _l("走访入户")
    LEAVE = "leave", _l("休假")
    OFF_DUTY = "off_duty", _l("下班")

    @property
    def on_duty(self) -> bool:
        return self in (OfficerStatus.IN_OFFICE, OfficerStatus.PATROL, OfficerStatus.VISITING)


class Community(Base):
    """A residential community served by one or more officers."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    district: Mapped[str] = mapped_column(String(60), default="")
    office_address: Mapped[str] = mapped_column(String(200), default="")
    office_phone: Mapped[str] = mapped_column(String(30), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    officers: Mapped[list[User]] = relationship(
        secondary=community_officers, back_populates="served_communities", order_by="User.id"
    )

    def can_manage(self, user: User) -> bool:
        """Admins manage every community; officers the ones they serve."""
        if not user.is_authenticated:
            return False
        return user.role == "admin" or (user.role == "officer" and self in user.served_communities)


class OfficerProfile(Base):
    """What residents see of an officer: title, photo, whereabouts, hours, contact."""

    __tablename__ = "officer_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(40), default="社区民警")
    photo_filename: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[OfficerStatus] = mapped_column(
        str_enum(OfficerStatus),
        default=OfficerStatus.OFF_DUTY,
    )
    status_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    office_hours: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(back_populates="officer_profile")
