"""What the API answers: one function per object, with its JSON Schema beside it.

Personal data leaves only masked; no API answer carries a plain ID or phone number.
"""

from __future__ import annotations

from typing import Any

from portal.accounts.models import IdentityVerification, OrganisationVerification, User
from portal.communities.models import Community
from portal.security.pii import mask_id, mask_name, mask_phone


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


S, INT, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NS = {"type": ["string", "null"]}

OFFICER_SCHEMA = _obj(
    {
        "id": INT,
        "name": S,
        "title": S,
        "status": S,
        "status_label": S,
        "on_duty": B,
        "office_hours": S,
        "contact": S,
        "photo_url": NS,
    }
)
COMMUNITY_SCHEMA = _obj(
    {
        "id": INT,
        "name": S,
        "slug": S,
        "district": S,
        "office_address": S,
        "office_phone": S,
        "officers": {"type": "array", "items": OFFICER_SCHEMA},
    }
)
VERIFICATION_SCHEMA = _obj(
    {
        "id": INT,
        "status": S,
        "status_label": S,
        "real_name": S,
        "id_number": S,
        "phone": S,
        "reason": NS,
        "expires_at": NS,
        "created_at": S,
    }
)
ORGANISATION_SCHEMA = _obj(
    {"id": INT, "status": S, "org_name": S, "credit_code": S, "reason": NS, "expires_at": NS}
)
USER_SCHEMA = _obj(
    {
        "id": INT,
        "display_name": S,
        "role": S,
        "email": NS,
        "phone": NS,
        "community_id": {"type": ["integer", "null"]},
        "verified": B,
        "verified_organisation": B,
    }
)


def officer_json(user: User) -> dict[str, Any]:
    """An officer as residents see them."""
    p = user.officer_profile
    return {
        "id": user.id,
        "name": user.display_name,
        "title": p.title if p else "",
        "status": p.status.value if p else "off_duty",
        "status_label": p.status.label if p else "",
        "on_duty": bool(p and p.status.on_duty),
        "office_hours": p.office_hours if p else "",
        "contact": p.contact if p else "",
        "photo_url": f"/officers/{user.id}/photo" if p and p.photo_filename else None,
    }


def community_json(c: Community) -> dict[str, Any]:
    """A community with its officers and their whereabouts."""
    return {
        "id": c.id,
        "name": c.name,
        "slug": c.slug,
        "district": c.district,
        "office_address": c.office_address,
        "office_phone": c.office_phone,
        "officers": [officer_json(o) for o in c.officers],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def verification_json(v: IdentityVerification) -> dict[str, Any]:
    """A verification, masked."""
    return {
        "id": v.id,
        "status": v.status.value,
        "status_label": v.status.label,
        "real_name": mask_name(v.real_name),
        "id_number": mask_id(v.id_number),
        "phone": mask_phone(v.phone),
        "reason": v.decision_reason,
        "expires_at": _iso(v.expires_at),
        "created_at": _iso(v.created_at) or "",
    }


def organisation_json(v: OrganisationVerification) -> dict[str, Any]:
    """An organisation check."""
    return {
        "id": v.id,
        "status": v.status.value,
        "org_name": v.org_name,
        "credit_code": v.credit_code,
        "reason": v.decision_reason,
        "expires_at": _iso(v.expires_at),
    }


def user_json(user: User, verified: bool, verified_org: bool) -> dict[str, Any]:
    """The current user, masked."""
    return {
        "id": user.id,
        "display_name": user.display_name,
        "role": user.role.value,
        "email": user.email,
        "phone": mask_phone(user.phone) or None,
        "community_id": user.community_id,
        "verified": verified,
        "verified_organisation": verified_org,
    }
