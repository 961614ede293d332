"""Retention: ``portal purge-registry`` anonymises records closed longer than
``REGISTRY_RETENTION_DAYS`` ago (default three years).

An anonymised record keeps its row, status, community, region, dates and history, so every
count and figure stays what it was; what goes is whatever names the person: the name
becomes 已匿名, the ID number, phone and their look-up hashes are blanked, the address is cut
back to the community, the workplace and the link to an account are dropped, and the
addresses and names in its ledger events' details are removed. Rejected and merged
records (never in the ledger) are anonymised the same way once their decision is that old.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from portal.db import db, utcnow
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    RecordStatus,
    Tenancy,
    normalise_address,
)

ANONYMOUS = "已匿名"
BATCH = 500
# Ledger-event detail keys that may be kept: they name no one.
KEEP_DETAIL = ("status", "kind", "reason_code", "source")


@dataclass
class PurgeResult:
    """What a run found (dry run) or did (``apply``)."""

    cutoff: dt.datetime
    records: int = 0
    events: int = 0
    applied: bool = False


def cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Records closed before this moment are due."""
    days = int(current_app.config.get("REGISTRY_RETENTION_DAYS", 3 * 365))
    return (now or utcnow()) - dt.timedelta(days=days)


def due_filter(limit: dt.datetime) -> list[object]:
    """The records the retention rule reaches and that are not anonymised yet."""
    m = MigrantRecord
    return [
        m.anonymised_at.is_(None),
        or_(
            and_(m.status == RecordStatus.CLOSED, m.closed_at < limit),
            and_(
                m.status.in_((RecordStatus.REJECTED, RecordStatus.MERGED)),
                m.reviewed_at < limit,
            ),
        ),
    ]


def purge(*, apply: bool = False, now: dt.datetime | None = None) -> PurgeResult:
    """Find (and with ``apply`` anonymise) the due records, in batches; the caller commits."""
    now = now or utcnow()
    result = PurgeResult(cutoff=cutoff(now), applied=apply)
    conds = due_filter(result.cutoff)
    if not apply:
        ids = list(db.session.scalars(select(MigrantRecord.id).where(*conds)))
        result.records = len(ids)
        return result
    while True:
        batch = list(
            db.session.scalars(
                select(MigrantRecord)
                .where(*conds)
                .options(selectinload(MigrantRecord.community))
                .order_by(MigrantRecord.id)
                .limit(BATCH)
            )
        )
        if not batch:
            break
        for record in batch:
            result.events += anonymise(record, now)
        result.records += len(batch)
        db.session.flush()
    return result


def anonymise(record: MigrantRecord, now: dt.datetime) -> int:
    """Blank what names the person on one record and its events; add an ANONYMISED event.
    Returns how many events had their detail cut."""
    record.name = ANONYMOUS
    record.id_number = None
    record.id_hash = None
    record.phone = None
    record.phone_hash = None
    record.address = record.community.name
    record.address_key = normalise_address(record.community.name)
    record.workplace = ""
    record.user_id = None
    record.anonymised_at = now
    cut = 0
    for event in db.session.scalars(select(LedgerEvent).where(LedgerEvent.migrant_id == record.id)):
        kept = {k: v for k, v in (event.detail or {}).items() if k in KEEP_DETAIL}
        if kept != (event.detail or {}):
            event.detail = kept
            cut += 1
    db.session.execute(
        update(Tenancy).where(Tenancy.migrant_id == record.id).values(tenant_user_id=None)
    )
    db.session.add(
        LedgerEvent(
            community_id=record.community_id,
            migrant_id=record.id,
            kind=EventKind.ANONYMISED,
            at=now,
            detail={},
        )
    )
    return cut
