"""The app starts, pages render, the database answers."""

from __future__ import annotations


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": True}


def test_home_shows_emergency_banner_in_chinese(client, world):
    html = client.get("/").get_data(as_text=True)
    assert "紧急情况请拨打110" in html
    assert "天桥社区" in html
