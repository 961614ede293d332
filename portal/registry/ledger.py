"""The officers' ledger (台帐): who may see which record, the search filters, the searches
and the history of one migrant or one house.

Officers see the records of the communities they serve, admins every record. Names, ID
numbers and phones are masked on screen; revealing one is an audited act (``reveal``).
Closed records stay searchable (status filter 已注销).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Index, Select, and_, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from portal.accounts.models import Role
from portal.communities.models import Community
from portal.db import db
from portal.errors import DomainError
from portal.registry.models import (
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
    Tenancy,
    normalise_address,
)
from portal.security import audit

if TYPE_CHECKING:
    from portal.accounts.models import User

# Indexes of the ledger's searches, declared here beside the queries they serve and created
# by the ledger's own migration (5b2e0c7d9a41). The station-wide ledger (admins) reads
# confirmed records newest first from the first. The prefix searches need a
# ``varchar_pattern_ops`` index on PostgreSQL: its ``LIKE 'p%'`` uses a plain b-tree only
# under the "C" collation (not "C.UTF-8", nor a linguistic one). On SQLite, where the
# option does not exist, they are plain indexes and serve the range form of the search.
Index("ix_registry_migrants_status_since", MigrantRecord.status, MigrantRecord.since)
_PATTERN = "varchar_pattern_ops"
Index(
    "ix_registry_migrants_address_prefix",
    MigrantRecord.community_id,
    MigrantRecord.address_key,
    postgresql_ops={"address_key": _PATTERN},
)
Index(
    "ix_registry_migrants_name_prefix",
    MigrantRecord.community_id,
    MigrantRecord.name,
    postgresql_ops={"name": _PATTERN},
)
Index(
    "ix_registry_houses_address_prefix",
    RentalHouse.community_id,
    RentalHouse.address_key,
    postgresql_ops={"address_key": _PATTERN},
)

LOCAL = ZoneInfo("Asia/Shanghai")
PER_PAGE = 20
# Counting stops here: a page says "1,000+" instead of counting a whole community.
MAX_COUNT = 1000
# The statuses an officer can filter on; "" is every status.
LEDGER_STATUSES = [
    RecordStatus.CONFIRMED,
    RecordStatus.CLOSED,
    RecordStatus.PENDING,
    RecordStatus.REJECTED,
    RecordStatus.MERGED,
]
REVEALABLE = ("name", "id_number", "phone")


# --- who may see what -------------------------------------------------------------------


def can_view_ledger(user: User) -> bool:
    """Officers and admins keep the ledger; residents never see it."""
    return user.is_authenticated and user.role in (Role.OFFICER, Role.ADMIN)


def can_view_community(user: User, community_id: int | None) -> bool:
    """An officer of the community, or an admin."""
    return can_view_ledger(user) and user.serves(community_id)


def can_view_migrant(user: User, record: MigrantRecord) -> bool:
    """Only officers of the record's community (and admins) see a migrant record."""
    return can_view_community(user, record.community_id)


def can_view_house(user: User, house: RentalHouse) -> bool:
    """Only officers of the house's community (and admins) see a house record."""
    return can_view_community(user, house.community_id)


def can_reveal(user: User, record: MigrantRecord) -> bool:
    """Revealing a plain name, ID number or phone: the same reach as seeing the record."""
    return can_view_migrant(user, record) and record.anonymised_at is None


def visible_communities(user: User) -> list[Community]:
    """The communities whose ledger the user may search (admins: every community)."""
    if user.role == Role.ADMIN:
        return list(db.session.scalars(select(Community).order_by(Community.id)))
    if user.role == Role.OFFICER:
        return list(user.served_communities)
    return []


# --- filters ------------------------------------------------------------------------------


def _date_arg(args: Any, name: str, errors: list[str]) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        errors.append(_("日期格式应为 年-月-日（如 2026-01-31）。"))
        return None


def _text_arg(args: Any, name: str, limit: int) -> str:
    return (args.get(name) or "").replace("\x00", "").strip()[:limit]


