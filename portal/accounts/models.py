"""Users, server-side sessions, password resets and identity verification (实名认证)."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.communities.models import Community, OfficerProfile, community_officers
from portal.db import Base, LabelledEnum, as_utc, str_enum, utcnow
from portal.security.pii import EncryptedString


class Role(LabelledEnum):
    """What a user is to the portal."""

    RESIDENT = "resident", _l("居民")
    OFFICER = "officer", _l("社区民警")
    LAWYER = "lawyer", _l("志愿律师")
    ADMIN = "admin", _l("管理员")


class User(UserMixin, Base):
    """An account. Phone is personal data: encrypted, with a keyed hash for look-up."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.RESIDENT, index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    community: Mapped[Community | None] = relationship(foreign_keys=[community_id])
    served_communities: Mapped[list[Community]] = relationship(
        secondary=community_officers, back_populates="officers", order_by="Community.id"
    )
    officer_profile: Mapped[OfficerProfile | None] = relationship(
        back_populates="user", uselist=False
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.OFFICER, Role.ADMIN)

    @property
    def login_name(self) -> str:
        """What the user types to log in (e-mail, else the masked phone)."""
        from portal.security.pii import mask_phone

        return self.email or mask_phone(self.phone)

    def serves(self, community_id: int | None) -> bool:
        """True if this officer serves the community (admins serve all)."""
        if self.role == Role.ADMIN:
            return True
        return self.role == Role.OFFICER and any(
            c.id == community_id for c in self.served_communities
        )

    def can_review_verifications_of(self, resident: User) -> bool:
        """Officers review residents of their communities (or with none); admins all."""
        if self.role == Role.ADMIN:
            return True
        if self.role != Role.OFFICER:
            return False
        return resident.community_id is None or self.serves(resident.community_id)

    def can_reveal_pii_of(self, person: User) -> bool:
        """Same reach as reviewing: an officer of the person's community, or an admin."""
        return self.can_review_verifications_of(person)


class UserSession(Base):
    """A login session kept on the server so logout and idle expiry end it for real."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class PasswordResetToken(Base):
    """A one-time link; only its hash is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class VerificationStatus(LabelledEnum):
    """Where a verification stands."""

    PENDING = "pending", _l("待审核")
    APPROVED = "approved", _l("已认证")
    REJECTED = "rejected", _l("未通过")
    REVOKED = "revoked", _l("已撤销")
    EXPIRED = "expired", _l("已过期")


class _Decision:
    """Fields and rules shared by identity and organisation verifications."""

    status: VerificationStatus
    expires_at: dt.datetime | None

    @property
    def is_current(self) -> bool:
        """Approved and not yet expired."""
        if self.status != VerificationStatus.APPROVED:
            return False
        return self.expires_at is None or as_utc(self.expires_at) > utcnow()

    def can_be_decided(self) -> bool:
        return self.status == VerificationStatus.PENDING

    def can_be_revoked(self) -> bool:
        return self.status == VerificationStatus.APPROVED


class IdentityVerification(_Decision, Base):
    """A resident's claim to a real name and ID number, decided by an officer.

    At most one approved verification per ID number, enforced by a partial unique index.
    """

    __tablename__ = "identity_verifications"
    __table_args__ = (
        Index(
            "uq_identity_verifications_approved_id",
            "id_number_hash",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
        Index("ix_identity_verifications_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    real_name: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str] = mapped_column(EncryptedString())
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    # None for a walk-in resident registered at the office without a phone.
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    photo_filename: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus), default=VerificationStatus.PENDING
    )
    conflict_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    conflict_user: Mapped[User | None] = relationship(foreign_keys=[conflict_user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class OrganisationVerification(_Decision, Base):
    """An employer's organisation: name and unified social credit code (GB 32100)."""

    __tablename__ = "organisation_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus), default=VerificationStatus.PENDING, index=True
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
