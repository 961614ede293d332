"""Crime bulletins: half-month periods, counts stored as data, change against the previous
period, the table and the SVG chart."""

from __future__ import annotations

import datetime as dt
import re

from portal.db import db
from portal.notices import services as svc
from portal.notices.models import BulletinFigure, NoticeKind
from tests.conftest import login
from tests.notices.helpers import write


def test_half_months():
    assert svc.half_month_start(dt.date(2026, 2, 15)) == dt.date(2026, 2, 1)
    assert svc.half_month_start(dt.date(2026, 2, 16)) == dt.date(2026, 2, 16)
    assert svc.half_month_end(dt.date(2026, 2, 16)) == dt.date(2026, 2, 28)
    assert svc.half_month_end(dt.date(2024, 2, 16)) == dt.date(2024, 2, 29)
    assert svc.half_month_end(dt.date(2026, 12, 16)) == dt.date(2026, 12, 31)
    assert svc.previous_half_month(dt.date(2026, 3, 1)) == dt.date(2026, 2, 16)
    assert svc.previous_half_month(dt.date(2026, 1, 1)) == dt.date(2025, 12, 16)
    assert svc.previous_half_month(dt.date(2026, 3, 16)) == dt.date(2026, 3, 1)


def test_change_pct():
    assert svc.change_pct(6, 4) == 50.0
    assert svc.change_pct(3, 4) == -25.0
    assert svc.change_pct(1, 3) == -66.7
    assert svc.change_pct(5, 0) is None and svc.change_pct(5, None) is None
    row = svc.BulletinRow("盗窃", 3, 4, -25.0)
    assert row.change_label == "-25.0%"


def _bulletin(app, officer, start, counts, **kw):
    return write(
        app,
        officer,
        kind=NoticeKind.BULLETIN,
        title=f"警情公示 {start}",
        period_start=start,
        figures=counts,
        advice="锁好电动车",
        **kw,
    )


def test_bulletin_against_previous_period(app, world, client):
    _bulletin(app, world["officer"], dt.date(2026, 3, 1), {"盗窃": 4, "诈骗": 5, "抢劫": 0})
    nid = _bulletin(app, world["officer"], dt.date(2026, 3, 20), {"盗窃": 6, "诈骗": 4, "抢劫": 2})
    with app.test_request_context():
        from portal.notices.models import Notice

        n = db.session.get(Notice, nid)
        assert n.period_start == dt.date(2026, 3, 16)  # any day in the half-month
        assert db.session.query(BulletinFigure).filter_by(notice_id=nid).count() == 3
        prev = svc.previous_bulletin(n)
        rows = {r.offence: r for r in svc.bulletin_rows(n, prev)}
        assert (rows["盗窃"].previous, rows["盗窃"].change_pct) == (4, 50.0)
        assert rows["诈骗"].change_pct == -20.0
        assert rows["抢劫"].change_pct is None  # from zero: no per cent
        total = svc.bulletin_total(list(rows.values()))
        assert (total.count, total.previous, total.change_pct) == (12, 9, 33.3)
    html = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert "2026-03-16" in html and "2026-03-31" in html
    assert "+50.0%" in html and "-20.0%" in html and "+33.3%" in html
    assert "锁好电动车" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<script" not in svg and "style=" not in svg
    assert len(re.findall(r"<rect ", svg)) == 6  # two periods x three offences


def test_first_bulletin_has_nothing_to_compare(app, world, client):
    nid = _bulletin(app, world["officer"], dt.date(2026, 5, 1), {"盗窃": 2})
    html = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert "—" in html and "<svg" in html


def test_bulletin_form_stores_counts(app, world, client):
    login(client, "officer@example.com")
    offences = svc.DEFAULT_OFFENCES
    data = {
        "kind": "bulletin",
        "title": "三月上半月警情",
        "body_html": "",
        "station_wide": "y",
        "period_start": "2026-03-05",
        "advice": "注意防范",
        "publish_at": "2026-03-16T09:00",
    }
    data.update({f"count_{i}": str(i + 1) for i in range(len(offences))})
    assert client.post("/backoffice/notices/new", data=data).status_code == 302
    with app.app_context():
        figs = db.session.query(BulletinFigure).order_by(BulletinFigure.position).all()
        assert [(f.offence, f.count) for f in figs] == [(o, i + 1) for i, o in enumerate(offences)]
    data["period_start"] = ""
    data["title"] = "缺时段"
    assert client.post("/backoffice/notices/new", data=data).status_code == 422
    data["period_start"] = "2026-03-20"
    data["count_0"] = "-3"
    assert client.post("/backoffice/notices/new", data=data).status_code == 422