@dataclass
class LedgerFilter:
    """What an officer asked for. ``community_ids`` is already cut down to what they may see."""

    community_ids: list[int]
    community: int | None = None
    address: str = ""
    name: str = ""
    status: str = RecordStatus.CONFIRMED.value
    date_field: str = "since"  # since | created
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Any, user: User) -> LedgerFilter:
        """Read the query string. A community the user does not serve is refused
        (``DomainError`` code ``forbidden``); other bad input is reported in ``errors`` and
        that filter is left out."""
        errors: list[str] = []
        allowed = [c.id for c in visible_communities(user)]
        community = None
        raw_c = (args.get("community") or "").strip()
        if raw_c:
            try:
                community = int(raw_c)
            except ValueError:
                errors.append(_("社区选择有误。"))
            else:
                if community not in allowed:
                    raise DomainError(_("您不负责该社区。"), code="forbidden")
        status = (args.get("status") if "status" in args else RecordStatus.CONFIRMED.value) or ""
        if status and status not in {s.value for s in LEDGER_STATUSES}:
            errors.append(_("状态选择有误。"))
            status = RecordStatus.CONFIRMED.value
        date_field = args.get("date_field") or "since"
        if date_field not in ("since", "created"):
            date_field = "since"
        f = cls(
            community_ids=[community] if community is not None else allowed,
            community=community,
            address=_text_arg(args, "address", 100),
            name=_text_arg(args, "name", 40),
            status=status,
            date_field=date_field,
            date_from=_date_arg(args, "date_from", errors),
            date_to=_date_arg(args, "date_to", errors),
        )
        if f.date_from and f.date_to and f.date_from > f.date_to:
            errors.append(_("开始日期不能晚于结束日期。"))
            f.date_from = f.date_to = None
        f.errors = errors
        return f

    def as_dict(self) -> dict[str, Any]:
        """The filter as written to the audit log of an export (no personal data but the
        name searched for, which the officer typed)."""
        return {
            "community": self.community,
            "communities": self.community_ids,
            "address": self.address or None,
            "name": self.name or None,
            "status": self.status or "all",
            "date_field": self.date_field,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments (links to exports and the API)."""
        out = {
            "community": str(self.community or ""),
            "address": self.address,
            "name": self.name,
            "status": self.status,
            "date_field": self.date_field,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in out.items() if v or k == "status"}


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL).astimezone(dt.UTC)


def prefix_match(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, written so that an index on the column serves it:
    ``LIKE 'p%'`` on PostgreSQL (the ``varchar_pattern_ops`` indexes above), a range
    ``>= p AND < p+1`` on SQLite (binary order: exact), whose ``LIKE`` ignores indexes."""
    if db.engine.dialect.name == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(column >= prefix, column < upper)
    return column.startswith(prefix, autoescape=True)


def _where(f: LedgerFilter) -> list[ColumnElement[bool]]:
    m = MigrantRecord
    conds: list[ColumnElement[bool]] = [
        m.community_id.in_(f.community_ids)
        if len(f.community_ids) != 1
        else m.community_id == f.community_ids[0]
    ]
    if f.status:
        conds.append(m.status == RecordStatus(f.status))
    if f.address:
        key = normalise_address(f.address)
        if key:
            conds.append(prefix_match(m.address_key, key))
    if f.name:
        conds.append(prefix_match(m.name, f.name))
    if f.date_field == "created":
        if f.date_from:
            conds.append(m.created_at >= _local_midnight_utc(f.date_from))
        if f.date_to:
            conds.append(m.created_at < _local_midnight_utc(f.date_to + dt.timedelta(days=1)))
    else:
        if f.date_from:
            conds.append(m.since >= f.date_from)
        if f.date_to:
            conds.append(m.since <= f.date_to)
    return conds


def name_order() -> ColumnElement[Any]:
    """``name`` in the order of the name-prefix index, so that a name search reads the index
    in order and stops at the page instead of sorting every match (a one-character surname
    matches ~2% of a community). On PostgreSQL that index is ``varchar_pattern_ops``, whose
    order is the byte order of ``~<~``, not the collation's ``<``: ``ORDER BY name USING ~<~``
    names it. On SQLite (binary collation) the plain order is the index's."""
    if db.engine.dialect.name == "postgresql":
        return UnaryExpression(MigrantRecord.name, modifier=custom_op("USING ~<~"))
    return MigrantRecord.name.asc()


def ledger_select(f: LedgerFilter) -> Select[Any]:
    """The records matching the filter, newest move-in first (ties: newest record). A search
    by name lists by name (then oldest record first): the same name together, and read in
    the order of the ``(community_id, name)`` index."""
    if f.name:
        order: tuple[Any, ...] = (name_order(), MigrantRecord.id)
    elif f.date_field == "created":
        order = (MigrantRecord.created_at.desc(), MigrantRecord.id.desc())
    else:
        order = (MigrantRecord.since.desc(), MigrantRecord.id.desc())
    return select(MigrantRecord).where(*_where(f)).order_by(*order)


def count_capped(f: LedgerFilter, cap: int = MAX_COUNT) -> int:
    """How many records match, counting no further than ``cap + 1``."""
    if not f.community_ids:
        return 0
    inner = select(MigrantRecord.id).where(*_where(f)).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(inner)) or 0


def count_all(f: LedgerFilter) -> int:
    """How many records match (for the audit entry of an export)."""
    if not f.community_ids:
        return 0
    return db.session.scalar(select(func.count(MigrantRecord.id)).where(*_where(f))) or 0


