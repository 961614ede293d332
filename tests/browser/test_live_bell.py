"""The bell counts up live in the resident's open page when the officer acts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, PageLog
from tests.conftest import PASSWORD, valid_id

pytestmark = pytest.mark.browser


def test_bell_updates_without_reload(live_server: LiveServer, new_page, page_log: PageLog):
    from portal.accounts.models import User
    from portal.accounts.services import register_user, submit_identity
    from portal.communities.models import Community
    from portal.db import db

    app = live_server.app
    with app.test_request_context():
        community = db.session.query(Community).filter_by(slug=live_server.community_slug).one()
        user = register_user(
            login="bell@example.com", password=PASSWORD, display_name="等通知", community=community
        )
        v = submit_identity(
            user,
            real_name="钱多多",
            id_number=valid_id("11010519800101002"),
            phone="13900001111",
            photo_filename=None,
        )
        db.session.commit()
        vid = v.id

    resident = new_page(viewport={"width": 375, "height": 667})
    resident.goto(live_server("/login"))
    resident.get_by_label("手机号或邮箱").fill("bell@example.com")
    resident.get_by_label("密码").fill(PASSWORD)
    resident.locator("form.form button[type=submit]").click()
    bell = resident.locator(".bell .count")
    expect(bell).to_have_attribute("data-unread", "0")
    resident.wait_for_timeout(500)  # let the socket connect

    officer = new_page(viewport={"width": 1280, "height": 900})
    officer.goto(live_server("/login"))
    officer.get_by_label("手机号或邮箱").fill(live_server.officer_login)
    officer.get_by_label("密码").fill(PASSWORD)
    officer.locator("form.form button[type=submit]").click()
    officer.goto(live_server(f"/backoffice/verifications/{vid}"))
    officer.locator("[data-testid=approve]").click()
    expect(officer.locator(".flash-success")).to_be_visible()

    # No reload on the resident's side: the count arrives over Socket.IO.
    expect(bell).to_have_attribute("data-unread", "1", timeout=10_000)
    expect(bell).to_have_text("1")
    with app.app_context():
        assert db.session.get(User, user.id) is not None
    assert page_log.errors == [], page_log.errors
