"""Quick checks in Chromium at a phone's size (375x667): the emergency banner, the
language switch, field-level login errors, and a home page that fits the screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, PageLog

pytestmark = pytest.mark.browser

MOBILE = {"width": 375, "height": 667}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def mobile(new_page: Callable[..., Any]) -> Any:
    return new_page(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)


def banner(page: Any) -> Any:
    return page.get_by_role("note").filter(has_text="110")


@pytest.mark.parametrize("path", ["/", "/login", "/communities", "/c/tianqiao"])
def test_emergency_number_is_at_the_top(
    live_server: LiveServer, mobile: Any, page_log: PageLog, path: str
) -> None:
    response = mobile.goto(live_server(path))
    assert response is not None and response.status == 200
    note = banner(mobile)
    expect(note).to_have_text("紧急情况请拨打110")
    expect(note).to_be_in_viewport()
    box = note.bounding_box()
    assert box is not None and box["y"] < 10 and box["width"] >= MOBILE["width"] - 1
    assert page_log.csp_violations() == []


def test_language_switch_turns_the_page_english_and_back(
    live_server: LiveServer, mobile: Any, page_log: PageLog
) -> None:
    mobile.goto(live_server("/login"))
    expect(mobile.locator("html")).to_have_attribute("lang", "zh-CN")
    mobile.get_by_role("button", name="English").click()

    expect(mobile).to_have_url(live_server("/login"))
    expect(mobile.locator("html")).to_have_attribute("lang", "en")
    switch_back = mobile.get_by_role("button", name="中文")
    expect(switch_back).to_be_visible()
    note = banner(mobile).inner_text()
    assert not CJK.search(note), f"emergency banner not translated: {note!r}"
    heading = mobile.locator("main h1").inner_text()
    assert not CJK.search(heading), f"login heading not translated: {heading!r}"

    switch_back.click()
    expect(mobile).to_have_url(live_server("/login"))
    expect(mobile.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(banner(mobile)).to_have_text("紧急情况请拨打110")
    expect(mobile.get_by_role("button", name="English")).to_be_visible()
    assert page_log.csp_violations() == []


def test_wrong_password_is_explained_at_the_field(
    live_server: LiveServer, mobile: Any, page_log: PageLog
) -> None:
    mobile.goto(live_server("/login"))
    mobile.get_by_label("手机号或邮箱").fill(live_server.officer_login)
    mobile.get_by_label("密码", exact=True).fill("not the password")
    mobile.locator("main").get_by_role("button", name="登录").click()

    password = mobile.get_by_label("密码", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    described = password.get_attribute("aria-describedby")
    assert described
    error = mobile.locator(f"[id='{described}']")
    expect(error).to_be_visible()
    expect(error).to_have_text("手机号/邮箱或密码不正确。")
    expect(password).to_have_value("")
    expect(mobile.get_by_label("手机号或邮箱")).to_have_value(live_server.officer_login)
    expect(mobile.get_by_role("button", name="退出")).to_have_count(0)
    assert page_log.csp_violations() == []


def test_home_fits_a_phone_screen(
    live_server: LiveServer, mobile: Any, page_log: PageLog, tmp_path: Path
) -> None:
    mobile.goto(live_server("/"))
    expect(mobile.locator("main")).to_contain_text("天桥社区")
    widths = mobile.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["inner"] == MOBILE["width"]
    assert widths["scroll"] <= widths["inner"], f"horizontal scroll on the home page: {widths}"

    shot = tmp_path / "home-375x667.png"
    mobile.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as img:
        assert img.format == "PNG"
        assert img.width == MOBILE["width"] * 2  # device scale factor 2
        assert img.height >= MOBILE["height"] * 2
    assert page_log.csp_violations() == []
    assert page_log.errors == []
