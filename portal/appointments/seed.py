"""Demo data for appointments: the five services, plans for the demo officer and lawyer,
and a few bookings. Idempotent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.appointments.models import Location, Service, WorkingPlan
from portal.db import db, utcnow

SERVICES = [
    (
        "办理居住证",
        30,
        Role.OFFICER,
        Location.STATION,
        False,
        "申请居住证：需已在本地居住满半年。",
        "居民身份证原件及复印件\n近期一寸白底照片两张\n居住证明（房屋租赁合同或房产证）\n"
        "就业或就读证明",
    ),
    (
        "户籍业务咨询",
        20,
        Role.OFFICER,
        Location.STATION,
        False,
        "迁入迁出、户口登记、证件补办等咨询。",
        "居民身份证\n户口簿（如有）",
    ),
    (
        "纠纷调解",
        60,
        Role.OFFICER,
        Location.STATION,
        False,
        "邻里、家庭、租赁等民间纠纷的调解。",
        "居民身份证\n与纠纷有关的材料（合同、照片、收据等）",
    ),
    (
        "法律咨询",
        40,
        Role.LAWYER,
        Location.STATION,
        False,
        "志愿律师免费提供法律咨询。",
        "居民身份证\n与问题有关的合同、文书",
    ),
    (
        "上门服务",
        60,
        Role.OFFICER,
        Location.HOME,
        True,
        "行动不便的老人、残疾人等可申请民警上门办理，民警确认后生效。",
        "居民身份证\n户口簿\n需办理事项的相关材料",
    ),
]

WEEKLY = [(wd, dt.time(9, 0), dt.time(11, 30)) for wd in range(5)] + [
    (wd, dt.time(14, 30), dt.time(17, 0)) for wd in (1, 3)
]
BREAKS = [(wd, dt.time(10, 0), dt.time(10, 15)) for wd in range(5)]


def seed_services() -> dict[str, Service]:
    existing = {s.name: s for s in db.session.scalars(select(Service))}
    for name, minutes, role, location, confirm, description, materials in SERVICES:
        if name not in existing:
            s = Service(
                name=name,
                duration_minutes=minutes,
                provider_role=role,
                location=location,
                needs_confirmation=confirm,
                description=description,
                materials=materials,
            )
            db.session.add(s)
            existing[name] = s
    db.session.flush()
    return existing


def seed_demo_appointments() -> None:
    from portal.appointments import services as svc

    services = seed_services()
    officer = db.session.scalar(select(User).where(User.email == "officer@demo.local"))
    lawyer = db.session.scalar(select(User).where(User.email == "lawyer@demo.local"))
    resident = db.session.scalar(select(User).where(User.email == "resident@demo.local"))
    for provider in (officer, lawyer):
        if provider is not None and db.session.get(WorkingPlan, provider.id) is None:
            svc.save_plan(
                provider,
                provider,
                periods=WEEKLY,
                breaks=BREAKS,
                slot_minutes=30,
                buffer_minutes=0,
                min_notice_minutes=120,
                horizon_days=14,
            )
    db.session.flush()
    if officer is None or resident is None or svc.my_bookings(resident):
        db.session.commit()
        return
    from flask import current_app

    with current_app.test_request_context():
        for name, provider in (("户籍业务咨询", officer), ("法律咨询", lawyer)):
            if provider is None:
                continue
            service = services[name]
            slots = svc.free_slots(service, provider.id, days=14, now=utcnow())
            if slots:
                svc.book(resident, service, provider, slots[min(3, len(slots) - 1)])
        db.session.commit()
