"""End to end in Chromium: a resident registers and asks for identity verification, the
community officer reviews (masked, then revealed on purpose) and approves, and the
resident sees the verified badge. No console errors and no CSP violations on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import COMMUNITY_NAME, LiveServer, PageLog
from tests.conftest import PASSWORD, valid_id

pytestmark = pytest.mark.browser

RESIDENT_PHONE = "13912345678"
RESIDENT_NAME = "孙女士"
REAL_NAME = "孙丽"


def id_photo(tmp_path: Path) -> Path:
    """A small real PNG for the optional ID photo field."""
    path = tmp_path / "id-card.png"
    Image.new("RGB", (64, 40), (30, 90, 200)).save(path, format="PNG")
    return path


def log_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".flash-success")).to_contain_text("您已退出登录")
    expect(page.get_by_role("link", name="登录", exact=True).first).to_be_visible()


def log_in(page: Any, server: LiveServer, login: str, password: str = PASSWORD) -> None:
    page.goto(server("/login"))
    page.get_by_label("手机号或邮箱").fill(login)
    page.get_by_label("密码", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_contain_text("登录成功")


def test_resident_is_verified_by_the_officer(
    live_server: LiveServer, page: Any, page_log: PageLog, tmp_path: Path
) -> None:
    id_number = valid_id()
    masked = id_number[:6] + "*" * 8 + id_number[-4:]
    assert masked == "110105********002X"

    # A new resident registers with a phone number and is logged in.
    first = page.goto(live_server("/register"))
    assert first is not None and first.status == 200
    page.get_by_label("手机号或邮箱").fill(RESIDENT_PHONE)
    page.get_by_label("称呼").fill(RESIDENT_NAME)
    page.get_by_label("所在社区").select_option(label=COMMUNITY_NAME)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="注册").click()
    expect(page).to_have_url(live_server("/account"))
    expect(page.locator(".flash-success")).to_contain_text("注册成功")
    header = page.locator("header.site-header")
    expect(header.get_by_role("link", name=RESIDENT_NAME)).to_be_visible()
    expect(header.get_by_role("button", name="退出")).to_be_visible()

    # The account page leads to identity verification.
    header.get_by_role("link", name=RESIDENT_NAME).click()
    expect(page).to_have_url(live_server("/account"))
    expect(page.get_by_test_id("verified-badge")).to_have_count(0)
    page.get_by_role("link", name="申请实名认证").click()
    expect(page).to_have_url(live_server("/account/verify"))
    page.get_by_label("真实姓名").fill(REAL_NAME)
    page.get_by_label("居民身份证号码").fill(id_number)
    page.get_by_label("手机号").fill(RESIDENT_PHONE)
    page.get_by_label("身份证照片").set_input_files(id_photo(tmp_path))
    page.get_by_label("我同意社区民警为核实身份查看以上信息").check()
    page.get_by_role("button", name="提交认证").click()

    # Pending, shown masked to the resident too.
    expect(page).to_have_url(live_server("/account"))
    expect(page.locator(".flash-success")).to_contain_text("认证申请已提交")
    expect(page.locator(".badge.status-pending")).to_have_text("待审核")
    expect(page.locator("main")).to_contain_text(masked)
    expect(page.locator("main")).not_to_contain_text(id_number)
    expect(page.get_by_test_id("verified-badge")).to_have_count(0)
    log_out(page)

    # The officer reviews the queue in the back office.
    log_in(page, live_server, live_server.officer_login)
    expect(page).to_have_url(live_server("/backoffice/"))
    page.get_by_role("navigation", name="工作台导航").get_by_role("link", name="实名认证").click()
    expect(page).to_have_url(live_server("/backoffice/verifications"))
    row = page.get_by_role("row").filter(has_text=masked)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(COMMUNITY_NAME)
    expect(page.locator("main")).not_to_contain_text(id_number)
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/backoffice/verifications/\d+$"))

    # Masked first; the ID photo is there and loads.
    shown = page.get_by_test_id("id-number")
    expect(shown).to_have_text(masked)
    expect(page.locator("main")).not_to_contain_text(id_number)
    photo = page.locator("img.id-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 64

    # Revealed on purpose, then approved.
    page.locator("dd", has=shown).get_by_role("button").click()
    expect(page.get_by_test_id("id-number")).to_have_text(id_number)
    expect(page.get_by_test_id("phone")).to_have_text(re.compile(r"^139\*+5678$"))
    page.get_by_test_id("approve").click()
    expect(page).to_have_url(live_server("/backoffice/verifications"))
    expect(page.locator(".flash-success")).to_contain_text("已通过认证")
    expect(page.get_by_role("row").filter(has_text=masked)).to_have_count(0)
    log_out(page)

    # The resident logs in again and is verified.
    log_in(page, live_server, RESIDENT_PHONE)
    page.goto(live_server("/account"))
    expect(page.get_by_test_id("verified-badge")).to_be_visible()
    expect(page.locator(".badge.status-approved")).to_have_text("已认证")
    expect(page.get_by_role("link", name="申请实名认证")).to_have_count(0)

    # Every page came with a CSP that forbids inline code, and the browser saw no error.
    assert page_log.documents, "no document responses were recorded"
    for response in page_log.documents:
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp, (response.url, csp)
        assert "'unsafe-inline'" not in csp, (response.url, csp)
        assert "'unsafe-eval'" not in csp, (response.url, csp)
    assert page_log.csp_violations() == []
    assert page_log.errors == []
