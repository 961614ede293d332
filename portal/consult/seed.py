"""Demo consultations: a few answered public questions, one open question, one past chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.consult import services as svc
from portal.consult.models import CannedReply, Category, ChatMessage, Consultation, Conversation
from portal.db import db, utcnow

ANSWERED = [
    (
        Category.HOUSEHOLD,
        "外地户口在本地怎么办理居住证？",
        "刚搬到天桥社区租房住，户口在外省，想办居住证需要准备什么？",
        "在本地居住满半年并有合法稳定住所即可申领。请带身份证、租房合同到社区警务室登记，"
        "登记满半年后即可办理居住证。",
    ),
    (
        Category.RENTAL,
        "出租房屋需要到警务室登记吗？",
        "我家有一套空房想出租，需要办什么手续？",
        "需要。房东应在租客入住后三日内，持房产证、本人和租客的身份证到警务室办理出租房屋登记。",
    ),
    (
        Category.SECURITY,
        "电动车被偷了怎么报案？",
        "昨晚停在楼下的电动车不见了，锁也被剪断了。",
        "请尽快拨打110或到警务室报案，带上购车发票和车辆照片。我们也会调取附近的监控。",
    ),
    (
        Category.LEGAL,
        "房东不退押金怎么办？",
        "租期到了，房东以各种理由不退押金。",
        "先与房东协商并保留合同、转账记录；协商不成可以申请人民调解或向法院起诉。",
    ),
]
CANNED = [
    ("居住证材料", "请携带身份证原件、租房合同（或房产证明）到社区警务室办理登记。"),
    ("请到警务室面谈", "您的情况需要当面了解，请在办公时间到社区警务室，我们当面为您解答。"),
]


def seed_demo_consult() -> None:
    """Create the demo rows unless they exist (idempotent)."""
    if db.session.scalar(select(Consultation.id).limit(1)) is not None:
        return
    users = {u.email: u for u in db.session.scalars(select(User)).all() if u.email}
    resident = users.get("landlord@demo.local") or next(
        (u for u in users.values() if u.role == Role.RESIDENT), None
    )
    officer = users.get("officer@demo.local")
    lawyer = users.get("lawyer@demo.local")
    if resident is None or officer is None:
        return
    for title, body in CANNED:
        db.session.add(CannedReply(title=title, body=body))
    for category, title, body, answer in ANSWERED:
        c = svc.ask(resident, category=category, title=title, body=body, is_public=True)
        svc.reply(lawyer if category == Category.LEGAL and lawyer else officer, c, answer)
        svc.close(resident, c)
        c.rating = 5
    svc.ask(
        resident,
        category=Category.HOUSEHOLD,
        title="孩子上户口需要哪些材料？",
        body="孩子刚出生，想问一下落户需要带什么。",
        is_public=False,
    )
    if resident.community_id is not None:
        conv = Conversation(resident_id=resident.id, community_id=resident.community_id)
        db.session.add(conv)
        db.session.flush()
        start = utcnow() - dt.timedelta(days=2)
        lines = [
            (resident, "王警官您好，楼道里的自行车可以放吗？"),
            (officer, "您好，楼道是消防通道，请不要停放车辆，小区有车棚。"),
            (resident, "好的，谢谢！"),
        ]
        for i, (who, text) in enumerate(lines):
            db.session.add(
                ChatMessage(
                    conversation_id=conv.id,
                    sender_id=who.id,
                    client_id=f"demo-{i}",
                    body=text,
                    created_at=start + dt.timedelta(minutes=i),
                )
            )
        db.session.flush()
        top = max(m.id for m in db.session.scalars(select(ChatMessage)).all())
        conv.last_message_at = start + dt.timedelta(minutes=2)
        conv.resident_read_id = conv.staff_read_id = top
    db.session.flush()
