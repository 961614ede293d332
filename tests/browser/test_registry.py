"""In Chromium: a landlord and a migrant tenant sign a rental agreement, the officer
confirms the pending record the agreement made, the tenant (registered seven months ago)
applies for a residence permit and sees it move to ready. No console errors, no CSP
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
from tests.conftest import PASSWORD
from tests.jobs_housing.test_browser import _people, log_in

pytestmark = pytest.mark.browser


def _agreement_to_sign(server: LiveServer) -> int:
    """A published rental, the tenant's accepted application and the generated agreement."""
    from sqlalchemy import select

    from portal.accounts.models import User
    from portal.jobs_housing import agreements
    from portal.jobs_housing import services as board
    from portal.jobs_housing.models import Kind

    _people(server)
    with server.app.test_request_context():
        users = {u.email: u for u in db.session.scalars(select(User))}
        landlord, tenant = users["landlord@example.test"], users["seeker@example.test"]
        officer = users[server.officer_login]
        listing = board.create_listing(
            landlord,
            Kind.RENTAL,
            {
                "title": "天桥社区一室出租",
                "description": "",
                "address": "天桥社区 8 号楼 101",
                "rooms": 1,
                "area": 40,
                "rent": 800,
                "deposit_months": 1,
                "furnished": False,
                "available_from": None,
                "contact_pref": "",
            },
            community_id=landlord.community_id,
            owner_declared=True,
        )
        board.submit(landlord, listing)
        board.approve(officer, listing)
        application = board.apply(tenant, listing, "想租")
        board.decide_application(landlord, application, True)
        agreement = agreements.start_agreement(landlord, application)
        db.session.commit()
        return agreement.id


def _registered_months_ago(server: LiveServer, months: int) -> None:
    from sqlalchemy import select

    from portal.registry import permits
    from portal.registry import services as svc
    from portal.registry.models import MigrantRecord

    with server.app.app_context():
        record = db.session.scalar(select(MigrantRecord))
        record.since = permits.add_months(svc.local_today(), -months)
        db.session.commit()


def _officer_sets(officer: Any, server: LiveServer, label: str) -> None:
    officer.goto(server("/backoffice/registry/permits"))
    officer.get_by_label("新状态").select_option(label=label)
    officer.get_by_role("button", name="更新").click()
    expect(officer.locator(".flash-success")).to_contain_text(label)


def test_sign_confirm_apply_ready(
    live_server: LiveServer,  # noqa: F811 - the imported fixture
    new_page: Any,  # noqa: F811
    page_log: PageLog,  # noqa: F811
) -> None:
    agid = _agreement_to_sign(live_server)
    landlord, tenant, officer = (new_page(viewport={"width": 390, "height": 844}) for _ in range(3))

    # Both sides sign the agreement in the browser.
    log_in(landlord, live_server, "landlord@example.test")
    landlord.goto(live_server(f"/board/agreements/{agid}"))
    landlord.get_by_label("登录密码").fill(PASSWORD)
    landlord.get_by_role("button", name="确认签署").click()
    expect(landlord.locator(".flash-success")).to_contain_text("已确认")
    log_in(tenant, live_server, "seeker@example.test")
    tenant.goto(live_server(f"/board/agreements/{agid}"))
    tenant.get_by_label("登录密码").fill(PASSWORD)
    tenant.get_by_role("button", name="确认签署").click()
    expect(tenant.locator("main h1")).to_contain_text("已签署")

    # The tenant sees the pending registration the agreement made.
    tenant.goto(live_server("/registry"))
    expect(tenant.get_by_test_id("my-records")).to_contain_text("待审核")
    expect(tenant.get_by_test_id("my-records")).to_contain_text("天桥社区 8 号楼 101")

    # The officer confirms it from the review queue (name masked, ID revealed on purpose).
    log_in(officer, live_server, live_server.officer_login)
    officer.goto(live_server("/backoffice/"))
    officer.get_by_role("link", name="居住登记").first.click()
    expect(officer.get_by_test_id("pending")).to_contain_text("租房协议")
    officer.get_by_test_id("pending").get_by_role("link", name="孙*").click()
    expect(officer.get_by_test_id("id-number")).to_contain_text("********")
    officer.get_by_test_id("confirm").click()
    expect(officer.locator(".flash-success")).to_contain_text("已确认登记")

    # Registered seven months ago: the tenant may apply for a residence permit.
    _registered_months_ago(live_server, 7)
    tenant.goto(live_server("/registry"))
    expect(tenant.get_by_test_id("my-records")).to_contain_text("已登记")
    tenant.get_by_role("button", name="申请居住证").click()
    expect(tenant.locator(".flash-success")).to_contain_text("居住证申请已提交")
    expect(tenant.get_by_test_id("permit")).to_contain_text("已申请")

    for label in ("已受理", "制证中", "待领取"):
        _officer_sets(officer, live_server, label)

    tenant.reload()
    expect(tenant.get_by_test_id("permit")).to_contain_text("待领取")
    expect(tenant.locator("header .bell .count")).not_to_have_text("")

    assert page_log.errors == [], page_log.errors
    assert all(d.status < 500 for d in page_log.documents)
