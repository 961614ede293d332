"""Registry use cases that create and change records: pending records from the feeds,
the officers' review (confirm, merge, correct, reject, reveal), move-out, and the shared
rules (who is a migrant, who may handle a record, how a ledger event is written).

Services flush and never commit; a refused act raises ``DomainError`` so the request
boundary rolls back. Every change writes a ``LedgerEvent`` (never a full ID number in its
detail) and, for acts on someone's data, an audit entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, text

from portal.accounts.models import Role, User
from portal.db import db, utcnow
from portal.errors import DomainError
from portal.notifications.services import notify
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    RentalHouse,
    Source,
    Tenancy,
    normalise_address,
)
from portal.security import audit
from portal.security.idnumbers import IdNumberError, validate_resident_id
from portal.security.pii import id_index, mask_id, mask_name, mask_phone, phone_index
from portal.station.calendar import STATION_TZ

MAX_ID = 2**31 - 1
IN_LEDGER = (RecordStatus.CONFIRMED, RecordStatus.CLOSED)


def get(model: Any, pk: int) -> Any:
    """A row by id; None for ids no column can hold."""
    return db.session.get(model, pk) if 0 < pk <= MAX_ID else None


# ---- shared rules -------------------------------------------------------------------------


def station_region() -> str:
    """The six-digit division code of the station (``STATION_REGION``)."""
    return str(current_app.config.get("STATION_REGION") or "220302")


def is_migrant(id_number: str) -> bool:
    """A person whose ID number was issued outside the station's region. Local people are
    never made migrant records."""
    return id_number.strip().upper()[:6] != station_region()


def local_today() -> dt.date:
    """Today in the station's time zone."""
    return utcnow().astimezone(STATION_TZ).date()


def local_date(at: dt.datetime) -> dt.date:
    """The station-local calendar day of an aware moment."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(STATION_TZ).date()


def midnight_utc(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of ``day``, in UTC: the ``at`` of move-in and move-out events."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=STATION_TZ).astimezone(dt.UTC)


def can_handle(user: Any, community_id: int) -> bool:
    """Officers of the record's community, and admins."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.role in (Role.OFFICER, Role.ADMIN)
        and user.serves(community_id)
    )


def served_community_ids(user: User) -> list[int] | None:
    """The communities an officer serves; None for an admin (all)."""
    if user.role == Role.ADMIN:
        return None
    return [c.id for c in user.served_communities]


