"""End to end in Chromium: on a phone, a resident claims a found item and books the visit
to collect it; at the desk the officer sees the claim on the item, confirms and hands the
item over. Every page fits the phone's width; no CSP violations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.accounts.services import register_user
from portal.communities.models import Community
from portal.db import db
from tests.browser.conftest import LiveServer, PageLog
from tests.browser.test_verification_flow import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
RESIDENT = "claimant@example.test"


def _prepare(server: LiveServer) -> None:
    from portal.notices import services as svc
    from portal.notices.seed import seed_claim_service
    from tests.appointments.helpers import setup_plan

    with server.app.test_request_context():
        officer = db.session.scalar(select(User).where(User.email == server.officer_login))
        community = db.session.scalar(select(Community))
        register_user(
            login=RESIDENT,
            password=PASSWORD,
            display_name="赵先生",
            community=community,
            role=Role.RESIDENT,
        )
        setup_plan(officer.id, notice=0)
        seed_claim_service()
        svc.register_found(
            officer,
            title="灰色双肩包",
            description="在公交站拾获",
            place="天桥公交站",
            happened_on=None,
            collect_at="天桥社区警务室",
            community_id=community.id,
        )
        db.session.commit()


def _fits(page: Any) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the phone"


def test_resident_claims_on_a_phone_and_officer_hands_over(
    live_server: LiveServer, new_page: Callable[..., Any], page_log: PageLog
) -> None:
    _prepare(live_server)
    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(phone, live_server, RESIDENT)
    phone.goto(live_server("/lost-found"))
    _fits(phone)
    phone.get_by_role("link", name="这是我的，认领").click()
    expect(phone.locator("main h1")).to_have_text("灰色双肩包")
    _fits(phone)
    phone.get_by_role("link", name="认领", exact=True).click()
    # An empty description is refused in Chinese at the field.
    phone.get_by_role("button", name="下一步：预约领取时间").click()
    expect(phone.locator(".field.has-error .error")).to_contain_text("该字段是必填字段")
    phone.get_by_label("物品特征").fill("包里有一本蓝色笔记本，拉链上挂着小熊")
    phone.get_by_role("button", name="下一步：预约领取时间").click()
    expect(phone.locator(".flash-success")).to_contain_text("已提交认领")
    _fits(phone)
    slot = phone.locator("button.slot").first
    expect(slot).to_be_visible()
    slot.click()
    expect(phone.locator(".flash-success")).to_contain_text("已预约领取时间")
    expect(phone.locator("#booking-status")).to_have_text("已预约")
    code = phone.locator("#booking-code").inner_text().strip()
    _fits(phone)

    desk = new_page(viewport={"width": 1280, "height": 900})
    log_in(desk, live_server, live_server.officer_login)
    desk.goto(live_server("/backoffice/lost-found"))
    desk.get_by_role("link", name="核对认领").click()
    claim = desk.locator("[data-claim]")
    expect(claim).to_contain_text("赵先生")
    expect(claim).to_contain_text("蓝色笔记本")
    expect(claim).to_contain_text(code)
    # Dismissing the confirmation changes nothing; accepting hands the item over.
    desk.once("dialog", lambda dialog: dialog.dismiss())
    claim.get_by_role("button", name="归还给此人").click()
    expect(claim.get_by_role("button", name="归还给此人")).to_be_visible()
    desk.once("dialog", lambda dialog: dialog.accept())
    claim.get_by_role("button", name="归还给此人").click()
    expect(desk.locator(".flash-success")).to_contain_text("已归还")
    expect(desk.locator("[data-claim]")).to_contain_text("已领回")

    phone.goto(live_server("/lost-found/mine"))
    expect(phone.locator("main")).to_contain_text("已领回")
    _fits(phone)
    assert page_log.csp_violations() == []
    # The refused empty description answered 422 on purpose; nothing else may fail.
    assert [e for e in page_log.errors if "favicon" not in e and "status of 422" not in e] == []
