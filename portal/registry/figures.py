"""The ledger's figures per community and for the station, now and month by month.

Definitions (also printed on the figures page):

- **known migrants**: distinct persons (by ``id_hash``; a record without one counts alone)
  with a PENDING or CONFIRMED record; **registered**: those with a CONFIRMED record.
  Registration rate (登记率) = registered ÷ known; target 100%.
- **permit rate** (办证率) = registered persons holding a residence permit that is ready to
  collect or collected ÷ registered persons; target 95%.
- **pledge rate** (保证书签订率) = open houses (not closed) whose landlord signed the
  治安责任保证书 ÷ open houses; target 100%.
- **backlog**: PENDING records (not persons), the age of the oldest and the median one.
- **move-ins / move-outs**: MOVED_IN / MOVED_OUT ledger events in the month (their ``at``).

Month by month (last 12 months, months in Asia/Shanghai), the stocks are taken at the end
of each month (for the current month: now) from the records' own times: a record is
pending from ``created_at`` until ``reviewed_at``; registered from ``reviewed_at`` (its
confirmation) until ``closed_at``; a permit counts from its ``updated_at`` when ready, from
``collected_at`` when collected; a house is open from ``created_at`` until ``closed_at`` and
pledged from ``pledge_signed_at``.

Everything is a handful of aggregate queries (GROUP BY community, plus the same without
grouping for the station, whose distinct persons are not the sum of the communities').
Those read the whole ledger, so pages, the API and the dashboard panel read a stored
snapshot instead (``FigureSnapshot``, table ``registry_figures``): the job
``registry-figures`` recomputes it every 10 minutes, and a reader finding it missing or
older than ``REGISTRY_FIGURES_MAX_AGE`` seconds (default 1200) recomputes it on the spot.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, as_utc, db, utcnow
from portal.jobs import register_job
from portal.registry.ledger import LOCAL
from portal.registry.models import (
    EventKind,
    LedgerEvent,
    MigrantRecord,
    PermitStatus,
    RecordStatus,
    RentalHouse,
    ResidencePermit,
)

TARGETS = {"registration": 1.0, "permit": 0.95, "pledge": 1.0}
STATION = None  # the key of the station-wide figures
HELD = (PermitStatus.READY, PermitStatus.COLLECTED)


# While a snapshot is computed, its queries run on a connection of their own (see
# ``refresh``); otherwise on the session.
_reader: ContextVar[Connection | None] = ContextVar("registry_figures_reader", default=None)


def _read(stmt: Any) -> Any:
    conn = _reader.get()
    return conn.execute(stmt) if conn is not None else db.session.execute(stmt)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class Figures:
    """The figures of one community (or the station) at one moment or month."""

    known: int = 0
    registered: int = 0
    permits: int = 0
    open_houses: int = 0
    pledged: int = 0
    pending: int = 0
    oldest_pending_days: float | None = None
    median_pending_days: float | None = None
    moved_in: int = 0
    moved_out: int = 0
    month: dt.date | None = None

    @property
    def registration_rate(self) -> float | None:
        return _rate(self.registered, self.known)

    @property
    def permit_rate(self) -> float | None:
        return _rate(self.permits, self.registered)

    @property
    def pledge_rate(self) -> float | None:
        return _rate(self.pledged, self.open_houses)

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        return {
            "month": self.month.isoformat()[:7] if self.month else None,
            "known": self.known,
            "registered": self.registered,
            "registration_rate": self.registration_rate,
            "permits": self.permits,
            "permit_rate": self.permit_rate,
            "open_houses": self.open_houses,
            "pledged": self.pledged,
            "pledge_rate": self.pledge_rate,
            "pending": self.pending,
            "oldest_pending_days": self.oldest_pending_days,
            "median_pending_days": self.median_pending_days,
            "moved_in": self.moved_in,
            "moved_out": self.moved_out,
        }


def _key() -> Any:
    m = MigrantRecord
    return func.coalesce(m.id_hash, cast(m.id, String))


def _days(now: dt.datetime, then: Any) -> float | None:
    if then is None:
        return None
    return round((now - as_utc(then)).total_seconds() / 86400, 1)


def _grouped(stmt: Any, column: Any, group: bool) -> Any:
    """The statement per community (first column the community id) or station-wide."""
    if group:
        return stmt.add_columns(column).group_by(column)
    return stmt


def _split(row: Any, group: bool) -> tuple[int | None, tuple[Any, ...]]:
    values = tuple(row)
    return (values[-1], values[:-1]) if group else (STATION, values)


def _persons(
    flags: list[Any], where: list[Any], group: bool, join_permits: bool = False
) -> dict[int | None, list[int]]:
    """For each flag (a condition on a record), how many distinct persons have a record
    meeting it: one pass that groups the records by person (``id_hash``) and takes the
    maximum of each flag, then sums per community (or for the station). Far cheaper than a
    ``COUNT(DISTINCT CASE …)`` per flag, which sorts the whole ledger once per flag."""
    m, p = MigrantRecord, ResidencePermit
    key = _key()
    cols = [func.max(case((flag, 1), else_=0)).label(f"f{i}") for i, flag in enumerate(flags)]
    inner = select(m.community_id.label("cid"), *cols) if group else select(*cols)
    if join_permits:
        inner = inner.select_from(p).join(m, m.id == p.migrant_id)
    inner = inner.where(*where).group_by(*((m.community_id, key) if group else (key,)))
    sub = inner.subquery()
    outer = select(*[func.sum(sub.c[f"f{i}"]) for i in range(len(flags))])
    if group:
        outer = outer.add_columns(sub.c.cid).group_by(sub.c.cid)
    out: dict[int | None, list[int]] = {}
    for row in _read(outer):
        cid, values = _split(row, group)
        out[cid] = [int(v or 0) for v in values]
    return out


# --- now ----------------------------------------------------------------------------------


def current(now: dt.datetime | None = None) -> dict[int | None, Figures]:
    """The figures now: one entry per community that has any record, and ``None`` for the
    station. Eight aggregate queries whatever the size of the ledger."""
    now = now or utcnow()
    m, p, h = MigrantRecord, ResidencePermit, RentalHouse
    out: dict[int | None, Figures] = {STATION: Figures()}
    pending = m.status == RecordStatus.PENDING
    confirmed = m.status == RecordStatus.CONFIRMED
    for group in (True, False):
        known = (pending | confirmed).self_group()
        persons = _persons(
            [known, confirmed],
            [m.status.in_((RecordStatus.PENDING, RecordStatus.CONFIRMED))],
            group,
        )
        for cid, (n_known, n_registered) in persons.items():
            f = out.setdefault(cid, Figures())
            f.known, f.registered = n_known, n_registered
        stmt = select(func.count(m.id), func.min(m.created_at)).where(pending)
        for row in _read(_grouped(stmt, m.community_id, group)):
            cid, (n_pending, oldest) = _split(row, group)
            f = out.setdefault(cid, Figures())
            f.pending = int(n_pending or 0)
            f.oldest_pending_days = _days(now, oldest)
        holding = _persons([confirmed], [confirmed, p.status.in_(HELD)], group, join_permits=True)
        for cid, (n,) in holding.items():
            out.setdefault(cid, Figures()).permits = n
        stmt = select(func.count(h.id), func.count(h.pledge_signed_at)).where(h.closed_at.is_(None))
        for row in _read(_grouped(stmt, h.community_id, group)):
            cid, (n_open, n_pledged) = _split(row, group)
            f = out.setdefault(cid, Figures())
            f.open_houses, f.pledged = n_open, n_pledged
        for cid, median in _median_pending(group).items():
            out.setdefault(cid, Figures()).median_pending_days = _days(now, median)
    return out


def _median_pending(group: bool) -> dict[int | None, dt.datetime]:
    """The median ``created_at`` of pending records (one window-function query)."""
    m = MigrantRecord
    part = {"partition_by": m.community_id} if group else {}
    sub = (
        select(
            m.community_id.label("cid"),
            m.created_at.label("at"),
            func.row_number().over(order_by=(m.created_at, m.id), **part).label("rn"),
            func.count().over(**part).label("n"),
        )
        .where(m.status == RecordStatus.PENDING)
        .subquery()
    )
    rows = _read(
        select(sub.c.cid, sub.c.at).where(sub.c.rn * 2 >= sub.c.n, sub.c.rn * 2 <= sub.c.n + 2)
    )
    middle: dict[int | None, list[dt.datetime]] = {}
    for cid, at in rows:
        middle.setdefault(cid if group else STATION, []).append(as_utc(at))
    return {cid: ats[0] + (ats[-1] - ats[0]) / 2 for cid, ats in middle.items() if ats}


# --- month by month -----------------------------------------------------------------------


def month_starts(now: dt.datetime, months: int = 12) -> list[dt.datetime]:
    """UTC instants of the first day (Asia/Shanghai) of the last ``months`` months and of
    the next month: ``months + 1`` boundaries."""
    local = now.astimezone(LOCAL)
    y, mo = local.year, local.month
    firsts = []
    for back in range(months - 1, -2, -1):
        yy, mm = divmod((y * 12 + mo - 1) - back, 12)
        firsts.append(dt.datetime(yy, mm + 1, 1, tzinfo=LOCAL).astimezone(dt.UTC))
    return firsts


@dataclass
class Series:
    """Month-by-month figures of one community or the station, oldest month first."""

    months: list[Figures] = field(default_factory=list)


def monthly(now: dt.datetime | None = None, months: int = 12) -> dict[int | None, Series]:
    """Month-end stocks and monthly flows of the last ``months`` months, per community
    (communities with any record) and for the station (key ``None``)."""
    now = now or utcnow()
    bounds = month_starts(now, months)
    ends = [min(b, now) for b in bounds[1:]]
    labels = [b.astimezone(LOCAL).date() for b in bounds[:-1]]
    data: dict[int | None, list[Figures]] = {}

    def months_of(cid: int | None) -> list[Figures]:
        if cid not in data:
            data[cid] = [Figures(month=label) for label in labels]
        return data[cid]

    months_of(STATION)
    m, p, h, e = MigrantRecord, ResidencePermit, RentalHouse, LedgerEvent
    confirmed_like = m.status.in_((RecordStatus.CONFIRMED, RecordStatus.CLOSED))
    reviewed = func.coalesce(m.reviewed_at, m.created_at)

    def registered_at(t: dt.datetime) -> Any:
        return and_(confirmed_like, reviewed <= t, or_(m.closed_at.is_(None), m.closed_at > t))

    def pending_at(t: dt.datetime) -> Any:
        return and_(
            m.created_at <= t,
            or_(
                m.status == RecordStatus.PENDING,
                and_(m.reviewed_at.is_not(None), m.reviewed_at > t),
            ),
        )

    for group in (True, False):
        # Migrants: known and registered persons at each month end.
        flags = []
        for t in ends:
            flags += [or_(registered_at(t), pending_at(t)), registered_at(t)]
        in_window = [m.created_at <= ends[-1]]
        for cid, values in _persons(flags, in_window, group).items():
            for i, f in enumerate(months_of(cid)):
                f.known, f.registered = values[2 * i], values[2 * i + 1]
        # Pending records and the oldest of them at each month end.
        cols = []
        for t in ends:
            cols += [
                func.sum(case((pending_at(t), 1), else_=0)),
                func.min(case((pending_at(t), m.created_at))),
            ]
        stmt = select(*cols).where(m.created_at <= ends[-1])
        for row in _read(_grouped(stmt, m.community_id, group)):
            cid, values = _split(row, group)
            for i, f in enumerate(months_of(cid)):
                n_pending, oldest = values[2 * i : 2 * i + 2]
                f.pending = int(n_pending or 0)
                f.oldest_pending_days = _days(ends[i], oldest)
        # Permits held by registered persons at each month end.
        held = []
        for t in ends:
            holds = or_(
                and_(p.status == PermitStatus.READY, p.updated_at <= t),
                and_(
                    p.status == PermitStatus.COLLECTED,
                    func.coalesce(p.collected_at, p.updated_at) <= t,
                ),
            )
            held.append(and_(registered_at(t), holds))
        permit_rows = _persons(held, [p.status.in_(HELD)], group, join_permits=True)
        for cid, values in permit_rows.items():
            for i, f in enumerate(months_of(cid)):
                f.permits = values[i]
        # Houses open and pledged at each month end.
        house_cols = []
        for t in ends:
            open_at = and_(h.created_at <= t, or_(h.closed_at.is_(None), h.closed_at > t))
            house_cols += [
                func.sum(case((open_at, 1), else_=0)),
                func.sum(case((and_(open_at, h.pledge_signed_at <= t), 1), else_=0)),
            ]
        stmt = select(*house_cols).where(h.created_at <= ends[-1])
        for row in _read(_grouped(stmt, h.community_id, group)):
            cid, values = _split(row, group)
            for i, f in enumerate(months_of(cid)):
                f.open_houses, f.pledged = int(values[2 * i] or 0), int(values[2 * i + 1] or 0)
        # Move-ins and move-outs in each month.
        index = case(*[(e.at < bounds[i + 1], i) for i in range(months)])
        stmt = (
            select(index, e.kind, func.count(e.id))
            .where(
                e.kind.in_((EventKind.MOVED_IN, EventKind.MOVED_OUT)),
                e.at >= bounds[0],
                e.at < bounds[-1],
            )
            .group_by(index, e.kind)
        )
        for row in _read(_grouped(stmt, e.community_id, group)):
            cid, (i, kind, n) = _split(row, group)
            f = months_of(cid)[int(i)]
            if kind == EventKind.MOVED_IN:
                f.moved_in = n
            else:
                f.moved_out = n
    return {cid: Series(fs) for cid, fs in data.items()}


# --- the stored snapshot ------------------------------------------------------------------

NUMBERS = (
    "known",
    "registered",
    "permits",
    "open_houses",
    "pledged",
    "pending",
    "moved_in",
    "moved_out",
)


class FigureSnapshot(Base):
    """The figures of one community (``community_id`` None: the station) for one period:
    ``now`` or a month ``YYYY-MM``, as computed at ``computed_at``. Readers take the rows
    of the latest ``computed_at``; a refresh writes a whole new set and deletes older ones,
    so two refreshes at once leave no mixture."""

    __tablename__ = "registry_figures"
    __table_args__ = (Index("ix_registry_figures_computed_at", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    period: Mapped[str] = mapped_column(String(7))  # "now" or "YYYY-MM"
    known: Mapped[int] = mapped_column(Integer, default=0)
    registered: Mapped[int] = mapped_column(Integer, default=0)
    permits: Mapped[int] = mapped_column(Integer, default=0)
    open_houses: Mapped[int] = mapped_column(Integer, default=0)
    pledged: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    moved_in: Mapped[int] = mapped_column(Integer, default=0)
    moved_out: Mapped[int] = mapped_column(Integer, default=0)
    oldest_pending_days: Mapped[float | None] = mapped_column(Float)
    median_pending_days: Mapped[float | None] = mapped_column(Float)


@dataclass
class Snapshot:
    """The figures as stored: now and month by month, per community and the station."""

    computed_at: dt.datetime
    now: dict[int | None, Figures]
    months: dict[int | None, Series]


def refresh(now: dt.datetime | None = None) -> Snapshot:
    """Compute every figure and store it as the new snapshot (the caller commits).

    The reading runs on a connection of its own in a *deferred* transaction on SQLite, so
    the minute it can take on a large ledger holds no write lock; only the short insert of
    the new rows goes through the session."""
    now = now or utcnow()
    with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        token = _reader.set(conn)
        try:
            current_figures, by_month = current(now), monthly(now)
        finally:
            _reader.reset(token)
            conn.rollback()
    rows = []
    for cid, f in current_figures.items():
        rows.append(_row(now, cid, "now", f))
    for cid, series in by_month.items():
        for f in series.months:
            rows.append(_row(now, cid, f.month.strftime("%Y-%m") if f.month else "", f))
    db.session.execute(insert(FigureSnapshot), rows)
    db.session.execute(delete(FigureSnapshot).where(FigureSnapshot.computed_at < now))
    return Snapshot(now, current_figures, by_month)


def _row(now: dt.datetime, cid: int | None, period: str, f: Figures) -> dict[str, Any]:
    row = {name: getattr(f, name) for name in NUMBERS}
    row.update(
        computed_at=now,
        community_id=cid,
        period=period,
        oldest_pending_days=f.oldest_pending_days,
        median_pending_days=f.median_pending_days,
    )
    return row


def max_age() -> dt.timedelta:
    """A snapshot older than this is recomputed by the reader (twice the job's interval)."""
    return dt.timedelta(seconds=int(current_app.config.get("REGISTRY_FIGURES_MAX_AGE", 1200)))


def stored(now: dt.datetime | None = None) -> Snapshot:
    """The latest snapshot, recomputed first if there is none or it is too old. Reading
    it costs two small queries whatever the size of the ledger."""
    now = now or utcnow()
    latest = db.session.scalar(select(func.max(FigureSnapshot.computed_at)))
    if latest is None or as_utc(latest) < now - max_age():
        return refresh(now)
    rows = db.session.scalars(
        select(FigureSnapshot).where(FigureSnapshot.computed_at == latest)
    ).all()
    current_figures: dict[int | None, Figures] = {STATION: Figures()}
    months: dict[int | None, list[Figures]] = {}
    for r in rows:
        f = Figures(
            **{name: getattr(r, name) for name in NUMBERS},
            oldest_pending_days=r.oldest_pending_days,
            median_pending_days=r.median_pending_days,
        )
        if r.period == "now":
            current_figures[r.community_id] = f
        else:
            f.month = dt.date.fromisoformat(r.period + "-01")
            months.setdefault(r.community_id, []).append(f)
    series = {
        cid: Series(sorted(fs, key=lambda f: f.month or dt.date.min)) for cid, fs in months.items()
    }
    return Snapshot(as_utc(latest), current_figures, series)


@register_job("registry-figures", 600)
def refresh_job() -> int:
    """Recompute the stored figures (the worker commits)."""
    refresh()
    return 1


# --- charts -------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    """A rate as a percentage for the page, or a dash when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.1f}%"


def rate_chart(series: Series, width: int = 480, height: int = 180) -> dict[str, Any]:
    """Geometry of the month-by-month rates against their targets, drawn by the template as
    SVG (presentation attributes only: no script, no inline style)."""
    left, top, bottom = 36, 10, 30
    plot_h = height - top - bottom
    n = max(len(series.months), 1)
    step = (width - left - 10) / max(n - 1, 1)

    def y(value: float) -> float:
        return round(top + plot_h * (1 - min(max(value, 0.0), 1.0)), 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    lines = []
    for name, label, colour in (
        ("registration_rate", _("登记率"), "#1f6feb"),
        ("permit_rate", _("办证率"), "#2da44e"),
        ("pledge_rate", _("保证书签订率"), "#bf8700"),
    ):
        points = [
            (x(i), y(v), v)
            for i, f in enumerate(series.months)
            if (v := getattr(f, name)) is not None
        ]
        lines.append(
            {
                "label": label,
                "colour": colour,
                "points": " ".join(f"{px},{py}" for px, py, _v in points),
                "dots": points,
            }
        )
    targets = [
        {"y": y(v), "label": _("目标 %(p)s", p=pct(v))} for v in sorted(set(TARGETS.values()))
    ]
    grid = [{"y": y(v), "label": f"{int(v * 100)}%"} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    months = [
        (x(i), f.month.strftime("%m") if f.month else "") for i, f in enumerate(series.months)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - 10,
        "base": y(0),
        "lines": lines,
        "targets": targets,
        "grid": grid,
        "months": months,
    }


def flow_chart(series: Series, width: int = 480, height: int = 170) -> dict[str, Any]:
    """Geometry of the monthly move-ins, move-outs and the month-end backlog (bars)."""
    left, top, bottom = 36, 10, 30
    plot_h = height - top - bottom
    top_value = max([max(f.moved_in, f.moved_out, f.pending) for f in series.months] + [1])
    n = max(len(series.months), 1)
    group = (width - left - 10) / n
    bar_w = max(group / 4, 2)
    bars = []
    for i, f in enumerate(series.months):
        x0 = left + i * group + group / 8
        for j, (value, colour, label) in enumerate(
            (
                (f.moved_in, "#2da44e", _("迁入")),
                (f.moved_out, "#cf222e", _("迁出")),
                (f.pending, "#8c959f", _("待审核")),
            )
        ):
            hgt = round(value * plot_h / top_value, 1)
            bars.append(
                {
                    "x": round(x0 + j * bar_w, 1),
                    "y": round(top + plot_h - hgt, 1),
                    "width": round(bar_w - 1, 1),
                    "height": hgt,
                    "value": value,
                    "colour": colour,
                    "label": label,
                }
            )
    months = [
        (round(left + i * group + group / 2, 1), f.month.strftime("%m") if f.month else "")
        for i, f in enumerate(series.months)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - 10,
        "base": top + plot_h,
        "top_value": top_value,
        "top_y": top,
        "bars": bars,
        "months": months,
        "legend": [(_("迁入"), "#2da44e"), (_("迁出"), "#cf222e"), (_("待审核"), "#8c959f")],
    }
