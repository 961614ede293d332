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


def update_profile(
    profile: OfficerProfile,
    *,
    title: str,
    office_hours: str,
    contact: str,
    bio: str,
    photo_filename: str | None = None,
) -> None:
    """Change what residents see of an officer; a new photo replaces the old one."""
    profile.title = title.strip()
    profile.office_hours = office_hours.strip()
    profile.contact = contact.strip()
    profile.bio = bio.strip()
    if photo_filename:
        old = profile.photo_filename
        profile.photo_filename = photo_filename
        if old:
            from portal.security.uploads import stored_path

            path = stored_path("officer_photos", old)
            if path is not None:
                path.unlink(missing_ok=True)
    db.session.flush()


def create_community(
    admin: object,
    *,
    name: str,
    slug: str,
    district: str,
    office_address: str,
    office_phone: str,
    description: str,
) -> Community:
    """Add a community; names and slugs are unique."""
    from flask_babel import gettext as _

    from portal.errors import DomainError
    from portal.security import audit

    if db.session.scalar(select(Community.id).where(Community.name == name.strip())):
        raise DomainError(_("已有同名社区。"), field="name")
    if db.session.scalar(select(Community.id).where(Community.slug == slug.strip().lower())):
        raise DomainError(_("该网址名已被使用。"), field="slug")
    c = Community(
        name=name.strip(),
        slug=slug.strip().lower(),
        district=district.strip(),
        office_address=office_address.strip(),
        office_phone=office_phone.strip(),
        description=description.strip(),
    )
    db.session.add(c)
    db.session.flush()
    audit.record(admin, "community.create", obj=c, name=c.name)  # type: ignore[arg-type]
    return c


def set_officers(admin: object, community: Community, officer_ids: list[int]) -> None:
    """Choose which officers serve a community."""
    from portal.accounts.models import Role, User
    from portal.security import audit

    officers = list(
        db.session.scalars(select(User).where(User.id.in_(officer_ids), User.role == Role.OFFICER))
    )
    community.officers = officers
    db.session.flush()
    audit.record(
        admin,
        "community.officers",
        obj=community,  # type: ignore[arg-type]
        officers=[o.id for o in officers],
    )


def all_officers() -> list:
    """Every officer account, for the admin's choices."""
    from portal.accounts.models import Role, User

    return list(
        db.session.scalars(
            select(User).where(User.role == Role.OFFICER).order_by(User.display_name)
        )
    )
