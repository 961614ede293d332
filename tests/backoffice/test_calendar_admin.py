"""Admins correct the holiday calendar; the station calendar follows at once."""

from __future__ import annotations

import datetime as dt

from portal.station.calendar import get_calendar
from tests.conftest import login


def test_admin_override_and_delete(client, app, world):
    login(client, "admin@example.com")
    page = client.get("/backoffice/calendar").get_data(as_text=True)
    assert "08:30–12:00" in page
    day = dt.date(2026, 12, 7)  # a Monday
    with app.test_request_context():
        assert get_calendar().is_working_day(day)
    resp = client.post(
        "/backoffice/calendar", data={"day": day.isoformat(), "note": "台风停止办公"}
    )
    assert resp.status_code == 302
    with app.test_request_context():
        assert not get_calendar().is_working_day(day)
    page = client.get("/backoffice/calendar").get_data(as_text=True)
    assert "台风停止办公" in page
    from sqlalchemy import select

    from portal.db import db
    from portal.station.models import CalendarOverride

    with app.app_context():
        oid = db.session.scalars(select(CalendarOverride.id)).one()
    assert client.post(f"/backoffice/calendar/{oid}/delete").status_code == 302
    with app.test_request_context():
        assert get_calendar().is_working_day(day)


def test_bad_calendar_input(client, world):
    login(client, "admin@example.com")
    resp = client.post("/backoffice/calendar", data={"day": "2026-13-45", "note": "保留这段说明"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "保留这段说明" in html


def test_officers_cannot_edit_calendar(client, world):
    login(client, "officer@example.com")
    assert client.post("/backoffice/calendar", data={"day": "2026-12-07"}).status_code == 403
