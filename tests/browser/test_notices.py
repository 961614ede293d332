"""Notices in a real browser: a hostile notice runs no script (sanitised on save, and the
CSP blocks whatever might slip through); an officer writes a notice in the editor and
publishes it, and a subscribed resident's bell shows it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, PageLog
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

HOSTILE = (
    "<p>正文</p><script>window.__pwned = 1</script>"
    '<img src="/notices/images/x.png" onerror="window.__pwned = 2">'
    '<svg onload="window.__pwned = 3"></svg>'
    '<a href="javascript:window.__pwned=4" id="evil">点我</a>'
    '<a href="java\u200bscript:window.__pwned=5" id="evil2">点我</a>'
    '<noscript><p title="</noscript><img src=x onerror=window.__pwned=6>">'
    '<form><button formaction="javascript:window.__pwned=7" id="fa">go</button></form>'
    '<p style="background:url(javascript:window.__pwned=8)">css</p>'
)


def _login(page, live_server: LiveServer, login: str) -> None:
    page.goto(live_server("/login"))
    page.get_by_label("手机号或邮箱").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("a[href='/notifications']")).to_be_visible()


def _officer(app):
    from portal.accounts.models import User
    from portal.db import db

    return db.session.query(User).filter_by(email="officer@example.test").one()


def test_hostile_notice_runs_no_script(live_server: LiveServer, new_page, page_log: PageLog):
    from portal.db import db, utcnow
    from portal.notices import services as svc
    from portal.notices.models import Notice, NoticeKind

    app = live_server.app
    with app.test_request_context():
        saved = svc.save_notice(
            _officer(app),
            None,
            kind=NoticeKind.TIP,
            title="敌意内容（经清洗）",
            body_html=HOSTILE,
            station_wide=True,
            community_ids=[],
            publish_at=utcnow(),
        )
        # A notice whose HTML skipped the sanitiser (as if it had a bug): the CSP must
        # still stop every inline script and handler.
        raw = Notice(
            kind=NoticeKind.TIP,
            title="敌意内容（未清洗）",
            body_html=HOSTILE,
            station_wide=True,
            publish_at=utcnow(),
            unit="测试",
        )
        db.session.add(raw)
        db.session.commit()
        saved_id, raw_id = saved.id, raw.id

    page = new_page(viewport={"width": 375, "height": 667})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_server(f"/notices/{saved_id}"))
    expect(page.locator(".rich")).to_contain_text("正文")
    assert page.locator(".rich script, .rich svg, .rich [onerror], .rich [style]").count() == 0
    assert page.locator(".rich a[href^='javascript']").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned === undefined")

    page.goto(live_server(f"/notices/{raw_id}"))
    expect(page.locator(".rich")).to_contain_text("正文")
    page.locator("#evil").click()
    page.locator("#fa").click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert page_log.csp_violations(), "the CSP should have reported the blocked inline code"


def test_officer_publishes_and_subscriber_is_notified(
    live_server: LiveServer, new_page, page_log: PageLog
):
    from portal.accounts.services import register_user
    from portal.communities.models import Community
    from portal.db import db
    from portal.notices.models import Notice

    app = live_server.app
    with app.test_request_context():
        community = db.session.query(Community).filter_by(slug=live_server.community_slug).one()
        register_user(
            login="subscriber@example.com",
            password=PASSWORD,
            display_name="订阅者",
            community=community,
        )
        db.session.commit()

    resident = new_page(viewport={"width": 375, "height": 667})
    _login(resident, live_server, "subscriber@example.com")
    resident.goto(live_server("/notices"))
    resident.locator("[data-testid=subscribe]").click()
    expect(resident.locator("[data-testid=unsubscribe]")).to_be_visible()
    bell = resident.locator(".bell .count")
    expect(bell).to_have_attribute("data-unread", "0")
    resident.wait_for_timeout(500)  # let the socket connect

    officer = new_page(viewport={"width": 1280, "height": 900})
    _login(officer, live_server, live_server.officer_login)
    officer.goto(live_server("/backoffice/notices/new"))
    officer.get_by_label("标题", exact=True).fill("今晚停电通知")
    editor = officer.locator(".editor-area")
    expect(editor).to_be_visible()
    expect(officer.locator("textarea#body_html")).to_be_hidden()
    editor.click()
    officer.keyboard.type("今晚 20:00 起检修线路。")
    officer.keyboard.press("Control+a")
    officer.locator(".editor-toolbar button[aria-label='粗体']").click()
    officer.locator(".notice-form button[type=submit]").last.click()
    expect(officer.locator(".flash-success")).to_contain_text("草稿")
    # Publishing tells the subscribers, so the page asks first.
    officer.once("dialog", lambda dialog: dialog.accept())
    officer.locator("form[action$='/publish'] button").first.click()
    expect(officer.locator(".flash-success")).to_have_text("已发布。")

    expect(bell).to_have_attribute("data-unread", "1", timeout=10_000)
    resident.goto(live_server("/notifications"))
    expect(resident.locator("main")).to_contain_text("今晚停电通知")
    with app.app_context():
        n = db.session.query(Notice).filter_by(title="今晚停电通知").one()
        assert "<strong>" in n.body_html or "<b>" in n.body_html
        assert n.is_public
    assert page_log.errors == [], page_log.errors