def search(f: LedgerFilter, page: int = 1) -> tuple[list[MigrantRecord], int]:
    """One page of the ledger and the (capped) number of matches."""
    if not f.community_ids:
        return [], 0
    total = count_capped(f)
    if total == 0 or (page - 1) * PER_PAGE >= total:
        return [], total
    stmt = (
        ledger_select(f)
        .options(selectinload(MigrantRecord.community))
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return list(db.session.scalars(stmt)), total


# --- houses -------------------------------------------------------------------------------


@dataclass
class HouseFilter:
    """Houses list: community, address prefix, pledge signed or not, open or closed."""

    community_ids: list[int]
    community: int | None = None
    address: str = ""
    pledge: str = ""  # "" | yes | no
    state: str = "open"  # open | closed | all
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Any, user: User) -> HouseFilter:
        """Read the query string; a community the user does not serve is refused."""
        lf = LedgerFilter.from_args(
            {"community": args.get("community"), "status": ""}, user
        )  # same community rule
        pledge = args.get("pledge") or ""
        state = args.get("state") or "open"
        return cls(
            community_ids=lf.community_ids,
            community=lf.community,
            address=_text_arg(args, "address", 100),
            pledge=pledge if pledge in ("yes", "no") else "",
            state=state if state in ("open", "closed", "all") else "open",
            errors=lf.errors,
        )


def search_houses(f: HouseFilter, page: int = 1) -> tuple[list[tuple[RentalHouse, int]], int]:
    """One page of houses with their number of current tenancies, newest first."""
    if not f.community_ids:
        return [], 0
    h = RentalHouse
    conds: list[ColumnElement[bool]] = [h.community_id.in_(f.community_ids)]
    if f.address and (key := normalise_address(f.address)):
        conds.append(prefix_match(h.address_key, key))
    if f.pledge == "yes":
        conds.append(h.pledge_signed_at.is_not(None))
    elif f.pledge == "no":
        conds.append(h.pledge_signed_at.is_(None))
    if f.state == "open":
        conds.append(h.closed_at.is_(None))
    elif f.state == "closed":
        conds.append(h.closed_at.is_not(None))
    inner = select(h.id).where(*conds).limit(MAX_COUNT + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(inner)) or 0
    if total == 0 or (page - 1) * PER_PAGE >= total:
        return [], total
    houses = list(
        db.session.scalars(
            select(h)
            .where(*conds)
            .options(selectinload(h.community), selectinload(h.landlord))
            .order_by(h.created_at.desc(), h.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
    )
    open_counts = dict(
        db.session.execute(
            select(Tenancy.house_id, func.count(Tenancy.id))
            .where(Tenancy.house_id.in_([x.id for x in houses]), Tenancy.end_date.is_(None))
            .group_by(Tenancy.house_id)
        ).all()
    )
    return [(x, open_counts.get(x.id, 0)) for x in houses], total


# --- one record ---------------------------------------------------------------------------


def migrant_history(record: MigrantRecord) -> dict[str, Any]:
    """Everything the migrant page shows: events (oldest first), tenancies, permits."""
    events = list(
        db.session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.migrant_id == record.id)
            .options(selectinload(LedgerEvent.actor))
            .order_by(LedgerEvent.at, LedgerEvent.id)
        )
    )
    tenancies = list(
        db.session.scalars(
            select(Tenancy)
            .where(Tenancy.migrant_id == record.id)
            .options(selectinload(Tenancy.house))
            .order_by(Tenancy.start_date.desc(), Tenancy.id.desc())
        )
    )
    permits = list(
        db.session.scalars(
            select(ResidencePermit)
            .where(ResidencePermit.migrant_id == record.id)
            .order_by(ResidencePermit.applied_at.desc())
        )
    )
    return {"events": events, "tenancies": tenancies, "permits": permits}


def house_history(house: RentalHouse) -> dict[str, Any]:
    """Everything the house page shows: current and past tenancies, events."""
    tenancies = list(
        db.session.scalars(
            select(Tenancy)
            .where(Tenancy.house_id == house.id)
            .options(selectinload(Tenancy.migrant))
            .order_by(Tenancy.start_date.desc(), Tenancy.id.desc())
        )
    )
    events = list(
        db.session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.house_id == house.id)
            .options(selectinload(LedgerEvent.actor))
            .order_by(LedgerEvent.at, LedgerEvent.id)
        )
    )
    return {
        "current": [t for t in tenancies if t.end_date is None],
        "past": [t for t in tenancies if t.end_date is not None],
        "events": events,
    }


def reveal(officer: User, record: MigrantRecord, field_name: str) -> str:
    """Show one plain value of a record on purpose; written to the audit log first."""
    if field_name not in REVEALABLE or not can_reveal(officer, record):
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    value = getattr(record, field_name)
    if not value:
        raise DomainError(_("无法显示该字段。"), code="bad_field")
    audit.record(officer, f"pii.reveal.{field_name}", subject=record.user, obj=record)
    return value
