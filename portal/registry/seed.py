"""Demo data for the registration ledger (idempotent): a rental house with its tenant and
pledge, confirmed and pending migrant records (some from an employer's submission), and a
residence permit in progress for the demo resident 孙女士 (resident@demo.local)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.communities.models import Community
from portal.db import db
from portal.registry import permits
from portal.registry import services as svc
from portal.registry.models import (
    ImportBatch,
    MigrantRecord,
    PermitStatus,
    RentalHouse,
    Source,
    Tenancy,
    normalise_address,
)
from portal.security.idnumbers import resident_id_check_char


def _id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


# name, ID first 17 (outside 220302), phone, address, months ago, confirmed?
WORKERS = [
    ("李建军", "41010219880315002", "13904341001", "天桥社区物业宿舍 1 号", 9, True),
    ("王小川", "51010419950720003", "13904341002", "天桥社区物业宿舍 2 号", 2, True),
    ("赵春生", "23010219900101004", "13904341003", "天桥社区物业宿舍 3 号", 0, False),
]


def seed_demo_registry() -> int:
    """Create the demo ledger unless there is one; returns the number of records made."""
    if db.session.scalar(select(func.count()).select_from(MigrantRecord)):
        return 0
    users = {u.email: u for u in db.session.scalars(select(User)) if u.email}
    officer = users.get("officer@demo.local")
    landlord = users.get("landlord@demo.local")
    employer = users.get("employer@demo.local")
    tenant = users.get("resident@demo.local")
    community = db.session.scalar(select(Community).where(Community.slug == "tianqiao"))
    if not (officer and landlord and employer and tenant and community):
        return 0
    today = svc.local_today()
    made = 0

    # The demo resident is a migrant from Changsha, registered at the office (the officer
    # saw her ID card) and linked to her account.
    number = _id("43010219920202005")
    address = "铁西区仁兴街天桥社区 3 号楼 2 单元 101"
    house = RentalHouse(
        community_id=community.id,
        address=address,
        address_key=normalise_address(address),
        landlord_id=landlord.id,
        rooms=2,
    )
    db.session.add(house)
    db.session.flush()
    since = permits.add_months(today, -7)
    svc.sign_pledge(house, svc.midnight_utc(since), actor=officer)
    record = svc.submit_pending(
        community_id=community.id,
        source=Source.OFFICER,
        source_ref=None,
        user=tenant,
        name="孙丽",
        id_number=number,
        phone="13904340005",
        address=address,
        house=house,
        since=since,
        actor=officer,
    )
    assert record is not None
    db.session.add(
        Tenancy(house_id=house.id, tenant_user_id=tenant.id, migrant_id=record.id, start_date=since)
    )
    svc.confirm(officer, record)
    permit = permits.apply(tenant)
    permits.change_status(officer, permit, PermitStatus.ACCEPTED)
    made += 1

    # An employer's submission: two confirmed, one waiting for the officer.
    batch = ImportBatch(
        employer_id=employer.id, community_id=community.id, filename="demo.xlsx", rows=0
    )
    db.session.add(batch)
    db.session.flush()
    for name, first17, phone, addr, months, confirm in WORKERS:
        worker = svc.submit_pending(
            community_id=community.id,
            source=Source.EMPLOYER_IMPORT,
            source_ref=batch.id,
            name=name,
            id_number=_id(first17),
            phone=phone,
            address=addr,
            workplace="四平市天桥物业服务有限公司",
            employer=employer,
            since=permits.add_months(today, -months),
            actor=employer,
        )
        assert worker is not None
        batch.rows += 1
        made += 1
        if confirm:
            svc.confirm(officer, worker)
    # One more pending: entered at the office, not yet checked.
    svc.submit_pending(
        community_id=community.id,
        source=Source.OFFICER,
        source_ref=None,
        name="钱秀英",
        id_number=_id("21010219850606006"),
        phone="13904341004",
        address="天桥社区 8 号楼 4 单元 502",
        since=today - dt.timedelta(days=3),
        actor=officer,
    )
    db.session.flush()
    return made + 1
