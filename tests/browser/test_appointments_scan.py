"""The officer's QR check-in in Chromium: the page's decoder reads the booking's own QR image,
and the scan button reads a camera (Chromium's fake capture device playing a video of the
QR code) and fills the check-in form. No CSP violations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.accounts.services import register_user
from portal.appointments.models import Booking, Service
from portal.communities.models import Community
from portal.db import db, utcnow
from tests.browser.conftest import CHROMIUM_ARGS, LiveServer, PageLog, chromium_executable
from tests.browser.test_verification_flow import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

CODE = "SCANAB23"  # the booking-code alphabet: no 0, 1, I or O


def _y4m(path: Path, text: str, width: int = 320, height: int = 240) -> Path:
    """A two-frame Y4M video (4:2:0) of a QR code of ``text`` on white, for the fake camera."""
    qr = qrcode.QRCode(border=4)
    qr.add_data(text)
    qr.make()
    matrix = qr.get_matrix()
    box = min(width, height) // len(matrix)
    left, top = (width - box * len(matrix)) // 2, (height - box * len(matrix)) // 2
    luma = bytearray([235]) * (width * height)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                for y in range(top + r * box, top + (r + 1) * box):
                    start = y * width + left + c * box
                    luma[start : start + box] = bytes([16]) * box
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame + frame)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium whose camera is a fake device playing the QR code of ``CODE``."""
    video = _y4m(tmp_path_factory.mktemp("camera") / "qr.y4m", CODE)
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=chromium_executable(), headless=True, args=args
        )
        try:
            yield instance
        finally:
            instance.close()


def _booking(server: LiveServer) -> None:
    """A confirmed booking with code ``CODE`` of a resident of the officer's community."""
    from tests.appointments.helpers import setup_plan

    with server.app.test_request_context():
        if db.session.scalar(select(Booking).where(Booking.code == CODE)) is not None:
            return
        officer = db.session.scalar(select(User).where(User.email == server.officer_login))
        setup_plan(officer.id, notice=0)
        resident = register_user(
            login="scanned@example.test",
            password=PASSWORD,
            display_name="赵先生",
            community=db.session.scalar(select(Community)),
            role=Role.RESIDENT,
        )
        service = db.session.scalar(select(Service).where(Service.name == "户籍业务咨询"))
        start = utcnow().replace(second=0, microsecond=0) + dt.timedelta(hours=1)
        db.session.add(
            Booking(
                code=CODE,
                resident_id=resident.id,
                provider_id=officer.id,
                service_id=service.id,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=20),
            )
        )
        db.session.commit()


def test_page_decoder_reads_the_booking_qr_image(
    live_server: LiveServer, new_page: Any, page_log: PageLog
) -> None:
    _booking(live_server)
    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server, live_server.officer_login)
    page.goto(live_server("/backoffice/appointments"))
    page.wait_for_function("window.portalScan !== undefined")
    text = page.evaluate(
        """async (url) => {
            const img = new Image();
            img.src = url;
            await img.decode();
            return await window.portalScan.decode(img);
        }""",
        live_server(f"/appointments/b/{CODE}/qr.svg"),
    )
    assert text == CODE
    assert page.evaluate("window.portalScan.codeIn(' scanab23\\n')") == CODE
    assert page.evaluate("window.portalScan.codeIn('hello')") is None
    assert page_log.csp_violations() == []


def test_scan_button_reads_the_camera_and_fills_the_form(
    live_server: LiveServer, new_page: Any, page_log: PageLog
) -> None:
    _booking(live_server)
    page = new_page(viewport={"width": 1280, "height": 900}, permissions=["camera"])
    log_in(page, live_server, live_server.officer_login)
    page.goto(live_server("/backoffice/appointments"))
    page.locator("#scan-button").click()
    expect(page.get_by_label("预约号")).to_have_value(CODE, timeout=15_000)
    expect(page.locator("#scan-status")).to_contain_text(CODE)
    expect(page.locator("#scan-area")).to_be_hidden()  # the camera is released
    page.get_by_role("button", name="签到", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text(CODE)
    assert page_log.csp_violations() == []
    assert [e for e in page_log.errors if "favicon" not in e] == []
