"""Demo listings from the seeded verified landlord and employer (idempotent)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.communities.models import Community
from portal.db import db
from portal.jobs_housing import services as svc
from portal.jobs_housing.models import Kind, Listing


def seed_demo_jobs_housing() -> int:
    """Published rental and job listings, one pending, one with an application."""
    if db.session.scalar(select(func.count()).select_from(Listing)):
        return 0
    users = {u.email: u for u in db.session.scalars(select(User))}
    landlord = users.get("landlord@demo.local")
    employer = users.get("employer@demo.local")
    officer = users.get("officer@demo.local")
    seeker = users.get("resident@demo.local")
    community = db.session.scalar(select(Community).where(Community.slug == "tianqiao"))
    if not (landlord and employer and officer and community):
        return 0
    made = 0

    def post(user: User, kind: Kind, data: dict, publish: bool = True) -> Listing:
        nonlocal made
        listing = svc.create_listing(
            user, kind, data, community_id=community.id, owner_declared=True
        )
        svc.submit(user, listing)
        if publish:
            svc.approve(officer, listing, "演示数据")
        made += 1
        return listing

    flat = post(
        landlord,
        Kind.RENTAL,
        {
            "title": "天桥社区两室一厅整租",
            "description": (
                "仁兴街天桥社区，南北通透，步行五分钟到公交站。房东实名认证，经社区民警审核。"
            ),
            "address": "铁西区仁兴街天桥社区 3 号楼 2 单元 101",
            "rooms": 2,
            "area": 68,
            "rent": 1100,
            "deposit_months": 1,
            "furnished": True,
            "available_from": None,
            "contact_pref": "平台留言，晚上方便看房",
        },
    )
    post(
        landlord,
        Kind.RENTAL,
        {
            "title": "单间出租，近商业街",
            "description": "适合一人居住，水电按表。",
            "address": "铁西区仁兴街天桥社区 7 号楼 1 单元 302",
            "rooms": 1,
            "area": 25,
            "rent": 600,
            "deposit_months": 1,
            "furnished": False,
            "available_from": None,
            "contact_pref": "平台留言",
        },
        publish=False,
    )
    post(
        employer,
        Kind.JOB,
        {
            "title": "物业保洁员（提供住宿）",
            "description": "负责小区公共区域保洁，签订劳动合同，不收取任何费用。",
            "org_name": "四平市天桥物业服务有限公司",
            "pay_min": 2600,
            "pay_max": 3000,
            "pay_period": "month",
            "headcount": 3,
            "address": "天桥社区物业服务中心",
            "hours": "8:00-17:00，月休四天",
            "housing_provided": True,
            "requirements": "身体健康，能吃苦耐劳",
        },
    )
    if seeker is not None:
        svc.apply(seeker, flat, "您好，想周末看房，可以吗？")
    db.session.flush()
    return made
