"""Employers' submissions of their workers ("帮民警填张表"): a form or a CSV/XLSX file.

Every row is checked first (name, GB 11643 ID number, mobile phone, address, start date,
lengths, the same person twice in one file). If any row is wrong the employer gets a
row-by-row report and **nothing** is imported; otherwise one ``ImportBatch`` and one
pending record per migrant worker are created together.

A worker whose ID number was issued in the station's own region is not a migrant: the row
is skipped with a note (not an error), so a mixed list of local and migrant workers can be
sent as it is.

The file type is decided by its bytes, never by its name: an XLSX file is a ZIP archive
holding ``xl/workbook.xml``; anything else must decode as UTF-8 (with or without BOM) or
GB 18030 (what Excel writes on Chinese Windows) and contain no NUL byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.db import db
from portal.errors import DomainError
from portal.forms import strip_control_characters
from portal.registry import services as svc
from portal.registry.models import ImportBatch, MigrantRecord, Source
from portal.security import audit
from portal.security.idnumbers import IdNumberError, validate_resident_id
from portal.security.pii import is_mobile_phone, mask_name, normalize_phone

COLUMNS = ("name", "id_number", "phone", "address", "start_date")
HEADERS = ("姓名", "身份证号", "手机号", "住址", "开始日期")  # in files: always Chinese
HEADER_LABELS = (_l("姓名"), _l("身份证号"), _l("手机号"), _l("住址"), _l("开始日期"))
# Header spellings accepted for each column (Chinese first, then English).
ALIASES = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number", "id"),
    "phone": ("手机号", "手机", "电话", "联系电话", "phone"),
    "address": ("住址", "居住地址", "现住址", "address"),
    "start_date": ("开始日期", "入职日期", "起始日期", "start_date", "start"),
}
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_ROWS = 500
FUTURE_DAYS = 30
EARLIEST = dt.date(1990, 1, 1)
# What a spreadsheet makes of an 18-digit number typed into a number cell: 1.10105E+17.
_SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass
class Row:
    """One worker as typed or read, with what was found wrong."""

    line: int
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    note: str = ""
    clean: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def skipped(self) -> bool:
        return bool(self.note)

    @property
    def masked_name(self) -> str:
        return mask_name(str(self.values.get("name") or ""))


@dataclass
class Report:
    """The whole check: imported only when ``ok``."""

    rows: list[Row]
    errors: list[str] = field(default_factory=list)  # file-level problems
    batch: ImportBatch | None = None
    created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.rows)

    @property
    def bad_rows(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    @property
    def skipped_rows(self) -> list[Row]:
        return [r for r in self.rows if r.ok and r.skipped]


class FileRefused(DomainError):
    """The file as a whole cannot be read (type, size, encoding, header)."""


def _limit(key: str, default: int) -> int:
    return int(current_app.config.get(key) or default)


def may_submit(user: Any) -> bool:
    """Employers with a current organisation verification (and identity verification)."""
    return bool(getattr(user, "is_authenticated", False)) and accounts.has_verified_organisation(
        user
    )


# ---- reading files ------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1e15:
        # An ID number that a spreadsheet stored as a number has lost its last digits.
        return f"{value:.6E}"
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _header_map(header: list[Any]) -> dict[str, int]:
    names = [str(h or "").strip().lower().replace(" ", "") for h in header]
    found: dict[str, int] = {}
    for col, aliases in ALIASES.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[col] = i
                break
    missing = [HEADERS[COLUMNS.index(c)] for c in COLUMNS if c not in found]
    if missing:
        raise FileRefused(
            _("表头缺少：%(cols)s。请使用下载的模板。", cols="、".join(missing)),
            code="bad_header",
        )
    return found


def _records(table: list[list[Any]], first_line: int = 1) -> list[Row]:
    if not table:
        raise FileRefused(_("文件是空的。"), code="empty")
    cols = _header_map(table[0])
    rows = []
    for offset, raw in enumerate(table[1:], start=first_line + 1):
        cells = [_cell(c) for c in raw]
        if not any(str(c).strip() for c in cells if not isinstance(c, dt.date)) and not any(
            isinstance(c, dt.date) for c in cells
        ):
            continue  # blank line
        values = {
            c: strip_control_characters(cells[i] if i < len(cells) else "") for c, i in cols.items()
        }
        rows.append(Row(line=offset, values=values))
    return rows


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise FileRefused(_("无法读取该 XLSX 文件。"), code="bad_file") from None
    try:
        sheet = book.worksheets[0]
        limit = _limit("REGISTRY_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS) + 1
        table = []
        for i, row in enumerate(sheet.iter_rows(values_only=True)):
            if i > limit + 50:
                break
            table.append(list(row)[:20])
        return table
    except Exception:
        raise FileRefused(_("无法读取该 XLSX 文件。"), code="bad_file") from None
    finally:
        book.close()


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise FileRefused(_("文件不是 CSV 或 XLSX 表格。"), code="bad_type")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(_("文件不是 CSV 或 XLSX 表格。"), code="bad_type")


def _read_csv(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    try:
        return [row[:20] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error:
        raise FileRefused(_("CSV 文件格式有误。"), code="bad_file") from None


# A worker list of a few hundred rows unpacks to well under a megabyte; refuse archives that
# would unpack to far more (a "zip bomb") before openpyxl parses them.
MAX_UNPACKED = 20 * 1024 * 1024


def is_xlsx(data: bytes) -> bool:
    """An XLSX file by its content: a ZIP archive with a workbook part."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _unpacked_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def read_file(data: bytes) -> list[Row]:
    """The rows of an uploaded CSV or XLSX file (type by content)."""
    if not data:
        raise FileRefused(_("文件是空的。"), code="empty")
    limit = _limit("REGISTRY_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
    if len(data) > limit:
        raise FileRefused(_("文件太大（最大 %(kb)s KB）。", kb=limit // 1024), code="too_large")
    if data.startswith(b"PK"):
        if not is_xlsx(data):
            raise FileRefused(_("文件不是 CSV 或 XLSX 表格。"), code="bad_type")
        if _unpacked_size(data) > MAX_UNPACKED:
            raise FileRefused(_("表格内容太多，请分成几个文件上传。"), code="too_large")
        return _records(_read_xlsx(data))
    return _records(_read_csv(data))


# ---- checking rows ------------------------------------------------------------------------


def parse_date(value: Any) -> dt.date | None:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, or a spreadsheet date."""
    if isinstance(value, dt.date):
        return value
    m = _DATE_RE.match(str(value or "").strip())
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def check_rows(rows: list[Row]) -> None:
    """Fill each row's ``errors`` (reasons) or ``clean`` values; mark local people."""
    limit = _limit("REGISTRY_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)
    if len(rows) > limit:
        raise FileRefused(_("一次最多报送 %(n)s 人。", n=limit), code="too_many")
    today = svc.local_today()
    seen: dict[str, int] = {}
    for row in rows:
        v = row.values
        name = "".join(str(v.get("name") or "").split())
        if not name:
            row.errors.append(_("缺少姓名。"))
        elif len(name) > 40:
            row.errors.append(_("姓名最多 40 字。"))
        number = None
        raw_id = str(v.get("id_number") or "").strip()
        if _SCIENTIFIC_RE.match(raw_id):
            row.errors.append(
                _("身份证号被表格软件存成了数字，末几位已丢失：请把该列设为文本后重新填写。")
            )
        else:
            try:
                number = validate_resident_id(raw_id)
            except IdNumberError as err:
                row.errors.append(str(err.message))
        phone = normalize_phone(str(v.get("phone") or ""))
        if not phone:
            row.errors.append(_("缺少手机号。"))
        elif not is_mobile_phone(phone):
            row.errors.append(_("手机号格式不正确。"))
        address = str(v.get("address") or "").strip()
        if not address:
            row.errors.append(_("缺少住址。"))
        elif len(address) > 200:
            row.errors.append(_("住址最多 200 字。"))
        start = parse_date(v.get("start_date"))
        if start is None:
            row.errors.append(_("开始日期无效，请写成 2026-03-01。"))
        elif start < EARLIEST or start > today + dt.timedelta(days=FUTURE_DAYS):
            row.errors.append(_("开始日期超出合理范围。"))
        if number is not None:
            if number in seen:
                row.errors.append(_("与第 %(n)s 行是同一人。", n=seen[number]))
            else:
                seen[number] = row.line
        if row.errors:
            continue
        assert number is not None and start is not None
        row.clean = {
            "name": name,
            "id_number": number,
            "phone": phone,
            "address": address,
            "since": start,
        }
        if not svc.is_migrant(number):
            row.note = _("本辖区户籍人员，不属于流动人口，已跳过。")


def rows_from_form(entries: list[dict[str, Any]]) -> list[Row]:
    """Rows typed in the form; entirely empty lines are ignored."""
    rows = []
    for i, entry in enumerate(entries, start=1):
        values = {c: strip_control_characters(str(entry.get(c) or "")).strip() for c in COLUMNS}
        if any(values.values()):
            rows.append(Row(line=i, values=values))
    return rows


def submit(employer: User, community_id: int, rows: list[Row], filename: str = "") -> Report:
    """Check every row; when all are good create one batch and the pending records."""
    if not may_submit(employer):
        raise DomainError(_("报送人员信息需要先完成实名认证和单位认证。"), code="not_verified")
    report = Report(rows=rows)
    if not rows:
        report.errors.append(_("没有要报送的人员。"))
        return report
    try:
        check_rows(rows)
    except FileRefused as err:
        report.errors.append(err.message)
        return report
    if not report.ok:
        return report
    org = accounts.latest_organisation(employer)
    workplace = org.org_name if org is not None else ""
    batch = ImportBatch(
        employer_id=employer.id,
        community_id=community_id,
        filename=(filename or "")[:200],
        rows=0,
    )
    db.session.add(batch)
    db.session.flush()
    for row in rows:
        if row.skipped:
            continue
        c = row.clean
        record = svc.submit_pending(
            community_id=community_id,
            source=Source.EMPLOYER_IMPORT,
            source_ref=batch.id,
            name=c["name"],
            id_number=c["id_number"],
            phone=c["phone"],
            address=c["address"],
            workplace=workplace,
            employer=employer,
            since=c["since"],
            actor=employer,
        )
        if record is not None:
            report.created += 1
    batch.rows = report.created
    report.batch = batch
    db.session.flush()
    audit.record(
        employer,
        "registry.import",
        obj=batch,
        rows=report.created,
        skipped=len(report.skipped_rows),
    )
    return report


def submit_file(employer: User, community_id: int, data: bytes, filename: str) -> Report:
    """Read an uploaded file and submit its rows (all or nothing)."""
    if not may_submit(employer):
        raise DomainError(_("报送人员信息需要先完成实名认证和单位认证。"), code="not_verified")
    try:
        rows = read_file(data)
    except FileRefused as err:
        return Report(rows=[], errors=[err.message])
    return submit(employer, community_id, rows, filename)


def batches_of(employer: User) -> list[tuple[ImportBatch, dict[str, int]]]:
    """The employer's submissions, newest first, with how many records are in each status."""
    from sqlalchemy import func, select

    batches = list(
        db.session.scalars(
            select(ImportBatch)
            .where(ImportBatch.employer_id == employer.id)
            .order_by(ImportBatch.id.desc())
            .limit(50)
        )
    )
    counts: dict[int, dict[str, int]] = {b.id: {} for b in batches}
    if batches:
        for ref, status, n in db.session.execute(
            select(MigrantRecord.source_ref, MigrantRecord.status, func.count())
            .where(
                MigrantRecord.source == Source.EMPLOYER_IMPORT,
                MigrantRecord.source_ref.in_(list(counts)),
            )
            .group_by(MigrantRecord.source_ref, MigrantRecord.status)
        ):
            counts[ref][str(status.value if hasattr(status, "value") else status)] = n
    return [(b, counts[b.id]) for b in batches]


# ---- templates ----------------------------------------------------------------------------

GUIDE = (
    _l("每行一人；身份证号为 18 位；手机号为 11 位手机号码；开始日期写成 2026-03-01。"),
    _l("本辖区户籍人员会被跳过；任何一行有误时整个文件都不会导入，请按提示改正后重新上传。"),
)


def template_csv() -> bytes:
    """The CSV template: a header row, UTF-8 with BOM so Excel opens it right."""
    out = io.StringIO()
    csv.writer(out).writerow(HEADERS)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The XLSX template: the header row (ID and phone columns as text) and a guide sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "人员"
    sheet.append(list(HEADERS))
    for col, width in zip("ABCDE", (12, 22, 15, 36, 14), strict=True):
        sheet.column_dimensions[col].width = width
        for cell_row in range(2, 502):
            if col in "BC":
                sheet[f"{col}{cell_row}"].number_format = "@"
    guide = book.create_sheet("说明")
    for line in GUIDE:
        guide.append([str(line)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
