"""End to end in Chromium: a resident books a slot, sees the QR code and downloads the
calendar file; the officer checks them in by booking code. No CSP violations."""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.accounts.services import register_user
from portal.communities.models import Community
from portal.db import db
from tests.browser.conftest import LiveServer, PageLog
from tests.browser.test_verification_flow import log_in, log_out
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _prepare(server: LiveServer) -> None:
    from tests.appointments.helpers import setup_plan

    with server.app.test_request_context():
        officer = db.session.scalar(select(User).where(User.email == server.officer_login))
        community = db.session.scalar(select(Community))
        if db.session.scalar(select(User).where(User.email == "booker@example.test")) is None:
            register_user(
                login="booker@example.test",
                password=PASSWORD,
                display_name="周女士",
                community=community,
                role=Role.RESIDENT,
            )
            db.session.commit()
        setup_plan(officer.id, notice=0)


def test_resident_books_and_officer_checks_in(
    live_server: LiveServer, page: Any, page_log: PageLog
) -> None:
    _prepare(live_server)
    log_in(page, live_server, "booker@example.test")
    page.goto(live_server("/appointments"))
    page.locator("section", has_text="户籍业务咨询").get_by_role("link", name="预约").click()
    first_slot = page.locator("button.slot").first
    expect(first_slot).to_be_visible()
    first_slot.click()
    code = page.locator("#booking-code").inner_text().strip()
    assert len(code) == 8
    expect(page.locator("#booking-status")).to_have_text("已预约")
    qr = page.locator("#booking-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("document.getElementById('booking-qr').naturalWidth > 0")
    with page.expect_download() as info:
        page.locator("#ics-link").click()
    ics = Calendar.from_ical(open(info.value.path(), "rb").read())
    event = next(iter(ics.walk("VEVENT")))
    assert code in str(event["summary"])
    log_out(page)

    log_in(page, live_server, live_server.officer_login)
    page.goto(live_server("/backoffice/appointments?view=week"))
    page.get_by_label("预约号").fill(code.lower())
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".flash-success")).to_contain_text(code)
    assert page_log.csp_violations() == []
    assert [e for e in page_log.errors if "favicon" not in e] == []
