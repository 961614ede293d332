"""The registration ledger (台帐): rental houses, tenancies, migrant records, their history and
residence permits.

Nothing here is ever deleted. A record moves through statuses and every change leaves a
``LedgerEvent``; ``portal purge-registry`` anonymises closed records after the retention period
(the name, ID number and phone are blanked, the counts stay).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, LabelledEnum, str_enum, utcnow
from portal.security.pii import EncryptedString

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.communities.models import Community


class RecordStatus(LabelledEnum):
    """Of a migrant record. Only CONFIRMED and CLOSED records are in the ledger."""

    PENDING = "pending", _l("待审核")  # submitted by a feed, waiting for an officer
    CONFIRMED = "confirmed", _l("已登记")  # in the ledger, current
    REJECTED = "rejected", _l("已退回")  # refused by an officer (reason kept)
    MERGED = "merged", _l("已合并")  # a pending duplicate folded into ``merged_into``
    CLOSED = "closed", _l("已注销")  # moved out; stays searchable


class Source(LabelledEnum):
    """Where a migrant record came from."""

    RENTAL_AGREEMENT = "rental", _l("租房协议")  # a signed rental agreement on the board
    JOB_AGREEMENT = "job", _l("劳动协议")  # a signed employment agreement on the board
    # an employer's form or CSV/XLSX ("帮民警填张表")
    EMPLOYER_IMPORT = "import", _l("用工单位报送")
    SELF = "self", _l("本人申报")  # the resident's own 暂住登记
    OFFICER = "officer", _l("民警录入")  # entered by an officer


class PermitStatus(LabelledEnum):
    APPLIED = "applied", _l("已申请")
    ACCEPTED = "accepted", _l("已受理")
    MAKING = "making", _l("制证中")
    READY = "ready", _l("待领取")
    COLLECTED = "collected", _l("已领取")
    REFUSED = "refused", _l("不予办理")


class EventKind(LabelledEnum):
    SUBMITTED = "submitted", _l("提交登记")
    CONFIRMED = "confirmed", _l("确认登记")
    CORRECTED = "corrected", _l("更正信息")
    REJECTED = "rejected", _l("退回")
    MERGED = "merged", _l("合并重复登记")
    MOVED_IN = "moved_in", _l("迁入")
    ADDRESS_CHANGED = "address_changed", _l("变更住址")
    JOB_CHANGED = "job_changed", _l("变更工作单位")
    MOVED_OUT = "moved_out", _l("迁出")
    CLOSED = "closed", _l("注销")
    PLEDGE_SIGNED = "pledge_signed", _l("签订治安责任保证书")
    PERMIT = "permit", _l("居住证办理")  # a permit status change; detail["status"]
    ANONYMISED = "anonymised", _l("匿名化")


class RentalHouse(Base):
    """出租房屋: one let dwelling at one address in a community."""

    __tablename__ = "registry_houses"
    __table_args__ = (
        Index("ix_registry_houses_community_address", "community_id", "address_key"),
        Index("ix_registry_houses_landlord", "landlord_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    address: Mapped[str] = mapped_column(String(200))
    # ``normalise_address(address)``: the key used for look-up, duplicates and prefix search.
    address_key: Mapped[str] = mapped_column(String(200))
    landlord_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rooms: Mapped[int | None] = mapped_column(Integer)
    # 治安责任保证书: when the landlord signed it (through a rental agreement, or on paper).
    pledge_signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pledge_agreement_id: Mapped[int | None] = mapped_column(Integer)
    listing_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    community: Mapped[Community] = relationship()
    landlord: Mapped[User | None] = relationship()
    tenancies: Mapped[list[Tenancy]] = relationship(
        back_populates="house", order_by="Tenancy.start_date.desc()"
    )


class Tenancy(Base):
    """One tenant living in one house from ``start_date`` until ``end_date`` (open if None)."""

    __tablename__ = "registry_tenancies"
    __table_args__ = (
        Index("ix_registry_tenancies_house", "house_id", "end_date"),
        Index("ix_registry_tenancies_migrant", "migrant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("registry_houses.id"))
    tenant_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    migrant_id: Mapped[int | None] = mapped_column(ForeignKey("registry_migrants.id"))
    agreement_id: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    house: Mapped[RentalHouse] = relationship(back_populates="tenancies")
    tenant: Mapped[User | None] = relationship()
    migrant: Mapped[MigrantRecord | None] = relationship(back_populates="tenancies")


class MigrantRecord(Base):
    """流动人口: a person whose ID region lies outside the station's region, living in a
    community. One CONFIRMED/CLOSED record per person and community (``id_hash``); a pending
    duplicate is merged into it on confirmation, never doubled."""

    __tablename__ = "registry_migrants"
    __table_args__ = (
        Index("ix_registry_migrants_community_status", "community_id", "status", "since"),
        Index("ix_registry_migrants_id_hash", "id_hash"),
        Index("ix_registry_migrants_name", "community_id", "name"),
        Index("ix_registry_migrants_address", "community_id", "address_key"),
        Index("ix_registry_migrants_user", "user_id"),
        Index("ix_registry_migrants_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    status: Mapped[RecordStatus] = mapped_column(
        str_enum(RecordStatus, 12), default=RecordStatus.PENDING
    )
    source: Mapped[Source] = mapped_column(str_enum(Source, 12))
    # The agreement id, import batch id, … that produced it (with ``source``).
    source_ref: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # their account, if any
    name: Mapped[str] = mapped_column(String(40))  # masked on screen until revealed
    id_number: Mapped[str | None] = mapped_column(EncryptedString())
    id_hash: Mapped[str | None] = mapped_column(String(64))  # pii.id_index
    region: Mapped[str] = mapped_column(String(6))  # first six digits of the ID number
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(200), default="")
    address_key: Mapped[str] = mapped_column(String(200), default="")
    house_id: Mapped[int | None] = mapped_column(ForeignKey("registry_houses.id"))
    workplace: Mapped[str] = mapped_column(String(100), default="")
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    since: Mapped[dt.date] = mapped_column(Date)  # registered residence starts (move-in)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("registry_migrants.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    community: Mapped[Community] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    employer: Mapped[User | None] = relationship(foreign_keys=[employer_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    house: Mapped[RentalHouse | None] = relationship()
    merged_into: Mapped[MigrantRecord | None] = relationship(remote_side=[id])
    tenancies: Mapped[list[Tenancy]] = relationship(back_populates="migrant")


class ImportBatch(Base):
    """One employer submission (form or file): all rows or none."""

    __tablename__ = "registry_import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ResidencePermit(Base):
    """居住证 application of a confirmed migrant record."""

    __tablename__ = "registry_permits"
    __table_args__ = (
        Index("ix_registry_permits_migrant", "migrant_id"),
        Index("ix_registry_permits_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    migrant_id: Mapped[int] = mapped_column(ForeignKey("registry_migrants.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[PermitStatus] = mapped_column(
        str_enum(PermitStatus, 12), default=PermitStatus.APPLIED
    )
    refuse_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    migrant: Mapped[MigrantRecord] = relationship()
    applicant: Mapped[User] = relationship()


class LedgerEvent(Base):
    """One step in the history of a migrant record and/or a house. ``at`` is when it happened
    in the world (a move-in date at midnight Asia/Shanghai, in UTC), ``created_at`` when it
    was written. The monthly figures count these."""

    __tablename__ = "registry_events"
    __table_args__ = (
        Index("ix_registry_events_migrant", "migrant_id", "at"),
        Index("ix_registry_events_house", "house_id", "at"),
        Index("ix_registry_events_community_kind_at", "community_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    migrant_id: Mapped[int | None] = mapped_column(ForeignKey("registry_migrants.id"))
    house_id: Mapped[int | None] = mapped_column(ForeignKey("registry_houses.id"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What changed: {"field": [old, new], "reason": ..., "status": ...}. Never a full ID number.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    actor: Mapped[User | None] = relationship()


def normalise_address(address: str) -> str:
    """The look-up key of an address: no spaces, full-width digits and letters folded to ASCII,
    lower case. ``"天桥路 12号 3单元"`` and ``"天桥路１２号３单元"`` give the same key."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", address)
    return "".join(folded.split()).lower()[:200]
