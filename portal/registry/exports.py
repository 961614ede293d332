"""Exports of the filtered ledger (台帐) to CSV and XLSX, streamed.

Rows are read in batches on a connection of their own (``yield_per``: a server-side cursor
on PostgreSQL; on SQLite a deferred read transaction, so a long download does not hold the
write lock), written out batch by batch and never held whole in memory. The XLSX workbook
is openpyxl's write-only kind, which spools each row to a temporary file; the finished file
is then sent in chunks. Names, ID numbers and phones are masked unless the officer asked
for the full export, which the route audits (filter and row count) before anything is sent.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from portal.communities.models import Community
from portal.db import as_utc, db
from portal.registry.ledger import LOCAL, LedgerFilter, _where
from portal.registry.models import LABELS, MigrantRecord
from portal.security.pii import mask_id, mask_name, mask_phone

BATCH = 1000
CHUNK = 64 * 1024


def headers() -> list[str]:
    """The column titles, in the user's language."""
    return [
        _("编号"),
        _("社区"),
        _("状态"),
        _("姓名"),
        _("身份证号"),
        _("手机"),
        _("户籍地区码"),
        _("现住址"),
        _("工作单位"),
        _("居住起始日期"),
        _("来源"),
        _("登记时间"),
        _("审核时间"),
        _("注销时间"),
    ]


def _columns() -> list[Any]:
    m = MigrantRecord
    return [
        m.id,
        Community.name,
        m.status,
        m.name,
        m.id_number,
        m.phone,
        m.region,
        m.address,
        m.workplace,
        m.since,
        m.source,
        m.created_at,
        m.reviewed_at,
        m.closed_at,
    ]


def _when(value: Any) -> str:
    return as_utc(value).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(kind: str, value: Any) -> str:
    return str(LABELS.get((kind, getattr(value, "value", value)), value))


def rows(f: LedgerFilter, full: bool) -> Iterator[list[Any]]:
    """The matching records as lists of cells, newest move-in first, fetched in batches."""
    if not f.community_ids:
        return
    stmt = (
        select(*_columns())
        .join(Community, Community.id == MigrantRecord.community_id)
        .where(*_where(f))
        .order_by(MigrantRecord.since.desc(), MigrantRecord.id.desc())
    )
    options = {"yield_per": BATCH, "stream_results": True, "sqlite_begin": "DEFERRED"}
    with db.engine.connect().execution_options(**options) as conn:
        for r in conn.execute(stmt):
            anonymised = r.name == "已匿名"
            yield [
                r.id,
                r[1],
                _label("RecordStatus", r.status),
                r.name if full or anonymised else mask_name(r.name),
                (r.id_number or "") if full else mask_id(r.id_number),
                (r.phone or "") if full else mask_phone(r.phone),
                r.region,
                r.address,
                r.workplace,
                r.since.isoformat() if r.since else "",
                _label("Source", r.source),
                _when(r.created_at),
                _when(r.reviewed_at),
                _when(r.closed_at),
            ]


def csv_stream(f: LedgerFilter, full: bool) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese right), in chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(headers())
    for n, row in enumerate(rows(f, full), 1):
        writer.writerow(row)
        if n % BATCH == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def xlsx_stream(f: LedgerFilter, full: bool) -> Iterator[bytes]:
    """An XLSX workbook built write-only (rows spooled to disk), then sent in chunks."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("流动人口台帐"))
    ws.append(headers())
    for row in rows(f, full):
        ws.append(row)
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
STREAMS = {"csv": csv_stream, "xlsx": xlsx_stream}


def export_response(officer: Any, f: LedgerFilter, fmt: str, full: bool) -> Any:
    """Audit the export (the filter used and the row count), then stream the file. The
    audit entry is written before any row leaves; the request boundary commits it."""
    from flask import Response, stream_with_context

    from portal.registry.ledger import count_all
    from portal.security import audit

    n = count_all(f)
    audit.record(
        officer,
        "registry.export.full" if full else "registry.export",
        format=fmt,
        rows=n,
        full=full,
        filter=f.as_dict(),
    )
    stamp = utcnow_local_stamp()
    return Response(
        stream_with_context(STREAMS[fmt](f, full)),
        content_type=CONTENT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="ledger-{stamp}.{fmt}"',
            "X-Row-Count": str(n),
        },
    )


def utcnow_local_stamp() -> str:
    """A file-name time stamp in station time."""
    from portal.db import utcnow

    return utcnow().astimezone(LOCAL).strftime("%Y%m%d-%H%M")
