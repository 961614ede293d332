"""Employers' submissions: CSV and XLSX files and the form, every row checked, a
row-by-row report, all or nothing; local workers skipped with a note."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.registry import imports
from portal.registry.models import ImportBatch, MigrantRecord, RecordStatus, Source
from tests.conftest import login, valid_id
from tests.registry.conftest import u

GOOD_A = valid_id("11010519900101001")
GOOD_B = valid_id("43010219920202003")
LOCAL = valid_id("22030219800101002")
BAD_ID = GOOD_A[:17] + ("1" if GOOD_A[17] != "1" else "2")  # wrong check character
HEADER = ["姓名", "身份证号", "手机号", "住址", "开始日期"]


def _csv(rows, encoding="utf-8-sig") -> bytes:
    import csv

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROWS = [
    ["孙小明", GOOD_A, "13800000001", "天桥社区 5 号楼 101", "2026-03-01"],
    ["周外地", GOOD_B, "138 0000 0003", "天桥社区 6 号楼 202", "2026/3/2"],
    ["本地人", LOCAL, "13800000004", "天桥社区 7 号楼", "2026-03-03"],
]
MIXED_ROWS = [
    GOOD_ROWS[0],
    ["", BAD_ID, "12345", "", "2026-02-30"],
    GOOD_ROWS[1],
    ["孙小明", GOOD_A, "13800000001", "天桥社区 5 号楼 101", "2026-03-01"],
]


def _count(model=MigrantRecord) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("kind", ["csv", "xlsx", "gbk"])
def test_good_file_imports_migrants_and_skips_locals(ctx, board, kind):
    data = {
        "csv": lambda: _csv(GOOD_ROWS),
        "gbk": lambda: _csv(GOOD_ROWS, "gb18030"),
        "xlsx": lambda: _xlsx(GOOD_ROWS),
    }[kind]()
    report = imports.submit_file(u(board["employer"]), board["community"], data, f"w.{kind}")
    assert report.ok, [r.errors for r in report.rows] + report.errors
    assert report.created == 2 and len(report.skipped_rows) == 1
    assert report.skipped_rows[0].line == 4 and "本辖区户籍" in report.skipped_rows[0].note
    batch = db.session.scalar(select(ImportBatch))
    assert batch.rows == 2 and batch.employer_id == board["employer"]
    records = list(db.session.scalars(select(MigrantRecord).order_by(MigrantRecord.id)))
    assert [r.name for r in records] == ["孙小明", "周外地"]
    assert all(r.status == RecordStatus.PENDING for r in records)
    assert all(r.source == Source.EMPLOYER_IMPORT and r.source_ref == batch.id for r in records)
    assert records[1].phone == "13800000003" and records[1].workplace == "测试公司"
    assert str(records[1].since) == "2026-03-02"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_one_bad_row_imports_nothing_and_says_why(ctx, board, kind):
    data = _csv(MIXED_ROWS) if kind == "csv" else _xlsx(MIXED_ROWS)
    report = imports.submit_file(u(board["employer"]), board["community"], data, "w")
    assert not report.ok
    assert _count() == 0 and _count(ImportBatch) == 0
    bad = {r.line: r.errors for r in report.bad_rows}
    assert set(bad) == {3, 5}
    reasons = " ".join(bad[3])
    assert "姓名" in reasons and "校验码" in reasons and "手机号" in reasons
    assert "住址" in reasons and "开始日期" in reasons
    assert "第 2 行" in " ".join(bad[5])  # the same person twice
    assert report.rows[0].ok and report.rows[2].ok


def test_file_type_is_checked_by_content(ctx, board):
    employer = u(board["employer"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    report = imports.submit_file(employer, board["community"], png, "workers.csv")
    assert not report.ok and "CSV" in report.errors[0]
    fake_zip = b"PK\x03\x04" + b"junk" * 10
    report = imports.submit_file(employer, board["community"], fake_zip, "w.xlsx")
    assert not report.ok
    report = imports.submit_file(employer, board["community"], b"a,b\n1,2\n", "w.csv")
    assert not report.ok and "表头" in report.errors[0]
    big = _csv(GOOD_ROWS) + b"x" * (imports.DEFAULT_MAX_BYTES + 1)
    report = imports.submit_file(employer, board["community"], big, "w.csv")
    assert not report.ok and "太大" in report.errors[0]
    assert _count() == 0


def test_only_verified_employers_submit(ctx, board):
    from portal.errors import DomainError

    with pytest.raises(DomainError):
        imports.submit_file(u(board["seekers"][0]), board["community"], _csv(GOOD_ROWS), "w")


def test_templates_read_back_as_empty_submissions(ctx, board):
    assert imports.read_file(imports.template_csv()) == []
    assert imports.read_file(imports.template_xlsx()) == []
    assert imports.is_xlsx(imports.template_xlsx())


def test_pages_upload_and_form(app, client, board):
    login(client, "employer@example.com")
    page = client.get("/registry/employer")
    assert page.status_code == 200
    assert "每个文件最多 500 人，不超过 1024 KB" in page.get_data(as_text=True)  # the limits shown
    xlsx = client.get("/registry/employer/template.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    assert client.get("/registry/employer/template.csv").data.startswith(b"\xef\xbb\xbf")
    assert client.get("/registry/employer/template.pdf").status_code == 404
    resp = client.post(
        "/registry/employer",
        data={
            "which": "upload",
            "u-community_id": str(board["community"]),
            "u-file": (io.BytesIO(_xlsx(MIXED_ROWS)), "w.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "整个文件都没有导入" in page and "第 2 行" in page
    with app.app_context():
        assert _count() == 0
    form = {"which": "form", "w-community_id": str(board["community"])}
    for i, row in enumerate(GOOD_ROWS[:2]):
        for key, value in zip(imports.COLUMNS, row, strict=True):
            form[f"w-rows-{i}-{key}"] = value
    resp = client.post("/registry/employer", data=form)
    assert resp.status_code == 200 and "已报送 2 人" in resp.get_data(as_text=True)
    with app.app_context():
        assert _count() == 2
    client.post("/logout")
    login(client, "seeker1@example.com")
    resp = client.post("/registry/employer", data=form)
    assert resp.status_code == 409 and "单位认证" in resp.get_data(as_text=True)
    with app.app_context():
        assert _count() == 2


def test_id_numbers_stored_as_numbers_are_explained(ctx, board):
    rows = [["孙小明", 110105199001010010, "13800000001", "天桥社区 5 号楼", "2026-03-01"]]
    report = imports.submit_file(u(board["employer"]), board["community"], _xlsx(rows), "w")
    assert not report.ok and "设为文本" in report.rows[0].errors[0]
    csv_rows = [["孙小明", "1.10105E+17", "13800000001", "天桥社区 5 号楼", "2026-03-01"]]
    report = imports.submit_file(u(board["employer"]), board["community"], _csv(csv_rows), "w")
    assert not report.ok and "设为文本" in report.rows[0].errors[0]


def test_the_worker_sees_the_record_their_employer_sent(app, client, board):
    with app.test_request_context():
        report = imports.submit_file(
            u(board["employer"]), board["community"], _csv(GOOD_ROWS[:1]), "w.csv"
        )
        assert report.ok
        db.session.commit()
    login(client, "seeker0@example.com")  # verified with GOOD_A
    page = client.get("/registry").get_data(as_text=True)
    assert "用工单位报送" in page and "天桥社区 5 号楼 101" in page
    client.post("/logout")
    login(client, "seeker1@example.com")
    assert "天桥社区 5 号楼 101" not in client.get("/registry").get_data(as_text=True)


def test_an_xlsx_that_unpacks_to_too_much_is_refused(ctx, board):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", "0" * (imports.MAX_UNPACKED + 1))
    data = out.getvalue()
    assert len(data) < imports.DEFAULT_MAX_BYTES
    report = imports.submit_file(u(board["employer"]), board["community"], data, "w.xlsx")
    assert not report.ok and "分成几个文件" in report.errors[0]


def test_a_refused_form_keeps_what_was_typed(app, client, board):
    login(client, "employer@example.com")
    form = {"which": "form", "w-community_id": str(board["community"])}
    for key, value in zip(imports.COLUMNS, MIXED_ROWS[1], strict=True):
        form[f"w-rows-0-{key}"] = value
    resp = client.post("/registry/employer", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "缺少姓名" in page
    assert f'value="{BAD_ID}"' in page and 'value="2026-02-30"' in page
    with app.app_context():
        assert _count() == 0 and _count(ImportBatch) == 0
