"""Ledger exports: contents, masking, the audited full export, streaming in batches."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from portal.db import db
from portal.registry import exports
from portal.security.models import AuditEntry
from tests.conftest import login
from tests.registry.conftest_ledger import at, lm  # noqa: F401


def _setup(world, lm):  # noqa: F811
    a = world["community"]
    m1 = lm.migrant(a, name="张三丰", address="天桥路1号", created=at("2026-01-10"))
    m2 = lm.migrant(a, name="李四", address="天桥路2号", phone=None, created=at("2026-02-10"))
    lm.migrant(a, name="王五", status="pending")
    lm.migrant(world["other_community"], name="赵六")
    return m1, m2


def _csv(resp):
    data = resp.get_data()
    assert data.startswith("\ufeff".encode())  # the BOM Excel needs
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx(resp):
    wb = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    rows = wb.active.iter_rows(values_only=True)
    return [[("" if c is None else c) for c in row] for row in rows]


def _audit(app):
    with app.app_context():
        return [
            (e.action, e.detail)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("registry.export")
        ]


def test_csv_export_masked_by_default(app, client, world, lm):  # noqa: F811
    m1, m2 = _setup(world, lm)
    id1 = lm.id_number(m1)
    login(client, "officer@example.com")
    resp = client.get("/backoffice/registry/ledger/export.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _csv(resp)
    assert rows[0][:4] == ["编号", "社区", "状态", "姓名"]
    body = {int(r[0]): r for r in rows[1:]}
    assert set(body) == {m1, m2}  # confirmed records of my community only
    r1 = body[m1]
    assert r1[1] == "天桥社区" and r1[2] == "已登记"
    assert r1[3] == "张**" and r1[4] == id1[:6] + "********" + id1[-4:]
    assert r1[5] == "139****5678" and r1[7] == "天桥路1号"
    assert r1[11] == "2026-01-10 12:00"  # station time
    assert body[m2][5] == ""
    text = resp.get_data(as_text=True)
    assert id1 not in text and "13912345678" not in text and "张三丰" not in text
    # A GET cannot ask for the full file.
    rows = _csv(client.get("/backoffice/registry/ledger/export.csv?full=1"))
    assert rows[1][4].count("*") == 8
    assert [a for a, _ in _audit(app)] == ["registry.export", "registry.export"]


def test_full_export_is_audited_with_filter_and_row_count(app, client, world, lm):  # noqa: F811
    m1, _m2 = _setup(world, lm)
    id1 = lm.id_number(m1)
    login(client, "officer@example.com")
    resp = client.post(
        "/backoffice/registry/ledger/export.xlsx",
        data={"full": "1", "address": "天桥路1", "status": "confirmed"},
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx(resp)
    assert rows[0][3] == "姓名"
    assert len(rows) == 2
    assert rows[1][0] == m1 and rows[1][3] == "张三丰" and rows[1][4] == id1
    assert rows[1][5] == "13912345678"
    [(action, detail)] = _audit(app)
    assert action == "registry.export.full"
    assert detail["rows"] == 1 and detail["format"] == "xlsx" and detail["full"] is True
    assert detail["filter"]["address"] == "天桥路1"
    assert detail["filter"]["communities"] == [world["community"]]
    assert id1 not in str(detail)


def test_xlsx_masked_and_filtered(client, world, lm):  # noqa: F811
    _setup(world, lm)
    login(client, "officer@example.com")
    rows = _xlsx(client.get("/backoffice/registry/ledger/export.xlsx?status=pending"))
    assert len(rows) == 2 and rows[1][3] == "王*" and rows[1][2] == "待审核"
    rows = _xlsx(client.get("/backoffice/registry/ledger/export.xlsx?name=没有此人"))
    assert len(rows) == 1  # the header only


def test_api_export(app, client, world, lm):  # noqa: F811
    m1, _ = _setup(world, lm)
    id1 = lm.id_number(m1)
    login(client, "officer@example.com")
    rows = _csv(client.get("/api/v1/registry/ledger/export.csv"))
    assert len(rows) == 3 and id1 not in str(rows)
    rows = _csv(client.post("/api/v1/registry/ledger/export.csv", json={"full": True}))
    assert id1 in str(rows)
    rows = _csv(client.post("/api/v1/registry/ledger/export.csv", json={"full": "yes"}))
    assert id1 not in str(rows)
    assert [a for a, _ in _audit(app)] == [
        "registry.export",
        "registry.export.full",
        "registry.export",
    ]
    other = app.test_client()
    login(other, "officer2@example.com")
    rows = _csv(other.get("/api/v1/registry/ledger/export.csv"))
    assert [r[3] for r in rows[1:]] == ["赵*"]
    assert (
        other.get(f"/api/v1/registry/ledger/export.csv?community={world['community']}").status_code
        == 403
    )


def test_rows_stream_in_batches(ctx, world, lm, monkeypatch):  # noqa: F811
    """The CSV generator hands out one chunk per batch, not the whole file at once."""
    from portal.accounts.models import User
    from portal.registry.ledger import LedgerFilter

    for i in range(7):
        lm.migrant(world["community"], name=f"张{i}")
    monkeypatch.setattr(exports, "BATCH", 3)
    officer = db.session.get(User, world["officer"])
    chunks = list(exports.Export.for_request(LedgerFilter.from_args({}, officer), False).csv())
    assert len(chunks) == 3  # rows 1-3, 4-6, then 7
    text = b"".join(chunks).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 8
