"""Live chat in two browser contexts: the resident and the officer chat, the typing
indicator and the read receipt show, and after a reload the resident sees the whole history
once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, PageLog
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _login(page, live_server: LiveServer, login: str) -> None:
    page.goto(live_server("/login"))
    page.get_by_label("手机号或邮箱").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()


def test_resident_and_officer_chat(live_server: LiveServer, new_page, page_log: PageLog):
    from portal.accounts.models import User
    from portal.accounts.services import register_user
    from portal.communities.models import Community, OfficerStatus
    from portal.consult.models import Conversation
    from portal.db import db

    app = live_server.app
    with app.test_request_context():
        community = db.session.query(Community).filter_by(slug=live_server.community_slug).one()
        register_user(
            login="chatter@example.com",
            password=PASSWORD,
            display_name="聊天的",
            community=community,
        )
        officer = db.session.query(User).filter_by(email=live_server.officer_login).one()
        officer.officer_profile.status = OfficerStatus.IN_OFFICE
        db.session.commit()

    resident = new_page(viewport={"width": 375, "height": 667})
    _login(resident, live_server, "chatter@example.com")
    resident.goto(live_server("/consult/chat"))
    expect(resident.locator("[data-chat]")).to_be_visible()
    with app.app_context():
        conv_id = db.session.query(Conversation.id).scalar()

    staff = new_page(viewport={"width": 1280, "height": 900})
    _login(staff, live_server, live_server.officer_login)
    staff.goto(live_server(f"/backoffice/chat/{conv_id}"))
    resident.wait_for_timeout(800)  # both sockets joined

    resident.locator("#chat-body").type("你好")
    expect(staff.locator("[data-chat-status]")).to_have_text("对方正在输入…", timeout=10_000)
    resident.get_by_role("button", name="发送").click()
    expect(staff.locator(".chat-log .body", has_text="你好")).to_be_visible(timeout=10_000)
    # The officer's page is open, so the message is read: the resident sees the receipt.
    expect(resident.locator(".chat-msg.mine .read")).to_have_text("已读", timeout=10_000)

    staff.locator("#chat-body").fill("您好，请讲 https://example.com/a")
    staff.get_by_role("button", name="发送").click()
    reply = resident.locator(".chat-log .body", has_text="您好，请讲")
    expect(reply).to_be_visible(timeout=10_000)
    expect(reply.locator("a")).to_have_attribute("href", "https://example.com/a")

    resident.reload()
    expect(resident.locator(".chat-log .chat-msg")).to_have_count(2)
    resident.wait_for_timeout(800)  # the resync after connect adds nothing
    expect(resident.locator(".chat-log .chat-msg")).to_have_count(2)
    expect(reply.locator("a")).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert page_log.errors == [], page_log.errors


def test_ask_page_suggests_similar_questions_and_shows_the_110_banner(
    live_server: LiveServer, new_page, page_log: PageLog
):
    from portal.accounts.models import User
    from portal.accounts.services import register_user
    from portal.communities.models import Community
    from portal.consult import services as svc
    from portal.consult.models import Category
    from portal.db import db

    app = live_server.app
    with app.test_request_context():
        community = db.session.query(Community).filter_by(slug=live_server.community_slug).one()
        asker = register_user(
            login="asker@example.com", password=PASSWORD, display_name="提问的", community=community
        )
        officer = db.session.query(User).filter_by(email=live_server.officer_login).one()
        c = svc.ask(
            asker,
            category=Category.HOUSEHOLD,
            title="居住证办理需要哪些材料",
            body="刚搬来",
            is_public=True,
        )
        svc.reply(officer, c, "身份证和租房合同")
        db.session.commit()

    page = new_page(viewport={"width": 375, "height": 667})
    _login(page, live_server, "asker@example.com")
    page.goto(live_server("/consult/ask"))
    banner = page.locator("[data-emergency-banner]")
    expect(banner).to_be_hidden()
    page.locator("#title").type("怎么办居住证")
    suggestion = page.locator("[data-similar-list] a", has_text="居住证办理需要哪些材料")
    expect(suggestion).to_be_visible(timeout=10_000)
    page.locator("#body").type("救命，有人在砸门")
    expect(banner).to_be_visible()
    page.locator("#category").select_option("security")
    page.get_by_role("button", name="提交咨询").click()
    expect(page.locator(".flash-success")).to_contain_text("前答复")
    expect(page.locator("[data-emergency-banner]")).to_be_visible()
    assert page_log.errors == [], page_log.errors


def test_officer_inbox_updates_live(live_server: LiveServer, new_page, page_log: PageLog):
    """The inbox gains the conversation with its unread count and urgent mark as the resident
    writes an emergency word (the resident sees the 110 banner), and shows the resident
    going offline when their page closes."""
    from portal.accounts.models import User
    from portal.accounts.services import register_user
    from portal.communities.models import Community, OfficerStatus
    from portal.db import db

    app = live_server.app
    with app.test_request_context():
        community = db.session.query(Community).filter_by(slug=live_server.community_slug).one()
        register_user(
            login="caller@example.com",
            password=PASSWORD,
            display_name="求助的",
            community=community,
        )
        officer = db.session.query(User).filter_by(email=live_server.officer_login).one()
        officer.officer_profile.status = OfficerStatus.IN_OFFICE
        db.session.commit()

    staff = new_page(viewport={"width": 1280, "height": 900})
    _login(staff, live_server, live_server.officer_login)
    staff.goto(live_server("/backoffice/chat"))
    expect(staff.locator("[data-chat-inbox]")).to_be_visible()
    staff.wait_for_timeout(500)  # the inbox socket is listening

    resident = new_page(viewport={"width": 375, "height": 667})
    _login(resident, live_server, "caller@example.com")
    resident.goto(live_server("/consult/chat"))
    conv_id = resident.locator("[data-chat]").get_attribute("data-conversation")
    resident.wait_for_timeout(500)
    resident.locator("#chat-body").fill("救命，门外有人砸门")
    resident.get_by_role("button", name="发送").click()
    expect(resident.locator("[data-emergency-banner]")).to_be_visible(timeout=10_000)

    row = staff.locator(f'[data-chat-inbox] li[data-conversation="{conv_id}"]')
    expect(row).to_have_count(1, timeout=10_000)
    # Urgent: moved to the top of the list, above older calm conversations.
    first = staff.locator("[data-chat-inbox] li[data-conversation]").first
    expect(first).to_have_attribute("data-conversation", conv_id)
    expect(row.locator("[data-unread]")).to_have_text("1 条未读")
    expect(row.locator("[data-urgent]")).to_be_visible()
    expect(row.locator("[data-online]")).to_have_text("在线")

    resident.close()
    expect(row.locator("[data-online]")).to_have_text("离线", timeout=10_000)
    assert page_log.errors == [], page_log.errors
