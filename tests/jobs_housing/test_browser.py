"""In Chromium: the landlord posts, the officer approves, a resident applies, the landlord
accepts, phones are exchanged, and both sign the agreement. No console errors, no CSP
violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from portal.db import db
from tests.browser.conftest import (  # noqa: F401 - fixtures
    LiveServer,
    PageLog,
    browser,
    live_server,
    new_page,
    page,
    page_log,
)
from tests.conftest import PASSWORD, valid_id

pytestmark = pytest.mark.browser


def _people(server: LiveServer) -> None:
    import datetime as dt

    from sqlalchemy import select

    from portal.accounts.models import IdentityVerification, Role, VerificationStatus
    from portal.accounts.services import register_user
    from portal.communities.models import Community
    from portal.db import utcnow
    from portal.security.pii import id_index, phone_index

    with server.app.test_request_context():
        community = db.session.scalar(select(Community))
        for login, name, real, first17, phone in (
            ("landlord@example.test", "赵房东", "赵建国", "22030219650312003", "13904340001"),
            ("seeker@example.test", "孙女士", "孙丽", "11010519900101001", "13800000001"),
        ):
            user = register_user(
                login=login,
                password=PASSWORD,
                display_name=name,
                community=community,
                role=Role.RESIDENT,
            )
            number = valid_id(first17)
            db.session.add(
                IdentityVerification(
                    user_id=user.id,
                    real_name=real,
                    id_number=number,
                    id_number_hash=id_index(number),
                    phone=phone,
                    phone_hash=phone_index(phone),
                    status=VerificationStatus.APPROVED,
                    decided_at=utcnow(),
                    expires_at=utcnow() + dt.timedelta(days=365),
                )
            )
        db.session.commit()


def log_in(tab: Any, server: LiveServer, login: str) -> None:
    tab.goto(server("/login"))
    tab.get_by_label("手机号或邮箱").fill(login)
    tab.get_by_label("密码", exact=True).fill(PASSWORD)
    tab.locator("main").get_by_role("button", name="登录").click()
    expect(tab.locator(".flash-success")).to_contain_text("登录成功")


def test_post_approve_apply_accept_sign(
    live_server: LiveServer,  # noqa: F811 - the imported fixture
    new_page: Any,  # noqa: F811
    page_log: PageLog,  # noqa: F811
) -> None:
    _people(live_server)
    landlord, officer, seeker = (
        new_page(viewport={"width": 1280, "height": 900}) for _ in range(3)
    )

    # The landlord posts a rental and submits it.
    log_in(landlord, live_server, "landlord@example.test")
    landlord.goto(live_server("/board/new/rental"))
    landlord.get_by_label("标题").fill("天桥社区两室一厅出租")
    landlord.get_by_label("房屋地址").fill("天桥社区 3 号楼 101")
    landlord.get_by_label("房间数").fill("2")
    landlord.get_by_label("面积（平方米）").fill("68")
    landlord.get_by_label("月租金（元）").fill("1200")
    landlord.get_by_label("我声明本人是房主或已获房主授权出租此房屋").check()
    landlord.get_by_role("button", name="保存").click()
    expect(landlord.locator(".flash-success")).to_contain_text("草稿已保存")
    landlord.get_by_role("button", name="提交审核").click()
    expect(landlord.locator("main")).to_contain_text("待审核")

    # The officer approves it from the back office.
    log_in(officer, live_server, live_server.officer_login)
    officer.goto(live_server("/backoffice/"))
    expect(officer.locator("main")).to_contain_text("待审核的租房招工信息")
    officer.goto(live_server("/backoffice/listings"))
    officer.get_by_role("link", name="天桥社区两室一厅出租").click()
    officer.get_by_role("button", name="通过").click()
    expect(officer.locator(".flash-success")).to_be_visible()

    # A resident finds it without logging in, then logs in and applies.
    seeker.goto(live_server("/board?kind=rental"))
    expect(seeker.locator("main")).to_contain_text("本平台免费，不收取任何中介费用")
    log_in(seeker, live_server, "seeker@example.test")
    seeker.goto(live_server("/board"))
    seeker.get_by_role("link", name="天桥社区两室一厅出租").click()
    seeker.get_by_label("留言").fill("您好，周末可以看房吗？")
    seeker.get_by_role("button", name="发送申请").click()
    expect(seeker.locator(".flash-success")).to_contain_text("申请已发送")

    # The landlord accepts; phones appear only after the seeker agrees.
    landlord.goto(live_server("/board/mine"))
    landlord.get_by_role("link", name="申请人").click()
    expect(landlord.locator("main")).to_contain_text("已实名认证")
    landlord.get_by_role("button", name="接受").click()
    expect(landlord.locator("main")).not_to_contain_text("13800000001")
    seeker.goto(live_server("/board/applications"))
    seeker.get_by_role("button", name="同意交换电话").click()
    expect(seeker.locator("main")).to_contain_text("13904340001")

    # The landlord generates the agreement; both sign with their passwords.
    landlord.reload()
    expect(landlord.locator("main")).to_contain_text("13800000001")
    landlord.get_by_role("link", name="生成协议").click()
    start = landlord.get_by_label("起始日期（入住或上岗日期）")
    expect(start).not_to_have_value("")  # suggested: the move-in date or today
    chosen = start.input_value()
    landlord.get_by_role("button", name="生成协议").click()
    expect(landlord.locator(".agreement-text")).to_contain_text("治安责任保证书")
    expect(landlord.locator(".agreement-text")).to_contain_text(chosen)
    expect(landlord.locator(".agreement-text")).to_contain_text("赵建国")
    landlord.get_by_label("登录密码").fill(PASSWORD)
    landlord.get_by_role("button", name="确认签署").click()
    expect(landlord.locator(".flash-success")).to_contain_text("已确认")
    seeker.goto(live_server("/board/applications"))
    seeker.get_by_role("link", name="协议").click()
    seeker.get_by_label("登录密码").fill(PASSWORD)
    seeker.get_by_role("button", name="确认签署").click()
    expect(seeker.locator("main h1")).to_contain_text("已签署")
    expect(seeker.get_by_role("button", name="打印")).to_be_visible()

    assert page_log.errors == [], page_log.errors
    assert all(d.status < 500 for d in page_log.documents)
