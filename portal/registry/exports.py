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
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, select, type_coerce
from sqlalchemy.engine import Engine

from portal.communities.models import Community
from portal.db import as_utc, db
from portal.registry.ledger import LOCAL, LedgerFilter, _where
from portal.registry.models import MigrantRecord, RecordStatus, Source
from portal.security.pii import PiiCipher, cipher, mask_id, mask_name, mask_phone

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
        Community.name.label("community_name"),
        m.status,
        m.name,
        # The ciphertext: decrypted with the cipher taken from the request (no app context).
        type_coerce(m.id_number, String).label("id_number"),
        type_coerce(m.phone, String).label("phone"),
        m.region,
        m.address,
        m.workplace,
        m.since,
        m.source,
        m.created_at,
        m.reviewed_at,
        m.closed_at,
        m.anonymised_at,
    ]


def _when(value: Any) -> str:
    return as_utc(value).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass
class Export:
    """One export: the filter, whether in full, and everything taken from the request (the
    translated titles and labels, the engine, the PII cipher), so that the rows are written
    after the request has ended without needing its context."""

    f: LedgerFilter
    full: bool
    engine: Engine
    cipher: PiiCipher
    stmt: Any
    titles: list[str]
    labels: dict[str, str]
    sheet: str

    @classmethod
    def for_request(cls, f: LedgerFilter, full: bool) -> Export:
        """Capture the request's language and app."""
        return cls(
            f=f,
            full=full,
            engine=db.engine,
            cipher=cipher(),
            stmt=(
                select(*_columns())
                .join(Community, Community.id == MigrantRecord.community_id)
                .where(*_where(f))
                .order_by(MigrantRecord.since.desc(), MigrantRecord.id.desc())
            )
            if f.community_ids
            else None,
            titles=headers(),
            labels={f"{e.__name__}:{m.value}": m.label for e in (RecordStatus, Source) for m in e},
            sheet=_("流动人口台帐"),
        )

    def _label(self, kind: str, value: Any) -> str:
        value = getattr(value, "value", value)
        return self.labels.get(f"{kind}:{value}", str(value))

    def _plain(self, token: str | None) -> str:
        return self.cipher.decrypt(token) if token else ""

    def rows(self) -> Iterator[list[Any]]:
        """The matching records as lists of cells, newest move-in first, in batches."""
        if self.stmt is None:
            return
        stmt = self.stmt
        options = {"yield_per": BATCH, "stream_results": True, "sqlite_begin": "DEFERRED"}
        full, plain = self.full, self._plain
        with self.engine.connect().execution_options(**options) as conn:
            for r in conn.execute(stmt):
                anonymised = r.anonymised_at is not None
                id_number, phone = plain(r.id_number), plain(r.phone)
                yield [
                    r.id,
                    r.community_name,
                    self._label("RecordStatus", r.status),
                    r.name if full or anonymised else mask_name(r.name),
                    id_number if full else mask_id(id_number),
                    phone if full else mask_phone(phone),
                    r.region,
                    r.address,
                    r.workplace,
                    r.since.isoformat() if r.since else "",
                    self._label("Source", r.source),
                    _when(r.created_at),
                    _when(r.reviewed_at),
                    _when(r.closed_at),
                ]

    def csv(self) -> Iterator[bytes]:
        """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese right), one chunk
        per batch of rows."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow(self.titles)
        for n, row in enumerate(self.rows(), 1):
            writer.writerow(row)
            if n % BATCH == 0:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")

    def xlsx(self) -> Iterator[bytes]:
        """An XLSX workbook built write-only (rows spooled to disk), then sent in chunks."""
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(self.sheet)
        ws.append(self.titles)
        for row in self.rows():
            ws.append(row)
        with tempfile.TemporaryFile() as out:
            wb.save(out)
            out.seek(0)
            while chunk := out.read(CHUNK):
                yield chunk

    def stream(self, fmt: str) -> Iterator[bytes]:
        """The file's bytes in chunks."""
        return self.csv() if fmt == "csv" else self.xlsx()


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(officer: Any, f: LedgerFilter, fmt: str, full: bool) -> Any:
    """Audit the export (the filter used and the row count), then stream the file. The
    audit entry is written before any row leaves; the request boundary commits it."""
    from flask import Response

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
        Export.for_request(f, full).stream(fmt),
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
