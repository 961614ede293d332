"""Community use cases: listing communities with their officers, the whereabouts board."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.communities.models import Community, OfficerProfile, OfficerStatus
from portal.db import db, utcnow


def all_communities() -> list[Community]:
    """Every community with its officers and their profiles, in two queries at most."""
    from portal.accounts.models import User

    stmt = (
        select(Community)
        .options(selectinload(Community.officers).selectinload(User.officer_profile))
        .order_by(Community.name)
    )
    return list(db.session.scalars(stmt))


def community_by_slug(slug: str) -> Community | None:
    """One community by its URL name."""
    from portal.accounts.models import User

    return db.session.scalar(
        select(Community)
        .where(Community.slug == slug)
        .options(selectinload(Community.officers).selectinload(User.officer_profile))
    )


def set_status(profile: OfficerProfile, status: OfficerStatus) -> None:
    """Change the officer's whereabouts; shown publicly at once."""
    if profile.status != status:
        profile.status = status
        profile.status_changed_at = utcnow()
        db.session.flush()
