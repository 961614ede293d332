"""The ledger's figures on a small known data set, against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.registry import figures
from tests.conftest import login
from tests.registry.conftest_ledger import at, lm  # noqa: F401

NOW = at("2026-06-15")  # 12:00 in Shanghai; the window is 2025-07 … 2026-06


@pytest.fixture
def data(app, world, lm):  # noqa: F811
    """Two communities. A: persons h1 (confirmed, plus a pending duplicate), h2
    (confirmed; pending until 04-02), h3 (pending), h5 (closed 05-20), h6 (rejected).
    B: h7 confirmed, h8 pending. Houses: A two open (one pledged), one closed; B one open
    pledged."""
    a, b = world["community"], world["other_community"]
    res = world["resident"]
    ids = {}
    ids["m1"] = lm.migrant(a, person=1, created=at("2026-01-10"), reviewed=at("2026-01-12"))
    ids["m2"] = lm.migrant(a, person=2, created=at("2026-03-01"), reviewed=at("2026-04-02"))
    ids["m3"] = lm.migrant(a, person=3, status="pending", created=at("2026-06-01"))
    ids["m4"] = lm.migrant(a, person=1, status="pending", created=at("2026-06-11"))
    ids["m5"] = lm.migrant(
        a,
        person=5,
        status="closed",
        created=at("2025-12-01"),
        reviewed=at("2025-12-02"),
        closed=at("2026-05-20"),
    )
    ids["m6"] = lm.migrant(
        a, person=6, status="rejected", created=at("2026-02-01"), reviewed=at("2026-02-10")
    )
    ids["m7"] = lm.migrant(b, person=7, created=at("2026-05-01"), reviewed=at("2026-05-02"))
    ids["m8"] = lm.migrant(b, person=8, status="pending", created=at("2026-06-14"))
    lm.permit(ids["m1"], res, "ready", updated=at("2026-03-20"))
    lm.permit(ids["m2"], res, "making", updated=at("2026-05-01"))
    lm.house(a, created=at("2026-01-01"), pledged=at("2026-02-01"))
    lm.house(a, created=at("2026-03-15"))
    lm.house(a, created=at("2025-11-01"), pledged=at("2025-11-01"), closed=at("2026-04-10"))
    lm.house(b, created=at("2026-05-01"), pledged=at("2026-05-01"))
    # 2026-01-05 00:00 and 2026-03-01 00:00 in Shanghai are still the previous day in UTC.
    lm.event(a, "moved_in", at("2026-01-04", 16), migrant_id=ids["m1"])
    lm.event(a, "moved_in", at("2026-02-28", 16), migrant_id=ids["m2"])
    lm.event(a, "moved_out", at("2026-05-19", 16), migrant_id=ids["m5"])
    lm.event(b, "moved_in", at("2026-04-30", 16), migrant_id=ids["m7"])
    lm.event(b, "moved_in", at("2025-05-01"), migrant_id=ids["m7"])  # outside the window
    lm.event(a, "confirmed", at("2026-01-12"), migrant_id=ids["m1"])  # not a move
    return {"a": a, "b": b, **ids}


def test_current_figures(ctx, data):
    now = figures.current(NOW)
    a, b, st = now[data["a"]], now[data["b"]], now[figures.STATION]
    # A: known persons h1, h2, h3 (the pending duplicate of h1 counts once); registered h1, h2.
    assert (a.known, a.registered, a.permits) == (3, 2, 1)
    assert a.registration_rate == pytest.approx(2 / 3)
    assert a.permit_rate == pytest.approx(0.5)
    assert (a.open_houses, a.pledged, a.pledge_rate) == (2, 1, 0.5)
    assert (a.pending, a.oldest_pending_days, a.median_pending_days) == (2, 14.0, 9.0)
    # B
    assert (b.known, b.registered, b.permits, b.permit_rate) == (2, 1, 0, 0.0)
    assert (b.open_houses, b.pledged, b.pledge_rate) == (1, 1, 1.0)
    assert (b.pending, b.oldest_pending_days, b.median_pending_days) == (1, 1.0, 1.0)
    # The station: distinct persons, not a sum of the communities.
    assert (st.known, st.registered, st.permits) == (5, 3, 1)
    assert st.registration_rate == pytest.approx(0.6)
    assert (st.open_houses, st.pledged) == (3, 2)
    assert (st.pending, st.oldest_pending_days, st.median_pending_days) == (3, 14.0, 4.0)


def _month(series, ym):
    return next(f for f in series.months if f.month.strftime("%Y-%m") == ym)


def test_monthly_figures(ctx, data):
    by = figures.monthly(NOW)
    a, b, st = by[data["a"]], by[data["b"]], by[figures.STATION]
    assert [f.month.strftime("%Y-%m") for f in a.months][0] == "2025-07"
    assert a.months[-1].month == dt.date(2026, 6, 1) and len(a.months) == 12
    jan, feb, mar = _month(a, "2026-01"), _month(a, "2026-02"), _month(a, "2026-03")
    apr, may, jun = _month(a, "2026-04"), _month(a, "2026-05"), _month(a, "2026-06")
    # January: h1 and h5 registered; the permit of h1 is not ready yet; houses 1 and 3.
    assert (jan.known, jan.registered, jan.permits, jan.pending) == (2, 2, 0, 0)
    assert (jan.open_houses, jan.pledged) == (2, 1)
    # February: the rejected record was pending only mid-month.
    assert (feb.known, feb.registered, feb.pending) == (2, 2, 0)
    # March: h2 waits for review (since 03-01, 30.5 days at 03-31 24:00 Shanghai).
    assert (mar.known, mar.registered, mar.pending, mar.permits) == (3, 2, 1, 1)
    assert mar.oldest_pending_days == 30.5
    assert (mar.open_houses, mar.pledged) == (3, 2)
    assert (apr.known, apr.registered, apr.permits) == (3, 3, 1)
    assert (apr.open_houses, apr.pledged) == (2, 1)
    # May: h5 moved out and was closed.
    assert (may.known, may.registered, may.moved_out) == (2, 2, 1)
    # June (now) equals the current figures.
    assert (jun.known, jun.registered, jun.pending, jun.permits) == (3, 2, 2, 1)
    # Move-ins land in the Shanghai month of their date.
    assert [f.moved_in for f in a.months] == [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0]
    assert _month(b, "2026-05").moved_in == 1 and _month(b, "2026-04").moved_in == 0
    assert sum(f.moved_in for f in st.months) == 3
    assert sum(f.moved_out for f in st.months) == 1
    assert _month(st, "2026-04").registered == 3
    assert _month(st, "2026-06").known == 5


def test_month_starts_follow_shanghai_time():
    starts = figures.month_starts(at("2026-01-31", 17), months=2)  # 02-01 01:00 Shanghai
    assert starts == [  # January, February (current), and the start of March
        dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 31, 16, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC),
    ]


def test_empty_ledger_has_no_rates(ctx):
    now = figures.current(NOW)
    st = now[figures.STATION]
    assert (st.known, st.registration_rate, st.permit_rate, st.pledge_rate) == (0, None, None, None)
    assert len(figures.monthly(NOW)[figures.STATION].months) == 12


def test_figures_page_draws_svg_without_inline_script_or_style(client, data):
    login(client, "officer@example.com")
    resp = client.get("/backoffice/registry/figures")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<svg" in html and "<polyline" in html and "<rect" in html
    assert "<script" not in html.split("</header>")[-1]
    assert not re.search(r"\sstyle=", html)
    assert "天桥社区" in html and "铁西社区" not in html  # only the officer's community
    assert client.get(f"/backoffice/registry/figures?community={data['a']}").status_code == 200
    assert client.get(f"/backoffice/registry/figures?community={data['b']}").status_code == 403


def test_dashboard_panel_shows_rates_and_backlog(client, data):
    login(client, "officer@example.com")
    html = client.get("/backoffice/").get_data(as_text=True)
    assert 'data-panel="registry-ledger"' in html
    assert "66.7%" in html  # registration rate of the officer's community
    assert "50.0%" in html  # permit rate


def test_figures_api(app, client, data):
    login(client, "admin@example.com")
    body = client.get("/api/v1/registry/figures").get_json()
    assert body["targets"]["permit"] == 0.95
    assert body["station"]["now"]["known"] == 5
    assert {c["community_id"] for c in body["communities"]} == {data["a"], data["b"]}
    assert len(body["station"]["months"]) == 12
    officer = app.test_client()
    login(officer, "officer@example.com")
    body = officer.get("/api/v1/registry/figures").get_json()
    assert [c["community_id"] for c in body["communities"]] == [data["a"]]


def test_snapshot_is_stored_and_refreshed_when_old(ctx, world, data, lm):  # noqa: F811
    from sqlalchemy import func, select

    from portal.db import db
    from portal.jobs import registered_jobs

    first = figures.stored(NOW)
    assert first.computed_at == NOW and first.now[figures.STATION].known == 5
    db.session.commit()
    lm.migrant(world["community"], person=9, status="pending", created=at("2026-06-15", 1))
    # Within the maximum age the stored figures are read back as they were…
    later = figures.stored(NOW + dt.timedelta(minutes=5))
    assert later.computed_at == NOW and later.now[figures.STATION].known == 5
    assert later.now[data["a"]].median_pending_days == 9.0
    assert [f.moved_in for f in later.months[data["a"]].months] == [
        f.moved_in for f in figures.monthly(NOW)[data["a"]].months
    ]
    # …and recomputed once older than REGISTRY_FIGURES_MAX_AGE (20 minutes).
    fresh = figures.stored(NOW + dt.timedelta(minutes=21))
    assert fresh.now[figures.STATION].known == 6
    stamps = db.session.scalars(select(func.distinct(figures.FigureSnapshot.computed_at))).all()
    assert len(stamps) == 1  # the old set is gone
    assert "registry-figures" in registered_jobs()
    assert registered_jobs()["registry-figures"].func() == 1
