"""Feeds into the ledger from the board's signed agreements.

``jobs_housing.agreements.on_agreement_signed`` calls ``ledger_from_agreement`` in the
transaction that signs the agreement, so the agreement and its ledger rows are committed
(or rolled back) together. A rental agreement creates or updates the rental-house record
(the board's rental agreement includes the landlord's 治安责任保证书, so the pledge counts
as signed at the signing time) and a tenancy; an employment agreement gives a workplace.
A tenant or employee whose ID region lies outside the station's becomes a pending record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.accounts import services as accounts
from portal.accounts.models import User, VerificationStatus
from portal.db import as_utc, db, utcnow
from portal.jobs_housing.agreements import SignedAgreement, on_agreement_signed
from portal.registry import services as svc
from portal.registry.models import MigrantRecord, RentalHouse, Source, Tenancy, normalise_address
from portal.security import audit


def as_signed(agreement: Any) -> SignedAgreement:
    """The board's agreement as the plain record the ledger needs (no plain ID numbers)."""
    listing = agreement.listing
    return SignedAgreement(
        id=agreement.id,
        kind=agreement.kind.value,
        listing_id=agreement.listing_id,
        community_id=listing.community_id,
        poster_user_id=listing.poster_id,
        seeker_user_id=agreement.application.seeker_id,
        text_sha256=agreement.text_sha256,
        signed_at=agreement.signed_at or utcnow(),
    )


def start_date_of(agreement: Any, signed: SignedAgreement) -> dt.date:
    """The agreement's start date when it carries one, else the (station-local) signing day."""
    start = getattr(agreement, "start_date", None)
    if isinstance(start, dt.date):
        return start
    return svc.local_date(as_utc(signed.signed_at))


def _pending_for(
    person: User, signed: SignedAgreement, source: Source, **fields: Any
) -> MigrantRecord | None:
    v = accounts.latest_identity(person)
    # The agreement was generated from a current verification; one that has expired since
    # still names the person. A rejected or revoked one does not.
    if v is None or v.status not in (VerificationStatus.APPROVED, VerificationStatus.EXPIRED):
        return None
    return svc.submit_pending(
        community_id=signed.community_id,
        source=source,
        source_ref=signed.id,
        user=person,
        name=v.real_name,
        id_number=v.id_number,
        phone=v.phone,
        **fields,
    )


def _rental(agreement: Any, signed: SignedAgreement) -> None:
    listing = agreement.listing
    landlord = db.session.get(User, signed.poster_user_id)
    tenant = db.session.get(User, signed.seeker_user_id)
    start = start_date_of(agreement, signed)
    house = svc.house_for(signed.community_id, listing.address, listing_id=signed.listing_id)
    if house is None:
        house = RentalHouse(
            community_id=signed.community_id,
            address=listing.address[:200],
            address_key=normalise_address(listing.address),
            landlord_id=signed.poster_user_id,
            rooms=listing.rooms,
            listing_id=signed.listing_id,
        )
        db.session.add(house)
        db.session.flush()
    else:
        house.rooms = listing.rooms or house.rooms
        house.listing_id = house.listing_id or signed.listing_id
        if house.landlord_id != signed.poster_user_id:
            # A new landlord signs their own pledge.
            house.landlord_id = signed.poster_user_id
            house.pledge_signed_at = None
            house.pledge_agreement_id = None
        house.closed_at = None
    svc.sign_pledge(house, as_utc(signed.signed_at), actor=landlord, agreement_id=signed.id)
    record = _pending_for(
        tenant,
        signed,
        Source.RENTAL_AGREEMENT,
        address=house.address,
        house=house,
        since=start,
        actor=tenant,
    )
    tenancy = Tenancy(
        house_id=house.id,
        tenant_user_id=tenant.id if tenant is not None else None,
        migrant_id=record.id if record is not None else None,
        agreement_id=signed.id,
        start_date=start,
    )
    db.session.add(tenancy)
    db.session.flush()


def _job(agreement: Any, signed: SignedAgreement) -> None:
    listing = agreement.listing
    employer = db.session.get(User, signed.poster_user_id)
    worker = db.session.get(User, signed.seeker_user_id)
    place = listing.org_name or ""
    if listing.address:
        place = f"{place}（{listing.address}）" if place else listing.address
    _pending_for(
        worker,
        signed,
        Source.JOB_AGREEMENT,
        # With housing provided the worker lives at the workplace.
        address=listing.address if listing.housing_provided else "",
        workplace=place[:100],
        employer=employer,
        since=start_date_of(agreement, signed),
        actor=worker,
    )


@on_agreement_signed
def ledger_from_agreement(agreement: Any) -> None:
    """Hand a newly signed agreement to the ledger (same transaction as the signing)."""
    signed = as_signed(agreement)
    if signed.kind == "rental":
        _rental(agreement, signed)
    else:
        _job(agreement, signed)
    db.session.flush()
    audit.record(None, "registry.feed", obj=agreement, kind=signed.kind)
