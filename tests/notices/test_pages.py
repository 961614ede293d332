"""The notices pages as a resident on a small screen and an officer with forty items sees
them: empty states, confirmations, pagination, and the resident's own reports and claims."""

from __future__ import annotations

import datetime as dt

from portal.db import db, utcnow
from portal.notices.models import ContactMessage, ItemKind, ItemStatus, LostItem
from tests.conftest import login
from tests.notices.helpers import write


def test_officer_with_forty_items_pages_pending_first(app, world, client):
    with app.app_context():
        now = utcnow()
        for i in range(40):
            db.session.add(
                LostItem(
                    kind=ItemKind.FOUND if i % 4 else ItemKind.LOST,
                    status=ItemStatus.OPEN if i % 4 else ItemStatus.PENDING,
                    title=f"物品{i:02d}",
                    collect_at="天桥社区警务室",
                    community_id=world["community"],
                    created_at=now - dt.timedelta(hours=i),
                )
            )
        db.session.commit()
    login(client, "officer@example.com")
    first = client.get("/backoffice/lost-found").get_data(as_text=True)
    assert "第 1 / 2 页，共 40 条" in first and 'rel="next"' in first
    # The ten reports awaiting moderation come first, all on page one.
    for i in range(0, 40, 4):
        assert f"物品{i:02d}" in first
    assert first.index("物品00") < first.index("物品01")
    second = client.get("/backoffice/lost-found?page=2").get_data(as_text=True)
    assert "物品39" in second and "物品00" not in second
    # Destructive buttons ask first; rejecting asks for a reason.
    assert 'data-confirm="确定物品已归还？"' in first
    assert 'placeholder="不通过的理由"' in first
    dashboard = client.get("/backoffice/").get_data(as_text=True)
    assert "失物招领：待审核 10，待领取 0" in dashboard
    assert "待审核 · 物品00" in dashboard and "物品01" not in dashboard


def test_contact_messages_paginate_and_filter_waiting(app, world, client):
    with app.app_context():
        for i in range(25):
            db.session.add(
                ContactMessage(
                    community_id=world["community"],
                    category="suggestion",
                    body=f"第{i:02d}条建议：路灯坏了",
                    reply="已处理" if i % 5 == 0 else None,
                    replied_at=utcnow() if i % 5 == 0 else None,
                )
            )
        db.session.commit()
    login(client, "officer@example.com")
    page = client.get("/backoffice/contact").get_data(as_text=True)
    assert "第 1 / 2 页，共 25 条" in page
    waiting = client.get("/backoffice/contact?waiting=1").get_data(as_text=True)
    assert waiting.count("条建议") == 20 and "第00条" not in waiting and "第01条" in waiting


def test_empty_states_say_what_to_do(app, world, client):
    write(app, world["officer"], title="防范电信诈骗")
    write(app, world["officer"], title="草稿", publish_at=None)
    page = client.get("/notices?q=不存在的词").get_data(as_text=True)
    assert "没有找到与“不存在的词”相关的信息。" in page and "查看全部信息" in page
    assert "没有更多信息了。" in client.get("/notices?page=9").get_data(as_text=True)
    assert "暂无登记的失物或招领。" in client.get("/lost-found").get_data(as_text=True)
    login(client, "resident@example.com")
    mine = client.get("/lost-found/mine").get_data(as_text=True)
    assert "您还没有认领过物品。" in mine and "您还没有登记遗失物品。" in mine
    officer = app.test_client()
    login(officer, "officer@example.com")
    staff = officer.get("/backoffice/notices").get_data(as_text=True)
    assert staff.count("确定立即发布？订阅的居民会收到通知。") == 1  # the draft
    assert staff.count("确定撤回？") == 1  # the published one
    assert "没有待回复的留言" in officer.get("/backoffice/contact?waiting=1").get_data(as_text=True)


def test_resident_sees_own_report_and_the_rejection_reason(app, world, client):
    login(client, "resident@example.com")
    resp = client.post("/lost-found/report", data={"title": "红色书包", "place": "学校门口"})
    assert resp.status_code == 302 and resp.location.endswith("/lost-found/mine")
    page = client.get("/lost-found/mine").get_data(as_text=True)
    assert "红色书包" in page and "等待民警审核" in page
    with app.app_context():
        item_id = db.session.query(LostItem.id).scalar()
    officer = app.test_client()
    login(officer, "officer@example.com")
    officer.post(f"/backoffice/lost-found/{item_id}/reject", data={"reason": "请补充遗失时间"})
    page = client.get("/lost-found/mine").get_data(as_text=True)
    assert "审核意见：请补充遗失时间" in page
    # The item page of a rejected report is for its reporter and officers only.
    assert client.get(f"/lost-found/{item_id}").status_code == 200
    assert app.test_client().get(f"/lost-found/{item_id}").status_code == 404


def test_pages_fit_a_small_screen_without_inline_style(app, world, client):
    from tests.notices.test_claims import _found_item

    item_id = _found_item(app, world)
    login(client, "resident@example.com")
    for path in (
        "/notices",
        "/lost-found",
        f"/lost-found/{item_id}",
        "/contact",
        "/lost-found/mine",
    ):
        html = client.get(path, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 8.1)"})
        text = html.get_data(as_text=True)
        assert html.status_code == 200, path
        assert 'name="viewport"' in text and "style=" not in text, path
