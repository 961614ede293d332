"""Demo data for a laptop: one community with its officer, a lawyer, a verified landlord,
a verified employer with a verified organisation, two residents and an admin.

Seeding is idempotent: it runs once, and running it again changes nothing. Later
features add their own demo rows here.
"""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from portal.accounts.models import (
    IdentityVerification,
    OrganisationVerification,
    Role,
    User,
    VerificationStatus,
)
from portal.accounts.services import register_user
from portal.communities.models import Community, OfficerStatus
from portal.db import db, utcnow
from portal.security.idnumbers import credit_code_check_char, resident_id_check_char
from portal.security.pii import id_index, phone_index

DEMO_PASSWORD = "demo-pass-2026"

DEMO_USERS = [
    # login, name, role, community slug, (real name, id first 17, phone) or None
    ("admin@demo.local", "站务管理员", Role.ADMIN, None, None),
    ("officer@demo.local", "王警官", Role.OFFICER, "tianqiao", None),
    ("lawyer@demo.local", "李律师", Role.LAWYER, "tianqiao", None),
    (
        "landlord@demo.local",
        "赵房东",
        Role.RESIDENT,
        "tianqiao",
        ("赵建国", "22030219650312003", "13904340001"),
    ),
    (
        "employer@demo.local",
        "钱经理",
        Role.RESIDENT,
        "tianqiao",
        ("钱立新", "22030219780620004", "13904340002"),
    ),
    ("resident@demo.local", "孙女士", Role.RESIDENT, "tianqiao", None),
    ("13904340003", "周师傅", Role.RESIDENT, "tianqiao", None),
]


def demo_id(first17: str) -> str:
    """A valid GB 11643 number from its first 17 digits."""
    return first17 + resident_id_check_char(first17)


def seed_demo() -> list[tuple[str, str, str]]:
    """Create the demo rows unless they exist; returns (login, role, name) of demo users."""
    logins = [(u[0], u[2].label, u[1]) for u in DEMO_USERS]
    if db.session.scalar(select(Community).where(Community.slug == "tianqiao")) is not None:
        return logins
    tianqiao = Community(
        name="天桥社区",
        slug="tianqiao",
        district="四平市铁西区",
        office_address="天桥社区警务室（社区服务中心一楼）",
        office_phone="0434-3200110",
        description="天桥社区警务室：网上警务室、社区免费中介服务站。",
    )
    db.session.add_all(
        [
            tianqiao,
            Community(
                name="铁西社区",
                slug="tiexi",
                district="四平市铁西区",
                office_address="铁西社区警务室",
                office_phone="0434-3200111",
            ),
        ]
    )
    db.session.flush()
    communities = {"tianqiao": tianqiao}
    for login, name, role, slug, identity in DEMO_USERS:
        user = register_user(
            login=login,
            password=DEMO_PASSWORD,
            display_name=name,
            community=communities.get(slug) if slug else None,
            role=role,
        )
        if role == Role.OFFICER and user.officer_profile is not None:
            user.officer_profile.status = OfficerStatus.IN_OFFICE
            user.officer_profile.office_hours = "周一至周五 8:30–12:00，14:00–17:30"
            user.officer_profile.contact = "警务室电话 0434-3200110"
        if identity is not None:
            _verified(user, *identity)
        if login.startswith("employer"):
            first17 = "91220302MA0Y1234"[:16] + "0"
            code = first17 + credit_code_check_char(first17)
            db.session.add(
                OrganisationVerification(
                    user_id=user.id,
                    org_name="四平市天桥物业服务有限公司",
                    credit_code=code,
                    status=VerificationStatus.APPROVED,
                    decided_at=utcnow(),
                    expires_at=utcnow() + dt.timedelta(days=365),
                )
            )
    db.session.flush()
    from portal.notices.seed import seed_demo_notices

    seed_demo_notices()
    from portal.jobs_housing.seed import seed_demo_jobs_housing

    seed_demo_jobs_housing()
    from portal.consult.seed import seed_demo_consult

    seed_demo_consult()
    db.session.commit()
    from portal.appointments.seed import seed_demo_appointments

    seed_demo_appointments()
    from portal.registry.seed import seed_demo_registry

    seed_demo_registry()
    db.session.commit()
    return logins


def _verified(user: User, real_name: str, first17: str, phone: str) -> None:
    number = demo_id(first17)
    db.session.add(
        IdentityVerification(
            user_id=user.id,
            real_name=real_name,
            id_number=number,
            id_number_hash=id_index(number),
            phone=phone,
            phone_hash=phone_index(phone),
            status=VerificationStatus.APPROVED,
            decided_at=utcnow(),
            expires_at=utcnow() + dt.timedelta(days=365),
        )
    )


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    """Print the demo logins for whoever runs ``make run``."""
    click.echo(f"\n演示账号 / demo logins (password: {DEMO_PASSWORD})")
    for login, role, name in logins:
        click.echo(f"  {role:<6} {name:<6} {login}")
    click.echo("")