def event(
    kind: EventKind,
    community_id: int,
    *,
    migrant: MigrantRecord | None = None,
    house: RentalHouse | None = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
    **detail: Any,
) -> LedgerEvent:
    """Append one step to the history of a record and/or a house."""
    row = LedgerEvent(
        community_id=community_id,
        migrant_id=migrant.id if migrant is not None else None,
        house_id=house.id if house is not None else None,
        kind=kind,
        at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(row)
    return row


def _link_mine() -> str:
    return "/registry"


# ---- pending records ----------------------------------------------------------------------


def submit_pending(
    *,
    community_id: int,
    source: Source,
    source_ref: int | None,
    name: str,
    id_number: str,
    since: dt.date,
    user: User | None = None,
    phone: str | None = None,
    address: str = "",
    house: RentalHouse | None = None,
    workplace: str = "",
    employer: User | None = None,
    actor: User | None = None,
) -> MigrantRecord | None:
    """A pending migrant record for an officer to review; None for a local person (not a
    migrant). The same feed handing the same person twice (source and reference equal) gives
    the one pending record back instead of a second."""
    number = validate_resident_id(id_number)
    if not is_migrant(number):
        return None
    hashed = id_index(number)
    if source_ref is not None:
        existing = db.session.scalar(
            select(MigrantRecord).where(
                MigrantRecord.id_hash == hashed,
                MigrantRecord.status == RecordStatus.PENDING,
                MigrantRecord.source == source,
                MigrantRecord.source_ref == source_ref,
            )
        )
        if existing is not None:
            return existing
    now = utcnow()
    record = MigrantRecord(
        community_id=community_id,
        status=RecordStatus.PENDING,
        source=source,
        source_ref=source_ref,
        user_id=user.id if user is not None else None,
        name=name.strip()[:40],
        id_number=number,
        id_hash=hashed,
        region=number[:6],
        phone=phone or None,
        phone_hash=phone_index(phone) if phone else None,
        address=address.strip()[:200],
        address_key=normalise_address(address),
        house_id=house.id if house is not None else None,
        workplace=workplace.strip()[:100],
        employer_id=employer.id if employer is not None else None,
        since=since,
        created_at=now,
        updated_at=now,
    )
    db.session.add(record)
    db.session.flush()
    event(
        EventKind.SUBMITTED,
        community_id,
        migrant=record,
        house=house,
        actor=actor,
        source=source.value,
    )
    return record


def pending_queue(officer: User, page: int, per_page: int = 20) -> tuple[list[MigrantRecord], int]:
    """Pending records of the officer's communities, oldest first."""
    stmt = select(MigrantRecord).where(MigrantRecord.status == RecordStatus.PENDING)
    ids = served_community_ids(officer)
    if ids is not None:
        stmt = stmt.where(MigrantRecord.community_id.in_(ids))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(MigrantRecord.created_at, MigrantRecord.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def next_pending(officer: User, after: MigrantRecord) -> MigrantRecord | None:
    """The oldest pending record of the officer's communities other than ``after``: where a
    review goes on once one record is confirmed or rejected."""
    stmt = select(MigrantRecord).where(
        MigrantRecord.status == RecordStatus.PENDING, MigrantRecord.id != after.id
    )
    ids = served_community_ids(officer)
    if ids is not None:
        stmt = stmt.where(MigrantRecord.community_id.in_(ids))
    return db.session.scalar(stmt.order_by(MigrantRecord.created_at, MigrantRecord.id).limit(1))


def age_days(record: MigrantRecord) -> int:
    """Whole days a record has waited."""
    created = record.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return max(0, (utcnow() - created).days)


def ledger_record_of(record: MigrantRecord) -> MigrantRecord | None:
    """The person's record already in the station's ledger (confirmed or closed), if any."""
    if not record.id_hash:
        return None
    return db.session.scalar(
        select(MigrantRecord)
        .where(
            MigrantRecord.id_hash == record.id_hash,
            MigrantRecord.status.in_(IN_LEDGER),
            MigrantRecord.id != record.id,
        )
        .order_by(MigrantRecord.id)
        .limit(1)
    )


def _require_pending(record: MigrantRecord) -> None:
    if record.status != RecordStatus.PENDING:
        raise DomainError(_("该记录已处理。"), code="not_pending")


def _tell(record: MigrantRecord, title: Any, body: Any) -> None:
    """Notify the person (their account) or, for an employer's submission, the employer."""
    who = record.user or (record.employer if record.source == Source.EMPLOYER_IMPORT else None)
    if who is not None:
        notify(who, title, body, link=_link_mine() if record.user else "/registry/employer")


def lock_person(id_hash: str | None) -> None:
    """Serialise decisions about one person until the transaction ends, so two officers
    confirming two pending records of the same person at once cannot both create a ledger
    record. PostgreSQL: a transaction-level advisory lock keyed on the blind index; SQLite
    runs one write transaction at a time already (``BEGIN IMMEDIATE``)."""
    if not id_hash or db.session.get_bind().dialect.name != "postgresql":
        return
    key = int(id_hash[:15], 16)  # 60 bits: fits a signed bigint
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def confirm(officer: User, record: MigrantRecord) -> MigrantRecord:
    """Enter a pending record into the ledger, or merge it into the person's existing ledger
    record (never two ledger records for one person). Returns the ledger record."""
    if not can_handle(officer, record.community_id):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    lock_person(record.id_hash)
    # Read the status again under the lock: another request may have decided meanwhile.
    db.session.refresh(record)
    _require_pending(record)
    survivor = ledger_record_of(record)
    now = utcnow()
    record.reviewed_by_id, record.reviewed_at, record.updated_at = officer.id, now, now
    if survivor is None:
        record.status = RecordStatus.CONFIRMED
        event(EventKind.CONFIRMED, record.community_id, migrant=record, actor=officer)
        event(
            EventKind.MOVED_IN,
            record.community_id,
            migrant=record,
            house=record.house,
            actor=officer,
            at=midnight_utc(record.since),
            address=record.address or None,
        )
        db.session.flush()
        audit.record(officer, "registry.confirm", subject=record.user, obj=record)
        target = record
    else:
        target = merge(officer, record, survivor)
    _tell(
        record,
        _l("暂住登记已确认"),
        _l("%(name)s的居住登记已由社区民警确认。", name=mask_name(record.name)),
    )
    return target


def merge(officer: User, pending: MigrantRecord, survivor: MigrantRecord) -> MigrantRecord:
    """Fold a pending duplicate into the person's ledger record.

    The survivor takes the newer facts: address and house (ADDRESS_CHANGED), workplace and
    employer (JOB_CHANGED), community (the person moved), a phone and account it lacked. A
    closed survivor is re-opened with a new residence period starting at the pending
    record's ``since`` (CONFIRMED and MOVED_IN, as for a new record); an open one keeps its
    ``since``, since the registered residence in the station goes on."""
    now = utcnow()
    pending.status = RecordStatus.MERGED
    pending.merged_into_id = survivor.id
    reopened = survivor.status == RecordStatus.CLOSED
    old_community = survivor.community_id
    # The record follows the person to the community they now live in (a workplace alone
    # elsewhere does not move it); a re-opened record is registered where it was confirmed.
    if (pending.address or reopened) and old_community != pending.community_id:
        survivor.community_id = pending.community_id
    event(EventKind.MERGED, pending.community_id, migrant=pending, actor=officer, into=survivor.id)
    event(
        EventKind.MERGED, survivor.community_id, migrant=survivor, actor=officer, source=pending.id
    )
    if reopened and not pending.address:
        # Its last address is where the person no longer lives.
        survivor.address, survivor.address_key, survivor.house_id = "", "", None
    if pending.address and (pending.address_key != survivor.address_key or reopened):
        if pending.address_key != survivor.address_key:
            event(
                EventKind.ADDRESS_CHANGED,
                survivor.community_id,
                migrant=survivor,
                house=pending.house,
                actor=officer,
                address=[survivor.address, pending.address],
                community=[old_community, survivor.community_id]
                if old_community != survivor.community_id
                else None,
            )
        survivor.address, survivor.address_key = pending.address, pending.address_key
        survivor.house_id = pending.house_id
    elif pending.house_id and pending.house_id != survivor.house_id:
        survivor.house_id = pending.house_id
    if pending.workplace and pending.workplace != survivor.workplace:
        event(
            EventKind.JOB_CHANGED,
            survivor.community_id,
            migrant=survivor,
            actor=officer,
            workplace=[survivor.workplace, pending.workplace],
        )
        survivor.workplace = pending.workplace
        survivor.employer_id = pending.employer_id
    if pending.phone:
        survivor.phone, survivor.phone_hash = pending.phone, pending.phone_hash
    if survivor.user_id is None and pending.user_id is not None:
        survivor.user_id = pending.user_id
    if reopened:
        survivor.status = RecordStatus.CONFIRMED
        survivor.closed_at = None
        survivor.since = pending.since
        event(
            EventKind.CONFIRMED,
            survivor.community_id,
            migrant=survivor,
            actor=officer,
            reopened=True,
        )
        event(
            EventKind.MOVED_IN,
            survivor.community_id,
            migrant=survivor,
            house=pending.house,
            actor=officer,
            at=midnight_utc(pending.since),
            address=survivor.address or None,
        )
    for tenancy in db.session.scalars(select(Tenancy).where(Tenancy.migrant_id == pending.id)):
        tenancy.migrant_id = survivor.id
    survivor.updated_at = now
    db.session.flush()
    audit.record(
        officer,
        "registry.merge",
        subject=pending.user or survivor.user,
        obj=survivor,
        merged=pending.id,
        reopened=reopened or None,
    )
    return survivor


def reject(officer: User, record: MigrantRecord, reason: str) -> None:
    """Refuse a pending record with a reason the person (or the employer) is told."""
    if not can_handle(officer, record.community_id):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    lock_person(record.id_hash)
    db.session.refresh(record)
    _require_pending(record)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写退回理由。"), field="reason", code="invalid")
    now = utcnow()
    record.status = RecordStatus.REJECTED
    record.reject_reason = reason[:500]
    record.reviewed_by_id, record.reviewed_at, record.updated_at = officer.id, now, now
    event(EventKind.REJECTED, record.community_id, migrant=record, actor=officer, reason=reason)
    db.session.flush()
    audit.record(officer, "registry.reject", subject=record.user, obj=record, reason=reason)
    _tell(
        record,
        _l("暂住登记被退回"),
        _l("%(name)s的居住登记被退回：%(reason)s", name=mask_name(record.name), reason=reason),
    )


CORRECTABLE = ("name", "id_number", "phone", "address", "workplace", "since")
_MASKS = {"name": mask_name, "id_number": mask_id, "phone": mask_phone}


def correct(officer: User, record: MigrantRecord, changes: dict[str, Any]) -> dict[str, Any]:
    """Fix what a feed or a person got wrong. One CORRECTED event lists every field's old and
    new value (names, ID numbers and phones masked). Returns that detail; empty when
    nothing changed."""
    if record.status not in (RecordStatus.PENDING, RecordStatus.CONFIRMED, RecordStatus.CLOSED):
        raise DomainError(_("该记录不能更正。"), code="not_correctable")
    if not can_handle(officer, record.community_id):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    detail: dict[str, Any] = {}
    for name in CORRECTABLE:
        if name not in changes or changes[name] is None:
            continue
        new = changes[name]
        if isinstance(new, str):
            new = new.strip()
        old = getattr(record, name)
        if name == "id_number":
            try:
                new = validate_resident_id(new)
            except IdNumberError as err:
                raise DomainError(str(err.message), field="id_number", code="invalid") from None
            if not is_migrant(new):
                raise DomainError(
                    _("该身份证号属于本辖区户籍，不作流动人口登记。"),
                    field="id_number",
                    code="local",
                )
        if name == "phone" and new == "":
            new = None
        unchanged = old == new if name == "since" else (old or None) == (new or None)
        if unchanged:
            continue
        mask = _MASKS.get(name)
        if mask is not None:
            detail[name] = [mask(old), mask(new)]
        elif name == "since":
            detail[name] = [old.isoformat(), new.isoformat()]
        else:
            detail[name] = [old, new]
        setattr(record, name, new)
        if name == "id_number":
            record.id_hash = id_index(new)
            record.region = new[:6]
        elif name == "phone":
            record.phone_hash = phone_index(new) if new else None
        elif name == "address":
            record.address_key = normalise_address(new)
    if not detail:
        return detail
    record.updated_at = utcnow()
    event(EventKind.CORRECTED, record.community_id, migrant=record, actor=officer, **detail)
    db.session.flush()
    audit.record(
        officer, "registry.correct", subject=record.user, obj=record, fields=sorted(detail)
    )
    return detail


def reveal(officer: User, record: MigrantRecord, field: str) -> str:
    """Show one plain value on purpose; the act is written to the audit log."""
    if field not in ("name", "id_number", "phone"):
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    if not can_handle(officer, record.community_id):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    value = getattr(record, field)
    if not value:
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    audit.record(officer, f"pii.reveal.{field}", subject=record.user, obj=record)
    return value


# ---- residents ----------------------------------------------------------------------------


def records_of(user: User) -> list[MigrantRecord]:
    """A resident's own records — made with their account or carrying their verified ID
    number (e.g. from their employer) — newest first; merged ones left out."""
    return list(
        db.session.scalars(
            select(MigrantRecord)
            .where(known_person_filter(user), MigrantRecord.status != RecordStatus.MERGED)
            .order_by(MigrantRecord.id.desc())
        )
    )


def register_residence(
    user: User,
    *,
    community_id: int,
    address: str,
    since: dt.date,
    workplace: str = "",
    house: RentalHouse | None = None,
) -> MigrantRecord:
    """The resident's own 暂住登记 with their verified name and ID number; pending."""
    from portal.accounts import services as accounts

    v = accounts.latest_identity(user)
    if v is None or not v.is_current:
        raise DomainError(_("请先完成实名认证再办理暂住登记。"), code="not_verified")
    if not is_migrant(v.id_number):
        raise DomainError(_("您的户籍在本辖区，无需办理暂住登记。"), code="local")
    waiting = db.session.scalar(
        select(MigrantRecord.id).where(
            MigrantRecord.id_hash == id_index(v.id_number),
            MigrantRecord.status == RecordStatus.PENDING,
            MigrantRecord.source == Source.SELF,
        )
    )
    if waiting is not None:
        raise DomainError(_("您已有一条待审核的登记，请等待民警审核。"), code="duplicate")
    if since > local_today():
        raise DomainError(_("居住起始日期不能晚于今天。"), field="since", code="invalid")
    if house is not None and house.community_id != community_id:
        raise DomainError(_("所选房屋不在该社区。"), field="house_id", code="invalid")
    record = submit_pending(
        community_id=community_id,
        source=Source.SELF,
        source_ref=None,
        user=user,
        name=v.real_name,
        id_number=v.id_number,
        phone=v.phone,
        address=address,
        house=house,
        workplace=workplace,
        since=since,
        actor=user,
    )
    assert record is not None  # a migrant, checked above
    audit.record(user, "registry.self_register", obj=record)
    return record


def houses_of_tenant(user: User) -> list[RentalHouse]:
    """Houses the resident rents (open tenancies), for the 'house if known' choice."""
    return list(
        db.session.scalars(
            select(RentalHouse)
            .join(Tenancy, Tenancy.house_id == RentalHouse.id)
            .where(Tenancy.tenant_user_id == user.id, Tenancy.end_date.is_(None))
            .distinct()
            .order_by(RentalHouse.id)
        )
    )


def tenancies_of(user: User) -> list[Tenancy]:
    """The resident's tenancies, as tenant, newest first."""
    return list(
        db.session.scalars(
            select(Tenancy)
            .where(Tenancy.tenant_user_id == user.id)
            .order_by(Tenancy.start_date.desc(), Tenancy.id.desc())
        )
    )


def houses_of_landlord(user: User) -> list[RentalHouse]:
    """The landlord's rental houses."""
    return list(
        db.session.scalars(
            select(RentalHouse).where(RentalHouse.landlord_id == user.id).order_by(RentalHouse.id)
        )
    )


# ---- houses, tenancies and move-out -------------------------------------------------------


def house_for(
    community_id: int, address: str, *, listing_id: int | None = None
) -> RentalHouse | None:
    """The rental-house record of a listing, else of the address in the community."""
    if listing_id is not None:
        found = db.session.scalar(
            select(RentalHouse).where(RentalHouse.listing_id == listing_id).limit(1)
        )
        if found is not None:
            return found
    return db.session.scalar(
        select(RentalHouse)
        .where(
            RentalHouse.community_id == community_id,
            RentalHouse.address_key == normalise_address(address),
        )
        .order_by(RentalHouse.id)
        .limit(1)
    )


def sign_pledge(
    house: RentalHouse,
    at: dt.datetime,
    *,
    actor: User | None = None,
    agreement_id: int | None = None,
) -> bool:
    """Record the landlord's 治安责任保证书 unless already signed; True if newly signed."""
    if house.pledge_signed_at is not None:
        return False
    house.pledge_signed_at = at
    house.pledge_agreement_id = agreement_id
    event(
        EventKind.PLEDGE_SIGNED,
        house.community_id,
        house=house,
        actor=actor,
        at=at,
        agreement=agreement_id,
        on_paper=True if agreement_id is None else None,
    )
    return True


def record_paper_pledge(officer: User, house: RentalHouse) -> None:
    """An officer records a pledge the landlord signed on paper at the office."""
    if not can_handle(officer, house.community_id):
        raise DomainError(_("您不负责该社区。"), code="forbidden")
    if not sign_pledge(house, utcnow(), actor=officer):
        raise DomainError(_("该房屋已签订治安责任保证书。"), code="already")
    db.session.flush()
    audit.record(officer, "registry.pledge", obj=house)


def can_end_tenancy(user: Any, tenancy: Tenancy) -> bool:
    """The tenant, the landlord, and officers of the house's community."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.id in (tenancy.tenant_user_id, tenancy.house.landlord_id):
        return True
    return can_handle(user, tenancy.house.community_id)


def open_tenancies(migrant_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Tenancy)
            .where(Tenancy.migrant_id == migrant_id, Tenancy.end_date.is_(None))
        )
        or 0
    )


def end_tenancy(actor: User, tenancy: Tenancy, end: dt.date | None = None) -> None:
    """Move-out: the tenancy ends; a ledger record living there loses the address (MOVED_OUT
    at the end date) and, when nothing else holds it (no open tenancy, no workplace), is
    closed (CLOSED) — keeping its last address so the closed record stays searchable."""
    if not can_end_tenancy(actor, tenancy):
        raise DomainError(_("您无权结束该租住关系。"), code="forbidden")
    if tenancy.end_date is not None:
        raise DomainError(_("该租住关系已结束。"), code="already")
    end = end or local_today()
    if end < tenancy.start_date:
        raise DomainError(_("结束日期不能早于起租日期。"), field="end_date", code="invalid")
    if end > local_today():
        raise DomainError(_("结束日期不能晚于今天。"), field="end_date", code="invalid")
    tenancy.end_date = end
    house = tenancy.house
    record = tenancy.migrant
    db.session.flush()
    audit.record(
        actor,
        "registry.tenancy_end",
        subject=tenancy.tenant,
        obj=tenancy,
        end=end.isoformat(),
    )
    if record is None or record.status != RecordStatus.CONFIRMED:
        return  # pending records are not in the ledger: no ledger events
    event(
        EventKind.MOVED_OUT,
        record.community_id,
        migrant=record,
        house=house,
        actor=actor,
        at=midnight_utc(end),
        address=record.address or house.address,
    )
    if record.house_id == house.id:
        record.house_id = None
    record.updated_at = utcnow()
    if open_tenancies(record.id) == 0 and not record.workplace:
        record.status = RecordStatus.CLOSED
        record.closed_at = utcnow()
        event(EventKind.CLOSED, record.community_id, migrant=record, actor=actor)
        audit.record(actor, "registry.close", subject=record.user, obj=record)
    else:
        record.address, record.address_key = "", ""
    db.session.flush()
    if record.user is not None and record.user_id != actor.id:
        notify(
            record.user,
            _l("已登记迁出"),
            _l("您在%(addr)s的租住已结束，居住登记已更新。", addr=house.address),
            link=_link_mine(),
        )


def house_tenancies(house: RentalHouse) -> list[Tenancy]:
    return list(
        db.session.scalars(
            select(Tenancy)
            .where(Tenancy.house_id == house.id)
            .order_by(Tenancy.end_date.is_not(None), Tenancy.start_date.desc())
        )
    )


def duplicates_pending(record: MigrantRecord) -> int:
    """Other pending records of the same person (they merge when confirmed)."""
    if not record.id_hash:
        return 0
    return (
        db.session.scalar(
            select(func.count())
            .select_from(MigrantRecord)
            .where(
                MigrantRecord.id_hash == record.id_hash,
                MigrantRecord.status == RecordStatus.PENDING,
                MigrantRecord.id != record.id,
            )
        )
        or 0
    )


def pending_count(officer: User) -> int:
    stmt = (
        select(func.count())
        .select_from(MigrantRecord)
        .where(MigrantRecord.status == RecordStatus.PENDING)
    )
    ids = served_community_ids(officer)
    if ids is not None:
        stmt = stmt.where(MigrantRecord.community_id.in_(ids))
    return db.session.scalar(stmt) or 0


def known_person_filter(user: User) -> Any:
    """Records that belong to a user: their account, or their verified ID number."""
    from portal.accounts import services as accounts

    v = accounts.latest_identity(user)
    conds = [MigrantRecord.user_id == user.id]
    if v is not None and v.is_current:
        conds.append(MigrantRecord.id_hash == id_index(v.id_number))
    return or_(*conds)
