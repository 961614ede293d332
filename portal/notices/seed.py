"""Demo notices: a few of each kind, a crime bulletin with two half-month periods, lost and
found items and contact-box messages. Idempotent: does nothing once any notice exists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.db import db, utcnow
from portal.notices import services as svc
from portal.notices.models import ContactMessage, MessageCategory, Notice, NoticeKind


def seed_claim_service() -> None:
    """The appointment service a claimant books to collect a found item (idempotent)."""
    from portal.appointments.models import Location, Service

    name = svc.claim_service_name()
    if db.session.scalar(select(Service.id).where(Service.name == name)):
        return
    db.session.add(
        Service(
            name=name,
            duration_minutes=15,
            location=Location.STATION,
            needs_confirmation=False,
            listed=False,  # booked from a claim on a found item, never from the list
            description="认领失物招领中的物品：到警务室核对身份与物品特征后领回。",
            materials="居民身份证\n能证明物品归属的材料（如购物凭证、照片）",
        )
    )
    db.session.flush()


def seed_demo_notices() -> None:
    """Add the demo rows for the notices feature unless there are notices already."""
    from portal.accounts.models import User
    from portal.communities.models import Community

    seed_claim_service()
    if db.session.scalar(select(Notice.id).limit(1)) is not None:
        return
    officer = db.session.scalar(select(User).where(User.email == "officer@demo.local"))
    tianqiao = db.session.scalar(select(Community).where(Community.slug == "tianqiao"))
    if officer is None or tianqiao is None:
        return
    now = utcnow()

    def notice(kind: NoticeKind, title: str, body: str, days_ago: float, **kw: object) -> Notice:
        return svc.save_notice(
            officer,
            None,
            kind=kind,
            title=title,
            body_html=body,
            station_wide=kw.pop("station_wide", True),  # type: ignore[arg-type]
            community_ids=kw.pop("community_ids", []),  # type: ignore[arg-type]
            publish_at=now - dt.timedelta(days=days_ago),
            **kw,  # type: ignore[arg-type]
        )

    notice(
        NoticeKind.TIP,
        "警惕冒充客服退款诈骗",
        "<p>近期辖区发生多起冒充电商客服以“退款”为名的诈骗。</p><ul><li>不点陌生链接</li>"
        "<li>不开启屏幕共享</li><li>拨打官方电话核实</li></ul><p>如遇可疑情况请拨打 "
        "<strong>96110</strong> 反诈专线。</p>",
        1,
        pinned=True,
    )
    notice(
        NoticeKind.TIP,
        "电动车请勿楼道充电",
        "<p>电动车进楼入户、飞线充电极易引发火灾，请到小区集中充电点充电。</p>",
        4,
        station_wide=False,
        community_ids=[tianqiao.id],
    )
    notice(
        NoticeKind.ANNOUNCEMENT,
        "警务室周六延时服务",
        "<p>本月起每周六 9:00–12:00 天桥社区警务室开放，办理居住证登记、开具证明。</p>",
        2,
        station_wide=False,
        community_ids=[tianqiao.id],
    )
    notice(
        NoticeKind.ANNOUNCEMENT,
        "春节期间烟花爆竹燃放提示",
        "<p>请在规定区域、规定时段燃放，注意安全。</p>",
        8,
    )
    notice(
        NoticeKind.LEGAL,
        "《反电信网络诈骗法》要点",
        "<h2>个人需要知道的</h2><ol><li>不得出租、出借、出售电话卡和银行卡</li>"
        "<li>发现涉诈可疑情况可向公安机关举报</li></ol>"
        '<p>全文见 <a href="https://www.npc.gov.cn/">全国人大网</a>。</p>',
        3,
    )
    notice(NoticeKind.LEGAL, "租房登记，房东有责", "<p>出租房屋应当依法登记承租人信息。</p>", 10)
    notice(
        NoticeKind.LOST_FOUND,
        "本周招领物品汇总",
        "<table><tbody><tr><th>物品</th><th>拾获地点</th></tr><tr><td>黑色钱包</td><td>天桥公园</td></tr>"
        "<tr><td>钥匙一串</td><td>社区服务中心</td></tr></tbody></table>",
        1,
    )
    today = now.date()
    this_half = svc.half_month_start(today)
    last_half = svc.previous_half_month(this_half)
    before = svc.previous_half_month(last_half)
    for start, counts, days_ago in (
        (before, {"盗窃": 6, "诈骗": 5, "抢劫": 0, "入室盗窃": 2, "电动车被盗": 4}, 16),
        (last_half, {"盗窃": 4, "诈骗": 7, "抢劫": 1, "入室盗窃": 1, "电动车被盗": 2}, 0.5),
    ):
        end = svc.half_month_end(start)
        notice(
            NoticeKind.BULLETIN,
            f"警情公示（{start:%m月%d日}—{end:%m月%d日}）",
            "<p>以下为本辖区接报警情统计。</p>",
            days_ago,
            period_start=start,
            figures=counts,
            advice="诈骗警情上升，请牢记“三不一多”：未知链接不点击，陌生来电不轻信，"
            "个人信息不透露，转账汇款多核实。电动车请加装防盗锁。",
        )
    svc.register_found(
        officer,
        title="黑色钱包",
        description="内有公交卡一张",
        place="天桥公园东门",
        happened_on=today - dt.timedelta(days=2),
        collect_at="天桥社区警务室",
        community_id=tianqiao.id,
    )
    svc.register_found(
        officer,
        title="钥匙一串",
        description="带红色钥匙扣",
        place="社区服务中心",
        happened_on=today - dt.timedelta(days=1),
        collect_at="天桥社区警务室",
        community_id=tianqiao.id,
    )
    resident = db.session.scalar(select(User).where(User.email == "resident@demo.local"))
    if resident is not None:
        svc.report_lost(
            resident,
            title="蓝色雨伞",
            description="折叠伞",
            place="菜市场",
            happened_on=today - dt.timedelta(days=1),
        )
        svc.send_message(
            resident,
            community_id=tianqiao.id,
            category=MessageCategory.SUGGESTION,
            body="建议晚上在小区北门加强巡逻。",
            anonymous=False,
        )
    old = ContactMessage(
        community_id=tianqiao.id,
        category=MessageCategory.TIP,
        body="3号楼地下室有人聚集赌博（匿名）",
        created_at=now - dt.timedelta(days=9),
    )
    db.session.add(old)
    db.session.flush()
