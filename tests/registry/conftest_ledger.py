"""Builders for ledger tests: houses, migrant records, tenancies, permits and events made
directly through the models (the feeds that make them in real life are tested elsewhere).

Import the fixture into a test module: ``from tests.registry.conftest_ledger import lm``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from portal.db import db
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
    Source,
    Tenancy,
    normalise_address,
)
from portal.security.pii import id_index, phone_index
from tests.conftest import valid_id

UTC = dt.UTC


def at(day: str, hour: int = 4) -> dt.datetime:
    """An aware UTC datetime from 'YYYY-MM-DD' (04:00 UTC = 12:00 in Shanghai)."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class LedgerMaker:
    """Small builders; each commits and returns the new row's id."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _save(self, obj: Any) -> int:
        with self.app.app_context():
            db.session.add(obj)
            db.session.commit()
            return obj.id

    def house(
        self,
        community_id: int,
        address: str | None = None,
        *,
        created: dt.datetime | None = None,
        pledged: dt.datetime | None = None,
        closed: dt.datetime | None = None,
        landlord_id: int | None = None,
        rooms: int | None = 2,
    ) -> int:
        self._n += 1
        address = address or f"天桥路{self._n}号"
        return self._save(
            RentalHouse(
                community_id=community_id,
                address=address,
                address_key=normalise_address(address),
                landlord_id=landlord_id,
                rooms=rooms,
                pledge_signed_at=pledged,
                created_at=created or at("2026-01-01"),
                closed_at=closed,
            )
        )

    def migrant(
        self,
        community_id: int,
        *,
        name: str = "张三丰",
        person: int | None = None,
        status: str = "confirmed",
        created: dt.datetime | None = None,
        reviewed: dt.datetime | None = None,
        closed: dt.datetime | None = None,
        since: dt.date | None = None,
        address: str = "天桥路1号101室",
        house_id: int | None = None,
        workplace: str = "天桥建筑公司",
        phone: str | None = "13912345678",
        region: str = "110105",
    ) -> int:
        """A record; ``person`` picks the ID number (same person → same ``id_hash``)."""
        self._n += 1
        seq = person if person is not None else 100 + self._n
        with self.app.app_context():
            id_number = valid_id(f"{region}19900101{seq % 1000:03d}")
            created = created or at("2026-01-10")
            record = MigrantRecord(
                community_id=community_id,
                status=RecordStatus(status),
                source=Source.OFFICER,
                name=name,
                id_number=id_number,
                id_hash=id_index(id_number),
                region=region,
                phone=phone,
                phone_hash=phone_index(phone) if phone else None,
                address=address,
                address_key=normalise_address(address),
                house_id=house_id,
                workplace=workplace,
                since=since or created.date(),
                created_at=created,
                updated_at=created,
                reviewed_at=reviewed
                if reviewed is not None
                else (created if status != "pending" else None),
                closed_at=closed,
            )
            db.session.add(record)
            db.session.commit()
            return record.id

    def id_number(self, migrant_id: int) -> str:
        with self.app.app_context():
            return db.session.get(MigrantRecord, migrant_id).id_number

    def tenancy(
        self, house_id: int, migrant_id: int | None, start: str, end: str | None = None
    ) -> int:
        return self._save(
            Tenancy(
                house_id=house_id,
                migrant_id=migrant_id,
                start_date=dt.date.fromisoformat(start),
                end_date=dt.date.fromisoformat(end) if end else None,
            )
        )

    def permit(
        self,
        migrant_id: int,
        applicant_id: int,
        status: str,
        updated: dt.datetime,
        collected: dt.datetime | None = None,
    ) -> int:
        return self._save(
            ResidencePermit(
                migrant_id=migrant_id,
                applicant_id=applicant_id,
                status=PermitStatus(status),
                applied_at=updated - dt.timedelta(days=30),
                updated_at=updated,
                collected_at=collected,
            )
        )

    def event(
        self,
        community_id: int,
        kind: str,
        when: dt.datetime,
        *,
        migrant_id: int | None = None,
        house_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        return self._save(
            LedgerEvent(
                community_id=community_id,
                migrant_id=migrant_id,
                house_id=house_id,
                kind=EventKind(kind),
                at=when,
                detail=detail or {},
            )
        )


@pytest.fixture
def lm(app: Flask) -> LedgerMaker:
    return LedgerMaker(app)
