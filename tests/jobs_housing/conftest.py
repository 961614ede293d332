"""Board fixtures: a verified landlord, a verified employer, seekers, and helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from portal.db import db, utcnow
from tests.conftest import login, valid_id


def org(app: Any, user_id: int) -> None:
    from portal.accounts.models import OrganisationVerification, VerificationStatus
    from portal.security.idnumbers import credit_code_check_char

    first17 = "91220302MA0Y12340"
    with app.app_context():
        db.session.add(
            OrganisationVerification(
                user_id=user_id,
                org_name="测试公司",
                credit_code=first17 + credit_code_check_char(first17),
                status=VerificationStatus.APPROVED,
                decided_at=utcnow(),
                expires_at=utcnow() + dt.timedelta(days=365),
            )
        )
        db.session.commit()


@pytest.fixture
def board(app, make, world) -> dict[str, Any]:
    c = world["community"]
    landlord = make.user("resident", c, login="landlord@example.com", name="赵房东")
    make.verification(landlord, valid_id("22030219650312003"), "approved", "赵建国", "13904340001")
    employer = make.user("resident", c, login="employer@example.com", name="钱经理")
    make.verification(employer, valid_id("22030219780620004"), "approved", "钱立新", "13904340002")
    org(app, employer)
    seekers = []
    for i in range(4):
        uid = make.user("resident", c, login=f"seeker{i}@example.com", name=f"求租{i}")
        seekers.append(uid)
    make.verification(
        seekers[0], valid_id("11010519900101001"), "approved", "孙小明", "13800000001"
    )
    return {**world, "landlord": landlord, "employer": employer, "seekers": seekers}


RENTAL = {
    "title": "天桥社区两室一厅出租",
    "description": "南北通透，近公交站。",
    "address": "天桥社区 3 号楼 2 单元 101",
    "rooms": 2,
    "area": 68,
    "rent": 1200,
    "deposit_months": 1,
    "furnished": True,
    "available_from": None,
    "contact_pref": "平台留言",
}

JOB = {
    "title": "物业保洁员",
    "description": "负责小区公共区域保洁。",
    "org_name": "测试公司",
    "pay_min": 2800,
    "pay_max": 3200,
    "pay_period": "month",
    "headcount": 2,
    "address": "天桥社区物业办公室",
    "hours": "8:00-17:00",
    "housing_provided": True,
    "requirements": "身体健康",
}


def get(model: Any, pk: int) -> Any:
    return db.session.get(model, pk)


__all__ = ["JOB", "RENTAL", "get", "login", "org"]
